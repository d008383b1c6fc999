"""Behaviours binding registry skills and conditions to a :class:`RobotInterface`.

A skill follows the py_trees lifecycle like an action client: configuration in
``__init__``, the robot in ``setup(robot=...)`` (or the constructor), the goal started in
``initialise()``, a non-blocking poll of its outcome in ``update()`` and a cancel in
``terminate()`` when the behaviour is interrupted while its goal still runs. A condition
asks the robot once per tick.

==========================  ========  ==============================================
the robot says              skill     condition
==========================  ========  ==============================================
RUNNING                     RUNNING   -
SUCCESS / holds             SUCCESS   SUCCESS
FAILURE, CANCELLED / not    FAILURE   FAILURE (also when the robot cannot answer)
refuses the goal            FAILURE   -
==========================  ========  ==============================================

There is one class per registry skill and condition (:data:`BEHAVIOUR_CLASSES`), made from
the registry: a new skill needs no class of its own.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from py_trees.common import Status

from llm_mars.bt.model import Node
from llm_mars.bt.registry import REGISTRY, Category, NodeKind
from llm_mars.bt.robot import RobotInterface, SkillState
from llm_mars.bt.tick import BtBehaviour
from llm_mars.errors import BehaviourSetupError, LlmMarsError


def with_defaults(kind: NodeKind, values: Mapping[str, Any]) -> dict[str, Any]:
    """Port values as written plus the registry defaults of omitted optional ports.

    An optional port without a default (``CollectCherries.count``: "all that fit") stays
    absent, so the robot applies its own rule.
    """
    args = {}
    for port in kind.ports:
        if port.name in values:
            args[port.name] = values[port.name]
        elif port.default is not None:
            args[port.name] = port.default
    return args


class RobotBehaviour(BtBehaviour):
    """Common part of skills and conditions: the registry kind, typed args and the robot."""

    tag: ClassVar[str]

    def __init__(self, args: Mapping[str, Any] | None = None,
                 robot: RobotInterface | None = None, name: str | None = None):
        self.kind: NodeKind = REGISTRY[self.tag]
        self.args = with_defaults(self.kind, args or {})
        super().__init__(name or Node(self.tag, tuple(self.args.items())).label)
        self.robot = robot

    def setup(self, **kwargs: Any) -> None:
        """Accept the robot as ``setup(robot=...)`` (py_trees passes setup kwargs down the tree)."""
        robot = kwargs.get("robot")
        if robot is not None:
            self.robot = robot
        self._robot()

    def _robot(self) -> RobotInterface:
        if self.robot is None:
            raise BehaviourSetupError(
                f"{self.name}: no robot; pass robot= to the constructor or to setup()")
        return self.robot


class SkillBehaviour(RobotBehaviour):
    """A robot skill: start a goal, poll it each tick, cancel it if interrupted."""

    def __init__(self, args: Mapping[str, Any] | None = None,
                 robot: RobotInterface | None = None, name: str | None = None):
        super().__init__(args, robot, name)
        self.goal_id: int | None = None
        self._start_error: str | None = None

    def initialise(self) -> None:
        self.feedback_message = ""
        self._start_error = None
        self.goal_id = None
        robot = self._robot()
        try:
            self.goal_id = robot.start_skill(self.tag, self.args)
        except LlmMarsError as exc:  # the robot refused the goal: the skill fails, the tree goes on
            self._start_error = str(exc)

    def update(self) -> Status:
        if self.goal_id is None:
            self.feedback_message = self._start_error or "goal was not started"
            return Status.FAILURE
        outcome = self._robot().skill_outcome(self.goal_id)
        if outcome.state is SkillState.RUNNING:
            return Status.RUNNING
        if outcome.state is SkillState.SUCCESS:
            self.feedback_message = ""
            return Status.SUCCESS
        self.feedback_message = outcome.reason or outcome.state.value.lower()
        return Status.FAILURE

    def terminate(self, new_status: Status) -> None:
        if (new_status is Status.INVALID and self.status is Status.RUNNING
                and self.goal_id is not None and self.robot is not None):
            self.robot.cancel_skill(self.goal_id)
            self.feedback_message = "cancelled"
        if new_status is Status.INVALID:
            self.goal_id = None


class ConditionBehaviour(RobotBehaviour):
    """A condition: SUCCESS when the robot says it holds, FAILURE otherwise; never RUNNING."""

    def update(self) -> Status:
        robot = self._robot()
        try:
            holds = robot.check_condition(self.tag, self.args)
        except LlmMarsError as exc:  # the robot cannot answer: the condition does not hold
            self.feedback_message = str(exc)
            return Status.FAILURE
        self.feedback_message = "" if holds else "condition is false"
        return Status.SUCCESS if holds else Status.FAILURE


def _behaviour_class(kind: NodeKind) -> type[RobotBehaviour]:
    base = SkillBehaviour if kind.category is Category.ACTION else ConditionBehaviour
    return type(kind.tag, (base,), {"tag": kind.tag, "__doc__": kind.description,
                                    "__module__": __name__})


BEHAVIOUR_CLASSES: dict[str, type[RobotBehaviour]] = {
    kind.tag: _behaviour_class(kind)
    for kind in (*REGISTRY.of(Category.ACTION), *REGISTRY.of(Category.CONDITION))}
"""The behaviour class of each registry skill and condition, by tag."""
