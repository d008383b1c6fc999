"""Pictures of trees: unicode text with live statuses, Graphviz dot, and PNG via ``dot``.

Each function takes a ticking py_trees tree (statuses and failure reasons shown), a typed
:class:`Node` or a whole :class:`Plan` (structure only).
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from py_trees.behaviour import Behaviour
from py_trees.common import Status
from py_trees.composites import Composite
from py_trees.decorators import Decorator

from llm_mars.bt import decorators
from llm_mars.bt.behaviours import ConditionBehaviour
from llm_mars.bt.model import Node, Plan
from llm_mars.bt.registry import REGISTRY, Category
from llm_mars.errors import GraphvizError, GraphvizMissingError

Renderable = Behaviour | Node | Plan

_MARKS = {Status.SUCCESS: "✓", Status.FAILURE: "✗", Status.RUNNING: "*", Status.INVALID: "-"}
_FILL = {Status.SUCCESS: "#a5d6a7", Status.FAILURE: "#ef9a9a", Status.RUNNING: "#fff59d",
         Status.INVALID: "#ffffff"}
_SHAPES = {"robot": "folder", Category.CONTROL: "box", Category.DECORATOR: "hexagon",
           Category.ACTION: "box", Category.CONDITION: "ellipse", Category.LEAF: "box",
           Category.SUBTREE: "component"}


@dataclass
class _View:
    """What any renderable looks like to the renderers."""

    label: str
    category: Category | str
    status: Status | None = None
    feedback: str = ""
    children: list[_View] = field(default_factory=list)


def _category(behaviour: Behaviour) -> Category:
    if isinstance(behaviour, decorators.SubTree):
        return Category.SUBTREE
    if isinstance(behaviour, ConditionBehaviour):
        return Category.CONDITION
    if isinstance(behaviour, Decorator):
        return Category.DECORATOR
    if isinstance(behaviour, Composite):
        return Category.CONTROL
    return Category.ACTION


def _view(tree: Renderable, statuses: bool) -> list[_View]:
    if isinstance(tree, Plan):
        return [_View(robot, "robot", children=_view(root, statuses)) for robot, root in tree.trees]
    if isinstance(tree, Node):
        kind = REGISTRY.get(tree.tag)
        return [_View(tree.label, kind.category if kind else Category.ACTION,
                      children=[v for child in tree.children for v in _view(child, statuses)])]
    return [_View(tree.name, _category(tree), tree.status if statuses else None,
                  tree.feedback_message if statuses else "",
                  [v for child in tree.children for v in _view(child, statuses)])]


def _text_lines(view: _View, prefix: str, connector: str, lines: list[str]) -> None:
    text = view.label
    if view.status is not None:
        text += f" [{_MARKS[view.status]}]"
        if view.status is Status.FAILURE and view.feedback:
            text += f" -- {view.feedback}"
    lines.append(prefix + connector + text)
    child_prefix = prefix + ("    " if connector == "└── " else "│   " if connector else "")
    for i, child in enumerate(view.children):
        last = i == len(view.children) - 1
        _text_lines(child, child_prefix, "└── " if last else "├── ", lines)


def render_unicode(tree: Renderable, statuses: bool = True) -> str:
    """The tree as indented unicode text; with statuses: ✓ success, ✗ failure (with the
    reason), * running, - not ticked."""
    lines: list[str] = []
    for view in _view(tree, statuses):
        _text_lines(view, "", "", lines)
    return "\n".join(lines)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(tree: Renderable, statuses: bool = True) -> str:
    """Graphviz dot source: one shape per category, filled by status when known."""
    lines = ["digraph behavior_tree {", '  graph [rankdir=TB, fontname="Helvetica"];',
             '  node [fontname="Helvetica", fontsize=10, style=filled, fillcolor="#ffffff"];']
    counter = 0

    def emit(view: _View) -> str:
        nonlocal counter
        node_id = f"n{counter}"
        counter += 1
        label = view.label
        if view.status is Status.FAILURE and view.feedback:
            label += f"\n{view.feedback}"
        style = "rounded,filled" if view.category is Category.ACTION else "filled"
        fill = _FILL[view.status] if view.status is not None else (
            "#e0e0e0" if view.category in (Category.CONTROL, "robot") else "#ffffff")
        lines.append(f"  {node_id} [label={_quote(label)}, shape={_SHAPES[view.category]}, "
                     f'style="{style}", fillcolor="{fill}"];')
        for child in view.children:
            lines.append(f"  {node_id} -> {emit(child)};")
        return node_id

    for view in _view(tree, statuses):
        emit(view)
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_png(tree: Renderable, path: str | Path, statuses: bool = True) -> Path:
    """Draw the tree into a PNG file with Graphviz ``dot``; returns the path."""
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizMissingError()
    path = Path(path)
    result = subprocess.run([dot, "-Tpng", "-o", str(path)], input=to_dot(tree, statuses),
                            text=True, capture_output=True, timeout=60, check=False)
    if result.returncode != 0:
        raise GraphvizError(f"dot failed ({result.returncode}): {result.stderr.strip()}")
    return path
