"""Control nodes with BehaviorTree.CPP v4 semantics where py_trees' stock ones differ.

The builder maps ``Sequence`` to py_trees ``Sequence(memory=True)``, ``ReactiveSequence`` to
``Sequence(memory=False)``, ``Fallback`` to ``Selector(memory=True)`` and ``ReactiveFallback``
to ``Selector(memory=False)``: their status tables match BT.CPP's (a running child resumes
or, for the reactive ones, earlier children are re-ticked and a later running child is
halted when an earlier one stops returning SUCCESS / FAILURE).

``Parallel`` is ours: py_trees' ``Parallel`` has all/one/selected success policies and fails
on the first failure, while BT.CPP counts successes and failures against thresholds
(``-1`` meaning all children) and does not tick children that already finished.
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
            if n - self.failures < need_success or self.failures >= need_failure:
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
