import random
from collections import Counter

import pytest

from llm_mars.qa.summary import failures, place_name, summarize, time_left
from llm_mars.training.expectations import check_answer
from llm_mars.training.qa_data import (QaExample, generate_qa_examples, random_plan,
                                       simulated_states)
from llm_mars.training.plan_data import generate_plan_examples

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
    facts = []
    for name in e.robots:
        robot = state["robots"][name]
        if e.kind == "where" and robot["location"] is not None:
            facts.append({"any_of": [place_name(robot["location"]).removeprefix("the ")]})
        if e.kind == "carries":
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
