"""BehaviorTree.CPP's built-in leaves that involve no robot: AlwaysSuccess, AlwaysFailure,
Sleep, Script, ScriptCondition and SetBlackboard (the registry's ``Category.LEAF``)."""
from __future__ import annotations

from collections.abc import Callable

from py_trees.common import Status

from llm_mars.bt.script import EMPTY, Blackboard, EntryType, entry_key, parse_script, truth
from llm_mars.bt.tick import BtBehaviour
from llm_mars.errors import ScriptRuntimeError, TreeLogicError


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


class SetBlackboard(BtBehaviour):
    """BT.CPP's SetBlackboard: writes the text ``value``, or a copy of the entry ``{key}``,
    into the entry ``output_key``, with BT.CPP's types (a plan written for BT.CPP must leave
    the same blackboard): a new entry holds a string; an AnyTypeAllowed one (a script's)
    takes no string (it is left without a value) and becomes ``BT::Any``; a string entry
    takes strings only. FAILURE when ``{key}`` has no value; a missing ``{key}`` or a
    type it cannot take raises TreeLogicError, as BT.CPP throws."""

    def __init__(self, name: str, value: str, output_key: str, blackboard: Blackboard):
        super().__init__(name)
        self.value = value
        self.output_key = output_key
        self.blackboard = blackboard

    def update(self) -> Status:
        board, key = self.blackboard, self.output_key
        target = board.entry(key)
        source_key = entry_key(self.value)
        value: object = self.value
        if source_key is not None:
            source = board.entry(source_key)
            if source is None:
                raise TreeLogicError(f"{self.name}: no entry {source_key} to copy")
            if target is None:
                target = board.create(key, source.type)
            value = source.value
        if value is EMPTY:
            return Status.FAILURE
        if target is None:
            board.create(key, EntryType.STRING_SET).value = value
            return Status.SUCCESS
        if not target.type.strongly_typed:
            if type(value) is str:
                try:
                    value = target.type.convert(value)
                except ScriptRuntimeError as exc:
                    raise TreeLogicError(f"{self.name}: {exc}") from exc
            target.type, target.value = EntryType.ANY, value
        elif type(value) is not str:  # BT.CPP: the type of an entry shall not change
            raise TreeLogicError(f"{self.name}: {key} holds strings only")
        else:
            target.value = value
        return Status.SUCCESS
