"""A scripted :class:`RobotInterface` for tests: each skill start plays the next scripted run.

A run is ``Run(ticks, state, reason)``: the goal reports RUNNING for ``ticks`` polls, then
``state`` for good. Scripts are keyed by a node label (``"Say text=a"``, so two nodes of one
kind can behave differently) or by a tag; skills without a script left succeed after
``default_ticks`` polls. Conditions answer from ``conditions`` (same keys; a bool, a list of
answers consumed one per check with the last one repeating, or a callable of the args).
Everything the tree asked for is recorded for assertions.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llm_mars.bt.model import Node
from llm_mars.bt.robot import RobotInterface, SkillOutcome, SkillState


@dataclass(frozen=True)
class Run:
    ticks: int = 0
    state: SkillState = SkillState.SUCCESS
    reason: str | None = None


SUCCEED = Run()
FAIL = Run(0, SkillState.FAILURE, "scripted failure")

ConditionScript = bool | Sequence[bool] | Callable[[Mapping[str, Any]], bool]


@dataclass
class Goal:
    id: int
    skill: str
    args: dict[str, Any]
    run: Run
    polls: int = 0
    cancelled: bool = False

    def outcome(self) -> SkillOutcome:
        if self.cancelled:
            return SkillOutcome(SkillState.CANCELLED, "cancelled")
        if self.polls <= self.run.ticks - 1:
            return SkillOutcome(SkillState.RUNNING)
        return SkillOutcome(self.run.state, self.run.reason)


class ScriptedRobot(RobotInterface):
    def __init__(self, skills: Mapping[str, Sequence[Run]] | None = None,
                 conditions: Mapping[str, ConditionScript] | None = None,
                 name: str = "robot1", default_ticks: int = 0):
        self.name = name
        self.scripts = {tag: list(runs) for tag, runs in (skills or {}).items()}
        self.conditions = {tag: list(answer) if isinstance(answer, (list, tuple)) else answer
                           for tag, answer in (conditions or {}).items()}
        self.default = Run(default_ticks)
        self.goals: list[Goal] = []
        self.checks: list[tuple[str, dict[str, Any]]] = []

    def _script(self, scripts: Mapping[str, Any], tag: str, args: Mapping[str, Any]) -> Any:
        label = Node(tag, tuple(args.items())).label
        return scripts[label] if label in scripts else scripts.get(tag)

    def start_skill(self, skill: str, args: Mapping[str, Any]) -> int:
        runs = self._script(self.scripts, skill, args)
        run = runs.pop(0) if runs else self.default
        goal = Goal(len(self.goals), skill, dict(args), run)
        self.goals.append(goal)
        return goal.id

    def skill_outcome(self, goal_id: int) -> SkillOutcome:
        goal = self.goals[goal_id]
        outcome = goal.outcome()
        goal.polls += 1
        return outcome

    def cancel_skill(self, goal_id: int) -> None:
        goal = self.goals[goal_id]
        if not goal.outcome().done:
            goal.cancelled = True

    def check_condition(self, condition: str, args: Mapping[str, Any]) -> bool:
        self.checks.append((condition, dict(args)))
        answer = self._script(self.conditions, condition, args)
        answer = True if answer is None else answer
        if callable(answer):
            return bool(answer(args))
        if isinstance(answer, bool):
            return answer
        return bool(answer.pop(0)) if len(answer) > 1 else bool(answer[0])

    # --- what happened, for assertions ----------------------------------------------------

    @property
    def started(self) -> list[tuple[str, dict[str, Any]]]:
        return [(g.skill, g.args) for g in self.goals]

    @property
    def cancelled(self) -> list[str]:
        return [g.skill for g in self.goals if g.cancelled]
