"""The expectation evaluator and the answer checker, on hand-made states and answers."""
from __future__ import annotations

import copy
import json

import pytest

from llm_mars.errors import ExpectationError
from llm_mars.evaluation.expectations import (
    CommandCase,
    QuestionCase,
    check_answer,
    evaluate,
    evaluate_case,
    load_command_cases,
    load_question_cases,
    lookup,
    normalize_text,
    numbers_in,
)

LEGENDARY = ["brown", "yellow", "pink"]

STATE = {
    "time_s": 41.0,
    "robots": {
        "robot1": {
            "location": "plate_3", "x_mm": 2550, "y_mm": 1400,
            "carrying": {"stacks": ["pink"], "cherries": 0},
            "tree_status": "SUCCESS", "active": None, "funny_action": False,
            "history": ["PickCake brown 2: SUCCESS", "PlaceCakes 3: SUCCESS",
                        "PickCake pink 1: SUCCESS"],
        },
        "robot2": {
            "location": None, "x_mm": 900, "y_mm": 1300,
            "carrying": {"stacks": [], "cherries": 7},
            "tree_status": "RUNNING", "active": "DropCherries", "funny_action": True,
            "history": ["CollectCherries 1 7: SUCCESS"],
        },
    },
    "quadrants": {
        "quadrant_1": {"brown": 1, "yellow": 1, "pink": 0},
        "quadrant_2": {"brown": 0, "yellow": 1, "pink": 1},
    },
    "holders": {"holder_1": 3, "holder_2": 10},
    "plates": {
        "plate_1": [],
        "plate_3": [
            {"layers": ["brown", "brown", "brown"], "cherry": False},
            {"layers": LEGENDARY, "cherry": True},
            {"layers": LEGENDARY, "cherry": False},
        ],
    },
    "basket": 0,
    "score": {"cakes": 20, "basket": 0, "end_zone": 0, "funny": 5, "total": 25},
}


def failures_of(predicate, state=STATE):
    return evaluate([predicate], state)


# Each operator (and helper), once on a predicate that holds and once on one that does not.
HOLDS_AND_FAILS = [
    ({"path": "robots.robot1.location", "eq": "plate_3"},
     {"path": "robots.robot1.location", "eq": "home"}),
    ({"path": "robots.robot2.location", "eq": None},
     {"path": "robots.robot1.location", "eq": None}),
    ({"path": "robots.robot2.funny_action", "eq": True},
     {"path": "robots.robot1.funny_action", "eq": True}),
    ({"path": "robots.robot1.carrying", "eq": {"stacks": ["pink"], "cherries": 0}},
     {"path": "robots.robot1.carrying", "eq": {"stacks": ["pink"]}}),
    ({"path": "robots.robot2.carrying.stacks", "eq": []},
     {"path": "robots.robot1.carrying.stacks", "eq": []}),
    ({"path": "time_s", "eq": 41},  # 41.0 == 41 in JSON
     {"path": "time_s", "eq": "41"}),
    ({"path": "basket", "ne": 5}, {"path": "basket", "ne": 0}),
    ({"path": "time_s", "lt": 50}, {"path": "time_s", "lt": 41}),
    ({"path": "time_s", "le": 41}, {"path": "time_s", "le": 40.9}),
    ({"path": "holders.holder_1", "gt": 2}, {"path": "holders.holder_1", "gt": 3}),
    ({"path": "holders.holder_1", "ge": 3}, {"path": "holders.holder_1", "ge": 4}),
    ({"path": "plates.plate_3", "len": 3}, {"path": "plates.plate_1", "len": 1}),
    ({"path": "robots.robot1.history", "contains": "PlaceCakes 3: SUCCESS"},
     {"path": "robots.robot1.history", "contains": "PlaceCakes 3"}),  # list: whole entries
    ({"path": "robots.robot2.active", "contains": "Drop"},  # string: substring
     {"path": "robots.robot2.active", "contains": "Collect"}),
    ({"path": "quadrants", "contains": "quadrant_2"},  # object: key
     {"path": "quadrants", "contains": "quadrant_4"}),
    ({"path": "robots.robot1.location", "in": ["plate_3", "plate_4"]},
     {"path": "robots.robot1.location", "in": ["home"]}),
    ({"path": "replies", "exists": False}, {"path": "robots.robot1", "exists": False}),
    ({"path": "robots.robot1.history.0", "eq": "PickCake brown 2: SUCCESS"},
     {"path": "robots.robot1.history.1", "eq": "PickCake brown 2: SUCCESS"}),
    ({"path": "robots.robot1.history.-1", "eq": "PickCake pink 1: SUCCESS"},
     {"path": "robots.robot1.history.-1", "eq": "PlaceCakes 3: SUCCESS"}),
    ({"path": "plates.plate_3.1.cherry", "eq": True},
     {"path": "plates.plate_3.0.cherry", "eq": True}),
    ({"path": "robots.robot1.history", "of": "count", "ge": 3},
     {"path": "robots.robot2.history", "of": "count", "ge": 2}),
    ({"path": "holders", "of": "sum", "eq": 13}, {"path": "holders", "of": "sum", "eq": 20}),
    ({"path": "quadrants.quadrant_2", "of": "sum", "eq": 2},
     {"path": "quadrants.quadrant_1", "of": "sum", "eq": 3}),
    ({"path": "plates.plate_3", "of": "layers", "eq": 9},
     {"path": "plates.plate_3", "of": "layers", "eq": 3}),
    ({"path": "plates", "of": "layers", "eq": 9},  # over all plates
     {"path": "plates", "of": "layers", "gt": 9}),
    ({"path": "plates.plate_3", "of": "legendary", "eq": 2},
     {"path": "plates.plate_3", "of": "legendary", "eq": 3}),
    ({"path": "plates.plate_3", "of": "cherry_cakes", "eq": 1},
     {"path": "plates", "of": "cherry_cakes", "eq": 0}),
    ({"all": [{"path": "basket", "eq": 0}, {"path": "robots.robot2.carrying.cherries", "eq": 7}]},
     {"all": [{"path": "basket", "eq": 0}, {"path": "robots.robot2.carrying.cherries", "eq": 0}]}),
    ({"any": [{"path": "basket", "eq": 7}, {"path": "robots.robot2.carrying.cherries", "eq": 7}]},
     {"any": [{"path": "basket", "eq": 7}, {"path": "robots.robot2.carrying.cherries", "eq": 0}]}),
    ({"not": {"path": "robots.robot1.history", "contains": "PickCake pink 1: FAILURE"}},
     {"not": {"path": "robots.robot1.history", "contains": "PickCake pink 1: SUCCESS"}}),
]


@pytest.mark.parametrize("holds, fails", HOLDS_AND_FAILS)
def test_each_operator_holds_and_fails(holds, fails):
    assert failures_of(holds) == []
    failures = failures_of(fails)
    assert len(failures) == 1
    assert failures[0].where.startswith("expect[0]")
    assert failures[0].reason


def test_bool_and_number_are_not_confused():
    state = {"flag": True, "one": 1}
    assert failures_of({"path": "flag", "eq": 1}, state)
    assert failures_of({"path": "one", "eq": True}, state)
    assert failures_of({"path": "flag", "ge": 1}, state)  # a bool is not a number


def test_failure_reasons_name_the_path_and_the_actual_value():
    [failure] = failures_of({"path": "robots.robot1.location", "eq": "home"})
    assert "robots.robot1.location" in failure.reason and '"plate_3"' in failure.reason
    [failure] = failures_of({"path": "plates.plate_3", "len": 1})
    assert "3 items" in failure.reason


@pytest.mark.parametrize("path", [
    "robots.robot3.location",  # no such key
    "plates.plate_3.7.cherry",  # index out of range
    "plates.plate_3.first",  # not an index
    "basket.count",  # into a number
    "robots.robot1.location.x",  # into a string
])
def test_a_missing_path_is_a_failure_not_an_exception(path):
    [failure] = failures_of({"path": path, "eq": 1})
    assert "missing" in failure.reason
    assert failures_of({"path": path, "exists": True})
    assert failures_of({"path": path, "exists": False}) == []
    # "not" of a predicate on a missing path holds: it is not the case that it holds
    assert failures_of({"not": {"path": path, "eq": 1}}) == []


def test_a_helper_that_does_not_apply_is_a_failure():
    [failure] = failures_of({"path": "robots.robot1.location", "of": "legendary", "eq": 0})
    assert "does not apply" in failure.reason
    assert failures_of({"path": "quadrants", "of": "sum", "eq": 0})  # values are objects
    assert failures_of({"path": "basket", "len": 0})  # a number has no length


def test_wrong_types_in_the_state_are_failures():
    assert failures_of({"path": "robots.robot1.location", "gt": 1})
    assert failures_of({"path": "basket", "contains": 0})
    assert failures_of({"path": "quadrants", "contains": ["quadrant_1"]})  # keys are strings


def test_all_reports_each_failing_member_and_any_reports_every_reason():
    failures = failures_of({"all": [
        {"path": "basket", "eq": 1},
        {"path": "basket", "eq": 0},
        {"path": "time_s", "gt": 99},
    ]})
    assert [f.where for f in failures] == ["expect[0].all[0]", "expect[0].all[2]"]
    [failure] = failures_of({"any": [{"path": "basket", "eq": 1}, {"path": "nothing", "eq": 1}]})
    assert failure.where == "expect[0]"
    assert "basket" in failure.reason and "nothing" in failure.reason


def test_evaluate_returns_only_the_failing_predicates_in_order():
    predicates = [
        {"path": "basket", "eq": 0},
        {"path": "basket", "eq": 3},
        {"path": "robots.robot2.location", "eq": "basket"},
    ]
    assert [f.where for f in evaluate(predicates, STATE)] == ["expect[1]", "expect[2]"]
    assert evaluate([], STATE) == []


def test_evaluate_does_not_change_the_state():
    before = copy.deepcopy(STATE)
    evaluate([p for pair in HOLDS_AND_FAILS for p in pair], STATE)
    assert STATE == before


@pytest.mark.parametrize("predicate", [
    "basket == 0",
    {"path": "basket"},  # no operator
    {"path": "basket", "eq": 0, "ne": 1},  # two operators
    {"path": "", "eq": 0},
    {"path": "robots..robot1", "eq": 0},
    {"path": 3, "eq": 0},
    {"path": "basket", "equals": 0},
    {"path": "basket", "gt": "5"},
    {"path": "basket", "ge": True},
    {"path": "basket", "lt": float("nan")},
    {"path": "plates.plate_1", "len": -1},
    {"path": "plates.plate_1", "len": 1.5},
    {"path": "basket", "in": 0},
    {"path": "basket", "exists": "yes"},
    {"path": "plates.plate_1", "of": "volume", "eq": 0},
    {"path": "plates.plate_1", "of": "layers", "len": 0},
    {"all": []},
    {"any": {"path": "basket", "eq": 0}},
    {"not": [{"path": "basket", "eq": 0}]},
    {"all": [{"path": "basket", "eq": 0}], "path": "basket"},
    {"all": [{"path": "basket", "eq": 0}, {"path": "basket", "eek": 0}]},
])
def test_a_malformed_predicate_raises_expectation_error(predicate):
    with pytest.raises(ExpectationError) as caught:
        evaluate([{"path": "basket", "eq": 0}, predicate], STATE)
    assert caught.value.where.startswith("expect[1]")


def test_malformed_nested_predicate_is_located():
    with pytest.raises(ExpectationError) as caught:
        evaluate([{"any": [{"path": "basket", "eq": 0}, {"not": {"path": "basket"}}]}], STATE)
    assert caught.value.where == "expect[0].any[1].not"


def test_lookup_reports_found_values_and_why_a_path_is_missing():
    assert lookup(STATE, "robots.robot2.carrying.cherries") == (True, 7)
    found, why = lookup(STATE, "robots.robot2.carrying.cake")
    assert not found and "robots.robot2.carrying" in why and "'cake'" in why


# --- cases ----------------------------------------------------------------------------------


def plan_case(**overrides):
    data = {"id": "c1", "commands": ["robot 1 go to plate 3"], "tasks": 1, "kind": "plan",
            "expect": [{"path": "robots.robot1.location", "eq": "plate_3"}], "tags": ["move"]}
    data.update(overrides)
    return data


def test_a_plan_case_fails_when_it_got_a_reply():
    case = CommandCase.from_json(plan_case())
    assert evaluate_case(case, STATE) == []
    assert evaluate_case(case, {**STATE, "replies": []}) == []
    [failure] = evaluate_case(case, {**STATE, "replies": ["I cannot do that."]})
    assert failure.where == "kind"


def test_a_reply_case_needs_a_reply_and_its_predicates():
    case = CommandCase.from_json(plan_case(
        kind="reply", commands=["robot 3 go home"],
        expect=[{"path": "robots.robot1.history", "eq": []}]))
    unchanged = copy.deepcopy(STATE)
    unchanged["robots"]["robot1"]["history"] = []
    assert [f.where for f in evaluate_case(case, unchanged)] == ["kind"]
    assert evaluate_case(case, {**unchanged, "replies": ["There is no robot 3."]}) == []
    assert [f.where for f in evaluate_case(case, {**STATE, "replies": ["ok"]})] == ["expect[0]"]


@pytest.mark.parametrize("overrides", [
    {"id": ""},
    {"commands": []},
    {"commands": "robot 1 go home"},
    {"commands": ["  "]},
    {"commands": ["robot 1 go home || robot 2 go home"]},
    {"tasks": 0},
    {"tasks": 5},
    {"tasks": True},
    {"kind": "question"},
    {"kind": "reply", "commands": ["robot 3 go home", "robot 4 go home"]},
    {"expect": []},
    {"expect": [{"path": "basket"}]},
    {"tags": "move"},
    {"extra": 1},
])
def test_a_malformed_command_case_raises(overrides):
    with pytest.raises(ExpectationError):
        CommandCase.from_json(plan_case(**overrides))


def write_lines(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "\n", encoding="utf-8")


def test_load_command_cases_rejects_duplicate_ids_and_bad_json(tmp_path):
    path = tmp_path / "commands.jsonl"
    write_lines(path, [plan_case(id="a"), plan_case(id="b")])
    assert [c.id for c in load_command_cases(path)] == ["a", "b"]
    write_lines(path, [plan_case(id="a"), plan_case(id="a")])
    with pytest.raises(ExpectationError):
        load_command_cases(path)
    path.write_text('{"id": "a",\n', encoding="utf-8")
    with pytest.raises(ExpectationError) as caught:
        load_command_cases(path)
    assert caught.value.where == "commands.jsonl:1"


def test_question_states_are_inline_or_referenced(tmp_path):
    (tmp_path / "states").mkdir()
    (tmp_path / "states" / "s1.json").write_text(json.dumps(STATE), encoding="utf-8")
    facts = [{"any_of": ["plate 3"]}]
    path = tmp_path / "questions.jsonl"
    write_lines(path, [
        {"id": "q1", "state": {"ref": "states/s1.json"}, "question": "where is robot 1?",
         "answer_facts": facts},
        {"id": "q2", "state": STATE, "question": "and robot 2?", "answer_facts": facts},
    ])
    q1, q2 = load_question_cases(path)
    assert q1.state == STATE and q1.state_ref == "states/s1.json"
    assert q2.state == STATE and q2.state_ref is None
    assert q1.before == ()
    write_lines(path, [{"id": "q1", "state": {"ref": "states/none.json"}, "question": "?",
                        "answer_facts": facts}])
    with pytest.raises(ExpectationError):
        load_question_cases(path)


@pytest.mark.parametrize("overrides", [
    {"question": ""},
    {"state": "s1.json"},
    {"answer_facts": []},
    {"answer_facts": [{"any_of": []}]},
    {"answer_facts": [{"any_of": ["plate 3"], "none_of": ["home"]}]},
    {"answer_facts": [{"number": "6"}]},
    {"answer_facts": [{"number": 6, "tolerance": -1}]},
    {"answer_facts": [{"number": 6, "within": 1}]},
    {"answer_facts": [{"any_of": ["..."]}]},  # normalises to nothing
    {"before": "where is robot 2?"},
    {"before": ["where is robot 2?", " "]},
])
def test_a_malformed_question_case_raises(tmp_path, overrides):
    data = {"id": "q1", "state": STATE, "question": "where is robot 1?",
            "answer_facts": [{"any_of": ["plate 3"]}]}
    data.update(overrides)
    with pytest.raises(ExpectationError):
        QuestionCase.from_json(data, tmp_path)


def test_a_follow_up_case_names_the_questions_asked_before_it(tmp_path):
    case = QuestionCase.from_json({"id": "f1", "state": STATE, "question": "and robot 2?",
                                   "before": ["where is robot 1?"],
                                   "answer_facts": [{"any_of": ["home"]}]}, tmp_path)
    assert case.before == ("where is robot 1?",)


# --- answers --------------------------------------------------------------------------------


def test_normalize_text_unifies_names_and_number_words():
    assert normalize_text("Robot1 is at PLATE_3.") == "robot 1 is at plate 3"
    assert normalize_text("robot two, quadrant-four") == "robot 2 quadrant 4"
    assert normalize_text("Twenty-one cherries; 62.5 s left.") == "21 cherries 62.5 s left"
    assert normalize_text("one hundred") == "100"


def test_numbers_in_skips_numbers_that_are_part_of_names():
    assert numbers_in("Robot 2 carries 6 cherries from holder 4.") == [6]
    assert numbers_in("robot two has seven") == [7]
    assert numbers_in("It scored 23 points with 37.5 s gone") == [23, 37.5]
    assert numbers_in("Plate 3 is empty") == []


@pytest.mark.parametrize("answer", [
    "Robot 1 is at plate 3.",
    "robot1 is at plate_3",
    "It is standing at Plate three.",
    "PLATE 3",
])
def test_any_of_matches_names_in_any_spelling(answer):
    assert check_answer(answer, [{"any_of": ["plate_3"]}]) == []


@pytest.mark.parametrize("answer", [
    "Robot 1 is at plate 30.",  # whole words only
    "It is at quadrant 3.",
    "at the plate",
])
def test_any_of_rejects_other_names(answer):
    [failure] = check_answer(answer, [{"any_of": ["plate_3", "plate three"]}])
    assert failure.where == "answer_facts[0]"


def test_none_of_catches_a_wrong_claim():
    facts = [{"any_of": ["no"]}, {"none_of": ["yes", "cake"]}]
    assert check_answer("No, it carries only cherries.", facts) == []
    [failure] = check_answer("No. Well, yes: one cake.", facts)
    assert failure.where == "answer_facts[1]" and "yes" in failure.reason
    assert check_answer("Nothing.", facts)  # "nothing" is not the word "no"


@pytest.mark.parametrize("answer, holds", [
    ("There are 6 cherries in the basket.", True),
    ("six cherries", True),
    ("Six.", True),
    ("Robot 6 ... no: 5 cherries.", False),  # a name number is not a count
    ("It carries 16 cherries.", False),
    ("none", False),
])
def test_number_facts_accept_digits_and_words(answer, holds):
    assert (check_answer(answer, [{"number": 6}]) == []) is holds


def test_number_tolerance():
    facts = [{"number": 62.5, "tolerance": 1}]
    assert check_answer("About 62 seconds are left.", facts) == []
    assert check_answer("sixty three seconds", facts) == []
    assert check_answer("62.5 s", facts) == []
    [failure] = check_answer("About 60 seconds.", facts)
    assert "62.5" in failure.reason and "60" in failure.reason
    assert check_answer("62 seconds", [{"number": 62.5}])  # exact by default


def test_every_fact_is_checked():
    facts = [{"any_of": ["robot 2"]}, {"any_of": ["holder 4"]}, {"number": 6}]
    assert check_answer("Robot 2 is at holder 4 with 6 cherries.", facts) == []
    failures = check_answer("Robot 1 is at holder 4.", facts)
    assert [f.where for f in failures] == ["answer_facts[0]", "answer_facts[2]"]


def test_malformed_facts_raise():
    with pytest.raises(ExpectationError):
        check_answer("yes", [{"contains": "yes"}])
    with pytest.raises(ExpectationError):
        check_answer("yes", [])
