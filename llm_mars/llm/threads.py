"""How many CPU threads the engine's model steps use, chosen by measuring them.

On a CPU that other busy processes share (the robot's navigation stack, or other engineers'
jobs on the 2-core development machine), every parallel region of a step waits for a worker
thread the OS has descheduled, and two threads can be several times slower than one; on an idle
machine two threads stream the weights with both cores' bandwidth and are the faster setting
(figures: docs/benchmarks.md, "Threads"). So the engine keeps using whichever setting was faster
recently, and every ``explore_every`` steps tries each other setting for ``trial_steps`` steps.
Decode steps (memory bound: a second thread adds little bandwidth) and big prefill steps
(compute bound: a second idle core can nearly halve them) are tuned apart (:class:`StepThreads`).
"""
from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Callable, Sequence


class ThreadTuner:
    """Chooses among thread counts from the measured cost of one kind of step (a decode step's
    duration, or a prefill step's time per row: :class:`StepThreads`)."""

    def __init__(self, choices: Sequence[int], explore_every: int = 128, trial_steps: int = 6):
        if not choices:
            raise ValueError("no thread counts to choose from")
        if explore_every < 1 or trial_steps < 1:
            raise ValueError("explore_every and trial_steps must be at least 1")
        self.choices = tuple(sorted(set(choices)))
        self.explore_every, self.trial_steps = explore_every, trial_steps
        self.current = self.choices[-1]
        self._times = {c: deque(maxlen=2 * trial_steps) for c in self.choices}
        self._trials: list[int] = []
        self._steps = 0

    def threads_for_next_step(self) -> int:
        """The thread count for the next step (:class:`StepThreads` applies it)."""
        due = self._steps == self.trial_steps or self._steps % self.explore_every == 0
        if not self._trials and self._steps and due:
            self._trials = [c for c in self.choices if c != self.current for _ in range(self.trial_steps)]
        return self._trials[0] if self._trials else self.current

    def record(self, threads: int, seconds: float) -> None:
        """Report what a step cost with ``threads``."""
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


PREFILL_TUNED_ROWS = 64
"""Steps of at least this many token rows that prefill something are tuned apart from decode
steps, by time per row; smaller steps with prefill in them take the decode steps' setting."""

PREFILL_TUNING = (48, 4)
"""``explore_every``, ``trial_steps`` of the big prefill steps' tuner: they are far fewer than
decode steps, so a setting chosen at a bad moment is tried again sooner."""

PREFILL_WARMUP_STEPS = 4
"""Big prefill steps at the start that are not measured: the first steps of each shape pay for
oneDNN building its kernels, and a first command's grammar compiles beside them."""


class StepThreads:
    """The thread count of each model step: one :class:`ThreadTuner` for decode-only steps (by
    step time) and one for big prefill steps (by time per token row, since their sizes vary),
    applied through one ``set_threads`` so neither undoes the other's setting unseen."""

    def __init__(self, choices: Sequence[int], set_threads: Callable[[int], None] | None = None,
                 big_rows: int | None = None, decode_tuning: tuple[int, int] = (128, 6),
                 prefill_tuning: tuple[int, int] = PREFILL_TUNING,
                 prefill_warmup: int = PREFILL_WARMUP_STEPS):
        self.decode = ThreadTuner(choices, *decode_tuning)
        self.prefill = ThreadTuner(choices, *prefill_tuning)
        self.big_rows = PREFILL_TUNED_ROWS if big_rows is None else big_rows
        self._warmup = prefill_warmup
        self._set = set_threads
        self._applied: int | None = None

    def begin(self, token_rows: int, decode_rows: int) -> tuple[ThreadTuner | None, int]:
        """Apply the thread count for a step of ``token_rows`` rows, ``decode_rows`` of them
        decode rows; returns the tuner that will judge the step (None: untuned) and the count."""
        if decode_rows == token_rows:
            tuner: ThreadTuner | None = self.decode
        elif token_rows >= self.big_rows:
            tuner = self.prefill
        else:
            tuner = None
        threads = tuner.threads_for_next_step() if tuner else self.decode.current
        if self._set is not None and threads != self._applied:
            self._set(threads)
            self._applied = threads
        return tuner, threads

    def end(self, tuner: ThreadTuner | None, threads: int, seconds: float,
            token_rows: int) -> None:
        """Report the duration of the step :meth:`begin` prepared."""
        if tuner is self.decode:
            tuner.record(threads, seconds)
        elif tuner is not None and self._warmup > 0:
            self._warmup -= 1
        elif tuner is not None:
            tuner.record(threads, seconds / token_rows)
