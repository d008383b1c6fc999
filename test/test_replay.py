"""Replay comparison: plans and replies exactly, answers by their facts, the world without time."""
from __future__ import annotations

import json

import pytest

from llm_mars.errors import BagError
from llm_mars.payloads import OperatorResponse, Utterance
from llm_mars.recording import BagRecorder
from llm_mars.replay import compare, load_session
from llm_mars.world.state import WorldState


def record(path, responses, state):
    with BagRecorder(path) as bag:
        t = 1
        for (uid, text), _ in responses:
            bag.write("/operator/command", Utterance(text, uid).to_json(), t)
            t += 1
        for _, response in responses:
            bag.write("/operator/response", response.to_json(), t)
            t += 1
        bag.write("/world/state", json.dumps(state), t)


@pytest.fixture
def recorded(tmp_path):
    state = WorldState.initial().state_dict()
    responses = [(("u1", "robot 2 go home"), OperatorResponse("u1", "plan", "robot2", plan="<x/>")),
                 (("u2", "where is robot 2"), OperatorResponse("u2", "answer", "Robot 2 is at home."))]
    record(tmp_path / "bag", responses, state)
    return load_session(tmp_path / "bag"), state


def test_identical_session_has_no_differences(recorded):
    session, state = recorded
    report = compare(session, dict(session.finals), dict(state, time_s=42.0))
    assert report.ok and report.compared == 3


def test_answer_worded_differently_with_same_facts_is_a_note(recorded):
    session, state = recorded
    finals = dict(session.finals)
    finals["u2"] = OperatorResponse("u2", "answer", "robot2: at home")
    report = compare(session, finals, state)
    assert report.ok and len(report.notes) == 1


@pytest.mark.parametrize("change", [
    lambda f: f.__setitem__("u2", OperatorResponse("u2", "answer", "Robot 2 is at plate 3.")),
    lambda f: f.__setitem__("u1", OperatorResponse("u1", "plan", "robot2", plan="<y/>")),
    lambda f: f.pop("u1"),
])
def test_different_answers_plans_or_missing_responses_are_differences(recorded, change):
    session, state = recorded
    finals = dict(session.finals)
    change(finals)
    assert not compare(session, finals, state).ok


def test_different_world_is_a_difference(recorded):
    session, state = recorded
    moved = json.loads(json.dumps(state))
    moved["robots"]["robot2"]["location"] = "basket"
    assert not compare(session, dict(session.finals), moved).ok


def test_bag_without_utterances_is_bag_error(tmp_path):
    with BagRecorder(tmp_path / "empty") as bag:
        bag.write("/world/state", "{}", 1)
    with pytest.raises(BagError):
        load_session(tmp_path / "empty")
