"""SimRobot: the RobotInterface of a simulated robot (goals, outcomes, cancel, conditions)."""
from __future__ import annotations

import pytest

from llm_mars.bt.robot import RobotInterface, SkillOutcome, SkillState
from llm_mars.errors import UnknownGoalError, UnknownRobotError
from llm_mars.robots.sim_robot import SimRobot
from llm_mars.world.simulator import Simulator


@pytest.fixture
def world() -> Simulator:
    return Simulator(seed=0)


def test_a_sim_robot_is_a_robot_interface(world):
    robot = SimRobot(world, "robot2")
    assert isinstance(robot, RobotInterface)
    assert robot.name == "robot2"
    with pytest.raises(UnknownRobotError):
        SimRobot(world, "robot3")


def test_start_poll_and_finish_a_skill(world):
    robot = SimRobot(world, "robot1")
    goal = robot.start_skill("PickCake", {"color": "yellow", "quadrant": 2})
    assert robot.skill_outcome(goal) == SkillOutcome(SkillState.RUNNING)
    while not robot.skill_outcome(goal).done:
        world.step(0.1)
    assert robot.skill_outcome(goal) == SkillOutcome(SkillState.SUCCESS)
    assert robot.check_condition("IsCarrying", {"item": "cake"})
    assert robot.check_condition("IsAt", {"target": "quadrant_2"})
    assert world.state_dict()["robots"]["robot1"]["history"] == ["PickCake yellow 2: SUCCESS"]


def test_a_failure_carries_its_reason(world):
    robot = SimRobot(world, "robot2")
    goal = robot.start_skill("DropCherries", {})
    assert robot.skill_outcome(goal) == SkillOutcome(SkillState.FAILURE, "no cherries carried")
    assert world.state_dict()["robots"]["robot2"]["history"] == [
        "DropCherries: FAILURE (no cherries carried)"]


def test_cancel_ends_the_goal_and_the_robot_stops(world):
    robot = SimRobot(world, "robot1")
    goal = robot.start_skill("MoveTo", {"target": "holder_3"})
    world.step(1.0)
    robot.cancel_skill(goal)
    assert robot.skill_outcome(goal).state is SkillState.CANCELLED
    x = world.state_dict()["robots"]["robot1"]["x_mm"]
    world.step(1.0)
    assert world.state_dict()["robots"]["robot1"]["x_mm"] == x
    assert not robot.check_condition("IsAt", {"target": "home"})


def test_each_robot_sees_only_its_own_goals(world):
    robot1, robot2 = SimRobot(world, "robot1"), SimRobot(world, "robot2")
    goal = robot1.start_skill("Wait", {"seconds": 2})
    with pytest.raises(UnknownGoalError):
        robot2.skill_outcome(goal)
    with pytest.raises(UnknownGoalError):
        robot2.cancel_skill(goal)
    assert robot1.skill_outcome(goal).state is SkillState.RUNNING


def test_goal_ids_are_unique_across_robots(world):
    ids = [SimRobot(world, name).start_skill("Say", {"text": "hi"})
           for name in ("robot1", "robot2", "robot1")]
    assert len(set(ids)) == 3
