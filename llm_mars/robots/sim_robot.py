"""A robot of the simulated Eurobot world, as the behavior tree sees it.

``SimRobot`` is the :class:`RobotInterface` over :class:`llm_mars.world.simulator.Simulator`:
the tree starts goals, polls their outcomes and cancels them; the simulator runs them in
simulated time when it is stepped. Nothing here blocks.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llm_mars.bt.robot import RobotInterface, SkillOutcome
from llm_mars.world.field import check_robot
from llm_mars.world.simulator import Simulator


class SimRobot(RobotInterface):
    def __init__(self, world: Simulator, name: str):
        self.world = world
        self.name = check_robot(name)

    def start_skill(self, skill: str, args: Mapping[str, Any]) -> int:
        return self.world.start_skill(self.name, skill, args)

    def skill_outcome(self, goal_id: int) -> SkillOutcome:
        return self.world.skill_outcome(self.name, goal_id)

    def cancel_skill(self, goal_id: int) -> None:
        self.world.cancel_skill(self.name, goal_id)

    def check_condition(self, condition: str, args: Mapping[str, Any]) -> bool:
        return self.world.check_condition(self.name, condition, args)

    def __repr__(self) -> str:
        return f"SimRobot({self.name!r})"
