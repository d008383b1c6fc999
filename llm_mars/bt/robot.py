"""The small, non-blocking contract between behavior-tree skills and a robot.

A skill behaviour starts a goal, polls its outcome every tick and cancels it when halted,
like an action client. The behaviours define what they need here; the robots of
:mod:`llm_mars.robots` (the simulated one, a ROS-topic one for real hardware) implement it.
Nothing here may block: ``update()`` of a behaviour calls these on the tick path.
"""
from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class SkillState(str, enum.Enum):
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True)
class SkillOutcome:
    """Where a started skill stands; ``reason`` says why it failed (``None`` otherwise)."""

    state: SkillState
    reason: str | None = None

    @property
    def done(self) -> bool:
        return self.state is not SkillState.RUNNING


class RobotInterface(ABC):
    """One robot as the behavior tree sees it.

    ``skill`` and ``condition`` are registry tags (``PickCake``, ``IsAt``); ``args`` are the
    typed port values after validation (defaults filled in).
    """

    name: str

    @abstractmethod
    def start_skill(self, skill: str, args: Mapping[str, Any]) -> int:
        """Begin a skill and return its goal id. Never blocks."""

    @abstractmethod
    def skill_outcome(self, goal_id: int) -> SkillOutcome:
        """The current outcome of a started goal."""

    @abstractmethod
    def cancel_skill(self, goal_id: int) -> None:
        """Stop a running goal (no-op if it already finished)."""

    @abstractmethod
    def check_condition(self, condition: str, args: Mapping[str, Any]) -> bool:
        """Evaluate a condition node against the robot's current state."""
