"""A robot's tree as one file that BehaviorTree.CPP loads as it is and Groot2 opens.

A plan names library subtrees that BT.CPP knows only if their files were registered first, and
a plan for both robots holds two trees, so ``createTreeFromText`` would not know which to run.
The export of one robot's tree therefore holds ``main_tree_to_execute``, the robot's tree, a
copy of every library subtree it uses (also through other subtrees) and the
``<TreeNodesModel>`` (:mod:`llm_mars.bt.nodes_model`), with the comments and values as they
were written. The plan reader accepts the file back and checks that each copy still equals the
library's subtree.
"""
from __future__ import annotations

from xml.sax.saxutils import quoteattr

from llm_mars.bt.library import SubtreeLibrary, load_library
from llm_mars.bt.model import Node, Plan
from llm_mars.bt.nodes_model import nodes_model_lines
from llm_mars.bt.serializer import comment_lines, serialize_node
from llm_mars.errors import PlanValidationError, Problem


def used_subtrees(root: Node, library: SubtreeLibrary) -> tuple[str, ...]:
    """The library subtrees ``root`` runs, directly or through other subtrees, in order of
    first use."""
    found: list[str] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.tag == "SubTree" and node.port("ID") not in found:
            found.append(node.port("ID"))
            stack.append(library[node.port("ID")].root)
        stack.extend(reversed(node.children))
    return tuple(found)


def _tree_lines(tree_id: str, root: Node, comments: tuple[str, ...] = ()) -> list[str]:
    return [*comment_lines(comments, "  "), f"  <BehaviorTree ID={quoteattr(tree_id)}>",
            serialize_node(root, 2), "  </BehaviorTree>"]


def export_robot(plan: Plan, robot: str, library: SubtreeLibrary | None = None) -> str:
    """``robot``'s tree of ``plan`` as a self-contained BT.CPP v4 file (ends with a newline);
    PlanValidationError when the plan has no tree for ``robot``."""
    library = load_library() if library is None else library
    root = plan.tree(robot)
    if root is None:
        raise PlanValidationError([Problem(
            f"the plan has no tree for {robot} (it addresses {', '.join(plan.robots)})",
            path=robot, code="wrong_robot")])
    subtree_ids = used_subtrees(root, library)
    lines = [*comment_lines(plan.comments, ""),
             f'<root BTCPP_format="4" main_tree_to_execute={quoteattr(robot)}>',
             *_tree_lines(robot, root, plan.comments_of(robot))]
    for subtree_id in subtree_ids:
        lines.extend(_tree_lines(subtree_id, library[subtree_id].root))
    lines.extend(nodes_model_lines(library, subtree_ids))
    lines.append("</root>")
    return "\n".join(lines) + "\n"
