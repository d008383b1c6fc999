"""Plans on the simulated field: the example missions, sessions of plans, cancel, the match end.

The mission expectations below are worked out from each mission's XML and the rules in
DESIGN.md section 3 (every quadrant starts with one stack of each colour, every holder with 10
cherries), not copied from a run.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from llm_mars import vocabulary as V
from llm_mars.errors import PlanValidationError, WorldConfigError
from llm_mars.session.match import Match, run_plan
from llm_mars.world.faults import Faults
from llm_mars.world.field import CLEARANCE_MM, PLACE_XY, ROBOT_RADIUS_MM, START_POSITIONS

from world.sim_helpers import plan, separations

MISSIONS = Path(__file__).resolve().parents[2] / "trees" / "missions"
LEGENDARY = {"layers": ["brown", "yellow", "pink"], "cherry": False}
CROWNED = {"layers": ["brown", "yellow", "pink"], "cherry": True}
FINISHED = {"tree_status": "SUCCESS", "location": "home", "funny_action": True}
UNTOUCHED = {"tree_status": "IDLE", "location": "home", "funny_action": False}

# mission -> robots, non-empty plates, basket, holders that changed, stacks taken, score total
EXPECTED = {
    # robot1 takes all three stacks of quadrant 3 (the fallbacks are not needed), sorts them
    # into 3 legendary cakes on plate 3 (3 x 7), goes home (2 x 15 with idle robot2), funny +5
    "fallback_colour": dict(
        robots={"robot1": FINISHED, "robot2": UNTOUCHED},
        plates={"plate_3": [LEGENDARY] * 3}, basket=0, holders={},
        taken={"quadrant_3": V.COLORS}, total=21 + 30 + 5),
    # robot2 empties holder 3 (10) into the basket, then, with far more than 40 s left,
    # holder 4 too: 20 cherries (5 + 20); both robots home (30), one funny action (5)
    "guarded_basket": dict(
        robots={"robot1": UNTOUCHED, "robot2": FINISHED},
        plates={}, basket=20, holders={"holder_3": 0, "holder_4": 0},
        taken={}, total=25 + 30 + 5),
    # 3 legendary cakes on plate 1 (21) and holder 1's 10 cherries in the basket (15);
    # both home (30) and both funny (10)
    "legendary_and_basket": dict(
        robots={"robot1": FINISHED, "robot2": FINISHED},
        plates={"plate_1": [LEGENDARY] * 3}, basket=10, holders={"holder_1": 0},
        taken={"quadrant_1": V.COLORS}, total=21 + 15 + 30 + 10),
    # 3 legendary cakes on plate 2, each crowned with one of the 3 cherries from holder 2
    # (3 x 10); nothing goes to the basket; both home and funny (40)
    "signal_decorate": dict(
        robots={"robot1": FINISHED, "robot2": FINISHED},
        plates={"plate_2": [CROWNED] * 3}, basket=0, holders={"holder_2": 7},
        taken={"quadrant_2": V.COLORS}, total=30 + 30 + 10),
    # both cake rounds fit well before 25 s are left: crowned cakes on plate 1 (30) and plain
    # legendary ones on plate 4 (21); both home and funny (40)
    "time_guarded_cakes": dict(
        robots={"robot1": FINISHED, "robot2": FINISHED},
        plates={"plate_1": [CROWNED] * 3, "plate_4": [LEGENDARY] * 3}, basket=0,
        holders={"holder_2": 7}, taken={"quadrant_1": V.COLORS, "quadrant_4": V.COLORS},
        total=30 + 21 + 30 + 10),
}


def test_every_mission_has_an_expectation():
    assert {p.stem for p in MISSIONS.glob("*.xml")} == set(EXPECTED)


@pytest.mark.parametrize("mission", sorted(EXPECTED))
def test_mission_runs_to_its_expected_final_state(mission):
    expected = EXPECTED[mission]
    result = run_plan((MISSIONS / f"{mission}.xml").read_text(), seed=0)
    state = result.state
    for robot, facts in expected["robots"].items():
        got = state["robots"][robot]
        assert {k: got[k] for k in facts} == facts, (robot, got["history"])
        assert got["carrying"] == {"stacks": [], "cherries": 0}
    assert {p: c for p, c in state["plates"].items() if c} == expected["plates"]
    assert state["basket"] == expected["basket"]
    assert {h: n for h, n in state["holders"].items() if n != 10} == expected["holders"]
    taken = {q: tuple(c for c in V.COLORS if not s[c]) for q, s in state["quadrants"].items()}
    assert {q: t for q, t in taken.items() if t} == expected["taken"]
    assert state["score"]["total"] == expected["total"] == result.score
    assert not state["match_over"]
    assert min(separations(result.world)) >= 2 * ROBOT_RADIUS_MM


def test_fallback_takes_the_other_quadrant_when_a_stack_is_gone():
    match = Match(seed=0)
    match.execute(plan(robot2='<Sequence><PickCake color="yellow" quadrant="3"/>'
                              '<PlaceCakes plate="5"/><MoveTo target="home"/></Sequence>'))
    match.execute((MISSIONS / "fallback_colour.xml").read_text())
    state = match.state_dict()
    history = state["robots"]["robot1"]["history"]
    assert "PickCake yellow 3: FAILURE (stack already taken)" in history
    assert "PickCake yellow 4: SUCCESS" in history
    assert state["plates"]["plate_3"] == [LEGENDARY] * 3
    assert state["plates"]["plate_5"] == [{"layers": ["yellow"] * 3, "cherry": False}]
    assert state["quadrants"]["quadrant_4"] == {"brown": 1, "yellow": 0, "pink": 1}
    assert state["robots"]["robot2"]["tree_status"] == "SUCCESS"  # from its own plan


def test_guarded_basket_reports_instead_of_starting_late():
    match = Match(seed=0)
    match.execute(plan(robot2='<Wait seconds="60"/>'))
    match.execute((MISSIONS / "guarded_basket.xml").read_text())
    robot2 = match.state_dict()["robots"]["robot2"]
    assert robot2["said"] == ["Not enough time left for holder 4."]
    assert robot2["tree_status"] == "SUCCESS"
    assert match.state_dict()["holders"]["holder_4"] == 10
    assert match.state_dict()["basket"] == 10


def test_both_robots_placing_on_the_same_plate_take_turns():
    result = run_plan(plan(
        robot1='<Sequence><PickCake color="brown" quadrant="3"/><PlaceCakes plate="3"/>'
               '<MoveTo target="home"/></Sequence>',
        robot2='<Sequence><PickCake color="pink" quadrant="4"/><PlaceCakes plate="3"/>'
               '<MoveTo target="home"/></Sequence>'))
    robots = result.state["robots"]
    assert [r["tree_status"] for r in robots.values()] == ["SUCCESS", "SUCCESS"]
    assert sorted(c["layers"][0] for c in result.state["plates"]["plate_3"]) == ["brown", "pink"]
    placing = {r.robot: r for r in result.timeline if r.label == "PlaceCakes 3"}
    first, second = sorted(placing.values(), key=lambda r: r.end_s)
    assert second.end_s - first.end_s >= 0.9 * V.MANIPULATION_S  # one after the other
    assert min(separations(result.world)) >= 2 * ROBOT_RADIUS_MM


def test_a_robot_the_plan_does_not_address_stays_idle():
    result = run_plan(plan(robot1='<MoveTo target="plate_2"/>'))
    assert result.state["robots"]["robot2"]["tree_status"] == "IDLE"
    assert result.state["robots"]["robot2"]["history"] == []
    assert result.state["robots"]["robot1"]["tree_status"] == "SUCCESS"


def test_a_session_continues_from_the_previous_state():
    match = Match(seed=0)
    match.execute(plan(robot1='<PickCake color="brown" quadrant="1"/>'))
    assert match.state_dict()["robots"]["robot1"]["carrying"]["stacks"] == ["brown"]
    match.execute(plan(robot2='<CollectCherries holder="1" count="2"/>'))
    state = match.state_dict()
    assert state["robots"]["robot1"]["tree_status"] == "SUCCESS"  # kept from the first plan
    assert state["robots"]["robot1"]["carrying"]["stacks"] == ["brown"]
    assert state["robots"]["robot2"]["carrying"]["cherries"] == 2
    match.execute(plan(robot1='<PlaceCakes plate="1"/>'))
    assert match.state_dict()["plates"]["plate_1"] == [{"layers": ["brown"] * 3, "cherry": False}]
    assert match.state_dict()["robots"]["robot1"]["history"] == [
        "PickCake brown 1: SUCCESS", "PlaceCakes 1: SUCCESS"]


def test_cancel_halts_the_tree_and_stops_the_robot():
    match = Match(seed=0)
    match.load(plan(robot1='<Sequence><MoveTo target="plate_5"/><FunnyAction/></Sequence>'))
    for _ in range(20):
        match.tick()
    match.cancel("robot1")
    stopped = match.state_dict()["robots"]["robot1"]
    assert not match.running
    assert stopped["tree_status"] == "CANCELLED"
    assert stopped["history"] == ["MoveTo plate_5: CANCELLED"]
    match.world.step(1.0)
    after = match.state_dict()["robots"]["robot1"]
    assert (after["x_mm"], after["y_mm"], after["location"]) == (
        stopped["x_mm"], stopped["y_mm"], None)


def test_a_new_plan_replaces_the_running_tree_of_its_robot():
    match = Match(seed=0)
    match.load(plan(robot1='<MoveTo target="plate_5"/>', robot2='<Wait seconds="3"/>'))
    for _ in range(5):
        match.tick()
    match.execute(plan(robot1='<MoveTo target="basket"/>'))
    state = match.state_dict()
    assert state["robots"]["robot1"]["history"] == [
        "MoveTo plate_5: CANCELLED", "MoveTo basket: SUCCESS"]
    assert state["robots"]["robot1"]["location"] == "basket"
    assert state["robots"]["robot2"]["tree_status"] == "SUCCESS"  # ran on beside it


def test_the_match_end_halts_trees_that_would_run_forever():
    result = run_plan(plan(
        robot1='<RetryUntilSuccessful num_attempts="-1"><WaitForSignal signal="never"/>'
               '</RetryUntilSuccessful>',
        robot2='<Repeat num_cycles="-1"><Say text="still here"/></Repeat>'))
    assert result.state["time_s"] == V.MATCH_DURATION_S
    assert result.state["match_over"] is True
    for robot in result.state["robots"].values():
        assert robot["tree_status"] == "FAILURE"
    assert "WaitForSignal never: FAILURE (match over)" in result.state["robots"]["robot1"]["history"]
    assert result.state["robots"]["robot2"]["history"][-1] == "Say still here: FAILURE (match over)"


def test_timeout_counts_simulated_seconds():
    began = time.perf_counter()
    result = run_plan(plan(robot1='<Timeout msec="3000"><Wait seconds="10"/></Timeout>'))
    assert time.perf_counter() - began < 1.0
    assert result.state["robots"]["robot1"]["tree_status"] == "FAILURE"
    assert result.state["robots"]["robot1"]["history"] == ["Wait 10: CANCELLED"]
    assert 3.0 <= result.state["time_s"] <= 3.3


def test_parallel_skills_of_one_robot_share_its_body_by_the_rules():
    talking = run_plan(plan(robot1='<Parallel success_count="2"><MoveTo target="plate_2"/>'
                                   '<Say text="on my way"/></Parallel>'))
    assert talking.state["robots"]["robot1"]["tree_status"] == "SUCCESS"
    assert talking.state["robots"]["robot1"]["location"] == "plate_2"
    driving_twice = run_plan(plan(robot1='<Parallel><MoveTo target="plate_2"/>'
                                         '<MoveTo target="plate_3"/></Parallel>'))
    robot1 = driving_twice.state["robots"]["robot1"]
    assert robot1["tree_status"] == "FAILURE"
    assert "MoveTo plate_3: FAILURE (robot busy)" in robot1["history"]


def test_invalid_plans_and_settings_are_refused():
    with pytest.raises(PlanValidationError):
        run_plan(plan(robot1='<PickCake color="purple" quadrant="1"/>'))
    with pytest.raises(WorldConfigError):
        Match(dt=0.0)


def test_a_retry_recovers_from_injected_faults():
    result = run_plan(plan(robot1='<RetryUntilSuccessful num_attempts="20"><PickCake color="pink" '
                                  'quadrant="4"/></RetryUntilSuccessful>'),
                      seed=4, faults=Faults(fail_probability=0.6))
    robot1 = result.state["robots"]["robot1"]
    assert robot1["tree_status"] == "SUCCESS"
    assert "PickCake pink 4: FAILURE (injected fault)" in robot1["history"]
    assert robot1["history"][-1] == "PickCake pink 4: SUCCESS"
    assert robot1["carrying"]["stacks"] == ["pink"]


LEGENDARY_TO_PLATE_3 = plan(robot1=(
    '<Sequence><PickCake color="brown" quadrant="3"/><PickCake color="yellow" quadrant="3"/>'
    '<PickCake color="pink" quadrant="3"/><PlaceCakes plate="3" sort="true"/></Sequence>'))
CHERRY_ON_PLATE_3 = plan(robot2=(
    '<Sequence><CollectCherries holder="3"/><PutCherry plate="3"/></Sequence>'))


def cherry_session(seed: int = 0) -> tuple[Match, list[dict]]:
    """Command 1: robot1 brings the legendary cakes to plate 3 (and stays there, idle).
    Command 2: robot2 puts a cherry on the cakes on plate 3. Returns the match and robot1's
    state after every tick of command 2."""
    match = Match(seed=seed)
    match.execute(LEGENDARY_TO_PLATE_3)
    assert match.state_dict()["robots"]["robot1"]["location"] == "plate_3"
    match.load(CHERRY_ON_PLATE_3)
    seen = []
    while match.running:
        match.tick()
        state = match.state_dict()
        seen.append(state["robots"]["robot1"])
        locations = [r["location"] for r in state["robots"].values()]
        assert locations[0] != locations[1] or locations[0] in (None, V.HOME)
    return match, seen


def test_an_idle_robot_on_a_plate_gives_way_to_the_next_command():
    match, seen = cherry_session()
    state = match.state_dict()
    robot1, robot2 = state["robots"]["robot1"], state["robots"]["robot2"]
    assert [robot1["tree_status"], robot2["tree_status"]] == ["SUCCESS", "SUCCESS"]
    assert robot2["history"] == ["CollectCherries 3: SUCCESS", "PutCherry 3: SUCCESS"]
    assert robot2["location"] == "plate_3"
    assert state["plates"]["plate_3"] == [CROWNED, LEGENDARY, LEGENDARY]
    assert not state["match_over"]
    # robot1 drove aside, showing it, without a history entry, and ended off every place
    assert any(r["giving_way_to"] == "robot2" and r["location"] is None for r in seen)
    assert robot1["giving_way_to"] is None and robot1["location"] is None
    assert len(robot1["history"]) == 4
    aside = (robot1["x_mm"], robot1["y_mm"])
    assert 440 <= math.dist(aside, PLACE_XY["plate_3"]) <= 1000
    [give_way] = match.world.give_ways
    assert (give_way.robot, give_way.to, give_way.place) == ("robot1", "robot2", "plate_3")
    assert min(separations(match.world)) >= CLEARANCE_MM - 1e-6
    assert cherry_session()[0].state_dict() == state  # deterministic for a seed


@pytest.mark.parametrize("mover", V.ROBOTS)
def test_a_robot_idle_at_home_lets_the_other_come_home_without_moving(mover):
    idle = next(r for r in V.ROBOTS if r != mover)
    match = Match(seed=0)
    match.execute(plan(**{mover: '<Sequence><MoveTo target="plate_2"/><MoveTo target="basket"/>'
                                 '</Sequence>'}))
    match.execute(plan(**{mover: '<MoveTo target="home"/>'}))
    state = match.state_dict()
    assert [r["location"] for r in state["robots"].values()] == ["home", "home"]
    assert state["robots"][mover]["tree_status"] == "SUCCESS"
    assert state["score"]["end_zone"] == 30
    assert match.world.give_ways == []
    assert match.world.state.robots[idle].position == START_POSITIONS[idle]
    assert min(separations(match.world)) >= CLEARANCE_MM - 1e-6
