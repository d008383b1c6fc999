"""Hypothesis strategies for valid plans, derived from the registry and the subtree library."""
from __future__ import annotations

from hypothesis import strategies as st

from llm_mars import vocabulary as V
from llm_mars.bt.library import SubtreeLibrary
from llm_mars.bt.model import Node, Plan
from llm_mars.bt.registry import REGISTRY, Category, Port, PortType
from llm_mars.bt.validator import PORT_REFERENCE

# characters XML 1.0 can carry (no surrogates, controls other than tab/newline/return,
# or non-characters)
XML_CHARACTERS = st.one_of(
    st.characters(blacklist_categories=("Cs", "Cc", "Cn")),
    st.sampled_from("\t\n\r"),
)


def port_values(port: Port) -> st.SearchStrategy:
    if port.type is PortType.ENUM:
        return st.sampled_from(port.choices)
    if port.type is PortType.BOOL:
        return st.booleans()
    if port.type is PortType.INT:
        return st.integers(int(port.minimum) if port.minimum is not None else -10,
                           int(port.maximum) if port.maximum is not None else 10)
    if port.type is PortType.FLOAT:
        return st.floats(port.minimum, port.maximum, allow_nan=False, allow_infinity=False)
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
    kids = tuple(draw(st.lists(children, min_size=kind.min_children, max_size=3)))
    ports = draw(_ports(kind.ports))
    if kind.tag == "Parallel":  # thresholds may not exceed the number of children
        ports = tuple((name, min(value, len(kids))) for name, value in ports)
    return Node(kind.tag, ports, kids)


@st.composite
def _decorator(draw, children: st.SearchStrategy[Node]) -> Node:
    kind = draw(st.sampled_from(REGISTRY.of(Category.DECORATOR)))
    ports = draw(_ports(kind.ports))
    if kind.tag == "RunOnce":  # then_skip="true" (SKIPPED) is not supported
        ports = (("then_skip", False),)
    return Node(kind.tag, ports, (draw(children),))


def trees(library: SubtreeLibrary, depth: int = 3) -> st.SearchStrategy[Node]:
    """Valid trees up to ``depth`` levels of controls/decorators above the leaves."""
    strategy = leaves(library)
    for _ in range(depth):
        strategy = st.one_of(leaves(library), _control(strategy), _decorator(strategy))
    return strategy


def plans(library: SubtreeLibrary, depth: int = 3) -> st.SearchStrategy[Plan]:
    robots = st.lists(st.sampled_from(V.ROBOTS), min_size=1, max_size=2, unique=True)
    return robots.flatmap(lambda names: st.tuples(*[trees(library, depth) for _ in names]).map(
        lambda roots: Plan(tuple(sorted(zip(names, roots),
                                        key=lambda item: V.ROBOTS.index(item[0]))))))
