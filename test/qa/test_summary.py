import copy

import pytest

from llm_mars.qa.summary import (HISTORY_SHOWN, HistoryEntry, Step, activity, carrying,
                                 cherry_tally, shown_history, summarize, where)
from llm_mars.session.match import Match


@pytest.fixture(scope="module")
def initial():
    return Match().state_dict()


def _state(initial, **robot1):
    state = copy.deepcopy(initial)
    state["robots"]["robot1"].update(robot1)
    return state


def test_initial_field(initial):
    text = summarize(initial)
    assert "0 s played, 100 s left" in text
    assert "Robot 1: at home, idle (no plan yet)" in text
    assert "Robot 2: at home" in text and "nothing done yet" in text
    assert "Basket: 0 cherries." in text and "Plates: all empty." in text
    assert "Score: 30 (cakes 0, basket 0, end zone 30, funny 0)." in text
    assert len(text) < 500


def test_mid_task_robot_driving_with_failure_and_cargo(initial):
    state = _state(initial, location=None, active="CollectCherries 4 6", tree_status="RUNNING",
                   carrying={"stacks": ["brown", "pink"], "cherries": 3},
                   history=["PickCake brown 2: SUCCESS", "PickCake pink 1: FAILURE (stack already taken)",
                            "PickCake pink 3: SUCCESS"])
    state.update(time_s=37.5, basket=4)
    state["plates"]["plate_3"] = [{"layers": ["brown", "yellow", "pink"], "cherry": True},
                                  {"layers": ["brown"] * 3, "cherry": False}]
    text = summarize(state)
    assert "37.5 s played, 62.5 s left" in text
    assert "Robot 1: driving to holder 4 to collect 6 cherries;" in text
    assert "carries 2 stacks (brown, pink) and 3 cherries" in text
    assert "failed to pick the pink stack at quadrant 1 (stack already taken)" in text
    assert "Basket: 4 cherries." in text
    assert "plate 3 2 cakes (1 legendary with cherry, 1 brown)" in text


def test_labels_written_by_hand_are_read(initial):
    state = _state(initial, location="home", active="WaitForSignal cake_on_plate_3",
                   tree_status="RUNNING", history=["PlaceCakes 5: CANCELLED",
                                                   "Say hello there: SUCCESS"])
    text = summarize(state)
    assert "at home, waiting for the signal cake_on_plate_3 from robot 2" in text
    assert "was stopped before it could place cakes on plate 5 (cancelled)" in text
    assert 'said "hello there"' in text
    assert Step.parse("Teleport 9").doing() == "Teleport 9"  # unknown skills pass through


def test_history_keeps_recent_entries_and_earlier_failures(initial):
    entries = ["PickCake pink 1: FAILURE (stack already taken)"] + \
        [f"MoveTo plate_{i % 5 + 1}: SUCCESS" for i in range(HISTORY_SHOWN + 1)]
    shown = shown_history({"history": entries})
    assert shown[0].status == "FAILURE" and len(shown) == HISTORY_SHOWN + 1
    assert f"last {HISTORY_SHOWN + 1} of {HISTORY_SHOWN + 2} steps" in \
        summarize(_state(initial, history=entries))


@pytest.mark.parametrize("entry, status, reason", [
    ("PickCake pink 1: FAILURE (stack already taken)", "FAILURE", "stack already taken"),
    ("PlaceCakes 5: CANCELLED", "CANCELLED", None),
    ("Say a: b: SUCCESS", "SUCCESS", None),
])
def test_history_entries_parse(entry, status, reason):
    parsed = HistoryEntry.parse(entry)
    assert (parsed.status, parsed.reason) == (status, reason)


def test_where_activity_and_carrying_words():
    robot = {"location": None, "active": "MoveTo basket", "tree_status": "RUNNING",
             "x_mm": 500, "y_mm": 1200, "carrying": {"stacks": [], "cherries": 1}}
    assert where(robot) == "driving to the basket"
    assert activity(robot) == "driving to the basket"
    assert carrying(robot) == "1 cherry"
    stopped = dict(robot, active=None, tree_status="FAILURE")
    assert where(stopped).startswith("between places")
    assert activity(stopped).endswith("(plan failed)")
    assert carrying({"carrying": {"stacks": [], "cherries": 0}}) == "nothing"


def test_match_over(initial):
    state = dict(initial, time_s=100.0)
    assert "0 s left (match over)" in summarize(state)


def _cherry_run(initial):
    state = _state(initial)
    state["robots"]["robot2"].update(history=["CollectCherries 4 8: SUCCESS", "DropCherries: SUCCESS",
                                              "CollectCherries 4: SUCCESS", "DropCherries: SUCCESS"])
    state.update(basket=10)
    state["holders"]["holder_4"] = 0
    return state


def test_cherry_totals_and_empty_holders_are_stated(initial):
    text = summarize(_cherry_run(initial))
    assert "collected 10 cherries in all, dropped 10 in the basket" in text
    assert "Holders: holder 4 empty, others full." in text
    assert "Robot 1: at home, idle (no plan yet); carries nothing; nothing done yet." in text


def test_cherry_totals_are_left_out_when_the_replay_disagrees(initial):
    short = _cherry_run(initial)
    short["holders"]["holder_4"] = 3  # the holder gave fewer than the history implies
    assert cherry_tally(short) is None
    assert "in all" not in summarize(short)


def test_robot_stopped_on_the_way_says_where_it_was_going(initial):
    state = _state(initial, location=None, active=None, tree_status="CANCELLED",
                   x_mm=1800, y_mm=463, history=["PickCake yellow 1: SUCCESS",
                                                 "PlaceCakes 5: CANCELLED"])
    assert "Robot 1: between places, stopped on the way to plate 5, idle" in summarize(state)
    done = dict(state["robots"]["robot1"], history=["PickCake yellow 1: SUCCESS"])
    assert where(done) == "between places (x 1800 mm, y 463 mm)"
