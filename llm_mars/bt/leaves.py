"""BehaviorTree.CPP's built-in leaves that involve no robot: AlwaysSuccess, AlwaysFailure and
Sleep (the registry's ``Category.LEAF``)."""
from __future__ import annotations

from collections.abc import Callable

from py_trees.behaviour import Behaviour
from py_trees.common import Status


class Constant(Behaviour):
    """AlwaysSuccess / AlwaysFailure: the same status at every tick."""

    def __init__(self, name: str, status: Status):
        super().__init__(name)
        self.result = status

    def update(self) -> Status:
        return self.result


class Sleep(Behaviour):
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
