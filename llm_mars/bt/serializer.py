"""Writing typed trees back as canonical BT.CPP v4 XML.

Canonical: two-space indentation, one element per line, a SubTree's ID and the instance
``name`` first, then ports in registry (or subtree
declaration) order as stored in the :class:`Node`, values in ``format_value`` form, and
whitespace inside attribute values written as character references so that it survives XML
attribute normalisation. ``parse_plan(serialize_plan(plan)) == plan``.
"""
from __future__ import annotations

from xml.sax.saxutils import escape

from llm_mars.bt.model import Node, Plan, Reply, format_value

_ATTRIBUTE_ENTITIES = {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
_INDENT = "  "


def _attribute(value: object) -> str:
    return escape(format_value(value), _ATTRIBUTE_ENTITIES)


def _start_tag(tag: str, attributes: tuple[tuple[str, object], ...]) -> str:
    text = "".join(f' {name}="{_attribute(value)}"' for name, value in attributes)
    return f"<{tag}{text}"


def _attributes(node: Node) -> tuple[tuple[str, object], ...]:
    """ID (a SubTree's), then the instance name, then the ports, as BT.CPP files write them."""
    if node.name is None:
        return node.ports
    ids = node.ports[:1] if node.ports[:1] and node.ports[0][0] == "ID" else ()
    return (*ids, ("name", node.name), *node.ports[len(ids):])


def _node_lines(node: Node, depth: int) -> list[str]:
    pad = _INDENT * depth
    head = pad + _start_tag(node.tag, _attributes(node))
    if not node.children:
        return [head + "/>"]
    lines = [head + ">"]
    for child in node.children:
        lines.extend(_node_lines(child, depth + 1))
    lines.append(f"{pad}</{node.tag}>")
    return lines


def serialize_node(node: Node, indent: int = 0) -> str:
    """One node and its children as XML lines, indented by ``indent`` levels."""
    return "\n".join(_node_lines(node, indent))


def serialize_plan(plan: Plan) -> str:
    """The whole plan as a ``<root BTCPP_format="4">`` document (ends with a newline)."""
    lines = ['<root BTCPP_format="4">']
    for robot, root in plan.trees:
        lines.append(f'{_INDENT}<BehaviorTree ID="{_attribute(robot)}">')
        lines.extend(_node_lines(root, 2))
        lines.append(f"{_INDENT}</BehaviorTree>")
    lines.append("</root>")
    return "\n".join(lines) + "\n"


def serialize_reply(reply: Reply) -> str:
    """``<reply>TEXT</reply>`` with the text escaped."""
    return f"<reply>{escape(reply.text, {chr(13): '&#13;'})}</reply>"
