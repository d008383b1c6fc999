"""Decorators with BehaviorTree.CPP v4 semantics where py_trees' stock ones differ.

* :class:`RetryUntilSuccessful`: py_trees ``Retry`` has no ``-1`` (forever) and ticks the
  child even for zero attempts; BT.CPP fails at once for ``num_attempts=0``.
* :class:`Repeat`: py_trees ``Repeat`` cannot do ``num_cycles=0`` (BT.CPP: SUCCESS without
  ticking the child) and counts ``-1`` wrongly.
* :class:`Timeout`: py_trees ``Timeout`` reads ``time.monotonic``; ours takes the clock as an
  argument so the simulator's faster-than-real-time match clock drives it.
* :class:`SubTree`: a transparent wrapper that shows where a library subtree was expanded.

One deliberate difference from BT.CPP: after a failed attempt (Retry) or a finished cycle
(Repeat) the child restarts on the *next* tick, never in a loop inside one tick. BT.CPP does
this for asynchronous children; doing it always means ``num_attempts=-1`` around a condition
that keeps failing cannot hang the tick. ``Inverter`` and ``ForceSuccess`` use py_trees'
``Inverter`` and ``FailureIsSuccess``, which match BT.CPP exactly.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

from py_trees.behaviour import Behaviour
from py_trees.common import Status
from py_trees.decorators import Decorator

from llm_mars.bt.script import Blackboard, parse_script, truth


class _CountingDecorator(Decorator):
    """Runs the child up to ``limit`` times (-1: forever), one run per tick at most."""

    done_status: Status  # what the decorator returns once the limit is reached

    def __init__(self, name: str, child: Behaviour, limit: int):
        super().__init__(name=name, child=child)
        self.limit = limit
        self.count = 0

    def initialise(self) -> None:
        self.count = 0

    def tick(self) -> Iterator[Behaviour]:
        if self.limit == 0:  # BT.CPP: nothing to do, the child is not ticked
            self.stop(self.done_status)
            yield self
            return
        yield from super().tick()

    def _counted(self) -> Status:
        self.count += 1
        if self.limit != -1 and self.count >= self.limit:
            return self.done_status
        return Status.RUNNING


class RetryUntilSuccessful(_CountingDecorator):
    """Re-run the child after each failure; fail after ``num_attempts`` failed attempts."""

    done_status = Status.FAILURE

    def update(self) -> Status:
        status = self.decorated.status
        if status is Status.FAILURE:
            result = self._counted()
            self.feedback_message = f"attempt {self.count} failed"
            return result
        self.feedback_message = self.decorated.feedback_message
        return status


class Repeat(_CountingDecorator):
    """Re-run the child after each success; succeed after ``num_cycles`` successes."""

    done_status = Status.SUCCESS

    def update(self) -> Status:
        status = self.decorated.status
        if status is Status.SUCCESS:
            result = self._counted()
            self.feedback_message = f"cycle {self.count} done"
            return result
        self.feedback_message = self.decorated.feedback_message
        return status


class Timeout(Decorator):
    """Fail and halt the child once it has run ``msec`` milliseconds of ``clock`` time.

    The time is checked each tick before the child is ticked; once ``msec`` have passed the
    child is halted (its goal cancelled) and the decorator fails, as BT.CPP's timer does.
    """

    def __init__(self, name: str, child: Behaviour, msec: int,
                 clock: Callable[[], float]):
        super().__init__(name=name, child=child)
        self.msec = msec
        self.clock = clock
        self.started_at = 0.0

    def initialise(self) -> None:
        self.started_at = self.clock()

    def tick(self) -> Iterator[Behaviour]:
        if self.status is Status.RUNNING and self.expired():
            self.feedback_message = f"timed out after {self.msec} ms"
            self.stop(Status.FAILURE)  # Decorator.stop halts the running child
            yield self
            return
        yield from super().tick()

    def expired(self) -> bool:
        return (self.clock() - self.started_at) * 1000.0 >= self.msec

    def update(self) -> Status:
        self.feedback_message = self.decorated.feedback_message
        return self.decorated.status


class SubTree(Decorator):
    """An expanded library subtree: reports exactly its body's status."""

    def __init__(self, name: str, child: Behaviour, subtree_id: str):
        super().__init__(name=name, child=child)
        self.subtree_id = subtree_id

    def update(self) -> Status:
        self.feedback_message = self.decorated.feedback_message
        return self.decorated.status


class KeepRunningUntilFailure(Decorator):
    """BT.CPP's KeepRunningUntilFailure: a success restarts the child on the next tick and
    reports RUNNING; only a failure ends it."""

    def update(self) -> Status:
        self.feedback_message = self.decorated.feedback_message
        status = self.decorated.status
        return Status.RUNNING if status is Status.SUCCESS else status


class RunOnce(Decorator):
    """BT.CPP's RunOnce with ``then_skip="false"``: the child runs until it finishes once;
    from then on the node reports that status without ticking it, for the tree's lifetime
    (``then_skip="true"`` would report SKIPPED, a status py_trees does not have)."""

    def __init__(self, name: str, child: Behaviour):
        super().__init__(name=name, child=child)
        self.returned: Status | None = None

    def tick(self) -> Iterator[Behaviour]:
        if self.returned is not None:
            self.stop(self.returned)
            yield self
            return
        yield from super().tick()

    def update(self) -> Status:
        status = self.decorated.status
        if status in (Status.SUCCESS, Status.FAILURE):
            self.returned = status
        return status


class Delay(Decorator):
    """BT.CPP's Delay: RUNNING from the first tick until ``msec`` milliseconds of ``clock``
    time have passed, then the child runs; finishing or a halt starts the wait over."""

    def __init__(self, name: str, child: Behaviour, msec: int, clock: Callable[[], float]):
        super().__init__(name=name, child=child)
        self.msec = msec
        self.clock = clock
        self.started_at = 0.0

    def tick(self) -> Iterator[Behaviour]:
        if self.status is not Status.RUNNING:
            self.started_at = self.clock()
            self.status = Status.RUNNING  # BT.CPP's timer fires after the first tick at best
            yield self
            return
        if (self.clock() - self.started_at) * 1000.0 < self.msec:
            yield self
            return
        yield from super().tick()

    def update(self) -> Status:
        self.feedback_message = self.decorated.feedback_message
        return self.decorated.status


class Precondition(Decorator):
    """BT.CPP's Precondition: while the child is not running, the script ``if`` decides each
    tick whether it is ticked; if not, the node reports ``otherwise`` (its ``else``) without
    ticking it. Once the child runs, it runs to its end without the script being asked.

    As in BT.CPP 4.8, a halt does not clear "the child runs": the next tick after a halt
    ticks the child without asking the script (the oracle test holds it to that)."""

    def __init__(self, name: str, child: Behaviour, condition: str, otherwise: Status,
                 blackboard: Blackboard):
        super().__init__(name=name, child=child)
        self.condition = parse_script(condition)
        self.otherwise = otherwise
        self.blackboard = blackboard
        self.child_runs = False

    def tick(self) -> Iterator[Behaviour]:
        if not self.child_runs:
            self.child_runs = truth(self.condition.run(self.blackboard))
        if self.child_runs:
            yield from super().tick()
            return
        if self.otherwise is Status.RUNNING:
            self.status = Status.RUNNING
        else:
            self.stop(self.otherwise)
        yield self

    def update(self) -> Status:
        status = self.decorated.status
        if status in (Status.SUCCESS, Status.FAILURE):
            self.child_runs = False
        self.feedback_message = self.decorated.feedback_message
        return status
