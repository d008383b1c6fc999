"""Hypothesis strategies for valid plans, derived from the registry and the subtree library."""
from __future__ import annotations

from dataclasses import replace

from hypothesis import strategies as st

from llm_mars import vocabulary as V
from llm_mars.bt.library import SubtreeLibrary
from llm_mars.bt.model import Node, Plan
from llm_mars.bt.registry import (CONDITION_SCRIPTS, ENTRY_TYPES, PRE_CONDITIONS, REGISTRY,
                                  Category, Port, PortType)
from llm_mars.bt.script import blackboard_pointer
from llm_mars.bt.validator import PORT_REFERENCE

# characters XML 1.0 can carry (no surrogates, controls other than tab/newline/return,
# or non-characters)
XML_CHARACTERS = st.one_of(
    st.characters(blacklist_categories=("Cs", "Cc", "Cn")),
    st.sampled_from("\t\n\r"),
)


SCRIPT_VARIABLES = ("a", "b", "@a")
ENTRY_KEYS = ("a", "b", "c")
"""The entries SetBlackboard and SwitchN name in generated trees."""
_LITERALS = ("0", "1", "2", "3", "+3", "2.5", "0.5", "1e1", "0x1F", "true", "false", "'a'",
             "'b'", "''", "'5'", "'true'", '"a"')
_GROUPS = ({"prefix": ("-",), "infix": ("+", "-", "*", "/")},
           {"prefix": ("~", "!"), "infix": ("&", "|", "^")},
           {"prefix": (), "infix": ("..",)})
"""BT.CPP's three operator groups: one expression uses one (llm_mars/bt/script.py)."""
NUMBERS = ("0", "1", "2", "2.5", "true", "false")
"""Literals of scripts that mostly run without error: numbers, and only the arithmetic group."""


@st.composite
def script_expressions(draw, depth: int = 2, condition: bool = False,
                       numbers: bool = False) -> str:
    """The text of one valid BT.CPP script expression over :data:`SCRIPT_VARIABLES`;
    ``condition``: mostly comparisons and logic, whose values are booleans; ``numbers``:
    only :data:`NUMBERS` and arithmetic."""
    group = _GROUPS[0] if numbers else draw(st.sampled_from(_GROUPS))

    def operand(level: int) -> str:
        choice = draw(st.integers(0, 5 if level else 1))
        if choice == 0:
            return draw(st.sampled_from(NUMBERS if numbers else _LITERALS))
        if choice == 1:
            return draw(st.sampled_from(SCRIPT_VARIABLES))
        if choice == 2 and group["prefix"]:
            return draw(st.sampled_from(group["prefix"])) + operand(level - 1)
        if choice == 3:
            return f"({draw(script_expressions(level - 1, numbers=numbers))})"
        op = draw(st.sampled_from(group["infix"]))
        return f"{operand(level - 1)} {op} {operand(level - 1)}"

    def comparison() -> str:
        ops = draw(st.lists(st.sampled_from(("==", "!=", "<", ">", "<=", ">=")), min_size=int(
            condition), max_size=2))
        return " ".join([operand(depth), *(f"{op} {operand(depth)}" for op in ops)])

    def logical() -> str:
        parts = [comparison()]
        for op in draw(st.lists(st.sampled_from(("&&", "||")), max_size=2 if depth else 0)):
            parts.append(f"{op} {comparison()}")
        return " ".join(parts)

    shape = draw(st.integers(0, 3 if depth else 0))
    if shape == 1:
        then = draw(script_expressions(depth - 1, condition, numbers))
        return f"{logical()} ? {then} : {logical()}"
    if shape == 2 and not condition:
        op = draw(st.sampled_from((":=", ":=", "=", "+=", "-=", "*=", "/=")))
        return f"{draw(st.sampled_from(SCRIPT_VARIABLES))} {op} {logical()}"
    return logical()


def scripts(condition: bool = False, numbers: bool = False) -> st.SearchStrategy[str]:
    """Valid BT.CPP scripts: one to three statements; ``condition``: the last one is a
    condition; ``numbers``: see :func:`script_expressions`."""
    return st.tuples(st.lists(script_expressions(numbers=numbers), max_size=2),
                     script_expressions(condition=condition, numbers=numbers)).map(
        lambda parts: "; ".join([*parts[0], parts[1]]))


def port_values(port: Port) -> st.SearchStrategy:
    if port.type is PortType.SCRIPT:
        return scripts()
    if port.type is PortType.ENUM:
        return st.sampled_from(port.choices)
    if port.type is PortType.BOOL:
        return st.booleans()
    if port.type is PortType.INT:
        return st.integers(int(port.minimum) if port.minimum is not None else -10,
                           int(port.maximum) if port.maximum is not None else 10)
    if port.type is PortType.FLOAT:
        return st.floats(port.minimum, port.maximum, allow_nan=False, allow_infinity=False)
    if port.type is PortType.KEY:
        return st.sampled_from(ENTRY_KEYS)
    if port.type in ENTRY_TYPES:
        return st.one_of(st.sampled_from([f"{{{key}}}" for key in ENTRY_KEYS]),
                         st.text(XML_CHARACTERS, max_size=20).filter(
                             lambda text: not blackboard_pointer(text)))
    return st.text(XML_CHARACTERS, max_size=min(port.max_length or 80, 80)).filter(
        lambda text: not PORT_REFERENCE.fullmatch(text.strip()))


@st.composite
def _ports(draw, ports: tuple[Port, ...]) -> tuple:
    chosen = []
    for port in ports:
        if port.required or draw(st.booleans()):
            chosen.append((port.name, draw(port_values(port))))
    return tuple(chosen)


def leaves(library: SubtreeLibrary) -> st.SearchStrategy[Node]:
    kinds = [*REGISTRY.of(Category.ACTION), *REGISTRY.of(Category.CONDITION),
             *REGISTRY.of(Category.LEAF)]
    plain = st.sampled_from(kinds).flatmap(
        lambda kind: _ports(kind.ports).map(lambda ports: Node(kind.tag, ports)))
    if not len(library):
        return plain
    uses = st.sampled_from(list(library)).flatmap(
        lambda d: _ports(d.ports).map(lambda ports: Node("SubTree", (("ID", d.id), *ports))))
    return st.one_of(plain, uses)


@st.composite
def _control(draw, children: st.SearchStrategy[Node]) -> Node:
    kind = draw(st.sampled_from(REGISTRY.of(Category.CONTROL)))
    kids = tuple(draw(st.lists(children, min_size=kind.min_children,
                               max_size=kind.max_children or max(3, kind.min_children))))
    ports = draw(_ports(kind.ports))
    if kind.tag == "Parallel":  # thresholds may not exceed the number of children
        ports = tuple((name, min(value, len(kids))) for name, value in ports)
    return Node(kind.tag, ports, kids)


@st.composite
def _decorator(draw, children: st.SearchStrategy[Node]) -> Node:
    kind = draw(st.sampled_from(REGISTRY.of(Category.DECORATOR)))
    return Node(kind.tag, draw(_ports(kind.ports)), (draw(children),))


ON_HALTED = ("h := 1", "g := 'h'", "@k := 2.5; h := 3")
"""``_onHalted`` scripts that cannot throw: BT.CPP also runs them when a tree is destroyed
(``haltTree``), where a throwing script ends the process."""


def condition_script(name: str, numbers: bool = False) -> st.SearchStrategy[str]:
    """A script for the condition attribute ``name`` (a condition for a pre-condition)."""
    if name == "_onHalted":
        return st.sampled_from(ON_HALTED)
    return scripts(condition=name in PRE_CONDITIONS, numbers=numbers)


def condition_scripts() -> st.SearchStrategy[tuple[tuple[str, str], ...]]:
    """BT.CPP's condition scripts a node may carry (``_skipIf`` ...), mostly none."""
    chosen = st.lists(st.sampled_from(CONDITION_SCRIPTS), max_size=2, unique=True)
    return st.one_of(st.just(()), chosen.flatmap(lambda names: st.tuples(
        *[condition_script(name).map(lambda text, name=name: (name, text))
          for name in names])))


def _conditioned(nodes: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.tuples(nodes, condition_scripts()).map(
        lambda pair: replace(pair[0], conditions=tuple(
            c for name in CONDITION_SCRIPTS for c in pair[1] if c[0] == name)))


def trees(library: SubtreeLibrary, depth: int = 3) -> st.SearchStrategy[Node]:
    """Valid trees up to ``depth`` levels of controls/decorators above the leaves."""
    strategy = _conditioned(leaves(library))
    for _ in range(depth):
        strategy = st.one_of(_conditioned(leaves(library)), _conditioned(_control(strategy)),
                             _conditioned(_decorator(strategy)))
    return strategy


def plans(library: SubtreeLibrary, depth: int = 3) -> st.SearchStrategy[Plan]:
    robots = st.lists(st.sampled_from(V.ROBOTS), min_size=1, max_size=2, unique=True)
    return robots.flatmap(lambda names: st.tuples(*[trees(library, depth) for _ in names]).map(
        lambda roots: Plan(tuple(sorted(zip(names, roots),
                                        key=lambda item: V.ROBOTS.index(item[0]))))))
