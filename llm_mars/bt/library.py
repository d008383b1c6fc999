"""The library of reusable subtrees: ``trees/subtrees/<ID>.xml``, one BT.CPP v4 document each.

A subtree file holds one ``<BehaviorTree ID="<ID>">`` (the body) and a ``<TreeNodesModel>``
that declares the subtree's typed input ports, the way BT.CPP's Groot models do::

    <root BTCPP_format="4">
      <BehaviorTree ID="CherriesToBasket">
        <Sequence>
          <CollectCherries holder="{holder}"/>
          <DropCherries/>
        </Sequence>
      </BehaviorTree>
      <TreeNodesModel>
        <SubTree ID="CherriesToBasket" description="fill the basket from one holder">
          <input_port name="holder" like="CollectCherries.holder">holder to empty</input_port>
        </SubTree>
      </TreeNodesModel>
    </root>

An ``<input_port>`` either copies a registry port's type with ``like="Tag.port"`` or spells
it out with ``type`` (int, float, bool, string, enum) and ``min``/``max`` (numbers),
``choices`` (enum, ``a|b|c``) or ``max_length`` (string). A ``default`` makes the port
optional; the element text (or the copied port's) is its description. In the body,
``{name}`` passes a port on; the target node's port must accept every value the declared
port allows (checked when the library loads). Plans use ``<SubTree ID="CherriesToBasket"
holder="2"/>``. Subtrees may use other subtrees; cycles are reported.
"""
from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm_mars import vocabulary as V
from llm_mars.bt.model import Node
from llm_mars.bt.registry import REGISTRY, RESERVED_PORT_NAMES, Port, PortType
from llm_mars.bt.safe_xml import Element, read_xml
from llm_mars.bt.validator import NodeChecker, check_root, closest
from llm_mars.errors import (PlanValidationError, Problem, SubtreeLibraryError,
                             TreesNotFoundError)

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PORT_ATTRIBUTES = ("name", "like", "type", "min", "max", "choices", "max_length", "default")


def trees_dir() -> Path:
    """The ``trees/`` folder: a source checkout's, else the installed package's share folder."""
    checkout = Path(__file__).resolve().parents[2] / "trees"
    if checkout.is_dir():
        return checkout
    try:
        from ament_index_python.packages import get_package_share_directory
        share = Path(get_package_share_directory("llm_mars")) / "trees"
    except (ImportError, LookupError):
        share = None
    if share is not None and share.is_dir():
        return share
    raise TreesNotFoundError(
        f"no trees/ folder: not in a source checkout ({checkout}) and no installed "
        "share/llm_mars/trees (build the package with colcon or run from the repository)"
    )


@dataclass(frozen=True)
class SubtreeDefinition:
    """One subtree: its ID, declared ports, typed body and where it came from."""

    id: str
    ports: tuple[Port, ...]
    root: Node
    description: str
    source: str
    text: str

    def port(self, name: str) -> Port | None:
        for port in self.ports:
            if port.name == name:
                return port
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "description": self.description, "source": self.source,
                "ports": [p.to_dict() for p in self.ports]}


class SubtreeLibrary:
    """Subtree ID -> :class:`SubtreeDefinition`, validated and free of cycles."""

    def __init__(self, definitions: Iterable[SubtreeDefinition] = ()):
        self._definitions = {d.id: d for d in definitions}

    def __contains__(self, subtree_id: object) -> bool:
        return subtree_id in self._definitions

    def __getitem__(self, subtree_id: str) -> SubtreeDefinition:
        return self._definitions[subtree_id]

    def __iter__(self) -> Iterator[SubtreeDefinition]:
        return iter(self._definitions.values())

    def __len__(self) -> int:
        return len(self._definitions)

    def get(self, subtree_id: str) -> SubtreeDefinition | None:
        return self._definitions.get(subtree_id)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._definitions)

    @property
    def ports(self) -> dict[str, tuple[Port, ...]]:
        """Subtree ID -> declared ports (what a ``<SubTree>`` use is checked against)."""
        return {d.id: d.ports for d in self._definitions.values()}

    @property
    def bodies(self) -> dict[str, Node]:
        """Subtree ID -> typed body (what a copy of it in a plan must equal)."""
        return {d.id: d.root for d in self._definitions.values()}

    def to_dict(self) -> list[dict[str, Any]]:
        return [d.to_dict() for d in self._definitions.values()]

    @classmethod
    def from_directory(cls, folder: Path) -> SubtreeLibrary:
        """Load every ``*.xml`` in ``folder``; each file's ID must equal its file name."""
        files = sorted(Path(folder).glob("*.xml"))
        return cls.from_documents({f.name: f.read_text(encoding="utf-8") for f in files})

    @classmethod
    def from_documents(cls, documents: Mapping[str, str]) -> SubtreeLibrary:
        """Load subtree documents (source name -> XML text); raises SubtreeLibraryError."""
        return _Loader(documents).load()

    def with_document(self, source: str, text: str) -> SubtreeLibrary:
        """This library with one document added or replaced (for validating a single file)."""
        documents = {d.source: d.text for d in self._definitions.values()}
        documents[source] = text
        return SubtreeLibrary.from_documents(documents)


@functools.lru_cache(maxsize=1)
def _default_library() -> SubtreeLibrary:
    return load_library(trees_dir())


def load_library(root: Path | None = None) -> SubtreeLibrary:
    """The subtree library under ``root/subtrees`` (default: :func:`trees_dir`, cached)."""
    if root is None:
        return _default_library()
    root = Path(root)
    if not root.is_dir():
        raise TreesNotFoundError(f"trees folder {root} does not exist")
    return SubtreeLibrary.from_directory(root / "subtrees")


@dataclass
class _Interface:
    id: str
    ports: tuple[Port, ...]
    description: str
    body: Element
    source: str


class _Loader:
    """Two passes: read every file's declared ports, then check bodies against all of them."""

    def __init__(self, documents: Mapping[str, str]):
        self.documents = documents
        self.problems: dict[str, list[Problem]] = {source: [] for source in documents}

    def load(self) -> SubtreeLibrary:
        interfaces: dict[str, _Interface] = {}
        for source, text in self.documents.items():
            interface = self._interface(source, text)
            if interface is None:
                continue
            if interface.id in interfaces:
                self._report(source, interface.body, f"subtree {interface.id} is also defined "
                             f"in {interfaces[interface.id].source}", "bad_subtree_file")
                continue
            interfaces[interface.id] = interface
        declared = {i.id: i.ports for i in interfaces.values()}
        definitions = []
        for interface in interfaces.values():
            checker = NodeChecker(declared, {p.name: p for p in interface.ports},
                                  self.problems[interface.source])
            body = interface.body
            root = checker.node(body, f"{interface.id}/{body.tag}[0]")
            if root is not None:
                definitions.append(SubtreeDefinition(
                    interface.id, interface.ports, root, interface.description,
                    interface.source, self.documents[interface.source]))
        self._check_cycles({d.id: d for d in definitions})
        failed = {source: tuple(p) for source, p in self.problems.items() if p}
        if failed:
            raise SubtreeLibraryError(failed)
        return SubtreeLibrary(definitions)

    def _report(self, source: str, element: Element, message: str, code: str,
                suggestion: str | None = None, path: str = "") -> None:
        self.problems[source].append(
            Problem(message, path, element.line, element.column, suggestion, code))

    def _interface(self, source: str, text: str) -> _Interface | None:
        try:
            root = read_xml(text)
        except PlanValidationError as exc:
            self.problems[source].extend(exc.problems)
            return None
        check_root(root, self.problems[source])
        trees = [c for c in root.children if c.tag == "BehaviorTree"]
        models = [c for c in root.children if c.tag == "TreeNodesModel"]
        for child in root.children:
            if child.tag not in ("BehaviorTree", "TreeNodesModel"):
                self._report(source, child, f"a subtree file holds one <BehaviorTree> and one "
                             f"<TreeNodesModel>, not <{child.tag}>", "bad_subtree_file",
                             closest(child.tag, ["BehaviorTree", "TreeNodesModel"]))
        if len(trees) != 1 or len(models) != 1:
            self._report(source, root, "a subtree file needs exactly one <BehaviorTree> and one "
                         "<TreeNodesModel>", "bad_subtree_file")
            return None
        tree, model = trees[0], models[0]
        subtree_id = tree.attributes.get("ID", "")
        problems_before = len(self.problems[source])
        if not _IDENTIFIER.fullmatch(subtree_id):
            self._report(source, tree, f"subtree ID {subtree_id!r} is not a name",
                         "bad_subtree_file")
        elif subtree_id in REGISTRY or subtree_id in V.ROBOTS:
            self._report(source, tree, f"subtree ID {subtree_id!r} is taken by a node kind or "
                         "robot", "bad_subtree_file")
        elif source.endswith(".xml") and Path(source).stem != subtree_id:
            self._report(source, tree, f"subtree {subtree_id} must live in {subtree_id}.xml",
                         "bad_subtree_file")
        if len(tree.children) != 1:
            self._report(source, tree, f"a <BehaviorTree> needs exactly one root node, has "
                         f"{len(tree.children)}", "tree_children")
        models_for_id = [m for m in model.children
                         if m.tag == "SubTree" and m.attributes.get("ID") == subtree_id]
        if len(model.children) != 1 or len(models_for_id) != 1:
            self._report(source, model, f"<TreeNodesModel> needs exactly one <SubTree "
                         f"ID=\"{subtree_id}\"> declaring its ports", "bad_subtree_file")
            return None
        declaration = models_for_id[0]
        for name in declaration.attributes:
            if name not in ("ID", "description"):
                self._report(source, declaration, f"<SubTree> declaration has no attribute "
                             f"{name!r}", "unknown_attribute", closest(name, ["description"]))
        ports = []
        for element in declaration.children:
            port = self._port(source, element, subtree_id)
            if port is not None:
                if any(p.name == port.name for p in ports):
                    self._report(source, element, f"port {port.name} declared twice",
                                 "bad_port_declaration")
                ports.append(port)
        if len(self.problems[source]) > problems_before:
            return None
        return _Interface(subtree_id, tuple(ports), declaration.attributes.get("description", ""),
                          tree.children[0], source)

    def _port(self, source: str, element: Element, subtree_id: str) -> Port | None:
        def bad(message: str, suggestion: str | None = None) -> None:
            self._report(source, element, message, "bad_port_declaration", suggestion,
                         f"{subtree_id}/input_port")

        if element.tag != "input_port":
            bad(f"<SubTree> declares ports with <input_port>, not <{element.tag}>",
                closest(element.tag, ["input_port"]))
            return None
        attributes = element.attributes
        for name in attributes:
            if name not in _PORT_ATTRIBUTES:
                bad(f"<input_port> has no attribute {name!r}", closest(name, _PORT_ATTRIBUTES))
                return None
        name = attributes.get("name", "")
        if not _IDENTIFIER.fullmatch(name) or name in RESERVED_PORT_NAMES:
            bad(f"port name {name!r} is not a name (or is reserved in BT.CPP: "
                f"{', '.join(RESERVED_PORT_NAMES)})")
            return None
        description = element.text.strip()
        try:
            if "like" in attributes:
                if set(attributes) - {"name", "like", "default"}:
                    bad("a port declared with like= takes only name, like and default")
                    return None
                tag, _, port_name = attributes["like"].partition(".")
                kind = REGISTRY.get(tag)
                base = kind.port(port_name) if kind is not None else None
                if base is None:
                    bad(f"like={attributes['like']!r} names no registry port (use Tag.port)")
                    return None
                port = dataclasses.replace(base, name=name,
                                           description=description or base.description)
            else:
                port = self._spelled_out_port(name, description, attributes)
            if "default" in attributes:
                port = dataclasses.replace(port, required=False,
                                           default=port.parse(attributes["default"]))
        except ValueError as exc:
            bad(f"port {name}: {exc}")
            return None
        return port

    @staticmethod
    def _spelled_out_port(name: str, description: str, attributes: Mapping[str, str]) -> Port:
        try:
            port_type = PortType(attributes.get("type", ""))
        except ValueError:
            types = ", ".join(t.value for t in PortType)
            raise ValueError(f"type must be one of {types}") from None
        numeric = port_type in (PortType.INT, PortType.FLOAT)
        allowed = {"name", "type", "default"}
        allowed |= {"min", "max"} if numeric else set()
        allowed |= {"choices"} if port_type is PortType.ENUM else set()
        allowed |= {"max_length"} if port_type is PortType.STRING else set()
        extra = set(attributes) - allowed
        if extra:
            raise ValueError(f"a {port_type.value} port takes no {', '.join(sorted(extra))}")
        limits = {}
        for key, field_name in (("min", "minimum"), ("max", "maximum")):
            if key in attributes:
                limits[field_name] = Port(key, port_type, "").parse(attributes[key])
        choices = tuple(c for c in attributes.get("choices", "").split("|") if c)
        if port_type is PortType.ENUM and not choices:
            raise ValueError("an enum port needs choices=\"a|b|c\"")
        max_length = None
        if "max_length" in attributes:
            max_length = Port("max_length", PortType.INT, "", minimum=1).parse(
                attributes["max_length"])
        return Port(name, port_type, description, choices=choices, max_length=max_length,
                    **limits)

    def _check_cycles(self, definitions: dict[str, SubtreeDefinition]) -> None:
        state: dict[str, str] = {}  # "active" while on the DFS stack, then "done"

        def visit(subtree_id: str, chain: list[str]) -> None:
            state[subtree_id] = "active"
            definition = definitions[subtree_id]
            for node in definition.root.walk():
                if node.tag != "SubTree":
                    continue
                target = node.port("ID")
                if target not in definitions:
                    continue
                if state.get(target) == "active":
                    cycle = chain[chain.index(target):] + [subtree_id, target] \
                        if target in chain else [subtree_id, target]
                    self.problems[definition.source].append(Problem(
                        f"subtree cycle {' -> '.join(cycle)}", subtree_id, node.line,
                        node.column, None, "cyclic_subtree"))
                elif target not in state:
                    visit(target, chain + [subtree_id])
            state[subtree_id] = "done"

        for subtree_id in definitions:
            if subtree_id not in state:
                visit(subtree_id, [])
