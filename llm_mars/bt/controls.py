"""Control nodes with BehaviorTree.CPP v4 semantics where py_trees' stock ones differ.

The builder maps ``Sequence`` to py_trees ``Sequence(memory=True)``, ``ReactiveSequence`` to
``Sequence(memory=False)``, ``Fallback`` to ``Selector(memory=True)`` and ``ReactiveFallback``
to ``Selector(memory=False)``: their status tables match BT.CPP's (a running child resumes
or, for the reactive ones, earlier children are re-ticked and a later running child is
halted when an earlier one stops returning SUCCESS / FAILURE).

``Parallel`` is ours: py_trees' ``Parallel`` has all/one/selected success policies and fails
on the first failure, while BT.CPP counts successes and failures against thresholds
(``-1`` meaning all children) and does not tick children that already finished. So are
``SequenceWithMemory``, ``IfThenElse`` and ``WhileDoElse``, which py_trees lacks; each follows
BT.CPP's source tick by tick (checked against BT.CPP itself in test/bt/test_btcpp_oracle.py).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

from py_trees.behaviour import Behaviour
from py_trees.common import Status
from py_trees.composites import Composite


def threshold(count: int, n_children: int) -> int:
    """BT.CPP's threshold: a negative count means ``n_children + count + 1`` (-1: all)."""
    return max(n_children + count + 1, 0) if count < 0 else count


class Parallel(Composite):
    """Tick every unfinished child each tick; SUCCESS after ``success_count`` successes,
    FAILURE after ``failure_count`` failures or once success became impossible.

    The thresholds are checked after each child, as in BT.CPP, and finishing halts the
    children still running.
    """

    def __init__(self, name: str, children: Sequence[Behaviour] | None = None,
                 success_count: int = -1, failure_count: int = 1):
        super().__init__(name, children)
        self.success_count = success_count
        self.failure_count = failure_count
        self.finished: set[int] = set()
        self.successes = 0
        self.failures = 0

    def initialise(self) -> None:
        self.finished = set()
        self.successes = self.failures = 0

    def tick(self) -> Iterator[Behaviour]:
        if self.status is not Status.RUNNING:
            for child in self.children:
                if child.status is not Status.INVALID:
                    child.stop(Status.INVALID)
            self.initialise()
        n = len(self.children)
        need_success = threshold(self.success_count, n)
        need_failure = threshold(self.failure_count, n)
        for index, child in enumerate(self.children):
            if index not in self.finished:
                self.current_child = child
                yield from child.tick()
                if child.status is Status.SUCCESS:
                    self.finished.add(index)
                    self.successes += 1
                elif child.status is Status.FAILURE:
                    self.finished.add(index)
                    self.failures += 1
            if self.successes >= need_success:
                yield from self._finish(Status.SUCCESS)
                return
            # BT.CPP compares failures with ==: failure_count="0" fails as soon as a child
            # has run without failing
            if n - self.failures < need_success or self.failures == need_failure:
                yield from self._finish(Status.FAILURE)
                return
        self.status = Status.RUNNING
        self.feedback_message = f"{self.successes} succeeded, {self.failures} failed"
        yield self

    def _finish(self, status: Status) -> Iterator[Behaviour]:
        for child in self.children:
            if child.status is Status.RUNNING:
                child.stop(Status.INVALID)
        self.feedback_message = f"{self.successes} succeeded, {self.failures} failed"
        self.stop(status)
        yield self


def _reset(children: Sequence[Behaviour]) -> None:
    """BT.CPP's resetChildren: halt the running ones, forget every finished status."""
    for child in children:
        if child.status is not Status.INVALID:
            child.stop(Status.INVALID)


class SequenceWithMemory(Composite):
    """BT.CPP's SequenceWithMemory: a failure does not send it back to the first child, nor
    does a halt; the next tick resumes at the child that failed or was running. Only
    finishing starts it over. Like BT.CPP it hands the tick back (RUNNING) after a child that
    succeeded at its first tick, so a long sequence of instant steps cannot hog one tick."""

    def __init__(self, name: str, children: Sequence[Behaviour] | None = None):
        super().__init__(name, children)
        self.index = 0

    def tick(self) -> Iterator[Behaviour]:
        if self.status is not Status.RUNNING:
            _reset(self.children[self.index:])
        while self.index < len(self.children):
            child = self.current_child = self.children[self.index]
            was_running = child.status is Status.RUNNING
            yield from child.tick()
            if child.status is not Status.SUCCESS:
                if child.status is Status.RUNNING:
                    self.status = Status.RUNNING
                else:
                    self.stop(child.status)
                yield self
                return
            self.index += 1
            if not was_running and self.index < len(self.children):
                self.status = Status.RUNNING
                yield self
                return
        self.index = 0
        self.stop(Status.SUCCESS)
        yield self


class _Conditional(Composite):
    """A control whose first child is the condition that picks the branch to run."""

    def _ask_condition(self) -> Iterator[Behaviour]:
        """Tick the first child; its status, or ``None`` once a RUNNING one ended the tick."""
        condition = self.current_child = self.children[0]
        yield from condition.tick()
        if condition.status is Status.RUNNING:
            self.status = Status.RUNNING
            yield self
            return None
        return condition.status


class IfThenElse(_Conditional):
    """BT.CPP's IfThenElse: the first child decides once (re-ticked while RUNNING), then the
    chosen branch runs to its end without the condition being asked again."""

    def __init__(self, name: str, children: Sequence[Behaviour] | None = None):
        super().__init__(name, children)
        self.branch = 0

    def tick(self) -> Iterator[Behaviour]:
        if self.status is not Status.RUNNING:
            _reset(self.children)
            self.branch = 0
        if self.branch == 0:
            decided = yield from self._ask_condition()
            if decided is None:
                return
            if decided is Status.SUCCESS:
                self.branch = 1
            elif len(self.children) == 3:
                self.branch = 2
            else:
                self.stop(Status.FAILURE)
                yield self
                return
        child = self.current_child = self.children[self.branch]
        yield from child.tick()
        if child.status is Status.RUNNING:
            self.status = Status.RUNNING
        else:
            self.branch = 0
            self.stop(child.status)
        yield self

    def stop(self, new_status: Status = Status.INVALID) -> None:
        if new_status is Status.INVALID:
            self.branch = 0
        super().stop(new_status)


class WhileDoElse(_Conditional):
    """BT.CPP's WhileDoElse: the first child is ticked every tick; while it succeeds the
    second runs (the third is halted), while it fails the third runs (the second is halted)
    or, with two children, the node fails."""

    def tick(self) -> Iterator[Behaviour]:
        if self.status is not Status.RUNNING:
            _reset(self.children)
        decided = yield from self._ask_condition()
        if decided is None:
            return
        if decided is Status.SUCCESS:
            _reset(self.children[2:])
            branch = self.children[1]
        elif len(self.children) == 3:
            _reset(self.children[1:2])
            branch = self.children[2]
        else:
            _reset(self.children)
            self.stop(Status.FAILURE)
            yield self
            return
        self.current_child = branch
        yield from branch.tick()
        status = branch.status
        if status is Status.RUNNING:
            self.status = Status.RUNNING
        else:
            _reset(self.children)
            self.stop(status)
        yield self
