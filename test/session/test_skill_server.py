"""The simulator node's core: executor goal ids, outcome reports, heartbeats, the dead man's
switch and the paused clock, without ROS."""
from __future__ import annotations

import pytest

from llm_mars.payloads import SkillFeedback, SkillGoal
from llm_mars.session.skill_server import HEARTBEAT_S, SkillServer
from llm_mars.world.simulator import Simulator


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def server(clock):
    return SkillServer(Simulator(seed=0), executor_silence_s=3.0, clock=clock)


def states(messages):
    return [(robot, f.goal_id, f.state) for robot, f in messages]


def test_outcomes_are_reported_on_change_and_running_goals_are_repeated(server, clock):
    assert server.start("robot1", SkillGoal(41, "MoveTo", {"target": "plate_5"})) is None
    assert states(server.outcomes()) == [("robot1", 41, "RUNNING")]
    assert server.outcomes() == []  # nothing new
    clock.now += HEARTBEAT_S
    assert states(server.outcomes()) == [("robot1", 41, "RUNNING")]  # the heartbeat
    while server.busy:
        server.step(0.5)
        done = [m for m in server.outcomes() if m[1].state != "RUNNING"]
    assert states(done) == [("robot1", 41, "SUCCESS")]
    assert server.world.state.robots["robot1"].location == "plate_5"


def test_a_refused_goal_fails_at_once_and_a_cancel_uses_the_executors_id(server):
    refused = server.start("robot1", SkillGoal(6, "PickCake", {"color": "green", "quadrant": 1}))
    assert (refused.goal_id, refused.state) == (6, "FAILURE") and "color" in refused.reason
    assert server.start("robot1", SkillGoal(7, "PickCake", {"color": "pink", "quadrant": 1})) \
        is None
    server.start("robot1", SkillGoal(8, "MoveTo", {"target": "home"}))  # a second body skill
    assert states(server.outcomes()) == [("robot1", 7, "RUNNING"), ("robot1", 8, "FAILURE")]
    server.cancel("robot1", 7)
    server.cancel("robot1", 999)  # unknown: ignored
    assert server.outcomes() == [("robot1", SkillFeedback(7, "CANCELLED"))]
    assert not server.busy


def test_a_robot_whose_executor_went_silent_is_stopped(server, clock):
    server.executor_status("robot2", "RUNNING")
    server.start("robot2", SkillGoal(1, "MoveTo", {"target": "plate_1"}))
    assert server.world.state.robots["robot2"].tree_status == "RUNNING"
    clock.now += 2.0
    assert server.step(0.1) == []
    clock.now += 2.0
    assert server.step(0.1) == ["robot2"]
    assert states(server.outcomes()) == [("robot2", 1, "CANCELLED")]


def test_the_clock_stands_still_while_idle_when_asked(server):
    server.step(0.5, pause_when_idle=True)
    assert server.world.time_s == 0.0
    server.step(5.0)
    assert server.world.time_s == 1.0  # one step is at most a second
    assert server.state()["time_left_s"] == 99.0


def test_a_reset_fails_the_goals_of_the_old_field_and_does_not_restart_them(server):
    goal = SkillGoal(3, "MoveTo", {"target": "plate_2"})
    server.start("robot1", goal)
    server.reset(Simulator(seed=1))
    assert not server.busy
    assert server.outcomes() == [("robot1", SkillFeedback(3, "FAILURE", "the field was reset"))]
    assert server.outcomes() == []
    assert server.start("robot1", goal).state == "FAILURE"  # a repeat from before the reset
    assert not server.busy


def test_a_repeated_goal_runs_once(server, clock):
    goal = SkillGoal(5, "MoveTo", {"target": "plate_2"})
    assert server.start("robot1", goal) is None
    assert server.start("robot1", goal) is None  # a repeat of a running goal
    assert states(server.outcomes()) == [("robot1", 5, "RUNNING")]
    while server.busy:
        server.step(0.5)
        server.outcomes()
    history = list(server.world.state.robots["robot1"].history)
    assert len(history) == 1, history
    again = server.start("robot1", goal)  # a repeat crossing the final outcome
    assert (again.goal_id, again.state) == (5, "SUCCESS")
    assert not server.busy and server.world.state.robots["robot1"].history == history


def test_a_repeated_failed_goal_fails_again_even_where_it_could_now_run(server):
    server.start("robot1", SkillGoal(1, "MoveTo", {"target": "plate_2"}))
    busy = SkillGoal(2, "MoveTo", {"target": "home"})  # a second body skill: fails
    assert server.start("robot1", busy) is None
    while server.busy:
        server.step(0.5)
        done = {f.goal_id: f for _, f in server.outcomes() if f.state != "RUNNING"}
        if 2 in done:
            failed = done[2]
    again = server.start("robot1", busy)  # the robot is free now, but this goal already failed
    assert again == failed and again.state == "FAILURE"
    assert not server.busy and server.world.state.robots["robot1"].location == "plate_2"


def test_a_goal_is_word_from_the_executor(server, clock):
    """A restarted executor's first goal can come before its first status: the dead man's
    switch must not stop it for the old executor's silence."""
    server.executor_status("robot1", "RUNNING")
    clock.now += 20.0  # the old executor died long ago
    assert server.start("robot1", SkillGoal(4, "MoveTo", {"target": "plate_2"})) is None
    assert server.step(0.1) == []
    assert states(server.outcomes()) == [("robot1", 4, "RUNNING")]


def test_a_goal_that_arrives_after_its_cancel_does_not_start(server):
    server.cancel("robot1", 12)  # the cancel overtook its goal (two topics, no order between)
    late = server.start("robot1", SkillGoal(12, "MoveTo", {"target": "plate_2"}))
    assert (late.goal_id, late.state) == (12, "CANCELLED")
    assert not server.busy and server.world.state.robots["robot1"].active is None
