"""Shared helpers for world tests: run a skill to its end, write small plans, measure gaps."""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from llm_mars.bt.robot import SkillOutcome, SkillState
from llm_mars.world.simulator import Simulator

DT = 0.1


def run_skill(sim: Simulator, robot: str, skill: str, args: Mapping[str, Any] | None = None,
              dt: float = DT) -> SkillOutcome:
    """Start ``skill`` and step the world until it finishes (or the match ends)."""
    goal = sim.start_skill(robot, skill, dict(args or {}))
    while sim.skill_outcome(robot, goal).state is SkillState.RUNNING:
        sim.step(dt)
    return sim.skill_outcome(robot, goal)


def run_all(sim: Simulator, starts: Iterable[tuple[str, str, Mapping[str, Any]]],
            dt: float = DT) -> list[SkillOutcome]:
    """Start several skills at once (one per robot) and step until all have finished."""
    goals = [(robot, sim.start_skill(robot, skill, dict(args))) for robot, skill, args in starts]
    while any(sim.skill_outcome(r, g).state is SkillState.RUNNING for r, g in goals):
        sim.step(dt)
    return [sim.skill_outcome(r, g) for r, g in goals]


def plan(robot1: str | None = None, robot2: str | None = None) -> str:
    """A plan document with the given tree bodies."""
    trees = "".join(f'<BehaviorTree ID="{name}">{body}</BehaviorTree>'
                    for name, body in (("robot1", robot1), ("robot2", robot2)) if body)
    return f'<root BTCPP_format="4">{trees}</root>'


def separations(sim: Simulator) -> list[float]:
    """Centre distance between the two robots at every recorded step."""
    return [math.dist(positions["robot1"], positions["robot2"]) for _, positions in sim.samples]


def record(sim: Simulator, robot: str, label: str):
    """The finished-skill record of ``robot`` with this label (the last one)."""
    matches = [r for r in sim.records if r.robot == robot and r.label == label]
    assert matches, f"no record {label!r} for {robot}: {[r.entry for r in sim.records]}"
    return matches[-1]


SUCCESS = SkillState.SUCCESS
FAILURE = SkillState.FAILURE
