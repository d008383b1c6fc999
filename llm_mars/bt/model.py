"""The typed plan structure: what the parser produces, the serializer writes and the builder runs.

A :class:`Node` holds port values already converted by the registry's ``Port.parse`` (ints,
floats, bools, strings), exactly as written in the document: optional ports that were left
out stay out, so serialising gives back the same document. Defaults are applied by the
builder. Inside subtree definitions a port value may be a :class:`PortRef` (``{quadrant}``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PortRef:
    """A reference ``{name}`` to a port of the enclosing subtree definition."""

    name: str

    def __str__(self) -> str:
        return "{" + self.name + "}"


def format_value(value: Any) -> str:
    """Canonical text of a port value (the inverse of ``Port.parse`` for every port type)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


@dataclass(frozen=True)
class Node:
    """One node of a behavior tree: a registry tag, its typed ports and its children.

    ``name`` is BT.CPP's instance name (the ``name`` attribute every node may carry: Groot2
    and BT.CPP's loggers show it); it is kept, never a port. What only a written file has
    does not take part in equality, so a parsed and a hand-built tree compare equal:
    ``line``/``column`` (1-based) say where the node was written, ``comments`` are those
    just before it and ``end_comments`` those after its last child, and ``written`` holds
    each port's text as written with the value it was read as (``25`` for 25.0, ``1`` for
    true), which the serializer writes again while the value is unchanged. ``conditions``
    are BT.CPP's condition scripts every node may carry (``_skipIf``, ``_while``, ...:
    attribute, script text), which are not ports either.
    """

    tag: str
    ports: tuple[tuple[str, Any], ...] = ()
    children: tuple[Node, ...] = ()
    name: str | None = None
    line: int | None = field(default=None, compare=False)
    column: int | None = field(default=None, compare=False)
    comments: tuple[str, ...] = field(default=(), compare=False)
    end_comments: tuple[str, ...] = field(default=(), compare=False)
    written: tuple[tuple[str, Any, str], ...] = field(default=(), compare=False)
    conditions: tuple[tuple[str, str], ...] = ()

    def text(self, name: str, value: Any) -> str:
        """The XML text of port ``name`` holding ``value``: as written while it still says
        that value, else :func:`format_value`."""
        for key, read, text in self.written:
            if key == name and type(read) is type(value) and read == value:
                return text
        return format_value(value)

    def port(self, name: str, default: Any = None) -> Any:
        for key, value in self.ports:
            if key == name:
                return value
        return default

    @property
    def label(self) -> str:
        """Short one-line text, e.g. ``PickCake color=brown quadrant=2`` (``PickCake
        "first stack" color=brown quadrant=2`` when the node has a name)."""
        ports = self.ports
        head = self.tag
        if self.tag == "SubTree":
            head = f"SubTree {self.port('ID')}"
            ports = tuple(p for p in ports if p[0] != "ID")
        parts = [head] if self.name is None else [head, f'"{self.name}"']
        for key, value in ports:
            text = format_value(value)
            if len(text) > 40:
                text = text[:37] + "..."
            parts.append(f"{key}={text}")
        return " ".join(parts)

    def walk(self):
        """This node and all its descendants, depth first, parents before children."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))


@dataclass(frozen=True)
class Plan:
    """One validated plan document: one tree per addressed robot, in robot order.

    ``comments`` (before ``<root>``) and ``tree_comments`` (robot -> those before its
    ``<BehaviorTree>``) are kept from a written file and do not take part in equality."""

    trees: tuple[tuple[str, Node], ...]
    comments: tuple[str, ...] = field(default=(), compare=False)
    tree_comments: tuple[tuple[str, tuple[str, ...]], ...] = field(default=(), compare=False)

    def comments_of(self, robot: str) -> tuple[str, ...]:
        return dict(self.tree_comments).get(robot, ())

    @property
    def robots(self) -> tuple[str, ...]:
        return tuple(robot for robot, _ in self.trees)

    def tree(self, robot: str) -> Node | None:
        for name, root in self.trees:
            if name == robot:
                return root
        return None


@dataclass(frozen=True)
class Reply:
    """An answer to the operator instead of a plan (the command cannot be expressed by skills).

    A reply is shown to the operator and never executed.
    """

    text: str
