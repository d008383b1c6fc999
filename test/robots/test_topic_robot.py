"""TopicRobot: goals go out as JSON, outcomes come back, silence means offline."""
from __future__ import annotations

import json

from llm_mars.bt.robot import SkillState
from llm_mars.payloads import SkillFeedback
from llm_mars.robots.topic_robot import TopicRobot


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def make():
    sent: list[tuple[str, dict]] = []
    clock = FakeClock()
    robot = TopicRobot("robot1", lambda topic, data: sent.append((topic, json.loads(data))),
                       silence_timeout_s=3.0, clock=clock)
    return robot, sent, clock


def test_goal_published_and_outcome_received():
    robot, sent, _ = make()
    goal = robot.start_skill("PickCake", {"color": "brown", "quadrant": 2})
    assert sent == [("skill/goal", {"goal_id": goal, "skill": "PickCake",
                                    "args": {"color": "brown", "quadrant": 2}})]
    assert robot.skill_outcome(goal).state is SkillState.RUNNING
    robot.on_outcome(SkillFeedback(goal, "FAILURE", "stack already taken"))
    outcome = robot.skill_outcome(goal)
    assert (outcome.state, outcome.reason) == (SkillState.FAILURE, "stack already taken")
    robot.on_outcome(SkillFeedback(goal, "SUCCESS"))  # late duplicate: ignored
    assert robot.skill_outcome(goal).state is SkillState.FAILURE


def test_silence_means_offline_but_heartbeats_keep_it_alive():
    robot, _, clock = make()
    goal = robot.start_skill("MoveTo", {"target": "plate_1"})
    for _ in range(5):
        clock.now += 2.0
        robot.on_outcome(SkillFeedback(goal, "RUNNING"))
        assert robot.skill_outcome(goal).state is SkillState.RUNNING
    clock.now += 3.5
    outcome = robot.skill_outcome(goal)
    assert outcome.state is SkillState.FAILURE and "offline" in outcome.reason


def test_cancel_publishes_once_and_marks_cancelled():
    robot, sent, _ = make()
    goal = robot.start_skill("Wait", {"seconds": 5.0})
    robot.cancel_skill(goal)
    robot.cancel_skill(goal)
    assert [t for t, _ in sent] == ["skill/goal", "skill/cancel"]
    assert robot.skill_outcome(goal).state is SkillState.CANCELLED


def test_unknown_goal_fails():
    robot, _, _ = make()
    assert robot.skill_outcome(12345).state is SkillState.FAILURE


def test_conditions_from_state():
    robot, _, _ = make()
    assert not robot.check_condition("IsAt", {"target": "home"})  # no state yet
    robot.on_state({"time_s": 70.0, "robots": {"robot1": {
        "location": "home", "carrying": {"stacks": [], "cherries": 4}}}})
    assert robot.check_condition("IsAt", {"target": "home"})
    assert not robot.check_condition("IsAt", {"target": "basket"})
    assert robot.check_condition("IsCarrying", {"item": "cherries"})
    assert not robot.check_condition("IsCarrying", {"item": "cake"})
    assert robot.check_condition("TimeLeft", {"seconds": 30.0})
    assert not robot.check_condition("TimeLeft", {"seconds": 31.0})


def test_a_goal_is_sent_again_until_the_robot_first_answers():
    robot, sent, clock = make()
    goal = robot.start_skill("MoveTo", {"target": "plate_1"})
    clock.now += 0.2
    robot.skill_outcome(goal)
    assert len(sent) == 1  # not yet due
    for _ in range(3):
        clock.now += 0.5
        assert robot.skill_outcome(goal).state is SkillState.RUNNING
    assert sent == [sent[0]] * 4  # the same goal, same id, three more times
    robot.on_outcome(SkillFeedback(goal, "RUNNING"))
    clock.now += 2.0
    robot.skill_outcome(goal)
    assert len(sent) == 4  # answered: never again


def test_an_unanswered_goal_still_fails_as_offline():
    robot, sent, clock = make()
    goal = robot.start_skill("MoveTo", {"target": "plate_1"})
    for _ in range(7):
        clock.now += 0.5
        robot.skill_outcome(goal)
    outcome = robot.skill_outcome(goal)
    assert outcome.state is SkillState.FAILURE and "offline" in outcome.reason
    clock.now += 1.0
    robot.skill_outcome(goal)
    assert len(sent) == 7  # the goal went out 7 times in its 3.5 s, then stopped
