"""The hand-made question sets (``test/eval/handmade/`` and ``test/eval/handmade2/``) are
well-formed, their states are real simulator states that follow the contract and add up, each
set's ``make_states.py`` rebuilds them exactly, their facts agree with the states, and each is
spread as its ``QUESTIONS.md`` says.

Every check runs on both sets; the first set also has follow-ups (``followups.jsonl``), which
the second has not, so only the follow-up checks are skipped for it.

No model is loaded: this checks the sets, not the question answering.
"""
from __future__ import annotations

import importlib.util
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from llm_mars import vocabulary as V
from llm_mars.evaluation.expectations import (
    QuestionCase,
    check_answer,
    load_question_cases,
)
from llm_mars.world.field import HOME_SLOTS, PLACE_XY

EVAL_DIR = Path(__file__).parent

CANT_TELL = {"any_of": ["can't tell", "cannot tell", "don't know", "do not know",
                        "not able to tell", "no way to tell"]}

State = Mapping[str, Any]


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


def _robots(states: Mapping[str, State]) -> list[Mapping[str, Any]]:
    return [r for s in states.values() for r in s["robots"].values()]


def _history(states: Mapping[str, State]) -> list[str]:
    return [entry for r in _robots(states) for entry in r["history"]]


def _cakes(states: Mapping[str, State]) -> list[Mapping[str, Any]]:
    return [c for s in states.values() for p in s["plates"].values() for c in p]


def _failed_with(states: Mapping[str, State], reason: str) -> bool:
    return any(entry.endswith(f"({reason})") for entry in _history(states))


def first_set_moments(states: Mapping[str, State]) -> dict[str, bool]:
    """Between places while running, failures with each reason, a cancel, a signal wait,
    the end of the match, cherries on cakes, legendary cakes, a part-full basket."""
    robots = _robots(states)
    moments = {reason: _failed_with(states, reason)
               for reason in ("stack already taken", "robot full", "no cake on plate",
                              "holder empty", "match over", "cherry already on top",
                              "nothing to place")}
    cakes = _cakes(states)
    moments.update({
        "a cancelled skill": any(e.endswith(": CANCELLED") for e in _history(states)),
        "a cancelled tree": any(r["tree_status"] == "CANCELLED" for r in robots),
        "between places, running": any(r["location"] is None and r["tree_status"] == "RUNNING"
                                       and r["active"] for r in robots),
        "waiting for a signal": any((r["active"] or "").startswith("WaitForSignal")
                                    for r in robots),
        "carrying stacks": any(r["carrying"]["stacks"] for r in robots),
        "carrying cherries": any(r["carrying"]["cherries"] for r in robots),
        "the start": any(s["time_s"] == 0 for s in states.values()),
        "the end": any(s["time_s"] == V.MATCH_DURATION_S for s in states.values()),
        "a cherry on a cake": any(c["cherry"] for c in cakes),
        "a legendary cake": any(tuple(c["layers"]) == V.COLORS for c in cakes),
        "a part-full basket": any(0 < s["basket"] < 20 for s in states.values()),
    })
    return moments


def second_set_moments(states: Mapping[str, State]) -> dict[str, bool]:
    """A fallback's second branch under way, a retry under way, both robots waiting, a
    time-limit guard that cancelled a skill, a sorted placement in progress, a robot giving
    way, the last seconds of a match with trees still running, failures with their reasons."""
    robots = _robots(states)
    moments = {reason: _failed_with(states, reason)
               for reason in ("stack already taken", "no cake on plate",
                              "no such stack colour left", "no cherries carried")}
    cakes = _cakes(states)

    def both(state: State, test: Callable[[Mapping[str, Any]], bool]) -> bool:
        return all(test(r) for r in state["robots"].values())

    def waiting(r: Mapping[str, Any]) -> bool:
        return (r["active"] or "").startswith(("Wait ", "WaitForSignal")) or bool(r["waiting_for"])

    moments.update({
        "a fallback's second branch": any(
            r["active"] and r["history"] and r["history"][-1].endswith("(stack already taken)")
            and r["tree_status"] == "RUNNING" for r in robots),
        "a retry after a failure": any(
            r["tree_status"] == "RUNNING" and r["location"] is None and r["history"]
            and "FAILURE" in r["history"][-1] for r in robots),
        "both robots waiting": any(both(s, waiting) for s in states.values()),
        "a cancelled skill, tree failed": any(
            r["tree_status"] == "FAILURE" and r["history"][-1].endswith(": CANCELLED")
            for r in robots),
        "placing while carrying": any(
            (r["active"] or "").startswith("PlaceCakes") and r["carrying"]["stacks"]
            and r["location"] and r["location"].startswith("plate") for r in robots),
        "giving way": any(r["giving_way_to"] for r in robots),
        "waiting for the other robot": any(r["waiting_for"] for r in robots),
        "waiting for a signal": any((r["active"] or "").startswith("WaitForSignal")
                                    for r in robots),
        "last seconds, still running": any(
            s["time_s"] >= 90 and any(r["tree_status"] == "RUNNING"
                                      for r in s["robots"].values()) for s in states.values()),
        "carrying stacks": any(r["carrying"]["stacks"] for r in robots),
        "carrying cherries": any(r["carrying"]["cherries"] for r in robots),
        "a cherry on a cake": any(c["cherry"] for c in cakes),
        "a cake without a cherry": any(not c["cherry"] for c in cakes),
        "a legendary cake": any(tuple(c["layers"]) == V.COLORS for c in cakes),
        "a part-full basket": any(0 < s["basket"] < 20 for s in states.values()),
        "cherries spread over holders": any(
            len({n for n in s["holders"].values()}) >= 3 for s in states.values()),
    })
    return moments


@dataclass(frozen=True)
class QuestionSet:
    """One hand-made question set: its folder, id prefixes, size and the spread its
    ``QUESTIONS.md`` promises."""

    name: str
    prefix: str  # question ids: prefix + 001, 002, ...
    state_prefix: str  # state files: states/<state_prefix>NN.json
    followup_prefix: str | None  # follow-up ids (None: the set has no followups.jsonl)
    min_questions: int
    min_states: int
    unanswerable: tuple[int, int]
    min_followups: int
    topic_tags: tuple[str, ...]  # each in at least 3 questions
    phrasing_tags: tuple[str, ...]  # each in at least 2 questions
    min_per_state: int
    moments: Callable[[Mapping[str, State]], dict[str, bool]]

    @property
    def folder(self) -> Path:
        return EVAL_DIR / self.name

    @cached_property
    def questions(self) -> list[QuestionCase]:
        return load_question_cases(self.folder / "questions.jsonl")

    @cached_property
    def followup_rows(self) -> list[dict[str, Any]]:
        if self.followup_prefix is None:
            return []
        path = self.folder / "followups.jsonl"
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()]

    @cached_property
    def followups(self) -> list[QuestionCase]:
        if self.followup_prefix is None:
            return []
        return load_question_cases(self.folder / "followups.jsonl")

    @property
    def all_cases(self) -> list[QuestionCase]:
        return self.questions + self.followups

    @cached_property
    def checks(self) -> dict[str, dict[str, Any]]:
        path = self.folder / "answer_checks.jsonl"
        return {row["id"]: row for row in (json.loads(line) for line in
                path.read_text(encoding="utf-8").splitlines() if line.strip())}

    @property
    def state_files(self) -> list[Path]:
        return sorted((self.folder / "states").glob(f"{self.state_prefix}*.json"))

    @cached_property
    def states(self) -> dict[str, State]:
        return {f"states/{p.name}": json.loads(p.read_text(encoding="utf-8"))
                for p in self.state_files}


_COMMON_TOPICS = ("where", "doing", "carry", "history", "failure", "why", "yes-no", "holders",
                  "quadrants", "plates", "legendary", "cherry-on-cake", "basket", "score",
                  "score-part", "time-left", "time-elapsed", "signal", "waiting", "compare",
                  "both-robots")
_PHRASING = ("speech", "number-words", "short-name", "ordinal", "typo", "filler", "synonym",
             "polite")

SETS = (
    QuestionSet("handmade", "hq", "hs", "hf", min_questions=150, min_states=14,
                unanswerable=(12, 20), min_followups=12,
                topic_tags=_COMMON_TOPICS + ("cancelled", "mid-task"), phrasing_tags=_PHRASING,
                min_per_state=5, moments=first_set_moments),
    QuestionSet("handmade2", "kq", "ks", None, min_questions=100, min_states=10,
                unanswerable=(10, 14), min_followups=0,
                topic_tags=_COMMON_TOPICS + ("mid-task", "future", "not-in-state"),
                phrasing_tags=_PHRASING, min_per_state=8, moments=second_set_moments),
)
FOLLOWUP_SETS = [s for s in SETS if s.followup_prefix is not None]


def _set_id(qset: QuestionSet) -> str:
    return qset.name


STATE_PARAMS = [pytest.param(qset, name, id=f"{qset.name}-{Path(name).stem}")
                for qset in SETS for name in sorted(qset.states)]
CASE_PARAMS = [pytest.param(qset, case, id=f"{qset.name}-{case.id}")
               for qset in SETS for case in qset.all_cases]
YES_NO_PARAMS = [pytest.param(qset, case, id=f"{qset.name}-{case.id}")
                 for qset in SETS for case in qset.all_cases if "yes-no" in case.tags]


# --- states ---------------------------------------------------------------------------------


@pytest.mark.parametrize("qset, name", STATE_PARAMS)
def test_states_follow_the_contract_and_add_up(qset: QuestionSet, name: str):
    state = qset.states[name]
    assert contract_problems(state) == []
    assert consistency_problems(state) == []


@pytest.mark.parametrize("qset, name", STATE_PARAMS)
def test_a_robot_at_a_place_stands_where_the_field_puts_it(qset: QuestionSet, name: str):
    for robot in qset.states[name]["robots"].values():
        if robot["location"] is None:
            continue
        spots = HOME_SLOTS if robot["location"] == V.HOME else [PLACE_XY[robot["location"]]]
        assert (robot["x_mm"], robot["y_mm"]) in [(round(x), round(y)) for x, y in spots]


@pytest.mark.parametrize("qset", SETS, ids=_set_id)
def test_make_states_rebuilds_the_committed_states_exactly(qset: QuestionSet):
    make_states = _load(f"_{qset.name}_make_states", qset.folder / "make_states.py")
    built = make_states.build_states()
    assert sorted(built) == [p.name for p in qset.state_files]
    for name, text in built.items():
        assert (qset.folder / "states" / name).read_text(encoding="utf-8") == text, name


@pytest.mark.parametrize("qset", SETS, ids=_set_id)
def test_the_states_show_the_moments_asked_for(qset: QuestionSet):
    missing = [moment for moment, shown in qset.moments(qset.states).items() if not shown]
    assert missing == []


def test_the_second_set_asks_about_other_moments_than_the_first():
    """No state of the second set repeats a state of the first."""
    first, second = SETS
    seen = {json.dumps(s, sort_keys=True) for s in first.states.values()}
    assert not [n for n, s in second.states.items() if json.dumps(s, sort_keys=True) in seen]


# --- the question files ---------------------------------------------------------------------


@pytest.mark.parametrize("qset", SETS, ids=_set_id)
def test_ids_run_in_order_and_every_state_is_asked_about(qset: QuestionSet):
    questions = qset.questions
    assert [q.id for q in questions] == [f"{qset.prefix}{i:03d}"
                                         for i in range(1, len(questions) + 1)]
    assert {q.state_ref for q in qset.all_cases} == set(qset.states)
    assert len({(q.state_ref, q.question) for q in questions}) == len(questions)


@pytest.mark.parametrize("qset", FOLLOWUP_SETS, ids=_set_id)
def test_followups_have_earlier_questions_and_the_loader_format(qset: QuestionSet):
    rows = qset.followup_rows
    assert [r["id"] for r in rows] == [f"{qset.followup_prefix}{i:03d}"
                                       for i in range(1, len(rows) + 1)]
    assert [c.before for c in qset.followups] == [tuple(r["before"]) for r in rows]
    for row in rows:
        before = row.get("before")
        assert isinstance(before, list) and before, row["id"]
        assert all(isinstance(q, str) and q.strip() for q in before), row["id"]
        assert set(row) <= {"id", "state", "before", "question", "answer_facts", "tags"}
        assert set(row["state"]) == {"ref"}, "a session's questions share one state file"
        assert "followup" in row["tags"]


@pytest.mark.parametrize("qset", [s for s in SETS if s.followup_prefix is None], ids=_set_id)
def test_a_set_without_followups_has_no_followup_cases(qset: QuestionSet):
    assert not (qset.folder / "followups.jsonl").exists()
    assert not [q.id for q in qset.questions if q.before or "followup" in q.tags]


@pytest.mark.parametrize("qset, case", CASE_PARAMS)
def test_number_facts_match_the_state(qset: QuestionSet, case: QuestionCase):
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


@pytest.mark.parametrize("qset, case", CASE_PARAMS)
def test_place_names_in_facts_exist(qset: QuestionSet, case: QuestionCase):
    for fact in case.answer_facts:
        for phrase in fact.get("any_of", []) + fact.get("none_of", []):
            for kind, number in re.findall(r"\b(plate|tray|quadrant|holder|dispenser)s? (\d+)",
                                           phrase):
                limit = {"plate": V.N_PLATES, "tray": V.N_PLATES,
                         "quadrant": V.N_QUADRANTS}.get(kind, V.N_HOLDERS)
                assert 1 <= int(number) <= limit, (case.id, phrase)


@pytest.mark.parametrize("qset, case", CASE_PARAMS)
def test_answers_checked_by_hand_pass_and_wrong_ones_fail(qset: QuestionSet, case: QuestionCase):
    """Every case comes with correct short answers (all pass) and wrong ones (all fail)."""
    check = qset.checks[case.id]
    assert check["good"] and check["bad"]
    for answer in check["good"]:
        assert check_answer(answer, case.answer_facts) == [], (answer, case.answer_facts)
    for answer in check["bad"]:
        assert check_answer(answer, case.answer_facts), (answer, case.answer_facts)


@pytest.mark.parametrize("qset, case", CASE_PARAMS)
def test_a_non_answer_fails_unless_the_state_cannot_tell(qset: QuestionSet, case: QuestionCase):
    unanswerable = "unanswerable" in case.tags
    assert (CANT_TELL in case.answer_facts) == unanswerable
    assert bool(check_answer("I don't know.", case.answer_facts)) != unanswerable


@pytest.mark.parametrize("qset, case", YES_NO_PARAMS)
def test_yes_no_questions_rule_out_the_wrong_verdict(qset: QuestionSet, case: QuestionCase):
    assert any("none_of" in fact for fact in case.answer_facts)
    assert any("any_of" in fact or "number" in fact for fact in case.answer_facts)


# --- spread ---------------------------------------------------------------------------------


@pytest.mark.parametrize("qset", SETS, ids=_set_id)
def test_the_set_is_big_enough_and_spread(qset: QuestionSet):
    questions = qset.questions
    assert len(questions) >= qset.min_questions
    assert len(qset.states) >= qset.min_states
    assert len(qset.checks) == len(qset.all_cases)
    tags = Counter(t for q in questions for t in q.tags)
    low, high = qset.unanswerable
    assert low <= tags["unanswerable"] <= high
    assert len(qset.followups) >= qset.min_followups
    for tag in qset.topic_tags:
        assert tags[tag] >= 3, tag
    for tag in qset.phrasing_tags:
        assert tags[tag] >= 2, tag
    per_state = Counter(q.state_ref for q in questions)
    assert min(per_state.values()) >= qset.min_per_state
