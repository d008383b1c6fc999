"""Reading untrusted XML (LLM output, operator files) into a plain element tree, safely.

Plans come from a language model and from files, so the reader assumes hostile input: no
DOCTYPE (hence no entity declarations, no entity expansion, no external entities), a size
limit, a nesting-depth limit and an element-count limit, all enforced while expat streams
the document so a bomb is rejected before it is built. Every element keeps its line and
(1-based) column so later checks can say where a problem is, and the comments written
before it, so that a file written back keeps them (comments after the document element are
dropped).
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from llm_mars.errors import PlanValidationError, Problem

MAX_DOCUMENT_BYTES = 64 * 1024
MAX_DEPTH = 32
MAX_ELEMENTS = 2000


@dataclass
class Element:
    """One XML element as written: tag, attributes in document order, children, position."""

    tag: str
    attributes: dict[str, str]
    line: int
    column: int
    children: list[Element] = field(default_factory=list)
    text: str = ""  # all character data directly inside this element
    text_line: int | None = None  # where its first non-blank character data starts
    text_column: int | None = None
    comments: list[str] = field(default_factory=list)  # the comments just before it
    end_comments: list[str] = field(default_factory=list)  # those after its last child


class _Abort(Exception):
    """Raised inside expat handlers to stop parsing with one problem."""

    def __init__(self, problem: Problem):
        super().__init__(problem.message)
        self.problem = problem


def _position_of(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


def _encode(text: str | bytes) -> bytes:
    if isinstance(text, bytes):
        return text
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        line, column = _position_of(text, exc.start)
        raise PlanValidationError([Problem(
            "the document contains a character that cannot be encoded (lone surrogate)",
            line=line, column=column, code="bad_encoding",
        )]) from None


def read_document(path: str | Path, max_bytes: int = MAX_DOCUMENT_BYTES) -> str:
    """The text of a plan or subtree file, the one way every command reads one: at most
    ``max_bytes + 1`` bytes are read (``/dev/zero`` or a pipe that never ends included), and
    the file must be UTF-8. Raises :class:`PlanValidationError` (too large, with the file's
    real size where it has one; not UTF-8, with where) or ``OSError``."""
    with open(path, "rb") as handle:
        data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            info = os.fstat(handle.fileno())
            size = (f"{info.st_size} bytes" if stat.S_ISREG(info.st_mode)
                    else f"more than {max_bytes} bytes")
            raise PlanValidationError([Problem(f"the file is {size}; the limit is {max_bytes}",
                                               line=1, column=1, code="too_large")])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        raise PlanValidationError([Problem(
            f"the file is not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be decoded "
            f"({exc.reason})", line=data.count(b"\n", 0, exc.start) + 1,
            column=len(data[line_start:exc.start].decode("utf-8")) + 1, code="bad_encoding",
        )]) from None


def read_xml(text: str | bytes, *, max_bytes: int = MAX_DOCUMENT_BYTES,
             max_depth: int = MAX_DEPTH, max_elements: int = MAX_ELEMENTS) -> Element:
    """Parse ``text`` into its root :class:`Element`.

    Raises :class:`PlanValidationError` with one located problem when the document is not
    well-formed XML, declares a DOCTYPE/entities, or breaks a limit.
    """
    data = _encode(text)
    if len(data) > max_bytes:
        raise PlanValidationError([Problem(
            f"document is {len(data)} bytes; the limit is {max_bytes}",
            line=1, column=1, code="too_large",
        )])

    parser = expat.ParserCreate(encoding="utf-8")
    parser.ordered_attributes = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[Element] = []
    roots: list[Element] = []
    pending: list[list[str]] = [[]]  # comments not yet given to an element, per open level
    count = 0

    def here() -> tuple[int, int]:
        return parser.CurrentLineNumber, parser.CurrentColumnNumber + 1

    def forbid_dtd(*_args) -> None:
        line, column = here()
        raise _Abort(Problem("DOCTYPE and entity declarations are not allowed",
                             line=line, column=column, code="forbidden_dtd"))

    def start(tag: str, attributes: list[str]) -> None:
        nonlocal count
        line, column = here()
        count += 1
        if count > max_elements:
            raise _Abort(Problem(f"more than {max_elements} elements",
                                 line=line, column=column, code="too_many_nodes"))
        if len(stack) >= max_depth:
            raise _Abort(Problem(f"elements nested deeper than {max_depth} levels",
                                 line=line, column=column, code="too_deep"))
        element = Element(tag, dict(zip(attributes[::2], attributes[1::2])), line, column,
                          comments=pending[-1])
        pending[-1] = []
        pending.append([])
        (stack[-1].children if stack else roots).append(element)
        stack.append(element)

    def end(_tag: str) -> None:
        stack.pop().end_comments = pending.pop()

    def comment(data: str) -> None:
        pending[-1].append(data)

    def characters(data: str) -> None:
        if stack:
            element = stack[-1]
            if element.text_line is None and data.strip():
                element.text_line, element.text_column = here()
            element.text += data

    parser.StartDoctypeDeclHandler = forbid_dtd
    parser.EntityDeclHandler = forbid_dtd
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.CommentHandler = comment
    try:
        parser.Parse(data, True)
    except _Abort as abort:
        raise PlanValidationError([abort.problem]) from None
    except expat.ExpatError as exc:
        raise PlanValidationError([Problem(
            f"not well-formed XML: {expat.ErrorString(exc.code)}",
            line=exc.lineno, column=exc.offset + 1, code="syntax",
        )]) from None
    return roots[0]
