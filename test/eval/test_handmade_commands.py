"""The hand-made command sets (``test/eval/handmade/`` and ``test/eval/handmade2/``, each
``commands.jsonl``) are well-formed, spread as their ``README.md`` says, and every case is
achievable and judged by its outcome.

For every ``plan`` case a hand-written reference plan (``<set>/reference/<id>.xml``, or
``<id>.1.xml``, ``<id>.2.xml``, ... for a session of several commands, one per command) is run
through the match runner, one ``execute`` per command on one field, exactly as
``llm-mars eval plans`` runs a session. Every predicate must hold on the final state. The
untouched initial field must fail at least one predicate (no case passes by doing nothing),
and a few deliberately wrong plans must fail too. ``reply`` cases must hold on the untouched
initial field (nothing happened) once a reply is recorded, and fail without one.

No model is loaded: this checks the set, not the planner.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pytest

from llm_mars.evaluation.expectations import CommandCase, evaluate_case, load_command_cases
from llm_mars.session.match import Match

EVAL_DIR = Path(__file__).parent
MATCH_S = 100.0
SIGNAL_TAGS = ("Signal", "WaitForSignal")
# The spread each set was written to (share of cases by number of tasks).
TASK_SHARES = {1: 0.35, 2: 0.30, 3: 0.20, 4: 0.15}
REPLY_SHARE = (0.12, 0.15)
MIN_PER_TAG = 4


@dataclass(frozen=True)
class CommandSet:
    """One hand-made set: its folder, id prefix, size and the tags its README promises."""

    name: str
    prefix: str
    min_cases: int
    share_tolerance: float
    required_tags: tuple[str, ...]

    @property
    def folder(self) -> Path:
        return EVAL_DIR / self.name

    @property
    def reference_dir(self) -> Path:
        return self.folder / "reference"

    @cached_property
    def cases(self) -> list[CommandCase]:
        return load_command_cases(self.folder / "commands.jsonl")

    @property
    def plan_cases(self) -> list[CommandCase]:
        return [case for case in self.cases if case.kind == "plan"]

    @property
    def reply_cases(self) -> list[CommandCase]:
        return [case for case in self.cases if case.kind == "reply"]

    def references(self, case: CommandCase) -> list[Path]:
        """The reference plans of a plan case, one per command, in session order."""
        if len(case.commands) == 1:
            return [self.reference_dir / f"{case.id}.xml"]
        return [self.reference_dir / f"{case.id}.{i}.xml"
                for i in range(1, len(case.commands) + 1)]


# Phrasings and situations each set promises (its README.md), each in at least MIN_PER_TAG cases.
SETS = (
    CommandSet("handmade", "h", 180, 0.03, (
        "ellipsis", "pronoun", "correction", "handover", "count-across", "rest", "retry",
        "timeout", "wait", "condition", "both-robots", "unaddressed", "ordinal", "short-name",
        "designator-number", "number-words", "typo", "homophone", "filler", "polite", "speech",
        "session", "partly-possible", "no-such-robot", "no-such-place", "no-such-colour",
        "no-such-action", "over-limit")),
    CommandSet("handmade2", "k", 110, 0.04, (
        "ellipsis", "pronoun", "correction", "handover", "count-across", "rest", "retry",
        "timeout", "wait", "condition", "both-robots", "unaddressed", "typo", "speech",
        "session", "partly-possible", "word-order")),
)
BY_ID = {case.id: (s, case) for s in SETS for case in s.cases}


def _each(cases_of) -> list:
    """pytest params of (set, case) for every case ``cases_of(set)`` gives, over all sets."""
    return [pytest.param(s, case, id=f"{s.name}-{case.id}") for s in SETS for case in cases_of(s)]


def _run(plans: list[str]) -> dict:
    match = Match(seed=0)
    for plan in plans:
        match.execute(plan)
    state = match.state_dict()
    state["replies"] = []
    return state


def _initial_state(replies: list[str]) -> dict:
    state = Match(seed=0).state_dict()
    state["replies"] = list(replies)
    return state


# --- the file -----------------------------------------------------------------------------

SET_PARAMS = [pytest.param(s, id=s.name) for s in SETS]


@pytest.mark.parametrize("s", SET_PARAMS)
def test_the_set_is_large_enough_and_numbered(s):
    assert len(s.cases) >= s.min_cases
    assert [case.id for case in s.cases] == [f"{s.prefix}{i:03d}"
                                             for i in range(1, len(s.cases) + 1)]


def test_no_command_is_written_twice_in_any_set():
    texts = Counter(c.lower() for s in SETS for case in s.cases for c in case.commands)
    assert [t for t, n in texts.items() if n > 1] == []


@pytest.mark.parametrize("s", SET_PARAMS)
def test_task_spread(s):
    counts = Counter(case.tasks for case in s.cases)
    for tasks, share in TASK_SHARES.items():
        got = counts[tasks] / len(s.cases)
        assert abs(got - share) <= s.share_tolerance, (tasks, counts[tasks], round(got, 3))


@pytest.mark.parametrize("s", SET_PARAMS)
def test_reply_share(s):
    low, high = REPLY_SHARE
    assert low <= len(s.reply_cases) / len(s.cases) <= high, len(s.reply_cases)


@pytest.mark.parametrize("s", SET_PARAMS)
def test_reply_cases_are_tagged_impossible_and_plans_are_not(s):
    assert all("impossible" in case.tags for case in s.reply_cases)
    assert not any("impossible" in case.tags for case in s.plan_cases)
    assert any("partly-possible" in case.tags for case in s.reply_cases)


@pytest.mark.parametrize("s", SET_PARAMS)
def test_every_promised_phrasing_is_covered(s):
    counts = Counter(tag for case in s.cases for tag in case.tags)
    assert {tag: counts[tag] for tag in s.required_tags if counts[tag] < MIN_PER_TAG} == {}


@pytest.mark.parametrize("s", SET_PARAMS)
def test_speech_style_commands_are_lower_case_without_punctuation(s):
    for case in s.cases:
        if "speech" in case.tags:
            for text in case.commands:
                assert text == text.lower() and not re.search(r"[^\w\s']", text), (case.id, text)


@pytest.mark.parametrize("s", SET_PARAMS)
def test_sessions_are_plans_of_two_to_four_commands(s):
    sessions = [case for case in s.cases if len(case.commands) > 1]
    assert sessions
    assert all(case.kind == "plan" and 2 <= len(case.commands) <= 4 for case in sessions)
    assert all("session" in case.tags for case in sessions)


@pytest.mark.parametrize("s", SET_PARAMS)
def test_every_plan_case_has_its_references_and_nothing_else_is_there(s):
    expected = {path.name for case in s.plan_cases for path in s.references(case)}
    present = {path.name for path in s.reference_dir.glob("*.xml")}
    assert sorted(expected - present) == []
    assert sorted(present - expected) == []


# --- the plan cases in the simulator ------------------------------------------------------

@pytest.mark.parametrize("s, case", _each(lambda s: s.plan_cases))
def test_reference_plan_satisfies_every_predicate(s, case):
    state = _run([path.read_text(encoding="utf-8") for path in s.references(case)])
    failures = evaluate_case(case, state)
    assert failures == [], "\n".join(str(f) for f in failures)
    assert state["time_s"] < MATCH_S and not state["match_over"]
    for robot in state["robots"].values():
        assert robot["tree_status"] in ("IDLE", "SUCCESS"), robot


@pytest.mark.parametrize("s, case", _each(lambda s: s.plan_cases))
def test_doing_nothing_fails_a_plan_case(s, case):
    assert evaluate_case(case, _initial_state([])) != []


@pytest.mark.parametrize("s, case", _each(lambda s: s.reply_cases))
def test_reply_case_holds_on_the_untouched_field(s, case):
    assert evaluate_case(case, _initial_state(["I cannot do that."])) == []
    assert [f.where for f in evaluate_case(case, _initial_state([]))] == ["kind"]


# Plans a careless planner might produce. Each must fail its case: the predicates see the
# difference in the outcome.
WRONG_PLANS = {
    # legendary cakes asked for, stacks placed unsorted
    "h002": """<root BTCPP_format="4"><BehaviorTree ID="robot2"><Sequence>
        <PickCake color="brown" quadrant="3"/><PickCake color="yellow" quadrant="3"/>
        <PickCake color="pink" quadrant="3"/><PlaceCakes plate="4" sort="false"/>
      </Sequence></BehaviorTree></root>""",
    # "then the rest of it" left out
    "h166": """<root BTCPP_format="4"><BehaviorTree ID="robot2">
        <CollectCherries holder="3" count="6"/></BehaviorTree></root>""",
    # the 5 s wait at plate 2 left out
    "h120": """<root BTCPP_format="4"><BehaviorTree ID="robot2"><Sequence>
        <MoveTo target="plate_2"/><MoveTo target="home"/></Sequence></BehaviorTree></root>""",
    # the correction ("no wait, plate four") ignored
    "h113": """<root BTCPP_format="4"><BehaviorTree ID="robot1">
        <MoveTo target="plate_3"/></BehaviorTree></root>""",
    # "robot won" is robot one, not robot two
    "h053": """<root BTCPP_format="4"><BehaviorTree ID="robot2">
        <MoveTo target="quadrant_2"/></BehaviorTree></root>""",
    # "five ... sorry, six": the corrected count ignored
    "h024": """<root BTCPP_format="4"><BehaviorTree ID="robot2">
        <CollectCherries holder="2" count="5"/></BehaviorTree></root>""",
    # "take the pink; if it's gone, the yellow": the pink is there, so the yellow is wrong
    "h026": """<root BTCPP_format="4"><BehaviorTree ID="robot1">
        <PickCake color="yellow" quadrant="2"/></BehaviorTree></root>""",
}


@pytest.mark.parametrize("case_id", sorted(WRONG_PLANS))
def test_a_wrong_plan_fails(case_id):
    _, case = BY_ID[case_id]
    assert case.kind == "plan" and len(case.commands) == 1
    assert evaluate_case(case, _run([WRONG_PLANS[case_id]])) != []


_SYNC_NODE = re.compile(r"\s*<(?:%s)\b[^>]*/>" % "|".join(SIGNAL_TAGS))


@pytest.mark.parametrize("s, case", _each(
    lambda s: [case for case in s.plan_cases if "handover" in case.tags]))
def test_a_handover_matters(s, case):
    """The same reference plan without its Signal / WaitForSignal (each robot just starts)
    fails: the hand-over in words changes the outcome, so a plan that ignores it is caught."""
    texts = [path.read_text(encoding="utf-8") for path in s.references(case)]
    assert any("<WaitForSignal" in text for text in texts)
    assert evaluate_case(case, _run([_SYNC_NODE.sub("", text) for text in texts])) != []
