"""The plan grammar: an xgrammar EBNF generated from the skill registry and the subtree library.

Constrained decoding of the ``bt`` adapter uses this grammar so that every output is either a
plan document exactly as :func:`llm_mars.bt.serializer.serialize_plan` writes it, or a
``<reply>TEXT</reply>`` (:func:`~llm_mars.bt.serializer.serialize_reply`) for commands the
skills cannot express. Nothing here lists tags, ports or values by hand: they come from
:data:`llm_mars.bt.registry.REGISTRY`, :mod:`llm_mars.vocabulary` and the subtree library, so a
new skill, port or subtree reaches the grammar without editing this module.

The canonical form is fixed character by character (two-space indentation, one element per
line, ports in declaration order, trees in robot order, a final newline), which makes long runs
forced (indentation, closing tags, attribute names) that the engine appends without sampling::

    <root BTCPP_format="4">
      <BehaviorTree ID="robot1">
        <Sequence>
          <PickCake color="pink" quadrant="2"/>
        </Sequence>
      </BehaviorTree>
    </root>

Values, per port type (each the text ``format_value`` writes):

* ``int``: ``str(n)`` within ``[minimum, maximum]``. An int port of a node with any number of
  children and no maximum (``Parallel``'s thresholds) must not exceed the node's number of
  children, as the validator checks; it is bounded at :data:`MAX_CHILD_THRESHOLD`. Any other
  int port without a maximum is bounded at :data:`UNBOUNDED_INT_DIGITS` digits.
* ``float``: ``repr(x)`` within ``[minimum, maximum]`` with at most :data:`FLOAT_DECIMALS`
  decimals (``0.0``, ``2.5``, ``12.125``, ``100.0``); the bounds must be non-negative integers.
* ``bool``: ``true`` / ``false``; ``enum``: one of the declared choices.
* ``string``: 1 to ``max_length`` characters other than ``" & < > {`` and control characters.

A reply is one line of 1 to :data:`MAX_GENERATED_REPLY_CHARS` characters other than ``& < >``
and control characters, starting with a non-space. Trailing whitespace is admitted although the parser
strips it (so such a reply is valid but not canonical): excluding it exactly costs xgrammar
about two seconds of compilation per tokenizer.

Texts never contain characters the serializer would escape: that costs little (say "and",
not "&") and keeps every text a plain repeated character class, which xgrammar matches from
precomputed masks; a class-or-entity repetition is checked token by token at run time, a
quarter of a second or more per decode step on a two-core CPU. Without ``{`` no text can look like a subtree port
reference (``{name}``), which plans may not use. Newlines and tabs would be normalised away in
attributes and are kept out of replies.

Nodes nest at most :data:`MAX_DEPTH` levels below ``<BehaviorTree>``; at the deepest level only
leaves (skills, conditions, subtree references) are admitted. The number of children is not
bounded by the grammar; the engine's token limit bounds it.
"""
from __future__ import annotations

import functools
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from llm_mars import vocabulary as V
from llm_mars.bt.library import SubtreeLibrary, load_library
from llm_mars.bt.parser import MAX_VALID_REPLY_CHARS
from llm_mars.bt.registry import REGISTRY, Category, NodeKind, Port, PortType, Registry
from llm_mars.bt.validator import BTCPP_FORMAT
from llm_mars.errors import RegistryError, RequestError
from llm_mars.language.grounding import Grounding
from llm_mars.llm.requests import PLAN_CONSTRAINT, plan_constraint_name, split_constraint

if TYPE_CHECKING:
    import xgrammar as xgr

MAX_DEPTH = 6
"""Node levels below ``<BehaviorTree>`` (its child is level 1)."""
INDENT = "  "
UNBOUNDED_INT_DIGITS = 6
MAX_CHILD_THRESHOLD = 9
FLOAT_DECIMALS = 3
MAX_GENERATED_REPLY_CHARS = 200
"""Longest reply the model may write, in characters: a sentence or two (a reply of up to
:data:`llm_mars.bt.parser.MAX_VALID_REPLY_CHARS` still validates)."""
assert MAX_GENERATED_REPLY_CHARS <= MAX_VALID_REPLY_CHARS

GROUNDED_GRAMMARS_KEPT = 32
"""Grounded grammars kept (texts, and compiled ones per tokenizer): commands repeat, and each
compile costs time; a compiled grammar holds megabytes, so this bounds the memory too (the
figures: docs/benchmarks.md, "The adapters on the development set")."""

_ENUMERATE_UP_TO = 128  # integer ranges this small become a list of literals

# Characters no text holds: what the serializer escapes, control characters, surrogates and
# U+FFFE/U+FFFF (not XML characters); attribute values also exclude the quote and "{".
_NOT_IN_TEXT = {*map(ord, "<>&"), *range(0x20), *range(0xD800, 0xE000), 0xFFFE, 0xFFFF}
_NOT_IN_ATTRIBUTE = _NOT_IN_TEXT | {ord('"'), ord("{")}
WHITESPACE_BELOW = 0x3001
"""Every character Python calls whitespace is below this (U+3000 is the last); searching only
below it keeps a million-character scan out of start-up (a test checks the bound)."""
_WHITESPACE = {c for c in range(WHITESPACE_BELOW) if chr(c).isspace()}


def literal(text: str) -> str:
    """An EBNF string literal for ``text``."""
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    )
    return f'"{escaped}"'


def _alternatives(items: Iterable[str]) -> str:
    return "(" + " | ".join(items) + ")"


def _char_class_excluding(codepoints: Iterable[int]) -> str:
    """``[^...]``: any character except these code points (all at most U+FFFF)."""
    ranges: list[list[int]] = []
    for c in sorted(set(codepoints)):
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    parts = (f"\\u{lo:04x}" if lo == hi else f"\\u{lo:04x}-\\u{hi:04x}" for lo, hi in ranges)
    return "[^" + "".join(parts) + "]"


# --- numbers --------------------------------------------------------------------------------


def _digit_class(lo: int, hi: int) -> str:
    return f'"{lo}"' if lo == hi else f"[{lo}-{hi}]"


def _same_length_range(low: str, high: str) -> list[str]:
    """EBNF sequences matching every digit string of this length in ``[low, high]``."""
    if len(low) == 1:
        return [_digit_class(int(low), int(high))]
    if low[0] == high[0]:
        return [f'"{low[0]}" {rest}' for rest in _same_length_range(low[1:], high[1:])]
    tail = len(low) - 1
    if low[1:] == "0" * tail and high[1:] == "9" * tail:
        return [f"{_digit_class(int(low[0]), int(high[0]))} [0-9]{{{tail}}}"]
    parts = [f'"{low[0]}" {rest}' for rest in _same_length_range(low[1:], "9" * tail)]
    if int(high[0]) - int(low[0]) > 1:
        parts.append(f"{_digit_class(int(low[0]) + 1, int(high[0]) - 1)} [0-9]{{{tail}}}")
    parts += [f'"{high[0]}" {rest}' for rest in _same_length_range("0" * tail, high[1:])]
    return parts


def _natural_range(lo: int, hi: int) -> list[str]:
    """EBNF sequences matching ``str(n)`` for every ``lo <= n <= hi`` (``0 <= lo``)."""
    parts: list[str] = []
    length = len(str(lo))
    while lo <= hi:
        top = min(hi, 10**length - 1)
        parts += _same_length_range(str(lo), str(top))
        lo, length = top + 1, length + 1
    return parts


def int_range(lo: int, hi: int) -> str:
    """EBNF expression admitting exactly ``str(n)`` for the integers ``lo <= n <= hi``."""
    if lo > hi:
        raise RegistryError(f"empty integer range {lo}..{hi}")
    if hi - lo < _ENUMERATE_UP_TO:
        return _alternatives(literal(str(n)) for n in range(lo, hi + 1))
    parts: list[str] = []
    if lo < 0:
        parts += [f'"-" {p}' for p in _natural_range(max(1, -hi), -lo)]
    if hi >= 0:
        parts += _natural_range(max(lo, 0), hi)
    return _alternatives(f"({p})" if " " in p else p for p in parts)


def float_range(lo: int, hi: int) -> str:
    """EBNF expression admitting ``repr(x)`` for ``lo <= x <= hi`` with few decimals.

    ``repr`` writes the shortest text that round-trips: the integer part, a point and either
    ``0`` or up to :data:`FLOAT_DECIMALS` digits without trailing zeros.
    """
    if not 0 <= lo <= hi:
        raise RegistryError(f"float range {lo}..{hi} is not a non-negative range")
    fraction = f'("0" | [0-9]{{0,{FLOAT_DECIMALS - 1}}} [1-9])'
    options = [f'{int_range(lo, hi - 1)} "." {fraction}'] if hi > lo else []
    options.append(literal(f"{hi}.0"))
    return _alternatives(options)


# --- the grammar ----------------------------------------------------------------------------


class _Rules:
    """Named EBNF rules in definition order; a body defined twice gets one rule."""

    def __init__(self) -> None:
        self._bodies: dict[str, str] = {}
        self._by_body: dict[str, str] = {}

    def add(self, name: str, body: str) -> str:
        if body in self._by_body:
            return self._by_body[body]
        if name in self._bodies:
            raise RegistryError(f"grammar rule {name!r} defined twice")
        self._bodies[name] = body
        self._by_body[body] = name
        return name

    def text(self) -> str:
        return "".join(f"{name} ::= {body}\n" for name, body in self._bodies.items())


def _is_child_threshold(kind: NodeKind, port: Port) -> bool:
    """An int port without a maximum on a node with any number of children: a threshold that
    the validator bounds by the number of children (``Parallel``'s success/failure counts)."""
    return (port.type is PortType.INT and port.maximum is None
            and kind.min_children >= 1 and kind.max_children is None)


def _sequence(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def _lowest(port: Port) -> int:
    """The smallest value of an int port the grammar admits."""
    if port.minimum is None:
        return -(10**UNBOUNDED_INT_DIGITS - 1)
    return int(port.minimum)


class _PlanGrammar:
    def __init__(self, registry: Registry, subtrees: dict[str, tuple[Port, ...]],
                 max_depth: int, grounding: Grounding | None = None):
        self.registry = registry
        self.subtrees = subtrees
        self.max_depth = max_depth
        self.grounding = grounding
        self.rules = _Rules()

    # values and attributes

    def grounded(self, port: Port) -> list[str] | None:
        """The values the command's grounding admits for this port; ``None``: no restriction."""
        g = self.grounding
        if g is None:
            return None
        if port.type is PortType.ENUM and set(port.choices) == set(V.COLORS):
            return g.allowed_colors()
        if port.type is PortType.ENUM and set(port.choices) == set(V.PLACES):
            return g.allowed_places()
        if (port.type is PortType.INT and port.minimum is not None and port.maximum is not None
                and port.minimum >= 0):
            values = g.allowed_ints(port.name, int(port.minimum), int(port.maximum))
            return None if values is None else [str(v) for v in values]
        return None

    def value(self, port: Port, owner: str) -> str:
        kind = port.type
        grounded = self.grounded(port)
        if grounded is not None:
            return _alternatives(literal(v) for v in grounded)
        if kind is PortType.ENUM:
            return _alternatives(literal(c) for c in port.choices)
        if kind is PortType.BOOL:
            return '("true" | "false")'
        if kind is PortType.INT:
            hi = port.maximum if port.maximum is not None else 10**UNBOUNDED_INT_DIGITS - 1
            if (port.minimum is not None and port.minimum != int(port.minimum)) or hi != int(hi):
                raise RegistryError(f"{owner}.{port.name}: integer bounds must be integers")
            return self.int_rule(_lowest(port), int(hi))
        if kind is PortType.FLOAT:
            lo, hi = port.minimum, port.maximum
            if lo is None or hi is None or lo != int(lo) or hi != int(hi):
                raise RegistryError(f"{owner}.{port.name}: the plan grammar needs integer "
                                    "bounds on float ports")
            return self.rules.add(f"float_{int(lo)}_{int(hi)}", float_range(int(lo), int(hi)))
        if port.max_length is None:
            raise RegistryError(f"{owner}.{port.name}: string ports need a max_length")
        # inline, not a rule of its own: xgrammar then compiles it in milliseconds, not seconds
        return f"{_char_class_excluding(_NOT_IN_ATTRIBUTE)}{{1,{port.max_length}}}"

    def int_rule(self, lo: int, hi: int) -> str:
        return self.rules.add(f"int_{lo}_{hi}".replace("-", "m"), int_range(lo, hi))

    def attribute(self, port: Port, owner: str) -> str:
        return _sequence(literal(f' {port.name}="'), self.value(port, owner), '"\\""')

    def attributes(self, ports: Iterable[Port], owner: str) -> str:
        parts = []
        for port in ports:
            attr = self.attribute(port, owner)
            parts.append(attr if port.required else f"({attr})?")
        return _sequence(*parts)

    def threshold_attributes(self, kind: NodeKind, level: int) -> str:
        """Attributes of ``kind`` needing exactly ``level`` children, as the validator counts:
        a threshold ``v`` (or its default, when left out) needs ``max(1, v)`` children.

        One alternative per threshold port that is the first to need ``level``: earlier ones
        need less, later ones at most as much, so the alternatives never overlap.
        """
        thresholds = [p for p in kind.ports if _is_child_threshold(kind, p)]
        alternatives = []
        for pivot in thresholds:
            parts = []
            for port in kind.ports:
                if port not in thresholds:
                    attr = self.attribute(port, kind.tag)
                    parts.append(attr if port.required else f"({attr})?")
                    continue
                place = thresholds.index(port) - thresholds.index(pivot)
                relation = "below" if place < 0 else "at" if place == 0 else "upto"
                part = self.threshold_attribute(kind, port, relation, level)
                if part is None:
                    break
                parts.append(part)
            else:
                alternatives.append(_sequence(*parts))
        return _alternatives(alternatives) if alternatives else ""

    def threshold_attribute(self, kind: NodeKind, port: Port, relation: str,
                            level: int) -> str | None:
        """The attribute (or its absence) for a threshold whose need is below / at / up to
        ``level``; ``None`` if no value has that need."""
        def fits(need: int) -> bool:
            return {"below": need < level, "at": need == level, "upto": need <= level}[relation]

        absent = not port.required and fits(max(1, port.default)
                                            if isinstance(port.default, int) else 1)
        # a value v needs max(1, v) children, so every v <= 1 needs one
        lo = _lowest(port)
        if relation == "upto":
            hi = level
        elif relation == "below":
            hi = level - 1 if level > 1 else lo - 1  # nothing needs fewer than one
        else:
            lo, hi = (lo, 1) if level == 1 else (level, level)
        if lo > hi:
            return "" if absent else None
        present = _sequence(literal(f' {port.name}="'), self.int_rule(lo, hi), '"\\""')
        return f"({present})?" if absent else present

    # nodes

    def leaf(self, kind: NodeKind) -> str:
        return self.rules.add(f"leaf_{kind.tag}", _sequence(
            literal("<" + kind.tag), self.attributes(kind.ports, kind.tag), '"/>"'))

    def subtree_uses(self) -> list[str]:
        uses = []
        for i, (subtree_id, ports) in enumerate(self.subtrees.items()):
            uses.append(self.rules.add(f"subtree_{i}", _sequence(
                literal(f'<SubTree ID="{subtree_id}"'),
                self.attributes(ports, f"SubTree {subtree_id}"), '"/>"')))
        return uses

    def composite(self, kind: NodeKind, depth: int) -> str:
        indent = INDENT * (depth + 1)
        child = _sequence(literal("\n" + indent + INDENT), f"node_{depth + 1}")
        close = literal(f"\n{indent}</{kind.tag}>")
        lo, hi = kind.min_children, kind.max_children
        if lo < 1:
            raise RegistryError(f"{kind.tag}: a control or decorator needs at least one child")
        if any(_is_child_threshold(kind, p) for p in kind.ports):
            variants = []
            for level in range(max(lo, 1), MAX_CHILD_THRESHOLD + 1):
                attrs = self.threshold_attributes(kind, level)
                children = f"({child})+" if level == 1 else f"({child}){{{level},}}"
                variants.append(_sequence(literal("<" + kind.tag), attrs, '">"', children, close))
            return self.rules.add(f"{kind.tag}_{depth}", _alternatives(variants))
        if lo == hi == 1:
            children = child
        elif hi is None:
            children = f"({child})+" if lo == 1 else f"({child}){{{lo},}}"
        else:
            children = f"({child}){{{lo},{hi}}}"
        return self.rules.add(f"{kind.tag}_{depth}", _sequence(
            literal("<" + kind.tag), self.attributes(kind.ports, kind.tag), '">"', children,
            close))

    def text(self) -> str:
        kinds = list(self.registry.planned.kinds.values())  # hand-written built-ins stay out
        leaves = [self.leaf(k) for k in kinds
                  if k.category in (Category.ACTION, Category.CONDITION)]
        leaves += self.subtree_uses()
        leaf = self.rules.add("leaf", _alternatives(leaves))
        composites = [k for k in kinds if k.category in (Category.CONTROL, Category.DECORATOR)]
        nodes = _Rules()  # node_N refer to each other by name, so they are defined here
        for depth in range(1, self.max_depth + 1):
            options = [leaf]
            if depth < self.max_depth:
                options += [self.composite(k, depth) for k in composites]
            nodes.add(f"node_{depth}", _alternatives(options))
        robots = V.ROBOTS if self.grounding is None else self.grounding.allowed_robots()
        trees = [self.rules.add(f"tree_{robot}", _sequence(
            literal(f'\n{INDENT}<BehaviorTree ID="{robot}">\n{INDENT * 2}'), "node_1",
            literal(f"\n{INDENT}</BehaviorTree>"))) for robot in robots]
        # each robot at most once, in robot order (the serializer's order)
        orders = [_sequence(*(t for i, t in enumerate(trees) if mask >> i & 1))
                  for mask in range(1, 2 ** len(trees))]
        reply_char = _char_class_excluding(_NOT_IN_TEXT)
        reply_edge = _char_class_excluding(_NOT_IN_TEXT | _WHITESPACE)
        start, end = literal(f'<root BTCPP_format="{BTCPP_FORMAT}">'), literal("\n</root>\n")
        plan_only = self.grounding is not None and self.grounding.plan_only
        head = (
            f"root ::= {'plan' if plan_only else 'plan | reply'}\n"
            f"plan ::= {start} {_alternatives(orders)} {end}\n"
            f'reply ::= "<reply>" {reply_edge} '
            f'{reply_char}{{0,{MAX_GENERATED_REPLY_CHARS - 1}}} "</reply>"\n'
        )
        return head + nodes.text() + self.rules.text()


def plan_grammar_ebnf(registry: Registry = REGISTRY, library: SubtreeLibrary | None = None,
                      *, max_depth: int = MAX_DEPTH, grounding: Grounding | None = None) -> str:
    """The EBNF (xgrammar dialect) of the canonical valid ``bt`` outputs (see the module
    docstring for the few valid outputs it leaves out).

    ``library`` is the subtree library (``None``: :func:`llm_mars.bt.library.load_library`).
    ``grounding`` narrows colour, place and small numbered ports, and the robots given a tree,
    to what one command mentions (:mod:`llm_mars.language.grounding`); the result is still a
    subset of the valid outputs.
    """
    if max_depth < 1:
        raise RegistryError("max_depth must be at least 1")
    library = load_library() if library is None else library
    text = _PlanGrammar(registry, library.ports, max_depth, grounding).text()
    return text if grounding is None else f"{GROUNDING_HEADER}{grounding.key()}\n{text}"


GROUNDING_HEADER = "# llm_mars plan grounding: "
"""First line (an EBNF comment) of a grounded plan grammar: a server that receives the grammar
text reads the grounding from it and checks the text is exactly that grammar."""


def plan_constraint_of_grammar(text: str) -> str | None:
    """The constraint name (``plan`` / ``plan:KEY``) of a plan grammar text as
    :func:`plan_grammar_ebnf` writes it; ``None`` if the text is not one."""
    grounding = None
    if text.startswith(GROUNDING_HEADER):
        try:
            grounding = grounding_of_key(text[len(GROUNDING_HEADER):].split("\n", 1)[0])
        except RequestError:
            return None
    if text.strip() != _plan_grammar_cached(grounding).strip():
        return None
    return plan_constraint_name(None if grounding is None else grounding.key())


def grounding_of_key(key: str | None) -> Grounding | None:
    """The grounding a key names (``None``: none); RequestError if the key is malformed."""
    try:
        return None if key is None else Grounding.from_key(key)
    except ValueError as exc:
        raise RequestError(str(exc)) from None


def plan_grounding(constraint: str) -> Grounding | None:
    """The grounding a plan constraint name (``plan`` / ``plan:KEY``) carries; RequestError for
    another constraint or a malformed key."""
    base, key = split_constraint(constraint)
    if base != PLAN_CONSTRAINT:
        raise RequestError(f"unknown output constraint {constraint!r}; known: plan")
    return grounding_of_key(key)


def plan_grammar_for(constraint: str) -> str:
    """The grammar text of a plan constraint name, for backends that send the grammar elsewhere
    (a remote server, vLLM)."""
    return _plan_grammar_cached(plan_grounding(constraint))


@functools.lru_cache(maxsize=GROUNDED_GRAMMARS_KEPT)
def _plan_grammar_cached(grounding: Grounding | None) -> str:
    return plan_grammar_ebnf(grounding=grounding)


class _Compiler:
    """One xgrammar compiler for a tokenizer, with the default grammar and recent grounded ones."""

    def __init__(self, tokenizer: Any, vocab_size: int | None):
        import xgrammar as xgr

        info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size)
        # xgrammar's own cache keeps every grammar ever compiled (it grows without bound:
        # docs/benchmarks.md); ours below keeps the recent ones only
        self.compiler = xgr.GrammarCompiler(info, max_threads=2, cache_enabled=False)
        self.default: Any = None  # the plan grammar, compiled when first asked for (a process
        # that only answers questions, `llm-mars ask`, never needs it)
        self.grounded: OrderedDict[Grounding, Any] = OrderedDict()
        self.others: dict[str, Any] = {}  # other output grammars by text (a few, fixed)

    def get(self, grounding: Grounding | None) -> xgr.CompiledGrammar:
        if grounding is None:
            if self.default is None:
                self.default = self.compiler.compile_grammar(_plan_grammar_cached(None))
            return self.default
        if grounding in self.grounded:
            self.grounded.move_to_end(grounding)
        else:
            self.grounded[grounding] = self.compiler.compile_grammar(
                _plan_grammar_cached(grounding))
            while len(self.grounded) > GROUNDED_GRAMMARS_KEPT:
                self.grounded.popitem(last=False)
        return self.grounded[grounding]


_COMPILERS: weakref.WeakKeyDictionary[Any, dict[int | None, _Compiler]] = \
    weakref.WeakKeyDictionary()
_COMPILE_LOCK = threading.Lock()


def compiled_grammar(tokenizer: Any, text: str, *, vocab_size: int | None = None
                     ) -> xgr.CompiledGrammar:
    """Another output grammar (EBNF ``text``, e.g. :func:`llm_mars.qa.query.query_grammar_ebnf`)
    compiled for ``tokenizer`` by the same compiler as the plan grammar, cached by text."""
    with _COMPILE_LOCK:
        per_size = _COMPILERS.setdefault(tokenizer, {})
        if vocab_size not in per_size:
            per_size[vocab_size] = _Compiler(tokenizer, vocab_size)
        compiler = per_size[vocab_size]
        if text not in compiler.others:
            compiler.others[text] = compiler.compiler.compile_grammar(text)
        return compiler.others[text]


def compiled_plan_grammar(tokenizer: Any, *, vocab_size: int | None = None,
                          grounding: Grounding | None = None) -> xgr.CompiledGrammar:
    """The plan grammar (narrowed by ``grounding``, if given) compiled for ``tokenizer`` (a
    Hugging Face tokenizer), cached.

    ``vocab_size`` is the model's vocabulary size where it exceeds the tokenizer's (padded
    embeddings); the bitmask rows are that wide.
    """
    with _COMPILE_LOCK:
        per_size = _COMPILERS.setdefault(tokenizer, {})
        if vocab_size not in per_size:
            per_size[vocab_size] = _Compiler(tokenizer, vocab_size)
        return per_size[vocab_size].get(grounding)
