"""The robot side of the skill topics for both simulated robots, without ROS.

The ``simulator`` node wraps this: it turns the executors' goals (``SkillGoal``, ``GoalRef``)
into simulator goals and reports their outcomes back (``SkillFeedback``). The node only wires
topics and timers to it, so these rules are tested without ROS:

* an executor names goals by its own ids; each maps to the simulator goal it started, until
  that goal's outcome has been reported as done;
* a goal id runs once: executors send a goal again until they hear of it (a new publisher's
  first messages can be lost), so a repeat of a running goal is ignored and a repeat of a
  finished one gets its final outcome again (the last :data:`FINISHED_KEPT` per robot), and a
  goal whose cancel came first does not start;
* an outcome is reported when it changes, and a running goal's RUNNING is repeated every
  ``heartbeat_s`` so that the executor knows the robot is alive (:mod:`llm_mars.robots.topic_robot`
  fails a goal that hears nothing);
* dead man's switch: a robot whose executor has sent no status for ``executor_silence_s``
  has its running goals cancelled (a dead executor can neither steer nor stop its robot);
* with ``pause_when_idle`` the match clock stands still while no goal runs (operator sessions,
  where the model's thinking time should not eat the match).
"""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from llm_mars import vocabulary as V
from llm_mars.bt.robot import SkillState
from llm_mars.errors import LlmMarsError
from llm_mars.payloads import SkillFeedback, SkillGoal
from llm_mars.world.simulator import Simulator

HEARTBEAT_S = 1.0
FINISHED_KEPT = 1000
"""Finished goals remembered per robot, to answer a repeated goal with its final outcome."""
MAX_STEP_S = 1.0
"""The longest simulated step taken at once (a stalled process must not teleport robots)."""


class SkillServer:
    def __init__(self, world: Simulator, executor_silence_s: float = 3.0,
                 heartbeat_s: float = HEARTBEAT_S, clock: Callable[[], float] = time.monotonic):
        self.executor_silence_s = executor_silence_s
        self.heartbeat_s = heartbeat_s
        self.clock = clock
        self._heard: dict[str, float] = {}  # robot -> when its executor last sent a status
        self.world = world
        self._goals: dict[str, dict[int, int]] = {r: {} for r in V.ROBOTS}  # ext -> sim id
        self._reported: dict[tuple[str, int], tuple[str, float]] = {}
        self._finished: dict[str, OrderedDict[int, SkillFeedback]] = {
            r: OrderedDict() for r in V.ROBOTS}
        self._unsent: list[tuple[str, SkillFeedback]] = []  # final outcomes for the next report

    def reset(self, world: Simulator) -> None:
        """Serve a fresh field: goals running on the old one fail at the next report, and a
        repeat of any goal of the old one does not start on the new one."""
        for robot, goals in self._goals.items():
            for ext_id in goals:
                stopped = SkillFeedback(ext_id, "FAILURE", "the field was reset")
                self._remember(robot, stopped)
                self._unsent.append((robot, stopped))
        self.world = world
        self._goals = {r: {} for r in V.ROBOTS}
        self._reported = {}

    @property
    def busy(self) -> bool:
        """Whether any goal is running (or not yet reported as done)."""
        return any(self._goals.values())

    def start(self, robot: str, goal: SkillGoal) -> SkillFeedback | None:
        """Start ``goal`` on ``robot``; what to report at once: the FAILURE when the world
        refuses it, or the final outcome again when this goal id has already finished."""
        self._heard[robot] = self.clock()  # a goal is word from the executor too
        if goal.goal_id in self._goals[robot]:
            return None  # a repeat of a running goal: its outcomes are on their way
        finished = self._finished[robot].get(goal.goal_id)
        if finished is not None:
            return finished
        try:
            self._goals[robot][goal.goal_id] = self.world.start_skill(robot, goal.skill,
                                                                       goal.args)
        except Exception as exc:  # noqa: BLE001 - a goal that cannot start fails; the world goes on
            refused = SkillFeedback(goal.goal_id, "FAILURE", str(exc) if isinstance(
                exc, LlmMarsError) else f"the goal could not start: {exc!r}")
            self._remember(robot, refused)
            return refused
        return None

    def _remember(self, robot: str, final: SkillFeedback) -> None:
        finished = self._finished[robot]
        finished[final.goal_id] = final
        while len(finished) > FINISHED_KEPT:
            finished.popitem(last=False)

    def cancel(self, robot: str, goal_id: int) -> None:
        """Cancel the goal an executor calls ``goal_id``; a finished one is left as it ended,
        and one not yet heard of will not start (its goal may arrive after the cancel)."""
        self._heard[robot] = self.clock()
        sim_id = self._goals[robot].get(goal_id)
        if sim_id is not None:
            self.world.cancel_skill(robot, sim_id)
        elif goal_id not in self._finished[robot]:
            self._remember(robot, SkillFeedback(goal_id, "CANCELLED",
                                                "cancelled before it started"))

    def executor_status(self, robot: str, tree_status: str) -> None:
        """The executor of ``robot`` spoke: it is alive, and its tree has this status."""
        self._heard[robot] = self.clock()
        self.world.set_tree_status(robot, tree_status)

    def step(self, dt: float, pause_when_idle: bool = False) -> list[str]:
        """Stop orphaned robots, then advance the world by ``dt`` simulated seconds (at most
        :data:`MAX_STEP_S`); the robots stopped because their executor went silent."""
        stopped = self._stop_orphans()
        idle = pause_when_idle and not self.busy
        if dt > 0 and not idle:
            self.world.step(min(dt, MAX_STEP_S))
        return stopped

    def _stop_orphans(self) -> list[str]:
        now, stopped = self.clock(), []
        for robot, goals in self._goals.items():
            heard = self._heard.get(robot)
            if goals and heard is not None and now - heard > self.executor_silence_s:
                for sim_id in goals.values():
                    self.world.cancel_skill(robot, sim_id)
                self._heard.pop(robot)
                stopped.append(robot)
        return stopped

    def outcomes(self) -> list[tuple[str, SkillFeedback]]:
        """The outcomes to send now: those that changed, and a RUNNING heartbeat for goals
        still running; a goal reported done is forgotten."""
        now = self.clock()
        messages, self._unsent = self._unsent, []
        for robot, goals in self._goals.items():
            for ext_id, sim_id in list(goals.items()):
                outcome = self.world.skill_outcome(robot, sim_id)
                key = (robot, ext_id)
                last = self._reported.get(key)
                due = last is None or last[0] != outcome.state.value or (
                    outcome.state is SkillState.RUNNING and now - last[1] >= self.heartbeat_s)
                feedback = SkillFeedback(ext_id, outcome.state.value, outcome.reason)
                if due:
                    self._reported[key] = (outcome.state.value, now)
                    messages.append((robot, feedback))
                if outcome.done:
                    self._remember(robot, feedback)
                    del goals[ext_id]
                    self._reported.pop(key, None)
        return messages

    def state(self) -> dict[str, Any]:
        """The state JSON to publish, with the match seconds left (``time_left_s``)."""
        state = self.world.state_dict()
        state["time_left_s"] = self.world.time_left_s
        return state
