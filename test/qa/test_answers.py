"""What each query form means, on hand-built states (llm_mars.qa.answers, llm_mars.qa.facts).

The property test (test_properties.py) checks every answer against random simulated states;
these cases pin the documented meanings one by one."""
from __future__ import annotations

import copy

import pytest

from llm_mars.qa import facts as F
from llm_mars.qa.answers import CANT_TELL, answer
from llm_mars.qa.query import ATTRIBUTES, MEMBERS, Ref, parse_query
from llm_mars.session.match import Match


def ask(text: str, state) -> str:
    return answer(parse_query(text), state).text


@pytest.fixture
def start():
    return Match().state_dict()


def played(start, **robots):
    state = copy.deepcopy(start)
    for name, changes in robots.items():
        state["robots"][name].update(changes)
    return state


def test_every_attribute_has_a_reader(start):
    for kind, attributes in ATTRIBUTES.items():
        for a in attributes:
            fact = F.read(start, Ref(MEMBERS[kind][0], a.name))
            assert fact.text


def test_a_step_counts_for_yes_only_when_it_succeeded(start):
    state = played(start, robot2={"history": ["CollectCherries 2 3: SUCCESS",
                                              "PutCherry 4: FAILURE (no cake on plate)"],
                                  "carrying": {"stacks": [], "cherries": 3}})
    state["holders"]["holder_2"] = 7
    assert ask("check robot2.history(PutCherry)", state) == \
        "No, Robot 2 failed to put a cherry on plate 4 (no cake on plate) (0 times; 1 more " \
        "failed)."
    assert ask("check robot2.history(PutCherry failed)", state).startswith("Yes, ")
    assert ask("check robot2.history(CollectCherries holder_2)", state).startswith("Yes, ")
    assert ask("check robot2.history(holder_3)", state).startswith("No, ")


def test_cherry_counts_are_said_only_where_the_state_confirms_them(start):
    # robot 2 asked for 6 at holder 2 after robot 1 had taken 6: it got 4
    state = played(start,
                   robot1={"history": ["CollectCherries 2 6: SUCCESS"],
                           "carrying": {"stacks": [], "cherries": 6}},
                   robot2={"history": ["CollectCherries 2 6: SUCCESS"],
                           "carrying": {"stacks": [], "cherries": 4}})
    state["holders"]["holder_2"] = 0
    assert ask("robot2.collected", state).startswith("I can't tell how many cherries Robot 2")
    assert ask("check robot2.collected > 5", state).startswith("I can't tell")
    assert ask("robot2.history(CollectCherries)", state) == \
        "Robot 2 collected cherries at holder 2 (6 asked; I can't tell how many it got) " \
        "(1 time)."
    # alone at a holder, the count is certain even when the label asked for more
    alone = played(start, robot1={"history": ["CollectCherries 3 10: SUCCESS",
                                              "DropCherries: SUCCESS"]})
    alone["holders"]["holder_3"], alone["basket"] = 0, 10
    assert ask("robot1.collected", alone) == "Robot 1 collected 10 cherries in all."
    assert ask("robot1.dropped", alone) == "Robot 1 dropped 10 cherries in the basket in all."
    assert "dropped cherries in the basket (10 cherries)" in ask("robot1.history", alone)


def test_where_a_taken_stack_went(start):
    state = played(start,
                   robot1={"history": ["PickCake pink 1: SUCCESS", "PlaceCakes 5: SUCCESS"]},
                   robot2={"history": ["PickCake brown 1: SUCCESS"],
                           "carrying": {"stacks": ["brown"], "cherries": 0}})
    state["quadrants"]["quadrant_1"].update(pink=0, brown=0)
    state["plates"]["plate_5"] = [{"layers": ["pink"] * 3, "cherry": False}]
    assert ask("quadrant_1.pink", state) == \
        "The pink stack of quadrant 1 is gone: robot 1 took it and placed it on plate 5."
    assert ask("quadrant_1.brown", state) == \
        "The brown stack of quadrant 1 is gone: robot 2 took it and still carries it."
    assert ask("check quadrant_1.yellow", state) == \
        "Yes, the yellow stack of quadrant 1 is still there."
    assert ask("robot1.history(PlaceCakes)", state) == \
        "Robot 1 placed its pink stack on plate 5 (it now has 1 cake (1 pink)) (1 time)."


def test_which_and_most_name_the_members_then_the_facts(start):
    state = played(start, robot2={"funny_action": True,
                                  "carrying": {"stacks": [], "cherries": 4}})
    assert ask("which robots.funny", state) == \
        "Robot 2: Robot 2 did the funny action; Robot 1 has not done the funny action."
    assert ask("which robots.location = basket", state).startswith("None of them: ")
    assert ask("most robots.cherries", state).startswith("Robot 2 has the most (4): ")
    assert ask("least robots.stacks", state).startswith("They are level: ")
    assert ask("check robot2.cherries > robot1.cherries", state) == \
        "Yes, Robot 2 carries 4 cherries and Robot 1 carries 0 cherries."


def test_every_cake_of_a_plate_is_its_count_against_the_plates_own(start):
    """"Does every cake on plate 1 have a cherry" compares plate 1's cakes with a cherry with
    plate 1's cakes; over all plates, each plate with its own; on an empty plate no yes or no."""
    state = copy.deepcopy(start)
    brown = ["brown"] * 3
    state["plates"]["plate_1"] = [{"layers": brown, "cherry": True},
                                  {"layers": brown, "cherry": False}]
    state["plates"]["plate_2"] = [{"layers": brown, "cherry": True}]
    every = "check {p}.cakes(cherry) = {p}.cakes"
    assert ask(every.format(p="plate_1"), state) == \
        "No, Plate 1 has 1 cake with a cherry (2 cakes (1 brown with cherry, 1 brown))."
    assert ask(every.format(p="plate_2"), state).startswith("Yes, Plate 2 has 1 cake with a "
                                                           "cherry")
    empty = answer(parse_query(every.format(p="plate_3")), state)
    assert empty.verdict is None and empty.text == "Plate 3 is empty (0 cakes)."
    assert ask(every.format(p="plates").replace("check", "check all"), state).startswith("No, ")
    assert ask(every.format(p="plates").replace("check", "check any"), state).startswith("Yes, ")
    assert ask(every.format(p="plates").replace("check", "which"), state).startswith(
        "Plate 2: ")
    for other in ("check plate_3.cakes(cherry) >= plate_3.cakes",  # any comparison
                  "check plate_3.cakes = plate_3.cakes(cherry)",  # either order
                  "check plate_1.cakes(pink cherry) = plate_1.cakes(pink)"):  # no pink cake
        assert answer(parse_query(other), state).verdict is None, other
    assert ask("which plates.cakes(cherry) >= plates.cakes", state).startswith("Plate 2: ")
    state["plates"]["plate_1"][1]["cherry"] = True
    assert ask("check all plates.cakes(cherry) = plates.cakes", state).startswith("Yes, ")
    state["plates"]["plate_1"] = state["plates"]["plate_2"] = []
    assert answer(parse_query("check all plates.cakes(cherry) = plates.cakes"),
                  state).verdict is None


def test_yes_and_no_over_both_robots(start):
    assert ask("check all robots.location = home", start) == \
        "Yes, Robot 1 is at home and Robot 2 is at home."
    assert ask("check any robots.busy", start).startswith("No, ")


def test_a_robot_making_way_is_between_places_and_moving(start):
    state = played(start, robot1={"location": None, "giving_way_to": "robot2",
                                  "x_mm": 900, "y_mm": 700})
    assert ask("robot1.location", state) == \
        "Robot 1 is between places (x 900 mm, y 700 mm), driving aside for robot 2."
    assert ask("check robot1.moving", state).startswith("Yes, ")


def test_a_robot_on_its_way_to_place_cakes_says_what_it_brings(start):
    state = played(start, robot2={"location": None, "active": "PlaceCakes 2",
                                  "carrying": {"cherries": 0, "stacks": ["yellow"]}})
    assert ask("robot2.doing", state) == \
        "Robot 2 is driving to plate 2 to place cakes (it carries the yellow stack)."
    assert ask("robot2.doing", played(start, robot2={"location": None,
                                                      "active": "PickCake brown 3"})) == \
        "Robot 2 is driving to quadrant 3 to pick the brown stack."


def test_time_left_reads_the_states_own_match_length(start):
    state = dict(start, time_s=20.0, time_left_s=40.0)
    assert ask("time.left", state) == "40 seconds are left in the match."
    assert ask("time.elapsed", state) == "20 seconds of the match have been played."
    assert ask("check time.over", dict(start, time_s=100.0)) == \
        "Yes, the match is over: 0 seconds are left."


def test_unknown_and_next_without_a_step_say_they_cannot_tell(start):
    assert ask("unknown", start) == CANT_TELL
    assert "so I can't tell what it will do next" in ask("robot1.next", start)


def test_an_answer_states_its_own_quantity_only(start):
    """Elapsed time is not answered with the time left, nor the other way round."""
    state = dict(start, time_s=37.5)
    assert ask("time.elapsed", state) == "37.5 seconds of the match have been played."
    assert ask("time.left", state) == "62.5 seconds are left in the match."
