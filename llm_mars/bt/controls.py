"""BehaviorTree.CPP 4.8's control nodes, each written after its source tick by tick.

py_trees' Sequence and Selector cannot return SKIPPED nor pass over a skipped child, and
reset their children at other moments than BT.CPP does (which decides when a child's
``_skipIf``/``_while`` are asked), so every control here is ours (see :mod:`.tick`):

* Sequence / Fallback: a SKIPPED child is passed over like a SUCCESS (a FAILURE); the node
  is SKIPPED when every child was skipped since it started;
* ReactiveSequence / ReactiveFallback: likewise, and a skipped child is halted (reset) so
  that it is asked again next tick;
* SequenceWithMemory: a failure or a halt does not send it back to the first child; it
  hands the tick back after a child that succeeded at its first tick;
* Parallel: counts successes and failures against thresholds (``-1``: all); a skipped
  child counts towards success only for a negative ``success_count``, and the node is
  SKIPPED when every child it ticked was;
* IfThenElse / WhileDoElse: a skipped branch makes the node SKIPPED; a skipped condition
  is an error in BT.CPP 4.8 (it throws), here a :class:`TreeLogicError`;
* SwitchN: the child of the first case equal to the variable (:func:`same_text`), else the
  last; a change of match halts the child that ran; a skipped child makes it SKIPPED.

Checked against BT.CPP itself in test/bt/test_btcpp_oracle.py.
"""
from __future__ import annotations

import re
from collections import abc

from py_trees.behaviour import Behaviour
from py_trees.common import Status

from llm_mars.bt.script import EMPTY, Blackboard, entry_key, stod, to_text
from llm_mars.bt.tick import SKIPPED, Control, Skipped, Ticking, execute, halt_child
from llm_mars.errors import ScriptRuntimeError, TreeLogicError


def threshold(count: int, n_children: int) -> int:
    """BT.CPP's threshold: a negative count means ``n_children + count + 1`` (-1: all)."""
    return max(n_children + count + 1, 0) if count < 0 else count


class _InOrder(Control):
    """A control that ticks its children in order from ``index``, counting the skipped."""

    def __init__(self, name: str, children: abc.Sequence[Behaviour] | None = None):
        super().__init__(name, children)
        self.index = 0
        self.skipped = 0

    def begin(self) -> None:
        """BT.CPP: a node not active forgets the skipped count, then it runs."""
        if self.bt_status is not Status.RUNNING:
            self.skipped = 0
        self.set_running()

    def finish(self, done: Status) -> Status | Skipped:
        """After the last child: start over, ``done`` or SKIPPED if every child was."""
        all_skipped = self.skipped == len(self.children)
        if self.index == len(self.children):
            self.reset_children()
            self.index = self.skipped = 0
        return SKIPPED if all_skipped else done


class _Ordered(_InOrder):
    """BT.CPP's SequenceNode and FallbackNode: children in order, resuming a running one;
    ``stop_on`` ends the node at once, the other finished status goes on to the next."""

    stop_on: Status

    def clear(self) -> None:
        self.index = 0
        self.skipped = 0

    def tick_control(self) -> Ticking:
        n = len(self.children)
        self.begin()
        while self.index < n:
            child = self.current_child = self.children[self.index]
            result = yield from execute(child)
            if result is Status.RUNNING:
                return result
            if result is self.stop_on:
                self.reset_children()
                self.index = 0
                return result
            self.index += 1
            self.skipped += result is SKIPPED
        return self.finish(_other(self.stop_on))


def _other(status: Status) -> Status:
    return Status.SUCCESS if status is Status.FAILURE else Status.FAILURE


class Sequence(_Ordered):
    """BT.CPP's Sequence: a failure ends it and starts it over; a running child resumes."""

    stop_on = Status.FAILURE


class Fallback(_Ordered):
    """BT.CPP's Fallback: a success ends it; a running child resumes."""

    stop_on = Status.SUCCESS


class _Reactive(Control):
    """BT.CPP's ReactiveSequence and ReactiveFallback: every child from the first each tick;
    a running child halts the others."""

    stop_on: Status

    def tick_control(self) -> Ticking:
        all_skipped = True
        self.set_running()
        for index, child in enumerate(self.children):
            self.current_child = child
            result = yield from execute(child)
            all_skipped &= result is SKIPPED
            if result is Status.RUNNING:
                for other in self.children:
                    if other is not child:
                        halt_child(other)
                return result
            if result is self.stop_on:
                self.reset_children()
                return result
            if result is SKIPPED:  # reset, so that it is asked again
                halt_child(child)
        self.reset_children()
        return SKIPPED if all_skipped else _other(self.stop_on)


class ReactiveSequence(_Reactive):
    """BT.CPP's ReactiveSequence: earlier children are asked again every tick."""

    stop_on = Status.FAILURE


class ReactiveFallback(_Reactive):
    """BT.CPP's ReactiveFallback: earlier children are asked again every tick."""

    stop_on = Status.SUCCESS


class SequenceWithMemory(_InOrder):
    """BT.CPP's SequenceWithMemory: a failure does not send it back to the first child, nor
    does a halt; the next tick resumes at the child that failed or was running. Only
    finishing starts it over. Like BT.CPP it hands the tick back (RUNNING) after a child that
    succeeded at its first tick, so a long sequence of instant steps cannot hog one tick."""

    def start(self) -> None:
        for child in self.children[self.index:]:
            child.status = Status.INVALID

    def tick_control(self) -> Ticking:
        n = len(self.children)
        self.begin()
        while self.index < n:
            child = self.current_child = self.children[self.index]
            before = child.bt_status
            result = yield from execute(child)
            if result is Status.RUNNING:
                return result
            if result is Status.FAILURE:
                self.reset_children(self.index)
                return result
            self.index += 1
            if result is SKIPPED:
                self.skipped += 1
            elif before is Status.INVALID and self.index < n:
                return Status.RUNNING  # BT.CPP's wake-up: the tick is handed back
        return self.finish(Status.SUCCESS)


class Parallel(Control):
    """BT.CPP's Parallel: every unfinished child each tick; SUCCESS after ``success_count``
    successes, FAILURE after ``failure_count`` failures or once success became impossible.

    The thresholds are checked after each child, and finishing halts the children still
    running.
    """

    def __init__(self, name: str, children: abc.Sequence[Behaviour] | None = None,
                 success_count: int = -1, failure_count: int = 1):
        super().__init__(name, children)
        self.success_count = success_count
        self.failure_count = failure_count
        self.finished: set[int] = set()
        self.successes = 0
        self.failures = 0

    def clear(self) -> None:
        self.finished = set()
        self.successes = self.failures = 0

    def tick_control(self) -> Ticking:
        n = len(self.children)
        need_success = threshold(self.success_count, n)
        need_failure = threshold(self.failure_count, n)
        if n < need_success or n < need_failure:  # the validator refuses these
            raise TreeLogicError(f"{self.name}: a threshold exceeds the number of children")
        self.set_running()
        skipped = 0
        for index, child in enumerate(self.children):
            if index not in self.finished:
                self.current_child = child
                result = yield from execute(child)
                if result is SKIPPED:
                    skipped += 1
                elif result is Status.SUCCESS:
                    self.finished.add(index)
                    self.successes += 1
                elif result is Status.FAILURE:
                    self.finished.add(index)
                    self.failures += 1
            self.feedback_message = f"{self.successes} succeeded, {self.failures} failed"
            if self.successes >= need_success or (
                    self.success_count < 0 and self.successes + skipped >= need_success):
                self.clear()
                self.reset_children()
                return Status.SUCCESS
            # BT.CPP compares failures with ==: failure_count="0" fails as soon as a child
            # has run without failing
            if n - self.failures < need_success or self.failures == need_failure:
                self.clear()
                self.reset_children()
                return Status.FAILURE
        return SKIPPED if skipped == n else Status.RUNNING


class IfThenElse(Control):
    """BT.CPP's IfThenElse: the first child decides once (re-ticked while RUNNING), then the
    chosen branch runs to its end without the condition being asked again."""

    def __init__(self, name: str, children: abc.Sequence[Behaviour] | None = None):
        super().__init__(name, children)
        self.branch = 0

    def clear(self) -> None:
        self.branch = 0

    def tick_control(self) -> Ticking:
        self.set_running()
        if self.branch == 0:
            self.current_child = self.children[0]
            decided = yield from execute(self.children[0])
            if decided is Status.RUNNING:
                return decided
            if decided is Status.SUCCESS:
                self.branch = 1
            elif decided is Status.FAILURE:
                if len(self.children) != 3:
                    return decided
                self.branch = 2
            else:  # BT.CPP 4.8 throws "Something unexpected happened in IfThenElseNode"
                raise TreeLogicError(f"{self.name}: its condition returned {decided.name}")
        child = self.current_child = self.children[self.branch]
        result = yield from execute(child)
        if result is not Status.RUNNING:
            self.reset_children()
            self.branch = 0
        return result


class WhileDoElse(Control):
    """BT.CPP's WhileDoElse: the first child is ticked every tick; while it succeeds the
    second runs (the third is halted), while it fails the third runs (the second is halted)
    or, with two children, the node fails. A skipped condition leaves the node IDLE, which
    BT.CPP 4.8 refuses by throwing."""

    def tick_control(self) -> Ticking:
        self.set_running()
        self.current_child = self.children[0]
        decided = yield from execute(self.children[0])
        if decided is Status.RUNNING:
            return decided
        result: Status | object = Status.INVALID
        three = len(self.children) == 3
        if decided is Status.SUCCESS:
            if three:
                halt_child(self.children[2])
            self.current_child = self.children[1]
            result = yield from execute(self.children[1])
        elif decided is Status.FAILURE:
            if three:
                halt_child(self.children[1])
                self.current_child = self.children[2]
                result = yield from execute(self.children[2])
            else:
                result = Status.FAILURE
        if result is not Status.RUNNING:
            self.reset_children()
        return result


_INT32 = (-2**31, 2**31 - 1)
_FLOAT_EPSILON = 1.1920928955078125e-07  # std::numeric_limits<float>::epsilon()
_STOI = re.compile(r"[ \t\n\v\f\r]*[+-]?[0-9]+")


def _stoi(text: str) -> int | None:
    """``std::stoi``: leading space, a sign, then the longest run of digits (``'5x'`` is
    5); None where it throws (no digits, beyond an ``int``)."""
    match = _STOI.match(text)
    if match is None:
        return None
    value = int(match.group().strip(" \t\n\v\f\r"))
    return value if _INT32[0] <= value <= _INT32[1] else None


def _stod(text: str) -> float | None:
    """``std::stod`` (hexadecimal, ``inf`` and ``nan`` too); None where it throws."""
    try:
        return stod(text)
    except ScriptRuntimeError:
        return None


def same_text(variable: str, case: str) -> bool:
    """BT.CPP's ``CheckStringEquality`` as the oracle's build compiles it (``std::stoi`` and
    ``std::stod``, not ``from_chars``): the same text, else both read as the same ``int``,
    else as ``double``s a float epsilon apart. Each is read as the longest number it starts
    with, so ``'2.5'`` matches ``'2'`` and ``' +5'`` matches ``'5'``."""
    if variable == case:
        return True
    a, b = _stoi(variable), _stoi(case)
    if a is not None and b is not None and a == b:
        return True
    x, y = _stod(variable), _stod(case)
    return x is not None and y is not None and abs(x - y) <= _FLOAT_EPSILON


def read_input(text: str | None, board: Blackboard) -> str | None:
    """BT.CPP's ``getInput<std::string>``: the text, or the value of the entry ``{key}`` as
    text; None where BT.CPP's fails (no port, no entry, an entry without a value)."""
    key = None if text is None else entry_key(text)
    if key is None:
        return text
    entry = board.entry(key)
    if entry is None or entry.value is EMPTY:
        return None
    return to_text(entry.value)


class Switch(Control):
    """BT.CPP's SwitchN: each tick the variable picks a child (the first equal case, else the
    last); the child that ran before is halted when the pick changes; after a finished child
    every child is reset. A skipped child makes the node SKIPPED (not the default child)."""

    def __init__(self, name: str, children: abc.Sequence[Behaviour], variable: str | None,
                 cases: abc.Sequence[str | None], board: Blackboard):
        super().__init__(name, children)
        self.variable = variable
        self.cases = tuple(cases)
        self.blackboard = board
        self.running = -1

    def clear(self) -> None:
        self.running = -1

    def match(self) -> int:
        variable = read_input(self.variable, self.blackboard)
        if variable is not None:
            for index, case in enumerate(self.cases):
                value = read_input(case, self.blackboard)
                if value is not None and same_text(variable, value):
                    return index
        return len(self.cases)

    def tick_control(self) -> Ticking:
        if len(self.children) != len(self.cases) + 1:  # the validator refuses these
            raise TreeLogicError(f"{self.name}: needs one child per case and a default")
        index = self.match()
        if self.running not in (-1, index):
            halt_child(self.children[self.running])
        child = self.current_child = self.children[index]
        result = yield from execute(child)
        if result is SKIPPED:
            self.running = -1
        elif result is Status.RUNNING:
            self.running = index
        else:
            self.reset_children()
            self.running = -1
        return result
