import copy
import random
import re
from collections import Counter

import pytest

from llm_mars.evaluation.expectations import check_answer
from llm_mars.qa.summary import cherry_tally, failures, place_name, summarize, time_left
from llm_mars.training.plan_data import generate_plan_examples
from llm_mars.training.qa_data import (BOTH_QUESTIONS, QUESTIONS, QaExample, _SCORE_PARTS,
                                       _empty_holders_answer, _next_answer, _source_answer,
                                       _totals_answer, _where_answer, _yes_no, generate_qa_examples,
                                       initial_state, random_plan, simulated_states)

N = 400


@pytest.fixture(scope="module")
def examples():
    return generate_qa_examples(N, seed=5)


def test_same_seed_same_examples():
    a = [e.to_json() for e in generate_qa_examples(40, seed=2)]
    assert a == [e.to_json() for e in generate_qa_examples(40, seed=2)]
    assert a != [e.to_json() for e in generate_qa_examples(40, seed=3)]


def test_summary_is_the_states_summary(examples):
    for e in examples[:50]:
        assert e.summary == summarize(e.state)


def _facts(e: QaExample) -> list[dict]:
    """What a correct answer must say, computed from the state independently of the answer
    templates."""
    state = e.state
    if e.kind == "basket":
        return [{"number": state["basket"]}]
    if e.kind == "score":
        return [{"number": state["score"]["total"]}]
    if e.kind == "time":
        return [{"number": time_left(state), "tolerance": 0.5}]
    if e.kind == "score-part":
        part = next(p for p in _SCORE_PARTS if f"the {p} give" in e.answer.lower())
        return [{"number": state["score"][_SCORE_PARTS[part]]}]
    facts = []
    for name in e.robots:
        robot = state["robots"][name]
        tally = (cherry_tally(state) or {}).get(name)
        if e.kind == "totals" and tally and tally[0]:
            facts += [{"number": tally[0]}, {"number": tally[1]}]
        if e.kind in ("where", "two-part") and "where" in e.question.lower() \
                and robot["location"] is not None:
            facts.append({"any_of": [place_name(robot["location"]).removeprefix("the ")]})
        if e.kind in ("carries", "two-part"):
            carried = robot["carrying"]
            if carried["cherries"]:
                facts.append({"number": carried["cherries"]})
            facts += [{"any_of": [colour]} for colour in carried["stacks"]]
            if not carried["cherries"] and not carried["stacks"]:
                facts.append({"any_of": ["nothing"]})
        if e.kind == "failed":
            failed = failures(robot)
            if failed and failed[-1].reason:
                facts.append({"any_of": [failed[-1].reason]})
            elif not failed:
                facts.append({"any_of": ["nothing"]})
    return facts


def test_answers_state_the_facts_of_their_state(examples):
    checked = 0
    for e in examples:
        facts = _facts(e)
        if facts:
            assert check_answer(e.answer, facts) == [], (e.question, e.answer, e.summary)
            checked += 1
    assert checked > N * 0.4


def test_questions_cover_every_kind_one_and_both_robots_and_speech(examples):
    kinds = Counter(e.kind for e in examples)
    for kind in ("where", "doing", "carries", "done", "failed", "basket", "score", "time",
                 "yes-no", "stacks", "cakes"):
        assert kinds[kind] >= 0.015 * N, kinds
    for kind in ("score-part", "source", "built", "next", "totals", "which-plate", "two-part"):
        assert kinds[kind] >= 0.005 * N, kinds
    assert any(len(e.robots) == 2 for e in examples)
    assert any(e.question == e.question.lower() and "?" not in e.question for e in examples)
    assert all(len(e.answer) < 300 for e in examples)  # well under 64 tokens


def test_states_include_mid_task_finished_and_failures():
    rng = random.Random(1)
    pool = [e.output for e in generate_plan_examples(50, 1) if e.executable]
    states = [s for _ in range(40) for s in simulated_states(rng, pool)]
    statuses = Counter(r["tree_status"] for s in states for r in s["robots"].values())
    assert statuses["RUNNING"] and statuses["SUCCESS"] and statuses["FAILURE"]
    assert any(r["location"] is None and r["active"] for s in states for r in s["robots"].values())
    reasons = {h.reason for s in states for r in s["robots"].values() for h in failures(r)}
    assert {"stack already taken", "no cake on plate"} & reasons


def test_random_plans_are_valid_documents():
    from llm_mars.bt.parser import parse_plan
    from llm_mars.bt.serializer import serialize_plan

    rng = random.Random(0)
    for _ in range(30):
        plan = random_plan(rng)
        assert parse_plan(serialize_plan(plan)) == plan


def test_yes_no_questions_get_yes_no_answers(examples):
    """Asked "is/are/does ..." the answer starts Yes or No: an open kind must not hold such
    phrasings (the model then answers "Is robot 1 carrying anything?" with a description)."""
    asks_yes_no = re.compile(r"^(is|are|does|did|has|have|was|were) ")
    for template in [t for ts in (*QUESTIONS.values(), *BOTH_QUESTIONS.values()) for t in ts]:
        assert not asks_yes_no.match(template), template
    yes_no = [e for e in examples if e.kind == "yes-no"]
    assert yes_no and all(re.search(r"\. So (yes|no)\.$", e.answer) for e in yes_no)


def test_yes_no_verdict_follows_the_fact(played):
    """The verdict agrees with the state it states: robot 1 carries a stack and did no funny
    action, robot 2 carries nothing; the basket holds 10 cherries; holder 4 is empty."""
    rng = random.Random(0)
    expected = {"does robot 1 have a stack": "yes", "is robot 2 carrying anything": "no",
                "did robot 1 do the funny action": "no", "is the basket empty": "no",
                "are there cherries in the basket": "yes", "is holder 4 empty": "yes",
                "is holder 1 empty": "no"}
    seen = {}
    for _ in range(3000):
        question, answer, _ = _yes_no(played, rng)
        if question in expected:
            seen[question] = answer
            assert answer.endswith(f"So {expected[question]}."), (question, answer)
    assert set(seen) == set(expected)


def test_numbers_in_answers_are_digits(examples):
    spelled = re.compile(r"\b(plate|holder|quadrant|dispenser|tray) (one|two|three|four|five)\b")
    assert any(spelled.search(e.question.lower()) for e in examples)
    assert not any(spelled.search(e.answer.lower()) for e in examples)


@pytest.fixture
def played():
    """Robot 2 collected twice and emptied holder 4; robot 1 stopped on the way to plate 5."""
    state = copy.deepcopy(initial_state())
    state["robots"]["robot2"].update(
        location=None, active="CollectCherries 1 6", tree_status="RUNNING",
        history=["CollectCherries 4 8: SUCCESS", "DropCherries: SUCCESS",
                 "CollectCherries 4: SUCCESS", "DropCherries: SUCCESS"])
    state["robots"]["robot1"].update(
        location=None, active=None, tree_status="CANCELLED", carrying={"stacks": ["yellow"],
                                                                       "cherries": 0},
        history=["PickCake yellow 1: SUCCESS", "PlaceCakes 5: CANCELLED"])
    state["holders"]["holder_4"] = 0
    state["quadrants"]["quadrant_1"]["yellow"] = 0
    state.update(basket=10)
    return state


def test_history_kinds_answer_from_the_summarised_history(played):
    r1, r2 = played["robots"]["robot1"], played["robots"]["robot2"]
    assert _totals_answer("robot2", played) == \
        "Robot 2 has collected 10 cherries in all and dropped 10 in the basket."
    assert _source_answer("robot2", r2, "cherries") == "Robot 2 collected its cherries at holder 4."
    assert _source_answer("robot1", r1, "cakes") == "Robot 1 picked its stacks at quadrant 1 (yellow)."
    assert _where_answer("robot1", r1) == \
        "Robot 1 is between places: it stopped on the way to plate 5."
    assert _next_answer("robot2", r2, "how many cherries will {r} take") == \
        "Robot 2 is going to collect 6 cherries at holder 1."
    assert _next_answer("robot1", r1, "what is {r} about to build").startswith(
        "Robot 1 is not about to place cakes")
    assert _empty_holders_answer(played) == "Holder 4 is empty."
    text = summarize(played)
    for fact in ("10 cherries in all", "stopped on the way to plate 5", "holder 4 empty"):
        assert fact in text
