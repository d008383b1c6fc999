"""The hand-made question set in ``test/eval/handmade/`` is well-formed, its states are real
simulator states that follow the contract and add up, ``make_states.py`` rebuilds them
exactly, its facts agree with the states, and it is spread as ``handmade/QUESTIONS.md`` says.

No model is loaded: this checks the set, not the question answering.
"""
from __future__ import annotations

import importlib.util
import json
import re
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from llm_mars import vocabulary as V
from llm_mars.evaluation.expectations import (
    QuestionCase,
    check_answer,
    load_question_cases,
)
from llm_mars.world.field import HOME_SLOTS, PLACE_XY

EVAL_DIR = Path(__file__).parent
SET_DIR = EVAL_DIR / "handmade"
QUESTIONS_FILE = SET_DIR / "questions.jsonl"
FOLLOWUPS_FILE = SET_DIR / "followups.jsonl"
CHECKS_FILE = SET_DIR / "answer_checks.jsonl"
STATE_FILES = sorted((SET_DIR / "states").glob("hs*.json"))

CANT_TELL = {"any_of": ["can't tell", "cannot tell", "don't know", "do not know",
                        "not able to tell", "no way to tell"]}


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The development set's own state checks (the contract of DESIGN.md section 3 and the
# consistency of a state: score, stacks, cherries, picks), used here as they are.
_devset = _load("_devset_state_checks", EVAL_DIR / "test_devset.py")
contract_problems = _devset.contract_problems
consistency_problems = _devset.consistency_problems

QUESTIONS = load_question_cases(QUESTIONS_FILE)
FOLLOWUP_ROWS = [json.loads(line) for line in
                 FOLLOWUPS_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
CHECKS = {row["id"]: row for row in (json.loads(line) for line in
          CHECKS_FILE.read_text(encoding="utf-8").splitlines() if line.strip())}
STATES = {f"states/{p.name}": json.loads(p.read_text(encoding="utf-8")) for p in STATE_FILES}


FOLLOWUPS = load_question_cases(FOLLOWUPS_FILE)
ALL_CASES = QUESTIONS + FOLLOWUPS


# --- states ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(STATES))
def test_states_follow_the_contract_and_add_up(name):
    state = STATES[name]
    assert contract_problems(state) == []
    assert consistency_problems(state) == []


@pytest.mark.parametrize("name", sorted(STATES))
def test_a_robot_at_a_place_stands_where_the_field_puts_it(name):
    for robot in STATES[name]["robots"].values():
        if robot["location"] is None:
            continue
        spots = HOME_SLOTS if robot["location"] == V.HOME else [PLACE_XY[robot["location"]]]
        assert (robot["x_mm"], robot["y_mm"]) in [(round(x), round(y)) for x, y in spots]


def test_make_states_rebuilds_the_committed_states_exactly():
    make_states = _load("_handmade_make_states", SET_DIR / "make_states.py")
    built = make_states.build_states()
    assert sorted(built) == [p.name for p in STATE_FILES]
    for name, text in built.items():
        assert (SET_DIR / "states" / name).read_text(encoding="utf-8") == text, name


def test_the_states_show_the_moments_asked_for():
    """Between places while running, failures with each reason, a cancel, a signal wait,
    the end of the match, cherries on cakes, legendary cakes, a part-full basket."""
    robots = [r for s in STATES.values() for r in s["robots"].values()]
    history = [entry for r in robots for entry in r["history"]]
    for reason in ("stack already taken", "robot full", "no cake on plate", "holder empty",
                   "match over", "cherry already on top", "nothing to place"):
        assert any(entry.endswith(f"({reason})") for entry in history), reason
    assert any(entry.endswith(": CANCELLED") for entry in history)
    assert any(r["tree_status"] == "CANCELLED" for r in robots)
    assert any(r["location"] is None and r["tree_status"] == "RUNNING" and r["active"]
               for r in robots)
    assert any((r["active"] or "").startswith("WaitForSignal") for r in robots)
    assert any(r["carrying"]["stacks"] for r in robots)
    assert any(r["carrying"]["cherries"] for r in robots)
    assert any(s["time_s"] == 0 for s in STATES.values())
    assert any(s["time_s"] == V.MATCH_DURATION_S for s in STATES.values())
    cakes = [c for s in STATES.values() for p in s["plates"].values() for c in p]
    assert any(c["cherry"] for c in cakes)
    assert any(tuple(c["layers"]) == V.COLORS for c in cakes)
    assert any(0 < s["basket"] < 20 for s in STATES.values())


# --- the question file ----------------------------------------------------------------------


def test_ids_run_in_order_and_every_state_is_asked_about():
    assert [q.id for q in QUESTIONS] == [f"hq{i:03d}" for i in range(1, len(QUESTIONS) + 1)]
    assert {q.state_ref for q in ALL_CASES} == set(STATES)
    assert len({(q.state_ref, q.question) for q in QUESTIONS}) == len(QUESTIONS)


def test_followups_have_earlier_questions_and_the_loader_format():
    assert [r["id"] for r in FOLLOWUP_ROWS] == [f"hf{i:03d}"
                                                for i in range(1, len(FOLLOWUP_ROWS) + 1)]
    assert [c.before for c in FOLLOWUPS] == [tuple(r["before"]) for r in FOLLOWUP_ROWS]
    for row in FOLLOWUP_ROWS:
        before = row.get("before")
        assert isinstance(before, list) and before, row["id"]
        assert all(isinstance(q, str) and q.strip() for q in before), row["id"]
        assert set(row) <= {"id", "state", "before", "question", "answer_facts", "tags"}
        assert set(row["state"]) == {"ref"}, "a session's questions share one state file"
        assert "followup" in row["tags"]


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda q: q.id)
def test_number_facts_match_the_state(case: QuestionCase):
    """Times, score figures and basket counts are the state's own numbers."""
    state = case.state
    for fact in case.answer_facts:
        if "number" not in fact:
            continue
        if "time-left" in case.tags:
            assert fact["number"] == pytest.approx(V.MATCH_DURATION_S - state["time_s"])
        if "time-elapsed" in case.tags:
            assert fact["number"] == pytest.approx(state["time_s"])
        if "score" in case.tags:
            assert fact["number"] in state["score"].values()
        if "basket-count" in case.tags:
            assert fact["number"] == state["basket"]


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda q: q.id)
def test_place_names_in_facts_exist(case: QuestionCase):
    for fact in case.answer_facts:
        for phrase in fact.get("any_of", []) + fact.get("none_of", []):
            for kind, number in re.findall(r"\b(plate|tray|quadrant|holder|dispenser)s? (\d+)",
                                           phrase):
                limit = {"plate": V.N_PLATES, "tray": V.N_PLATES,
                         "quadrant": V.N_QUADRANTS}.get(kind, V.N_HOLDERS)
                assert 1 <= int(number) <= limit, (case.id, phrase)


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda q: q.id)
def test_answers_checked_by_hand_pass_and_wrong_ones_fail(case: QuestionCase):
    """Every case comes with correct short answers (all pass) and wrong ones (all fail)."""
    check = CHECKS[case.id]
    assert check["good"] and check["bad"]
    for answer in check["good"]:
        assert check_answer(answer, case.answer_facts) == [], (answer, case.answer_facts)
    for answer in check["bad"]:
        assert check_answer(answer, case.answer_facts), (answer, case.answer_facts)


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda q: q.id)
def test_a_non_answer_fails_unless_the_state_cannot_tell(case: QuestionCase):
    unanswerable = "unanswerable" in case.tags
    assert (CANT_TELL in case.answer_facts) == unanswerable
    assert bool(check_answer("I don't know.", case.answer_facts)) != unanswerable


@pytest.mark.parametrize("case", [q for q in ALL_CASES if "yes-no" in q.tags], ids=lambda q: q.id)
def test_yes_no_questions_rule_out_the_wrong_verdict(case: QuestionCase):
    assert any("none_of" in fact for fact in case.answer_facts)
    assert any("any_of" in fact or "number" in fact for fact in case.answer_facts)


# --- spread ---------------------------------------------------------------------------------


def test_the_set_is_big_enough_and_spread():
    assert len(QUESTIONS) >= 150
    assert len(STATES) >= 14
    assert len(CHECKS) == len(ALL_CASES)
    tags = Counter(t for q in QUESTIONS for t in q.tags)
    assert 12 <= tags["unanswerable"] <= 20
    assert len(FOLLOWUPS) >= 12
    for tag in ("where", "doing", "carry", "history", "failure", "why", "yes-no", "holders",
                "quadrants", "plates", "legendary", "cherry-on-cake", "basket", "score",
                "score-part", "time-left", "time-elapsed", "signal", "waiting", "compare",
                "both-robots", "cancelled", "mid-task"):
        assert tags[tag] >= 3, tag
    for tag in ("speech", "number-words", "short-name", "ordinal", "typo", "filler", "synonym",
                "polite"):
        assert tags[tag] >= 2, tag
    per_state = Counter(q.state_ref for q in QUESTIONS)
    assert min(per_state.values()) >= 5
