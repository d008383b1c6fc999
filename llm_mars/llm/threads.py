"""How many CPU threads the engine's model steps use, chosen by measuring them.

On a CPU that other busy processes share (the robot's navigation stack, or other engineers'
jobs on the 2-core development machine), every parallel region of a step waits for a worker
thread the OS has descheduled, and two threads can be several times slower than one; on an idle
machine two threads stream the weights with both cores' bandwidth and are the faster setting
(figures: docs/benchmarks.md, "Threads"). So the engine keeps using whichever setting was faster
recently, and every ``explore_every`` decode steps tries each other setting for ``trial_steps``
steps.
"""
from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Callable, Sequence


class ThreadTuner:
    """Chooses among thread counts from the durations of decode-only steps."""

    def __init__(self, choices: Sequence[int], explore_every: int = 128, trial_steps: int = 6,
                 set_threads: Callable[[int], None] | None = None):
        if not choices:
            raise ValueError("no thread counts to choose from")
        self.choices = tuple(sorted(set(choices)))
        self.explore_every, self.trial_steps = explore_every, trial_steps
        self.current = self.choices[-1]
        self._set = set_threads
        self._applied: int | None = None
        self._times = {c: deque(maxlen=2 * trial_steps) for c in self.choices}
        self._trials: list[int] = []
        self._steps = 0

    def threads_for_next_step(self) -> int:
        """The thread count for the next decode step (applied through ``set_threads``)."""
        due = self._steps == self.trial_steps or self._steps % self.explore_every == 0
        if not self._trials and self._steps and due:
            self._trials = [c for c in self.choices if c != self.current for _ in range(self.trial_steps)]
        threads = self._trials[0] if self._trials else self.current
        if self._set is not None and threads != self._applied:
            self._set(threads)
            self._applied = threads
        return threads

    def record(self, threads: int, seconds: float) -> None:
        """Report how long a decode step took with ``threads``."""
        self._steps += 1
        self._times[threads].append(seconds)
        if self._trials and self._trials[0] == threads:
            self._trials.pop(0)
            if not self._trials:
                self.current = self.best()
        elif not self._trials and len(self._times[self.current]) >= self.trial_steps:
            self.current = self.best()

    def best(self) -> int:
        """The choice with the lowest median recent step time (unmeasured ones do not count)."""
        measured = {c: statistics.median(t) for c, t in self._times.items() if len(t) >= min(3, self.trial_steps)}
        return min(measured, key=measured.get) if measured else self.current
