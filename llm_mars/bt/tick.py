"""BehaviorTree.CPP 4.8's tick protocol on py_trees behaviours: SKIPPED, node statuses,
halts and the ``_skipIf``/``_while``/... condition scripts.

py_trees' ``Status`` has no SKIPPED and cannot be extended, and py_trees' composites reset
children at other moments than BT.CPP's. So every behaviour the builder makes is a
:class:`BtBehaviour`, and the controls and decorators are ours, written after BT.CPP's
source. Each behaviour keeps two statuses:

* ``bt_status``: BT.CPP's status of the node (``Status.INVALID`` stands for IDLE), which the
  controls read and which decides when the condition scripts are asked. As in BT.CPP it is
  not changed by a SKIPPED tick, a parent's ``resetStatus`` sets it to IDLE, and a control
  that returns SKIPPED from its own tick stays RUNNING;
* ``status``: py_trees' status, for people and tools (render, the executor's "active
  skill", failure reasons): what the node last returned (INVALID when it was skipped or
  halted), kept after a finished run until the parent starts over, as py_trees shows it.

``tick_result`` is what the last tick returned to the parent: a ``Status`` or :data:`SKIPPED`.
Parents read it with :func:`execute`, the counterpart of BT.CPP's ``executeTick``.
"""
from __future__ import annotations

import enum
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass

from py_trees.behaviour import Behaviour
from py_trees.common import Status
from py_trees.composites import Composite
from py_trees.decorators import Decorator

from llm_mars.bt.registry import PRE_CONDITIONS
from llm_mars.bt.script import Blackboard, Script, parse_script, truth
from llm_mars.errors import TreeLogicError


class Skipped(enum.Enum):
    """BT.CPP's SKIPPED, the one status py_trees lacks."""

    SKIPPED = "SKIPPED"


SKIPPED = Skipped.SKIPPED
Result = Status | Skipped
Ticking = Generator[Behaviour, None, Result]
"""A tick in progress: yields behaviours as py_trees does, returns the result."""



@dataclass(frozen=True)
class Conditions:
    """A node's condition scripts (attribute -> parsed script) on the blackboard they use:
    the tree's, or for a node inside a subtree the subtree's (a SubTree node's own ones use
    the outer one, as in BT.CPP)."""

    scripts: tuple[tuple[str, Script], ...]
    blackboard: Blackboard

    @classmethod
    def of(cls, written: Sequence[tuple[str, str]], blackboard: Blackboard) -> Conditions | None:
        if not written:
            return None
        return cls(tuple((name, parse_script(text)) for name, text in written), blackboard)

    def get(self, name: str) -> Script | None:
        return next((script for key, script in self.scripts if key == name), None)

    def run(self, name: str) -> None:
        script = self.get(name)
        if script is not None:
            script.run(self.blackboard)

    def holds(self, name: str) -> bool | None:
        script = self.get(name)
        return None if script is None else truth(script.run(self.blackboard))


class BtBehaviour(Behaviour):
    """A behaviour ticked as BT.CPP's ``TreeNode::executeTick`` ticks a node.

    Subclasses write BT.CPP's ``tick()`` as :meth:`tick_node` (a generator returning the
    result) and its ``halt()`` as :meth:`halt`. :meth:`tick` asks the pre-conditions first,
    runs the post-conditions after a finished tick and keeps both statuses.
    """

    conditions: Conditions | None = None
    bt_status: Status = Status.INVALID
    tick_result: Result | None = None

    def tick(self) -> Iterator[Behaviour]:
        result = yield from self.execute_tick()
        self.status = Status.INVALID if result is SKIPPED else result
        yield self

    def execute_tick(self) -> Ticking:
        """BT.CPP's ``executeTick``: pre-conditions, the tick, post-conditions, status."""
        result = self.check_pre_conditions()
        if result is None:
            result = yield from self.tick_node()
        if result is Status.INVALID:  # BT.CPP's setStatus(IDLE) throws
            raise TreeLogicError(f"{self.name}: a node cannot end its tick IDLE")
        if self.conditions is not None and result in (Status.SUCCESS, Status.FAILURE):
            self.conditions.run("_onSuccess" if result is Status.SUCCESS else "_onFailure")
            self.conditions.run("_post")
        if result is not SKIPPED:  # a skipped node keeps its status (IDLE)
            self.bt_status = result
        self.tick_result = result
        return result

    def check_pre_conditions(self) -> Result | None:
        """BT.CPP's ``checkPreConditions``: asked while the node is IDLE (``_while`` also
        while it runs: false halts it); a result here replaces the tick."""
        if self.conditions is None:
            return None
        for name in PRE_CONDITIONS:
            if self.conditions.get(name) is None:
                continue
            if self.bt_status is Status.INVALID:
                holds = self.conditions.holds(name)
                if holds and name == "_failureIf":
                    return Status.FAILURE
                if holds and name == "_successIf":
                    return Status.SUCCESS
                if holds and name == "_skipIf":
                    return SKIPPED
                if not holds and name == "_while":
                    return SKIPPED
            elif self.bt_status is Status.RUNNING and name == "_while":
                if not self.conditions.holds(name):
                    self.halt_node()
                    return SKIPPED
        return None

    def tick_node(self) -> Ticking:
        """BT.CPP's ``tick()``; the default runs py_trees' leaf lifecycle (initialise,
        update, terminate)."""
        for _ in Behaviour.tick(self):
            pass
        return self.status
        yield  # a generator like every tick

    def set_running(self) -> None:
        """BT.CPP's ``setStatus(RUNNING)`` inside a tick."""
        self.bt_status = Status.RUNNING

    def halt(self) -> None:
        """BT.CPP's ``halt()``: a leaf's goal is cancelled (py_trees' terminate)."""
        Behaviour.stop(self, Status.INVALID)
        self.bt_status = Status.INVALID

    def halt_node(self) -> None:
        """BT.CPP's ``haltNode``: halt, then the ``_onHalted`` script. The script runs even
        when halting the children raised (see :func:`halt_all`)."""
        try:
            self.halt()
        finally:
            self.status = Status.INVALID
            if self.conditions is not None:
                self.conditions.run("_onHalted")

    def stop(self, new_status: Status = Status.INVALID) -> None:
        """py_trees' stop: a finished leaf's lifecycle, or (INVALID) the halt of the whole
        subtree as BT.CPP's ``haltTree`` ends a tree: the root, then every node still
        running (a node whose parent never said RUNNING, e.g. under a Precondition whose
        tick raised, is reached too). The whole subtree is halted before an ``_onHalted``
        script's error is raised."""
        if new_status is not Status.INVALID:
            Behaviour.stop(self, new_status)
            return
        try:
            halt_all([self, *(node for node in self.iterate() if node is not self)],
                     running_only=True)
        finally:
            forget(self)


def execute(child: Behaviour) -> Ticking:
    """Tick ``child`` from its parent: BT.CPP's ``child->executeTick()``."""
    yield from child.tick()
    return child.tick_result


def reset_status(node: Behaviour) -> None:
    """BT.CPP's ``resetStatus``: IDLE without a halt (py_trees' status is kept to show)."""
    node.bt_status = Status.INVALID


def halt_child(node: Behaviour) -> None:
    """BT.CPP's ``haltChild``: halt it if it runs, then IDLE."""
    try:
        if node.bt_status is Status.RUNNING:
            node.halt_node()
    finally:
        reset_status(node)


def halt_all(nodes: Sequence[Behaviour], running_only: bool = False) -> None:
    """:func:`halt_child` on every node, even after one raised (an ``_onHalted`` script
    that fails must not leave a sibling's goal running); then the first error is raised.
    ``running_only`` also reaches nodes shown RUNNING whose BT.CPP status is not."""
    error: Exception | None = None
    for node in nodes:
        try:
            if running_only and node.status is Status.RUNNING \
                    and node.bt_status is not Status.RUNNING:
                node.halt_node()
            halt_child(node)
        except Exception as exc:  # a script's or a robot's error, raised once all are halted
            error = error or exc
    if error is not None:
        raise error


def forget(node: Behaviour) -> None:
    """Clear the shown statuses of ``node`` and everything below it (py_trees' way of
    starting a composite afresh; BT.CPP's statuses are not touched)."""
    for behaviour in node.iterate():
        behaviour.status = Status.INVALID



class Control(BtBehaviour, Composite):
    """A control node: ``halt`` is BT.CPP's ``ControlNode::halt`` (reset the children,
    then the node) plus :meth:`clear` of the node's own state."""

    def __init__(self, name: str, children: Sequence[Behaviour] | None = None):
        Composite.__init__(self, name, list(children or ()))

    def reset_children(self, first: int = 0) -> None:
        """BT.CPP's ``resetChildren`` (``haltChildren(first)``)."""
        halt_all(self.children[first:])

    def clear(self) -> None:
        """The node's own state, reset by a halt."""

    def halt(self) -> None:
        self.clear()
        try:
            self.reset_children()
        finally:
            self.bt_status = Status.INVALID

    def start(self) -> None:
        """Called when a tick finds the node not RUNNING: py_trees shows the children
        afresh."""
        for child in self.children:
            forget(child)

    def tick_node(self) -> Ticking:
        if self.bt_status is not Status.RUNNING:
            self.start()
        return (yield from self.tick_control())

    def tick_control(self) -> Ticking:
        raise NotImplementedError



class BtDecorator(BtBehaviour, Decorator):
    """A decorator: after its tick a finished child is reset to IDLE (BT.CPP's
    ``DecoratorNode::executeTick``); ``halt`` resets the child, then the node."""

    def __init__(self, name: str, child: Behaviour):
        Decorator.__init__(self, child=child, name=name)

    def execute_tick(self) -> Ticking:
        result = yield from super().execute_tick()
        if self.decorated.bt_status in (Status.SUCCESS, Status.FAILURE):
            reset_status(self.decorated)
        return result

    def clear(self) -> None:
        """The node's own state, reset by a halt."""

    def halt(self) -> None:
        self.clear()
        try:
            halt_child(self.decorated)
        finally:
            self.bt_status = Status.INVALID

    def reset_child(self) -> None:
        halt_child(self.decorated)

    def tick_child(self) -> Ticking:
        result = yield from execute(self.decorated)
        self.feedback_message = self.decorated.feedback_message
        return result

    def update(self) -> Status:  # py_trees' abstract hook; ticks go through tick_node
        return self.status

