"""The simulator: both robots at once, the collision rule, the match clock, determinism, faults,
goals (busy, cancel, deadlock) and speed."""
from __future__ import annotations

import math
import random
import time

import pytest

from llm_mars import vocabulary as V
from llm_mars.bt.robot import SkillOutcome, SkillState
from llm_mars.errors import UnknownGoalError, UnknownRobotError, WorldConfigError
from llm_mars.world import skills as S
from llm_mars.world.faults import Blockage, Faults, Stall
from llm_mars.world.field import CLEARANCE_MM, PLACE_XY, ROBOT_RADIUS_MM, START_POSITIONS
from llm_mars.world.simulator import Simulator

from .sim_helpers import DT, FAILURE, SUCCESS, record, run_all, run_skill, separations

RUNNING = SkillState.RUNNING


def test_both_robots_act_in_the_same_steps():
    sim = Simulator(seed=0)
    outcomes = run_all(sim, [("robot1", "PickCake", {"color": "brown", "quadrant": 3}),
                             ("robot2", "CollectCherries", {"holder": 1})])
    assert [o.state for o in outcomes] == [SUCCESS, SUCCESS]
    a = record(sim, "robot1", "PickCake brown 3")
    b = record(sim, "robot2", "CollectCherries 1")
    assert max(a.start_s, b.start_s) < min(a.end_s, b.end_s)  # the intervals overlap
    moved_together = [
        t for (t, p), (_, q) in zip(sim.samples, sim.samples[1:])
        if p["robot1"] != q["robot1"] and p["robot2"] != q["robot2"]]
    assert len(moved_together) > 10


def test_two_robots_sent_to_the_same_plate_take_turns_without_touching():
    sim = Simulator(seed=0)
    r1 = sim.start_skill("robot1", "MoveTo", {"target": "plate_3"})
    r2 = sim.start_skill("robot2", "MoveTo", {"target": "plate_3"})
    saw_waiting = False
    while sim.skill_outcome("robot1", r1).state is RUNNING:
        sim.step(DT)
        saw_waiting |= sim.state_dict()["robots"]["robot2"]["waiting_for"] == "robot1"
    assert saw_waiting
    assert sim.skill_outcome("robot2", r2).state is RUNNING  # plate_3 is robot1's
    back = sim.start_skill("robot1", "MoveTo", {"target": "home"})
    while RUNNING in (sim.skill_outcome("robot1", back).state,
                      sim.skill_outcome("robot2", r2).state):
        sim.step(DT)
        locations = [r.location for r in sim.state.robots.values()]
        assert locations[0] != locations[1] or locations[0] in (None, V.HOME)
    assert sim.skill_outcome("robot2", r2).state is SUCCESS
    assert sim.state.robots["robot2"].location == "plate_3"
    assert min(separations(sim)) >= 2 * ROBOT_RADIUS_MM
    assert record(sim, "robot2", "MoveTo plate_3").end_s > record(sim, "robot1",
                                                                    "MoveTo plate_3").end_s


@pytest.mark.parametrize("seed", range(16))
def test_random_errands_never_bring_the_robots_into_contact(seed):
    """Random MoveTo errands for both robots: the discs never overlap and no place is shared."""
    rng = random.Random(seed)
    sim = Simulator(seed=seed)
    goals = {name: None for name in V.ROBOTS}
    finished = 0
    while not sim.match_over:
        for name in V.ROBOTS:
            goal = goals[name]
            if goal is None or sim.skill_outcome(name, goal).state is not RUNNING:
                finished += goal is not None
                goals[name] = sim.start_skill(name, "MoveTo", {"target": rng.choice(V.PLACES)})
        sim.step(DT)
        a, b = sim.state.robots.values()
        assert a.location != b.location or a.location is None or a.location == V.HOME
    assert min(separations(sim)) >= 2 * ROBOT_RADIUS_MM
    assert min(separations(sim)) >= CLEARANCE_MM - 5.0
    assert finished >= 40  # the errands do get done, not just avoided


def test_a_robot_detours_around_one_standing_in_its_way():
    sim = Simulator(seed=0)
    run_skill(sim, "robot2", "MoveTo", {"target": "holder_4"})  # the centre of the table
    start = sim.time_s
    sim.state.robots["robot1"].position = (700.0, 1000.0)
    sim.state.robots["robot1"].location = None
    assert run_skill(sim, "robot1", "MoveTo", {"target": "holder_3"}).state is SUCCESS
    path = sim.paths()["robot1"]
    straight = math.dist((700.0, 1000.0), PLACE_XY["holder_3"])
    driven = sum(math.dist(p, q) for p, q in zip(path, path[1:]))
    assert driven > straight + 100  # it went around
    assert min(separations(sim)) >= CLEARANCE_MM - 1.0
    assert sim.time_s - start < (straight + 1500) / V.ROBOT_SPEED_MM_S  # and did not wait


def test_home_has_room_for_both_robots_coming_back_from_opposite_sides():
    sim = Simulator(seed=0)
    run_all(sim, [("robot1", "MoveTo", {"target": "plate_1"}),
                  ("robot2", "MoveTo", {"target": "basket"})])
    outcomes = run_all(sim, [("robot1", "MoveTo", {"target": "home"}),
                             ("robot2", "MoveTo", {"target": "home"})])
    assert [o.state for o in outcomes] == [SUCCESS, SUCCESS]
    assert [r.location for r in sim.state.robots.values()] == ["home", "home"]
    assert sim.state_dict()["score"]["end_zone"] == 30
    assert min(separations(sim)) >= 2 * ROBOT_RADIUS_MM


# --- match clock ----------------------------------------------------------------------------


def test_the_match_clock_stops_both_robots_at_100_s():
    sim = Simulator(seed=0)
    waiting = sim.start_skill("robot2", "WaitForSignal", {"signal": "never"})
    run_skill(sim, "robot1", "Wait", {"seconds": 95.0})
    driving = sim.start_skill("robot1", "MoveTo", {"target": "plate_5"})
    while not sim.match_over:
        sim.step(0.7)
    assert sim.time_s == V.MATCH_DURATION_S
    for robot, goal in (("robot1", driving), ("robot2", waiting)):
        outcome = sim.skill_outcome(robot, goal)
        assert (outcome.state, outcome.reason) == (FAILURE, S.MATCH_OVER)
    position = sim.state.robots["robot1"].position
    assert sim.state.robots["robot1"].location is None
    late = sim.start_skill("robot1", "Say", {"text": "too late"})
    assert sim.skill_outcome("robot1", late).reason == S.MATCH_OVER
    sim.step(5.0)
    assert (sim.time_s, sim.state.robots["robot1"].position) == (100.0, position)
    assert sim.state_dict()["match_over"] is True
    assert sim.state.robots["robot1"].history[-2:] == [
        "MoveTo plate_5: FAILURE (match over)", "Say too late: FAILURE (match over)"]


def test_a_whole_match_runs_in_well_under_a_second():
    sim = Simulator(seed=0)
    began = time.perf_counter()
    run_all(sim, [("robot1", "MoveTo", {"target": "plate_5"}),
                  ("robot2", "MoveTo", {"target": "plate_3"})])
    while not sim.match_over:
        sim.step(DT)
    assert time.perf_counter() - began < 1.0
    assert len(sim.samples) == 1 + round(V.MATCH_DURATION_S / DT)


# --- determinism ----------------------------------------------------------------------------


def errands(seed: int, faults: Faults | None = None) -> tuple[list[str], dict]:
    sim = Simulator(seed=seed, faults=faults)
    run_all(sim, [("robot1", "PickCake", {"color": "brown", "quadrant": 2}),
                  ("robot2", "CollectCherries", {"holder": 2})])
    run_all(sim, [("robot1", "PlaceCakes", {"plate": 2}), ("robot2", "DropCherries", {})])
    return [f"{r.entry} @{r.end_s:.6f}" for r in sim.records], sim.state_dict()


def test_a_seed_fixes_the_whole_run():
    assert errands(7) == errands(7)
    assert errands(7)[0] != errands(8)[0]  # manipulation times are drawn from the seed
    faults = Faults(fail_probability=0.5)
    assert errands(11, faults) == errands(11, faults)


# --- faults ---------------------------------------------------------------------------------


def test_an_injected_fault_stops_a_drive_halfway():
    sim = Simulator(seed=0, faults=Faults(fail_probability=1.0))
    outcome = run_skill(sim, "robot1", "MoveTo", {"target": "plate_5"})
    assert (outcome.state, outcome.reason) == (FAILURE, S.INJECTED_FAULT)
    body = sim.state.robots["robot1"]
    half = math.dist(START_POSITIONS["robot1"], PLACE_XY["plate_5"]) / 2
    assert math.dist(START_POSITIONS["robot1"], body.position) == pytest.approx(half, abs=1.0)
    assert body.location is None
    assert body.history == ["MoveTo plate_5: FAILURE (injected fault)"]


def test_an_injected_fault_spoils_a_manipulation_without_effect():
    sim = Simulator(seed=0, faults=Faults(fail_probability=1.0, fail_skills=frozenset({"PickCake"})))
    run_skill(sim, "robot1", "MoveTo", {"target": "quadrant_1"})
    outcome = run_skill(sim, "robot1", "PickCake", {"color": "pink", "quadrant": 1})
    assert (outcome.state, outcome.reason) == (FAILURE, S.INJECTED_FAULT)
    assert sim.state.robots["robot1"].stacks == []
    assert sim.state.quadrants["quadrant_1"]["pink"] == 1
    assert record(sim, "robot1", "PickCake pink 1").end_s - record(
        sim, "robot1", "MoveTo quadrant_1").end_s >= 0.9 * V.MANIPULATION_S - DT


def test_passive_skills_are_never_faulty():
    sim = Simulator(seed=0, faults=Faults(fail_probability=1.0))
    assert run_skill(sim, "robot1", "Say", {"text": "hi"}).state is SUCCESS
    assert run_skill(sim, "robot1", "Wait", {"seconds": 1}).state is SUCCESS


def test_fault_probability_fails_some_skills_and_not_others():
    sim = Simulator(seed=5, faults=Faults(fail_probability=0.5))
    reasons = [run_skill(sim, "robot1", "FunnyAction").reason for _ in range(30)]
    failed = reasons.count(S.INJECTED_FAULT)
    assert 5 <= failed <= 25
    assert reasons.count(None) == 30 - failed


def test_a_stalled_robot_freezes_and_then_carries_on():
    stall = Stall("robot1", start_s=0.5, duration_s=4.0)
    sim = Simulator(seed=0, faults=Faults(stalls=(stall,)))
    goal = sim.start_skill("robot1", "MoveTo", {"target": "plate_5"})
    for _ in range(10):
        sim.step(DT)
    frozen = sim.state.robots["robot1"].position
    for _ in range(20):
        sim.step(DT)
    assert sim.state.robots["robot1"].position == frozen
    assert sim.state_dict()["robots"]["robot1"]["stalled"] is True
    assert sim.skill_outcome("robot1", goal).state is RUNNING
    while sim.skill_outcome("robot1", goal).state is RUNNING:
        sim.step(DT)
    straight = math.dist(START_POSITIONS["robot1"], PLACE_XY["plate_5"]) / V.ROBOT_SPEED_MM_S
    assert record(sim, "robot1", "MoveTo plate_5").end_s == pytest.approx(straight + 4.0, abs=0.2)
    assert sim.state_dict()["robots"]["robot1"]["stalled"] is False


def test_a_blocked_place_fails_a_drive_at_once():
    sim = Simulator(seed=0, faults=Faults(blocked=(Blockage("plate_2"),)))
    goal = sim.start_skill("robot1", "PlaceCakes", {"plate": 2})  # nothing to place comes first
    assert sim.skill_outcome("robot1", goal).reason == S.NOTHING_TO_PLACE
    goal = sim.start_skill("robot1", "MoveTo", {"target": "plate_2"})
    outcome = sim.skill_outcome("robot1", goal)
    assert (outcome.state, outcome.reason) == (FAILURE, S.PLACE_BLOCKED)
    assert sim.state.robots["robot1"].location == "home"


def test_a_place_blocked_during_the_drive_stops_the_robot_there():
    sim = Simulator(seed=0, faults=Faults(blocked=(Blockage("plate_5", start_s=2.0, end_s=3.0),)))
    outcome = run_skill(sim, "robot1", "MoveTo", {"target": "plate_5"})
    assert (outcome.state, outcome.reason) == (FAILURE, S.PLACE_BLOCKED)
    assert record(sim, "robot1", "MoveTo plate_5").end_s == pytest.approx(2.0, abs=DT)
    assert sim.state.robots["robot1"].location is None
    still_blocked = sim.start_skill("robot1", "MoveTo", {"target": "plate_5"})
    assert sim.skill_outcome("robot1", still_blocked).reason == S.PLACE_BLOCKED
    while sim.time_s < 3.0:
        sim.step(DT)
    assert run_skill(sim, "robot1", "MoveTo", {"target": "plate_5"}).state is SUCCESS


def test_fault_settings_are_checked():
    with pytest.raises(WorldConfigError):
        Faults(fail_probability=1.5)
    with pytest.raises(UnknownRobotError):
        Stall("robot3", 0, 1)


# --- goals ----------------------------------------------------------------------------------


def test_a_second_body_skill_is_refused_while_one_runs():
    sim = Simulator(seed=0)
    first = sim.start_skill("robot1", "MoveTo", {"target": "plate_2"})
    second = sim.start_skill("robot1", "PickCake", {"color": "brown", "quadrant": 1})
    assert sim.skill_outcome("robot1", second) == SkillOutcome(FAILURE, S.ROBOT_BUSY)
    talk = sim.start_skill("robot1", "Say", {"text": "on my way"})
    assert sim.skill_outcome("robot1", talk).state is SUCCESS  # passive skills run alongside
    while sim.skill_outcome("robot1", first).state is RUNNING:
        sim.step(DT)
    assert sim.skill_outcome("robot1", first).state is SUCCESS
    assert sim.state.robots["robot1"].location == "plate_2"


def test_cancel_stops_the_robot_where_it_is():
    sim = Simulator(seed=0)
    goal = sim.start_skill("robot1", "MoveTo", {"target": "plate_4"})
    for _ in range(10):
        sim.step(DT)
    sim.cancel_skill("robot1", goal)
    stopped = sim.state.robots["robot1"].position
    for _ in range(10):
        sim.step(DT)
    body = sim.state.robots["robot1"]
    assert sim.skill_outcome("robot1", goal).state is SkillState.CANCELLED
    assert (body.position, body.location, body.active) == (stopped, None, None)
    assert body.history == ["MoveTo plate_4: CANCELLED"]
    sim.cancel_skill("robot1", goal)  # a no-op once finished
    assert body.history == ["MoveTo plate_4: CANCELLED"]


def test_robots_that_would_wait_for_each_other_forever_fail_with_deadlock():
    sim = Simulator(seed=0)
    run_all(sim, [("robot1", "MoveTo", {"target": "plate_1"}),
                  ("robot2", "MoveTo", {"target": "plate_2"})])
    first = sim.start_skill("robot1", "MoveTo", {"target": "plate_2"})
    sim.step(DT)
    assert sim.state_dict()["robots"]["robot1"]["waiting_for"] == "robot2"
    second = sim.start_skill("robot2", "MoveTo", {"target": "plate_1"})
    outcome = sim.skill_outcome("robot2", second)
    assert (outcome.state, outcome.reason) == (FAILURE, f"{S.DEADLOCK} with robot1")
    assert sim.skill_outcome("robot1", first).state is RUNNING


def test_goals_belong_to_their_robot():
    sim = Simulator(seed=0)
    goal = sim.start_skill("robot1", "Wait", {"seconds": 1})
    with pytest.raises(UnknownGoalError):
        sim.skill_outcome("robot2", goal)
    with pytest.raises(UnknownGoalError):
        sim.cancel_skill("robot1", goal + 100)
    with pytest.raises(UnknownRobotError):
        sim.start_skill("robot3", "Wait", {"seconds": 1})


@pytest.mark.parametrize("dt", [0.0, -1.0, math.nan, math.inf])
def test_time_steps_must_be_positive(dt):
    with pytest.raises(WorldConfigError):
        Simulator().step(dt)


def test_a_drive_cancelled_before_the_robot_moved_leaves_it_at_its_place():
    sim = Simulator(seed=0, faults=Faults(stalls=(Stall("robot1", 0.0, 10.0),)))
    sim.step(DT)  # the stall begins
    goal = sim.start_skill("robot1", "MoveTo", {"target": "plate_2"})
    sim.step(DT)
    assert sim.state.robots["robot1"].location is None  # leaving, but frozen
    sim.cancel_skill("robot1", goal)
    assert sim.state.robots["robot1"].location == "home"
    assert sim.check_condition("robot1", "IsAt", {"target": "home"})


# --- giving way -----------------------------------------------------------------------------


def test_a_busy_robot_keeps_its_place_and_an_idle_one_gives_way():
    sim = Simulator(seed=0)
    run_skill(sim, "robot1", "MoveTo", {"target": "plate_3"})
    busy = sim.start_skill("robot1", "FunnyAction", {})
    wanting = sim.start_skill("robot2", "MoveTo", {"target": "plate_3"})
    while sim.skill_outcome("robot1", busy).state is RUNNING:
        sim.step(DT)
        robots = sim.state_dict()["robots"]
        assert robots["robot2"]["waiting_for"] == "robot1"  # it waits at home
        assert (robots["robot2"]["x_mm"], robots["robot2"]["y_mm"]) == (300, 750)
        assert robots["robot1"]["location"] == "plate_3"
        assert robots["robot1"]["giving_way_to"] is None
    saw_giving_way = False
    while sim.skill_outcome("robot2", wanting).state is RUNNING:
        sim.step(DT)
        robot1 = sim.state_dict()["robots"]["robot1"]
        if robot1["giving_way_to"] == "robot2":
            saw_giving_way = True
            assert robot1["location"] is None
        a, b = sim.state.robots.values()
        assert a.location != b.location or a.location is None
    assert saw_giving_way
    assert sim.skill_outcome("robot2", wanting).state is SUCCESS
    robot1 = sim.state.robots["robot1"]
    assert robot1.location is None and robot1.giving_way_to is None
    assert math.dist(robot1.position, PLACE_XY["plate_3"]) >= CLEARANCE_MM
    assert robot1.history == ["MoveTo plate_3: SUCCESS", "FunnyAction: SUCCESS"]  # no entry
    [give_way] = sim.give_ways
    assert (give_way.robot, give_way.to, give_way.place) == ("robot1", "robot2", "plate_3")
    assert give_way.time_s >= record(sim, "robot1", "FunnyAction").end_s
    assert min(separations(sim)) >= CLEARANCE_MM - 1e-6


def test_an_idle_robot_standing_in_the_way_moves_aside():
    sim = Simulator(seed=0)
    robot1 = sim.state.robots["robot1"]
    robot1.position, robot1.location = (2550.0, 1700.0), None  # 300 mm above plate_3
    outcome = run_skill(sim, "robot2", "MoveTo", {"target": "plate_3"})
    assert outcome.state is SUCCESS
    [give_way] = sim.give_ways
    assert (give_way.robot, give_way.place) == ("robot1", None)
    assert math.dist(robot1.position, (2550.0, 1700.0)) > 100
    assert min(separations(sim)) >= CLEARANCE_MM - 1e-6


def test_a_robot_hemmed_in_a_corner_gives_way_around_the_waiting_one():
    sim = Simulator(seed=0)
    run_skill(sim, "robot1", "MoveTo", {"target": "plate_5"})
    robot2 = sim.state.robots["robot2"]
    robot2.position, robot2.location = (2450.0, 613.0), None  # too close to leave straight
    assert run_skill(sim, "robot2", "MoveTo", {"target": "plate_5"}).state is SUCCESS
    [give_way] = sim.give_ways
    assert (give_way.robot, give_way.place) == ("robot1", "plate_5")
    assert min(separations(sim)) >= CLEARANCE_MM - 1e-6


def test_a_body_skill_stops_the_robot_giving_way_where_it_is():
    sim = Simulator(seed=0)
    run_skill(sim, "robot1", "MoveTo", {"target": "plate_3"})
    wanting = sim.start_skill("robot2", "MoveTo", {"target": "plate_3"})
    while sim.state.robots["robot1"].position == PLACE_XY["plate_3"]:
        sim.step(DT)
    assert sim.state.robots["robot1"].giving_way_to == "robot2"
    home = sim.start_skill("robot1", "MoveTo", {"target": "home"})
    assert sim.state.robots["robot1"].giving_way_to is None
    while RUNNING in (sim.skill_outcome("robot1", home).state,
                      sim.skill_outcome("robot2", wanting).state):
        sim.step(DT)
    assert [r.location for r in sim.state.robots.values()] == ["home", "plate_3"]
    assert sim.state.robots["robot1"].history == ["MoveTo plate_3: SUCCESS", "MoveTo home: SUCCESS"]
    assert len(sim.give_ways) == 1
    assert min(separations(sim)) >= CLEARANCE_MM - 1e-6


def test_the_match_end_stops_a_robot_giving_way():
    sim = Simulator(seed=0)
    run_skill(sim, "robot1", "MoveTo", {"target": "plate_3"})
    run_skill(sim, "robot2", "Wait", {"seconds": 99.5 - sim.time_s})
    wanting = sim.start_skill("robot2", "MoveTo", {"target": "plate_3"})
    while not sim.match_over:
        sim.step(DT)
    assert sim.skill_outcome("robot2", wanting).reason == S.MATCH_OVER
    assert len(sim.give_ways) == 1
    robot1 = sim.state_dict()["robots"]["robot1"]
    assert robot1["giving_way_to"] is None and robot1["location"] is None
    stopped = sim.state.robots["robot1"].position
    sim.step(1.0)
    assert sim.state.robots["robot1"].position == stopped


@pytest.mark.parametrize("seed", range(8))
def test_random_errands_with_idle_spells_never_wait_long_for_an_idle_robot(seed):
    """Errands with idle spells between them: an idle robot in the way soon gives way, and the
    robots still never touch nor share a place."""
    rng = random.Random(seed)
    sim = Simulator(seed=seed)
    goals = {name: None for name in V.ROBOTS}
    idle_until = {name: 0.0 for name in V.ROBOTS}
    waited_for_idle = {name: 0.0 for name in V.ROBOTS}
    finished = 0
    while not sim.match_over:
        for name in V.ROBOTS:
            goal = goals[name]
            if goal is not None and sim.skill_outcome(name, goal).state is RUNNING:
                continue
            if goal is not None:
                finished += 1
                goals[name] = None
                idle_until[name] = sim.time_s + rng.choice([0.0, 0.0, 3.0, 10.0, 30.0])
            if sim.time_s >= idle_until[name]:
                goals[name] = sim.start_skill(name, "MoveTo", {"target": rng.choice(V.PLACES)})
        sim.step(DT)
        a, b = sim.state.robots.values()
        assert a.location != b.location or a.location is None or a.location == V.HOME
        for robot in (a, b):
            other = b if robot is a else a
            waiting = robot.waiting_for is not None and other.active is None
            waited_for_idle[robot.name] = waited_for_idle[robot.name] + DT if waiting else 0.0
            assert waited_for_idle[robot.name] <= 3.0, (robot.name, sim.time_s)
    assert min(separations(sim)) >= CLEARANCE_MM - 1e-6
    assert finished >= 10


def test_a_goal_that_fails_to_start_is_not_left_behind(monkeypatch):
    """A start that raised once left its goal registered: every later step raised again and
    the match clock stopped for both robots."""
    from llm_mars.world import skills

    def broken(world, robot, args):  # drives where no place is, as "0_2" once made it
        yield skills.Drive("quadrant_0_2")

    world = Simulator(0)
    monkeypatch.setitem(skills.PROGRAMS, "Wait", broken)
    with pytest.raises(KeyError):
        world.start_skill("robot1", "Wait", {"seconds": 1.0})
    world.step(0.5)
    assert world.state.time_s == 0.5
    assert world.state_dict()["robots"]["robot1"]["active"] is None
