"""Running plans on the simulated field: both robots' behaviour trees ticked against the clock.

Each loop iteration ticks every running tree once and then steps the simulator by ``dt``
simulated seconds, until every tree has finished or the match is over. When the match clock
runs out, the trees get one more tick to see their skills fail with ``"match over"``; a tree
still running after that is halted and reported as ``FAILURE``.

A :class:`Match` keeps one field across several plans: ``execute(plan)`` runs a plan to
completion from wherever the previous one left the world (a session of operator commands).
A robot that a plan does not address keeps its previous tree status (``IDLE`` at first) and
stays where it is, except that, idle, it drives aside when the other robot waits for it (e.g.
for the plate it stands at; see :mod:`llm_mars.world.simulator`).
``load`` + ``tick`` do the same one step at a time, for callers that interleave other work.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from py_trees.behaviour import Behaviour
from py_trees.common import Status

from llm_mars import vocabulary as V
from llm_mars.bt.builder import build_plan
from llm_mars.bt.library import SubtreeLibrary
from llm_mars.bt.model import Plan
from llm_mars.bt.parser import parse_plan
from llm_mars.errors import WorldConfigError
from llm_mars.robots.sim_robot import SimRobot
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
        self.robots: dict[str, SimRobot] = {name: SimRobot(self.world, name) for name in V.ROBOTS}
        self.trees: dict[str, Behaviour] = {}  # robot -> root of its current tree, while running

    @property
    def running(self) -> bool:
        """Whether any robot's tree is still running."""
        return bool(self.trees)

    def load(self, plan: Plan | str) -> None:
        """Give each robot addressed by ``plan`` its new tree (cancelling a running one)."""
        if isinstance(plan, str):
            plan = parse_plan(plan, self.library)
        trees = build_plan(plan, self.robots, self.library, clock=self.world.clock)
        for robot, root in trees.items():
            self.cancel(robot)
            root.setup_with_descendants()
            self.trees[robot] = root
            self.world.set_tree_status(robot, "RUNNING")

    def cancel(self, robot: str) -> None:
        """Halt ``robot``'s running tree (its running skill is cancelled): ``CANCELLED``."""
        self._halt(check_robot(robot), "CANCELLED")

    def tick(self) -> None:
        """Tick every running tree once, then advance the world by ``dt``."""
        for robot, root in list(self.trees.items()):
            root.tick_once()
            if root.status in (Status.SUCCESS, Status.FAILURE):
                del self.trees[robot]
                self.world.set_tree_status(robot, root.status.value)
        if not self.trees:
            return
        if self.world.match_over:
            for robot in list(self.trees):
                self._halt(robot, "FAILURE")
            return
        self.world.step(self.dt)

    def execute(self, plan: Plan | str) -> None:
        """Run ``plan`` until every tree has finished or the match is over."""
        self.load(plan)
        while self.running:
            self.tick()

    def _halt(self, robot: str, status: str) -> None:
        root = self.trees.pop(robot, None)
        if root is not None:
            root.stop(Status.INVALID)
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

