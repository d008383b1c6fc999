"""BehaviorTree.CPP's built-in leaves that involve no robot: AlwaysSuccess, AlwaysFailure,
Sleep, Script and ScriptCondition (the registry's ``Category.LEAF``)."""
from __future__ import annotations

from collections.abc import Callable

from py_trees.common import Status

from llm_mars.bt.script import Blackboard, parse_script, truth
from llm_mars.bt.tick import BtBehaviour


class Constant(BtBehaviour):
    """AlwaysSuccess / AlwaysFailure: the same status at every tick."""

    def __init__(self, name: str, status: Status):
        super().__init__(name)
        self.result = status

    def update(self) -> Status:
        return self.result


class Sleep(BtBehaviour):
    """BT.CPP's Sleep: RUNNING at the first tick (SUCCESS at once for ``msec <= 0``), then
    SUCCESS once ``msec`` milliseconds of ``clock`` time have passed."""

    def __init__(self, name: str, msec: int, clock: Callable[[], float]):
        super().__init__(name)
        self.msec = msec
        self.clock = clock
        self.started_at: float | None = None

    def initialise(self) -> None:
        self.started_at = None

    def update(self) -> Status:
        if self.msec <= 0:
            return Status.SUCCESS
        if self.started_at is None:
            self.started_at = self.clock()
            return Status.RUNNING
        waited = (self.clock() - self.started_at) * 1000.0
        return Status.SUCCESS if waited >= self.msec else Status.RUNNING


class Script(BtBehaviour):
    """BT.CPP's Script: run ``code`` on the blackboard, SUCCESS. A script that fails while
    it runs raises ScriptRuntimeError out of the tick, as BT.CPP throws (the executor then
    fails the plan)."""

    def __init__(self, name: str, code: str, blackboard: Blackboard):
        super().__init__(name)
        self.script = parse_script(code)
        self.blackboard = blackboard

    def update(self) -> Status:
        self.script.run(self.blackboard)
        return Status.SUCCESS


class ScriptCondition(Script):
    """BT.CPP's ScriptCondition: SUCCESS if the script's value is true, else FAILURE."""

    def update(self) -> Status:
        return Status.SUCCESS if truth(self.script.run(self.blackboard)) else Status.FAILURE
