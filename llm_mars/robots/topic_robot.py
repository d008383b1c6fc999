"""A robot reached over ROS topics: skill goals out, outcomes and state in.

``TopicRobot`` is the :class:`RobotInterface` the ``bt_executor`` node uses when the robot
lives in another process: the simulator node, or a real robot's driver that speaks the same
topics (docs/interfaces.md). It holds no ROS objects: the node passes a ``publish`` function
and feeds received messages to :meth:`on_outcome` and :meth:`on_state`, so it is tested
without ROS.

* ``/<robot>/skill/goal``  (out) :class:`SkillGoal`
* ``/<robot>/skill/cancel`` (out) :class:`GoalRef`
* ``/<robot>/skill/outcome`` (in) :class:`SkillFeedback`
* ``/world/state`` or ``/<robot>/state`` (in): the state JSON, for conditions

The robot side repeats a running goal's outcome (RUNNING) at least every second; a goal that
hears nothing for ``silence_timeout_s`` fails with "robot offline", so a dead robot or
simulator fails the tree instead of hanging it. Topics keep nothing for a subscriber that has
not yet matched a new publisher (an executor just started or restarted), so a goal is sent
again every ``resend_s`` until the robot's first word about it; the robot side runs a goal id
once however often it arrives (:class:`llm_mars.session.skill_server.SkillServer`).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from llm_mars.bt.registry import condition_holds
from llm_mars.bt.robot import RobotInterface, SkillOutcome, SkillState
from llm_mars.payloads import GoalRef, SkillFeedback, SkillGoal

RESEND_S = 0.5
"""How often a goal the robot has not yet answered is sent again."""

Publish = Callable[[str, str], None]  # (topic suffix "skill/goal" | "skill/cancel", json)


class TopicRobot(RobotInterface):
    def __init__(self, name: str, publish: Publish, silence_timeout_s: float = 3.0,
                 clock: Callable[[], float] = time.monotonic, resend_s: float = RESEND_S):
        self.name = name
        self._publish = publish
        self._timeout = silence_timeout_s
        self._resend_s = resend_s
        self._clock = clock
        self._next_id = int(clock() * 1000) % 1_000_000 * 1000  # distinct across restarts
        self._outcomes: dict[int, SkillOutcome] = {}
        self._heard_at: dict[int, float] = {}
        self._unanswered: dict[int, tuple[str, float]] = {}  # goal id -> (goal JSON, sent at)
        self.state: dict[str, Any] | None = None  # the latest world state JSON

    def start_skill(self, skill: str, args: Mapping[str, Any]) -> int:
        self._next_id += 1
        goal_id = self._next_id
        self._outcomes[goal_id] = SkillOutcome(SkillState.RUNNING)
        self._heard_at[goal_id] = now = self._clock()
        message = SkillGoal(goal_id, skill, dict(args)).to_json()
        self._unanswered[goal_id] = (message, now)
        self._publish("skill/goal", message)
        return goal_id

    def skill_outcome(self, goal_id: int) -> SkillOutcome:
        """The goal's outcome as last heard; polling it also sends an unanswered goal again."""
        outcome = self._outcomes.get(goal_id, SkillOutcome(SkillState.FAILURE, "unknown goal"))
        heard, now = self._heard_at.get(goal_id), self._clock()
        if heard is not None and now - heard > self._timeout:
            outcome = SkillOutcome(SkillState.FAILURE,
                                   f"robot offline: no word for {self._timeout:g} s")
            self._finish(goal_id, outcome)
        unanswered = self._unanswered.get(goal_id)
        if unanswered is not None and now - unanswered[1] >= self._resend_s:
            self._unanswered[goal_id] = (unanswered[0], now)
            self._publish("skill/goal", unanswered[0])
        return outcome

    def cancel_skill(self, goal_id: int) -> None:
        if self._outcomes.get(goal_id, SkillOutcome(SkillState.SUCCESS)).done:
            return
        self._publish("skill/cancel", GoalRef(goal_id).to_json())
        self._finish(goal_id, SkillOutcome(SkillState.CANCELLED, "cancelled"))

    def check_condition(self, condition: str, args: Mapping[str, Any]) -> bool:
        """The registry's test of the condition on the latest state JSON; false before any."""
        if self.state is None:
            return False
        return condition_holds(condition, self.state, self.name, args)

    def on_outcome(self, feedback: SkillFeedback) -> None:
        """An outcome message arrived; outcomes of unknown or finished goals are ignored."""
        current = self._outcomes.get(feedback.goal_id)
        if current is None or current.done:
            return
        self._heard_at[feedback.goal_id] = self._clock()
        self._unanswered.pop(feedback.goal_id, None)
        outcome = SkillOutcome(SkillState(feedback.state), feedback.reason)
        if outcome.done:
            self._finish(feedback.goal_id, outcome)
        else:
            self._outcomes[feedback.goal_id] = outcome

    @property
    def match_over(self) -> bool:
        """Whether the latest state says the match is over."""
        return bool(self.state and self.state.get("match_over"))

    def on_state(self, state: Mapping[str, Any]) -> None:
        self.state = dict(state)

    def _finish(self, goal_id: int, outcome: SkillOutcome) -> None:
        self._outcomes[goal_id] = outcome
        self._heard_at.pop(goal_id, None)
        self._unanswered.pop(goal_id, None)
        # keep finished outcomes bounded: a long session starts thousands of goals
        if len(self._outcomes) > 1000:
            for old in [g for g, o in self._outcomes.items() if o.done][:500]:
                del self._outcomes[old]
