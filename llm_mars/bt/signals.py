"""Hand-overs that cannot happen: a robot waiting for a signal nobody will raise.

A ``WaitForSignal`` blocks its robot until another tree raises the signal with ``Signal``.
When a plan has a tree for every robot, no other tree is left running to raise it, so a wait
for a signal that no *other* robot's tree in the plan raises holds that robot until the match
ends. A wait for the robot's own signal is counted too: as a hand-over it is one the other
robot never gives (raised before the wait, it would wait for nothing). This is a property
of the plan's structure, not of the command's words, so the assistant can prefer a candidate
plan without such a wait whatever the operator said. It only ranks, never refuses: a signal
an earlier plan already raised would let the wait pass, and the plan is made without the
world's state. A plan for one robot may wait for the other robot's running tree, so nothing
in it is flagged.
"""
from __future__ import annotations

from collections.abc import Iterator

from llm_mars import vocabulary as V
from llm_mars.bt.library import SubtreeLibrary, load_library
from llm_mars.bt.model import Node, Plan

RAISE = "Signal"
WAIT = "WaitForSignal"


def _nodes(root: Node, library: SubtreeLibrary) -> Iterator[Node]:
    """Every node of ``root`` (:meth:`Node.walk`) and of the library subtrees it uses."""
    for node in root.walk():
        yield node
        if node.tag == "SubTree" and node.port("ID") in library:
            yield from _nodes(library[node.port("ID")].root, library)


def _signals(root: Node, tag: str, library: SubtreeLibrary) -> set[str]:
    return {n.port("signal") for n in _nodes(root, library)
            if n.tag == tag and isinstance(n.port("signal"), str)}


def unanswered_waits(plan: Plan, library: SubtreeLibrary | None = None) -> set[str]:
    """The signals some robot's tree waits for that no other robot's tree in ``plan``
    raises, when ``plan`` has a tree for every robot; empty otherwise."""
    if set(plan.robots) != set(V.ROBOTS):
        return set()
    library = library or load_library()
    raised = {robot: _signals(root, RAISE, library) for robot, root in plan.trees}
    return {signal for robot, root in plan.trees for signal in _signals(root, WAIT, library)
            if not any(signal in names for other, names in raised.items() if other != robot)}
