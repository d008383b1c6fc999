"""Skill and condition behaviours follow the py_trees lifecycle over a RobotInterface."""
from __future__ import annotations

import py_trees
import pytest
from py_trees.common import Status

from llm_mars.bt.behaviours import BEHAVIOUR_CLASSES, ConditionBehaviour, SkillBehaviour
from llm_mars.bt.registry import REGISTRY, Category
from llm_mars.bt.robot import SkillState
from llm_mars.errors import BehaviourSetupError, UnknownPlaceError

from .scripted_robot import Run, ScriptedRobot

CollectCherries = BEHAVIOUR_CLASSES["CollectCherries"]
IsAt = BEHAVIOUR_CLASSES["IsAt"]
PlaceCakes = BEHAVIOUR_CLASSES["PlaceCakes"]


def test_every_registry_skill_and_condition_has_its_behaviour_class():
    for kind in REGISTRY.of(Category.ACTION):
        assert issubclass(BEHAVIOUR_CLASSES[kind.tag], SkillBehaviour)
    for kind in REGISTRY.of(Category.CONDITION):
        assert issubclass(BEHAVIOUR_CLASSES[kind.tag], ConditionBehaviour)
    assert {cls.__name__ for cls in BEHAVIOUR_CLASSES.values()} == set(BEHAVIOUR_CLASSES)
    assert all(cls.tag == tag for tag, cls in BEHAVIOUR_CLASSES.items())


def test_goal_starts_in_initialise_with_defaults_filled_and_is_polled_without_restarting():
    robot = ScriptedRobot({"PlaceCakes": [Run(2)]})
    skill = PlaceCakes({"plate": 3}, robot)
    assert robot.started == []  # nothing happens at construction
    statuses = [skill.tick_once() or skill.status for _ in range(3)]
    assert statuses == [Status.RUNNING, Status.RUNNING, Status.SUCCESS]
    assert robot.started == [("PlaceCakes", {"plate": 3, "sort": False})]
    assert skill.name == "PlaceCakes plate=3 sort=false"


def test_optional_port_without_default_stays_absent():
    robot = ScriptedRobot()
    CollectCherries({"holder": 1}, robot).tick_once()
    assert robot.started == [("CollectCherries", {"holder": 1})]


def test_failure_reason_becomes_the_feedback_message():
    robot = ScriptedRobot({"PlaceCakes": [Run(0, SkillState.FAILURE, "plate 3 is full")]})
    skill = PlaceCakes({"plate": 3}, robot)
    skill.tick_once()
    assert (skill.status, skill.feedback_message) == (Status.FAILURE, "plate 3 is full")


def test_interrupting_a_running_skill_cancels_its_goal_but_a_finished_one_is_left_alone():
    robot = ScriptedRobot({"PlaceCakes": [Run(5), Run(0)]})
    skill = PlaceCakes({"plate": 1}, robot)
    skill.tick_once()
    skill.stop(Status.INVALID)
    assert robot.cancelled == ["PlaceCakes"]
    skill.tick_once()  # a fresh goal, finished at once
    skill.stop(Status.INVALID)
    assert robot.cancelled == ["PlaceCakes"] and len(robot.goals) == 2


def test_robot_cancelling_the_goal_is_a_failure():
    robot = ScriptedRobot({"PlaceCakes": [Run(0, SkillState.CANCELLED)]})
    skill = PlaceCakes({"plate": 1}, robot)
    skill.tick_once()
    assert (skill.status, skill.feedback_message) == (Status.FAILURE, "cancelled")


def test_a_goal_the_robot_refuses_fails_the_skill_with_the_reason():
    class RefusingRobot(ScriptedRobot):
        def start_skill(self, skill, args):
            raise UnknownPlaceError("moon", ["home"])

    skill = PlaceCakes({"plate": 1}, RefusingRobot())
    skill.tick_once()
    assert skill.status is Status.FAILURE and "moon" in skill.feedback_message


def test_a_condition_the_robot_cannot_answer_is_false_with_the_reason():
    class ConfusedRobot(ScriptedRobot):
        def check_condition(self, condition, args):
            raise UnknownPlaceError("moon", ["home"])

    condition = IsAt({"target": "home"}, ConfusedRobot())
    condition.tick_once()
    assert condition.status is Status.FAILURE and "moon" in condition.feedback_message


def test_robot_can_come_through_setup_and_is_required():
    skill = PlaceCakes({"plate": 1})
    with pytest.raises(BehaviourSetupError):
        skill.tick_once()
    robot = ScriptedRobot()
    tree = py_trees.trees.BehaviourTree(py_trees.composites.Sequence("s", True, [skill]))
    tree.setup(robot=robot)
    tree.tick()
    assert robot.started == [("PlaceCakes", {"plate": 1, "sort": False})]


def test_condition_asks_the_robot_every_tick_and_never_runs():
    robot = ScriptedRobot(conditions={"IsAt": [True, False]})
    condition = IsAt({"target": "home"}, robot)
    condition.tick_once()
    first = condition.status
    condition.tick_once()
    assert (first, condition.status) == (Status.SUCCESS, Status.FAILURE)
    assert robot.checks == [("IsAt", {"target": "home"})] * 2
