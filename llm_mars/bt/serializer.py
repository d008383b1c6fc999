"""Writing typed trees back as BT.CPP v4 XML.

Two-space indentation, one element per line, a SubTree's ID and the instance ``name`` first,
then ports in registry (or subtree declaration) order as stored in the :class:`Node`, and
whitespace inside attribute values written as character references so that it survives XML
attribute normalisation. What a person wrote is kept where the meaning is unchanged: the
comments, and each value as written (``25``, ``sort="1"``) while it still says the same;
values of hand-built trees are in ``format_value`` form. ``parse_plan(serialize_plan(plan))
== plan``.
"""
from __future__ import annotations

from xml.sax.saxutils import escape

from llm_mars.bt.model import Node, Plan, Reply, format_value

_ATTRIBUTE_ENTITIES = {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
_INDENT = "  "


def _attribute(value: object) -> str:
    return escape(format_value(value), _ATTRIBUTE_ENTITIES)


def _attributes(node: Node, canonical: bool) -> str:
    """ID (a SubTree's), then the instance name, then the ports, as BT.CPP files write them;
    each value as it was written while it still says the same (unless ``canonical``); then
    the condition scripts (``_skipIf`` ...)."""
    pairs = [(name, format_value(value) if canonical else node.text(name, value))
             for name, value in node.ports]
    pairs.extend(node.conditions)
    if node.name is not None:
        ids = 1 if pairs[:1] and pairs[0][0] == "ID" else 0
        pairs.insert(ids, ("name", node.name))
    return "".join(f' {name}="{escape(text, _ATTRIBUTE_ENTITIES)}"' for name, text in pairs)


def comment_lines(comments: tuple[str, ...], pad: str) -> list[str]:
    """Comments kept from a written file, each on its own line(s) at ``pad``."""
    return [f"{pad}<!--{text}-->" for text in comments]


def _node_lines(node: Node, depth: int, canonical: bool) -> list[str]:
    pad = _INDENT * depth
    head = f"{pad}<{node.tag}{_attributes(node, canonical)}"
    lines = [] if canonical else comment_lines(node.comments, pad)
    end_comments = () if canonical else node.end_comments
    if not node.children and not end_comments:
        return [*lines, head + "/>"]
    lines.append(head + ">")
    for child in node.children:
        lines.extend(_node_lines(child, depth + 1, canonical))
    lines.extend(comment_lines(end_comments, pad + _INDENT))
    lines.append(f"{pad}</{node.tag}>")
    return lines


def serialize_node(node: Node, indent: int = 0) -> str:
    """One node and its children as XML lines, indented by ``indent`` levels."""
    return "\n".join(_node_lines(node, indent, False))


def serialize_plan(plan: Plan, canonical: bool = False) -> str:
    """The whole plan as a ``<root BTCPP_format="4">`` document (ends with a newline).
    ``canonical``: without comments and with every value in ``format_value`` form, the one
    form the bt adapter's grammar admits."""
    lines = [] if canonical else comment_lines(plan.comments, "")
    lines.append('<root BTCPP_format="4">')
    for robot, root in plan.trees:
        lines.extend(() if canonical else comment_lines(plan.comments_of(robot), _INDENT))
        lines.append(f'{_INDENT}<BehaviorTree ID="{_attribute(robot)}">')
        lines.extend(_node_lines(root, 2, canonical))
        lines.append(f"{_INDENT}</BehaviorTree>")
    lines.append("</root>")
    return "\n".join(lines) + "\n"


def serialize_reply(reply: Reply) -> str:
    """``<reply>TEXT</reply>`` with the text escaped."""
    return f"<reply>{escape(reply.text, {chr(13): '&#13;'})}</reply>"
