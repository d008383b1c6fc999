"""Running plans on the simulated field: one plan executor per robot, ticked against the clock.

A :class:`Match` is the simulated system without ROS: the simulator, a
:class:`~llm_mars.robots.sim_robot.SimRobot` per robot and the same
:class:`~llm_mars.session.executor.PlanExecutor` the ``bt_executor`` node runs, so a plan runs
here exactly as on the ROS graph. Each loop iteration ticks every running tree once and then
steps the simulator by ``dt`` simulated seconds, until every tree has finished or the match is
over. When the match clock runs out, the trees get one more tick to see their skills fail with
``"match over"``; a tree still running after that is halted and reported as ``FAILURE``.

A match keeps one field across several plans: ``execute(plan)`` runs a plan to completion from
wherever the previous one left the world (a session of operator commands, :func:`run_session`).
A robot that a plan does not address keeps its previous tree status (``IDLE`` at first) and
stays where it is, except that, idle, it drives aside when the other robot waits for it (e.g.
for the plate it stands at; see :mod:`llm_mars.world.simulator`). ``load`` + ``tick`` do the
same one step at a time, for callers that interleave other work.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from llm_mars import vocabulary as V
from llm_mars.bt.library import SubtreeLibrary
from llm_mars.bt.model import Plan, Reply
from llm_mars.bt.parser import parse_plan
from llm_mars.errors import LlmMarsError, UnknownRobotError, WorldConfigError
from llm_mars.robots.sim_robot import SimRobot
from llm_mars.session.executor import PlanExecutor
from llm_mars.world.faults import Faults
from llm_mars.world.field import check_robot
from llm_mars.world.simulator import SimConfig, Simulator, SkillRecord

DEFAULT_DT_S = 0.1


@dataclass(frozen=True)
class MatchResult:
    """The outcome of a run: the final state JSON (as a dict), the skill timeline, the world."""

    state: dict[str, Any]
    timeline: tuple[SkillRecord, ...]
    world: Simulator

    @property
    def score(self) -> int:
        return self.state["score"]["total"]


class Match:
    """One simulated field on which plans run one after another."""

    def __init__(self, seed: int = 0, dt: float = DEFAULT_DT_S, faults: Faults | None = None,
                 library: SubtreeLibrary | None = None, config: SimConfig | None = None):
        if not dt > 0 or not math.isfinite(dt):
            raise WorldConfigError(f"time step must be a positive number of seconds, got {dt}")
        self.dt = dt
        self.library = library
        self.world = Simulator(seed, faults, config)
        self.executors = {name: PlanExecutor(name, SimRobot(self.world, name), library,
                                             clock=self.world.clock) for name in V.ROBOTS}
        self._ticking: list[str] = []  # robots whose tree runs, in the order their plans came
        self._plan_ids = (str(n) for n in itertools.count(1))

    @property
    def running(self) -> bool:
        """Whether any robot's tree is still running."""
        return bool(self._ticking)

    @property
    def ticking(self) -> tuple[str, ...]:
        """The robots whose tree is still running, in the order their plans came."""
        return tuple(self._ticking)

    def load(self, plan: Plan | str) -> None:
        """Give each robot addressed by ``plan`` its new tree (cancelling a running one)."""
        if isinstance(plan, str):
            plan = parse_plan(plan, self.library)
        for robot in plan.robots:
            if robot not in self.executors:
                raise UnknownRobotError(robot, list(self.executors))
        plan_id = next(self._plan_ids)
        jobs = [(robot, self.executors[robot].prepare(plan, plan_id)) for robot in plan.robots]
        for robot, job in jobs:
            self.executors[robot].start(job)
            if robot in self._ticking:
                self._ticking.remove(robot)
            self._ticking.append(robot)
            self.world.set_tree_status(robot, self.executors[robot].status)

    def cancel(self, robot: str) -> None:
        """Halt ``robot``'s running tree (its running skill is cancelled): ``CANCELLED``."""
        self._halt(check_robot(robot), "CANCELLED", "cancelled")

    def tick(self) -> None:
        """Tick every running tree once, then advance the world by ``dt``."""
        for robot in list(self._ticking):
            executor = self.executors[robot]
            executor.tick()
            if not executor.running:
                self._ticking.remove(robot)
                self.world.set_tree_status(robot, executor.status)
        if not self._ticking:
            return
        if self.world.match_over:
            for robot in list(self._ticking):
                self._halt(robot, "FAILURE", "match over")
            return
        self.world.step(self.dt)

    def execute(self, plan: Plan | str) -> None:
        """Run ``plan`` until every tree has finished or the match is over."""
        self.load(plan)
        while self.running:
            self.tick()

    def _halt(self, robot: str, status: str, reason: str) -> None:
        if robot in self._ticking:
            self._ticking.remove(robot)
            self.executors[robot].stop(status, reason)
            self.world.set_tree_status(robot, status)

    def state_dict(self) -> dict[str, Any]:
        return self.world.state_dict()

    def result(self) -> MatchResult:
        return MatchResult(self.world.state_dict(), tuple(self.world.records), self.world)


def run_plan(plan: Plan | str, seed: int = 0, dt: float = DEFAULT_DT_S,
             faults: Faults | None = None, library: SubtreeLibrary | None = None,
             config: SimConfig | None = None) -> MatchResult:
    """Run one plan from the initial field until both trees finish or the match ends."""
    match = Match(seed, dt, faults, library, config)
    match.execute(plan)
    return match.result()


def run_session(assistant: Any, commands: list[str], seed: int = 0) -> dict[str, Any]:
    """Each command's plan (from ``assistant.plan``) run to completion on one field; the
    final state JSON with the replies (``"replies"``) and errors (``"errors"``) it met."""
    match = Match(seed=seed)
    replies, errors = [], []
    for text in commands:
        try:
            outcome = assistant.plan(text)
        except LlmMarsError as exc:
            errors.append({"command": text, "error": str(exc)})
            continue
        if isinstance(outcome.result, Reply):
            replies.append(outcome.result.text)
        else:
            match.execute(outcome.result)
    state = match.state_dict()
    state["replies"] = replies
    if errors:
        state["errors"] = errors
    return state
