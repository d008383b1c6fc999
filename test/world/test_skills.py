"""Every skill's effect on the world and every failure reason (DESIGN.md section 3)."""
from __future__ import annotations

import math

import pytest

from llm_mars import vocabulary as V
from llm_mars.bt.registry import REGISTRY, Category
from llm_mars.bt.robot import SkillState
from llm_mars.errors import SkillArgumentError, UnknownSkillError
from llm_mars.world import skills as S
from llm_mars.world.field import PLACE_XY, START_POSITIONS
from llm_mars.world.simulator import SimConfig, Simulator
from llm_mars.world.state import Cake

from .sim_helpers import DT, FAILURE, SUCCESS, record, run_all, run_skill


@pytest.fixture
def sim() -> Simulator:
    return Simulator(seed=0)


def robot(sim: Simulator, name: str = "robot1"):
    return sim.state.robots[name]


def test_every_registry_skill_has_a_program_and_nothing_else_does():
    assert set(S.PROGRAMS) == {k.tag for k in REGISTRY.of(Category.ACTION)}


ARGS = {"MoveTo": {"target": "plate_1"}, "PickCake": {"color": "pink", "quadrant": 1},
        "PlaceCakes": {"plate": 1}, "CollectCherries": {"holder": 1}, "DropCherries": {},
        "PutCherry": {"plate": 1}, "FunnyAction": {}, "Wait": {"seconds": 1.0},
        "Signal": {"signal": "go"}, "WaitForSignal": {"signal": "go"}, "Say": {"text": "hi"}}


@pytest.mark.parametrize("skill", sorted(S.PROGRAMS))
def test_the_programs_of_body_skills_and_only_they_drive_or_use_the_arms(sim, skill):
    body = robot(sim)
    body.stacks, body.cherries = ["brown"], 2
    sim.state.plates["plate_1"].append(Cake(["brown"] * 3))
    phases = list(S.PROGRAMS[skill](sim.state, body, ARGS[skill]))
    uses_body = any(isinstance(p, (S.Drive, S.Manipulate)) for p in phases)
    assert uses_body is REGISTRY[skill].body


# --- MoveTo ---------------------------------------------------------------------------------


def test_move_to_drives_at_half_a_metre_per_second(sim):
    outcome = run_skill(sim, "robot1", "MoveTo", {"target": "plate_3"})
    assert outcome.state is SUCCESS
    body = robot(sim)
    assert body.location == "plate_3"
    assert body.position == pytest.approx(PLACE_XY["plate_3"])
    expected = math.dist(START_POSITIONS["robot1"], PLACE_XY["plate_3"]) / V.ROBOT_SPEED_MM_S
    assert record(sim, "robot1", "MoveTo plate_3").end_s == pytest.approx(expected, abs=DT)
    assert body.history == ["MoveTo plate_3: SUCCESS"]


def test_location_is_null_while_between_places(sim):
    goal = sim.start_skill("robot1", "MoveTo", {"target": "plate_5"})
    sim.step(1.0)
    body = robot(sim)
    assert body.location is None
    assert body.active == "MoveTo plate_5"
    assert sim.skill_outcome("robot1", goal).state is SkillState.RUNNING


def test_move_to_where_the_robot_already_is_succeeds_at_once(sim):
    goal = sim.start_skill("robot2", "MoveTo", {"target": "home"})
    assert sim.skill_outcome("robot2", goal).state is SUCCESS
    assert sim.time_s == 0.0


# --- PickCake -------------------------------------------------------------------------------


def test_pick_cake_takes_the_stack_after_driving_and_a_manipulation(sim):
    outcome = run_skill(sim, "robot1", "PickCake", {"color": "brown", "quadrant": 2})
    assert outcome.state is SUCCESS
    body = robot(sim)
    assert (body.location, body.stacks) == ("quadrant_2", ["brown"])
    assert sim.state.quadrants["quadrant_2"] == {"brown": 0, "yellow": 1, "pink": 1}
    drive = math.dist(START_POSITIONS["robot1"], PLACE_XY["quadrant_2"]) / V.ROBOT_SPEED_MM_S
    took = record(sim, "robot1", "PickCake brown 2").end_s
    assert drive + 0.9 * V.MANIPULATION_S - DT <= took <= drive + 1.1 * V.MANIPULATION_S + DT
    assert body.history == ["PickCake brown 2: SUCCESS"]


def test_pick_cake_fails_when_the_stack_is_already_taken(sim):
    run_skill(sim, "robot1", "PickCake", {"color": "pink", "quadrant": 1})
    outcome = run_skill(sim, "robot1", "PickCake", {"color": "pink", "quadrant": 1})
    assert (outcome.state, outcome.reason) == (FAILURE, S.STACK_TAKEN)
    assert robot(sim).stacks == ["pink"]
    assert robot(sim).history[-1] == "PickCake pink 1: FAILURE (stack already taken)"


def test_pick_cake_fails_when_no_stack_of_that_colour_is_left(sim):
    for first in (1, 3):
        for quadrant in (first, first + 1):
            assert run_skill(sim, "robot1", "PickCake",
                             {"color": "yellow", "quadrant": quadrant}).state is SUCCESS
        assert run_skill(sim, "robot1", "PlaceCakes", {"plate": 4}).state is SUCCESS
    outcome = run_skill(sim, "robot1", "PickCake", {"color": "yellow", "quadrant": 2})
    assert (outcome.state, outcome.reason) == (FAILURE, S.NO_COLOUR_LEFT)


def test_pick_cake_fails_when_the_robot_is_full_without_driving(sim):
    for color in V.COLORS:
        run_skill(sim, "robot1", "PickCake", {"color": color, "quadrant": 4})
    before = (robot(sim).position, sim.time_s)
    goal = sim.start_skill("robot1", "PickCake", {"color": "brown", "quadrant": 3})
    outcome = sim.skill_outcome("robot1", goal)
    assert (outcome.state, outcome.reason) == (FAILURE, S.ROBOT_FULL)
    assert (robot(sim).position, sim.time_s) == before
    assert sim.state.quadrants["quadrant_3"]["brown"] == 1


# --- PlaceCakes -----------------------------------------------------------------------------


@pytest.mark.parametrize("stacks, sort, cakes", [
    (["pink", "brown", "yellow"], False,
     [["pink"] * 3, ["brown"] * 3, ["yellow"] * 3]),
    (["pink", "brown", "yellow"], True, [["brown", "yellow", "pink"]] * 3),
    (["pink", "brown"], True, [["brown", "pink"]] * 3),
    (["yellow"], True, [["yellow"]] * 3),
    (["brown"], False, [["brown"] * 3]),
])
def test_build_cakes_rules(stacks, sort, cakes):
    assert [c.layers for c in S.build_cakes(stacks, sort)] == cakes


def test_sorted_brown_yellow_pink_stacks_make_three_legendary_cakes(sim):
    for color in ("pink", "yellow", "brown"):
        run_skill(sim, "robot1", "PickCake", {"color": color, "quadrant": 3})
    assert run_skill(sim, "robot1", "PlaceCakes", {"plate": 3, "sort": True}).state is SUCCESS
    plate = sim.state.plates["plate_3"]
    assert [c.layers for c in plate] == [["brown", "yellow", "pink"]] * 3
    assert all(c.legendary and not c.cherry for c in plate)
    assert robot(sim).stacks == []
    assert sim.state_dict()["score"]["cakes"] == 3 * (3 + 4)


def test_unsorted_placing_makes_one_cake_per_stack(sim):
    for color in ("brown", "pink"):
        run_skill(sim, "robot1", "PickCake", {"color": color, "quadrant": 1})
    assert run_skill(sim, "robot1", "PlaceCakes", {"plate": 1, "sort": False}).state is SUCCESS
    assert [c.layers for c in sim.state.plates["plate_1"]] == [["brown"] * 3, ["pink"] * 3]
    assert sim.state_dict()["score"]["cakes"] == 6


def test_place_cakes_without_stacks_fails_with_nothing_to_place(sim):
    outcome = run_skill(sim, "robot1", "PlaceCakes", {"plate": 2})
    assert (outcome.state, outcome.reason) == (FAILURE, S.NOTHING_TO_PLACE)
    assert robot(sim).location == "home"


# --- cherries -------------------------------------------------------------------------------


def test_collect_cherries_takes_all_that_fit_by_default(sim):
    assert run_skill(sim, "robot2", "CollectCherries", {"holder": 1}).state is SUCCESS
    assert robot(sim, "robot2").cherries == V.MAX_CHERRIES_CARRIED
    assert sim.state.holders["holder_1"] == 0


def test_collect_cherries_takes_count_and_no_more_than_fits(sim):
    run_skill(sim, "robot2", "CollectCherries", {"holder": 2, "count": 8})
    assert (robot(sim, "robot2").cherries, sim.state.holders["holder_2"]) == (8, 2)
    run_skill(sim, "robot2", "CollectCherries", {"holder": 3, "count": 5})
    assert (robot(sim, "robot2").cherries, sim.state.holders["holder_3"]) == (10, 8)


def test_collect_cherries_takes_what_the_holder_has_left(sim):
    run_skill(sim, "robot2", "CollectCherries", {"holder": 4, "count": 7})
    run_skill(sim, "robot2", "DropCherries")
    assert run_skill(sim, "robot2", "CollectCherries", {"holder": 4}).state is SUCCESS
    assert (robot(sim, "robot2").cherries, sim.state.holders["holder_4"]) == (3, 0)


def test_collect_cherries_fails_on_an_empty_holder(sim):
    run_skill(sim, "robot2", "CollectCherries", {"holder": 1})
    run_skill(sim, "robot2", "DropCherries")
    outcome = run_skill(sim, "robot2", "CollectCherries", {"holder": 1})
    assert (outcome.state, outcome.reason) == (FAILURE, S.HOLDER_EMPTY)
    assert robot(sim, "robot2").cherries == 0


def test_collect_cherries_fails_when_the_robot_is_full(sim):
    run_skill(sim, "robot2", "CollectCherries", {"holder": 1})
    outcome = run_skill(sim, "robot2", "CollectCherries", {"holder": 2})
    assert (outcome.state, outcome.reason) == (FAILURE, S.ROBOT_FULL)
    assert sim.state.holders["holder_2"] == 10


def test_drop_cherries_empties_the_robot_into_the_basket(sim):
    run_skill(sim, "robot2", "CollectCherries", {"holder": 2, "count": 6})
    assert run_skill(sim, "robot2", "DropCherries").state is SUCCESS
    assert (robot(sim, "robot2").cherries, sim.state.basket) == (0, 6)
    assert robot(sim, "robot2").location == "basket"
    assert sim.state_dict()["score"]["basket"] == 5 + 6


def test_drop_cherries_without_cherries_fails(sim):
    outcome = run_skill(sim, "robot2", "DropCherries")
    assert (outcome.state, outcome.reason) == (FAILURE, S.NO_CHERRIES)


def test_put_cherry_crowns_the_first_bare_cake(sim):
    sim.state.plates["plate_5"] = [Cake(["brown"] * 3, cherry=True), Cake(["pink"] * 3)]
    run_skill(sim, "robot2", "CollectCherries", {"holder": 1, "count": 2})
    assert run_skill(sim, "robot2", "PutCherry", {"plate": 5}).state is SUCCESS
    assert [c.cherry for c in sim.state.plates["plate_5"]] == [True, True]
    assert robot(sim, "robot2").cherries == 1
    outcome = run_skill(sim, "robot2", "PutCherry", {"plate": 5})
    assert (outcome.state, outcome.reason) == (FAILURE, S.CHERRY_ON_TOP)
    assert robot(sim, "robot2").cherries == 1


def test_put_cherry_needs_a_cake_on_the_plate(sim):
    run_skill(sim, "robot2", "CollectCherries", {"holder": 1, "count": 1})
    outcome = run_skill(sim, "robot2", "PutCherry", {"plate": 4})
    assert (outcome.state, outcome.reason) == (FAILURE, S.NO_CAKE)
    assert robot(sim, "robot2").location == "plate_4"


def test_put_cherry_needs_a_carried_cherry(sim):
    sim.state.plates["plate_5"] = [Cake(["brown"] * 3)]
    outcome = run_skill(sim, "robot2", "PutCherry", {"plate": 5})
    assert (outcome.state, outcome.reason) == (FAILURE, S.NO_CHERRIES)
    assert robot(sim, "robot2").location == "home"


# --- end of match, timing, talking ------------------------------------------------------------


def test_funny_action_scores_five(sim):
    before = sim.state_dict()["score"]["total"]
    assert run_skill(sim, "robot1", "FunnyAction").state is SUCCESS
    assert robot(sim).funny_action
    assert sim.state_dict()["score"]["total"] == before + 5


def test_wait_waits_simulated_seconds_without_moving(sim):
    assert run_skill(sim, "robot1", "Wait", {"seconds": 3.5}).state is SUCCESS
    assert record(sim, "robot1", "Wait 3.5").end_s == pytest.approx(3.5, abs=DT)
    assert robot(sim).position == START_POSITIONS["robot1"]


def test_say_records_the_text_and_succeeds_at_once(sim):
    goal = sim.start_skill("robot1", "Say", {"text": "Cakes are ready."})
    assert sim.skill_outcome("robot1", goal).state is SUCCESS
    assert robot(sim).said == ["Cakes are ready."]
    assert sim.state_dict()["robots"]["robot1"]["said"] == ["Cakes are ready."]
    assert robot(sim).history == ["Say Cakes are ready.: SUCCESS"]


def test_wait_for_signal_waits_until_the_other_robot_signals(sim):
    waiting = sim.start_skill("robot2", "WaitForSignal", {"signal": "go"})
    for _ in range(20):
        sim.step(DT)
    assert sim.skill_outcome("robot2", waiting).state is SkillState.RUNNING
    assert sim.skill_outcome("robot1", sim.start_skill("robot1", "Signal", {"signal": "go"})
                             ).state is SUCCESS
    sim.step(DT)
    assert sim.skill_outcome("robot2", waiting).state is SUCCESS
    assert sim.state_dict()["signals"] == ["go"]
    later = sim.start_skill("robot2", "WaitForSignal", {"signal": "go"})
    assert sim.skill_outcome("robot2", later).state is SUCCESS


# --- conditions -----------------------------------------------------------------------------


def test_conditions_read_the_robot_and_the_clock(sim):
    assert sim.check_condition("robot1", "IsAt", {"target": "home"})
    assert not sim.check_condition("robot1", "IsAt", {"target": "basket"})
    assert not sim.check_condition("robot1", "IsCarrying", {"item": "cake"})
    run_skill(sim, "robot1", "PickCake", {"color": "brown", "quadrant": 2})
    assert sim.check_condition("robot1", "IsAt", {"target": "quadrant_2"})
    assert sim.check_condition("robot1", "IsCarrying", {"item": "cake"})
    assert not sim.check_condition("robot1", "IsCarrying", {"item": "cherries"})
    left = sim.time_left_s
    assert sim.check_condition("robot1", "TimeLeft", {"seconds": left})
    assert not sim.check_condition("robot1", "TimeLeft", {"seconds": left + 0.5})


# --- arguments ------------------------------------------------------------------------------


@pytest.mark.parametrize("skill, args", [
    ("PickCake", {"color": "purple", "quadrant": 1}),
    ("PickCake", {"color": "brown", "quadrant": 5}),
    ("PickCake", {"color": "brown"}),
    ("MoveTo", {"target": "plate_9"}),
    ("MoveTo", {"target": "home", "speed": 3}),
    ("CollectCherries", {"holder": 1, "count": 11}),
])
def test_arguments_outside_the_registry_ports_are_refused(sim, skill, args):
    with pytest.raises(SkillArgumentError):
        sim.start_skill("robot1", skill, args)
    assert robot(sim).history == []


def test_unknown_skill_and_condition_are_refused(sim):
    with pytest.raises(UnknownSkillError):
        sim.start_skill("robot1", "Fly", {})
    with pytest.raises(UnknownSkillError):
        sim.check_condition("robot1", "IsFlying", {})


def test_manipulation_time_follows_the_config():
    sim = Simulator(seed=3, config=SimConfig(manipulation_s=5.0, jitter=0.0))
    run_all(sim, [("robot1", "FunnyAction", {})])
    assert record(sim, "robot1", "FunnyAction").end_s == pytest.approx(5.0, abs=DT)
