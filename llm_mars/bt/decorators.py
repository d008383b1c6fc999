"""BehaviorTree.CPP 4.8's decorators, each written after its source (see :mod:`.tick`).

Every one passes a SKIPPED child on (KeepRunningUntilFailure reports RUNNING, as BT.CPP's
does); ``RunOnce then_skip="true"`` and ``Precondition else="SKIPPED"`` report SKIPPED
themselves. Where they are not BT.CPP's to the letter:

* :class:`RetryUntilSuccessful` / :class:`Repeat`: after a failed attempt or a finished
  cycle the child restarts on the *next* tick, never in a loop inside one tick, so
  ``num_attempts=-1`` around a condition that keeps failing cannot hang the tick;
* :class:`Timeout` / :class:`Delay`: they read an injected clock (the simulator's match
  clock) instead of BT.CPP's wall-clock timer thread;
* :class:`SubTree`: the expanded library subtree, reporting exactly its body's status.
"""
from __future__ import annotations

from collections.abc import Callable

from py_trees.behaviour import Behaviour
from py_trees.common import Status

from llm_mars.bt.script import Blackboard, parse_script, truth
from llm_mars.bt.tick import SKIPPED, BtDecorator, Result, Ticking, halt_child

FINISHED = (Status.SUCCESS, Status.FAILURE)


class _Mapping(BtDecorator):
    """Inverter, ForceSuccess, ForceFailure: a finished child's status mapped; RUNNING and
    SKIPPED passed on."""

    mapped: dict[Status, Status]

    def tick_node(self) -> Ticking:
        self.set_running()
        result = yield from self.tick_child()
        if result in FINISHED:
            self.reset_child()
            return self.mapped[result]
        return result


class Inverter(_Mapping):
    """BT.CPP's Inverter: SUCCESS and FAILURE swapped."""

    mapped = {Status.SUCCESS: Status.FAILURE, Status.FAILURE: Status.SUCCESS}


class ForceSuccess(_Mapping):
    """BT.CPP's ForceSuccess: a finished child is a SUCCESS."""

    mapped = {Status.SUCCESS: Status.SUCCESS, Status.FAILURE: Status.SUCCESS}


class ForceFailure(_Mapping):
    """BT.CPP's ForceFailure: a finished child is a FAILURE."""

    mapped = {Status.SUCCESS: Status.FAILURE, Status.FAILURE: Status.FAILURE}


class _CountingDecorator(BtDecorator):
    """Runs the child up to ``limit`` times (-1: forever), one run per tick at most;
    ``again`` is the status that runs it again, the other one ends the node at once."""

    again: Status

    def __init__(self, name: str, child: Behaviour, limit: int):
        super().__init__(name, child)
        self.limit = limit
        self.count = 0

    def clear(self) -> None:
        self.count = 0

    def tick_node(self) -> Ticking:
        self.set_running()
        if self.count < self.limit or self.limit == -1:
            result = yield from self.tick_child()
            if result is Status.RUNNING:
                return result
            self.reset_child()
            if result is SKIPPED:
                return result
            if result is not self.again:  # the other finished status ends it
                self.count = 0
                return result
            self.count += 1
            self.feedback_message = self.progress()
            if self.count < self.limit or self.limit == -1:
                return Status.RUNNING
        self.count = 0
        return self.again

    def progress(self) -> str:
        raise NotImplementedError


class RetryUntilSuccessful(_CountingDecorator):
    """Re-run the child after each failure; fail after ``num_attempts`` failed attempts
    (none for 0)."""

    again = Status.FAILURE

    def progress(self) -> str:
        return f"attempt {self.count} failed"


class Repeat(_CountingDecorator):
    """Re-run the child after each success; succeed after ``num_cycles`` successes (at once
    for 0)."""

    again = Status.SUCCESS

    def progress(self) -> str:
        return f"cycle {self.count} done"


class _Timed(BtDecorator):
    """A decorator timed on ``clock`` (seconds) from its first tick; finishing or a halt
    starts it over."""

    def __init__(self, name: str, child: Behaviour, msec: int, clock: Callable[[], float]):
        super().__init__(name, child)
        self.msec = msec
        self.clock = clock
        self.started_at: float | None = None

    def clear(self) -> None:
        self.started_at = None

    def elapsed_ms(self) -> float:
        return (self.clock() - self.started_at) * 1000.0

    def tick_timed_child(self) -> Ticking:
        result = yield from self.tick_child()
        if result in FINISHED:
            self.started_at = None
            self.reset_child()
        return result


class Timeout(_Timed):
    """Fail and halt the child once it has run ``msec`` milliseconds of ``clock`` time.

    The time is checked each tick before the child is ticked; once ``msec`` have passed
    while the child runs, it is halted (its goal cancelled) and the decorator fails, as
    BT.CPP's timer does.
    """

    def tick_node(self) -> Ticking:
        if self.started_at is None:
            self.started_at = self.clock()
            self.set_running()
        elif self.elapsed_ms() >= self.msec and self.decorated.bt_status is Status.RUNNING:
            halt_child(self.decorated)
            self.started_at = None
            self.feedback_message = f"timed out after {self.msec} ms"
            return Status.FAILURE
        return (yield from self.tick_timed_child())


class Delay(_Timed):
    """BT.CPP's Delay: RUNNING from the first tick until ``msec`` milliseconds of ``clock``
    time have passed, then the child runs; finishing or a halt starts the wait over."""

    def tick_node(self) -> Ticking:
        if self.started_at is None:
            self.started_at = self.clock()
            self.set_running()
            return Status.RUNNING  # BT.CPP's timer fires after the first tick at best
        if self.elapsed_ms() < self.msec:
            return Status.RUNNING
        return (yield from self.tick_timed_child())


class SubTree(BtDecorator):
    """An expanded library subtree: reports exactly its body's status."""

    def __init__(self, name: str, child: Behaviour, subtree_id: str):
        super().__init__(name, child)
        self.subtree_id = subtree_id

    def tick_node(self) -> Ticking:
        if self.bt_status is Status.INVALID:
            self.set_running()
        result = yield from self.tick_child()
        if result in FINISHED:
            self.reset_child()
        return result


class KeepRunningUntilFailure(BtDecorator):
    """BT.CPP's KeepRunningUntilFailure: a success restarts the child on the next tick and
    reports RUNNING; only a failure ends it (a skipped child: RUNNING too)."""

    def tick_node(self) -> Ticking:
        self.set_running()
        result = yield from self.tick_child()
        if result in FINISHED:
            self.reset_child()
            return result if result is Status.FAILURE else Status.RUNNING
        return self.bt_status if result is SKIPPED else result


class RunOnce(BtDecorator):
    """BT.CPP's RunOnce: the child runs until it finishes once; from then on, for the
    tree's lifetime, the node is SKIPPED (``then_skip``, the default) or reports that
    status, without ticking the child."""

    def __init__(self, name: str, child: Behaviour, then_skip: bool = True):
        super().__init__(name, child)
        self.then_skip = then_skip
        self.returned: Status | None = None

    def tick_node(self) -> Ticking:
        if self.returned is not None:
            return SKIPPED if self.then_skip else self.returned
        self.set_running()
        result = yield from self.tick_child()
        if result in FINISHED:
            self.returned = result
            self.reset_child()
        return result


class Precondition(BtDecorator):
    """BT.CPP's Precondition: while the child is not running, the script ``if`` decides each
    tick whether it is ticked; if not, the node reports ``otherwise`` (its ``else``, SKIPPED
    included) without ticking it. Once the child runs, it runs to its end without the script
    being asked.

    As in BT.CPP 4.8, a halt or a skipped child does not clear "the child runs": the next
    tick ticks the child without asking the script (the oracle test holds it to that)."""

    def __init__(self, name: str, child: Behaviour, condition: str, otherwise: Result,
                 blackboard: Blackboard):
        super().__init__(name, child)
        self.condition = parse_script(condition)
        self.otherwise = otherwise
        self.blackboard = blackboard
        self.child_runs = False

    def tick_node(self) -> Ticking:
        if not self.child_runs:
            self.child_runs = truth(self.condition.run(self.blackboard))
        if not self.child_runs:
            return self.otherwise
        result = yield from self.tick_child()
        if result in FINISHED:
            self.reset_child()
            self.child_runs = False
        return result
