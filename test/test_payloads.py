"""Every payload round-trips through JSON; every malformed payload is a PayloadError."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_mars.errors import PayloadError
from llm_mars.payloads import (ExecutorStatus, GoalRef, LlmRequest, LlmResult, OperatorResponse,
                               PlanDispatch, SkillFeedback, SkillGoal, Utterance,
                               WorldStateMessage, peek_field)
from llm_mars.world.simulator import Simulator

STATE = Simulator(0).state_dict()

SAMPLES = [
    Utterance("robot one bring the brown cake to plate three", "u1", 0.93, "speech"),
    OperatorResponse("u1", "plan", "robot1: 3 steps", robots=["robot1"], plan="<root/>",
                     mode="queue"),
    OperatorResponse("u2", "error", "llm server unreachable", code="llm_timeout"),
    PlanDispatch("u1", "<root BTCPP_format=\"4\"/>", "queue"),
    SkillGoal(7, "PickCake", {"color": "brown", "quadrant": 2}),
    GoalRef(7),
    SkillFeedback(7, "FAILURE", "stack already taken"),
    LlmRequest("r1", "answer", "where is robot 2", {"time_s": 3.0}),
    LlmRequest("r2", "answer", "and robot 1?", {"time_s": 3.0}, previous="robot2.location"),
    LlmResult("r1", "answer", "Robot 2 is at home.", latency_s=0.8, query="robot2.location"),
    ExecutorStatus("robot2", "RUNNING", "u1", "PickCake brown 2", tree="[-] Sequence", queued=1),
    WorldStateMessage(STATE),
]


@pytest.mark.parametrize("payload", SAMPLES, ids=lambda p: type(p).__name__)
def test_round_trip(payload):
    assert type(payload).from_json(payload.to_json()) == payload


def test_plain_text_utterance_is_normalised():
    u = Utterance.from_json("  robot 2   stop \n")
    assert (u.text, u.source, u.confidence) == ("robot 2 stop", "typed", None)
    assert u.id


@pytest.mark.parametrize("data", [
    "", "   ", "x" * 5000, "robot\x00 one", "\x07\x08", '{"text": ""}', '{"text": 3}',
    '{"text": "go", "confidence": 1.5}', '{"text": "go", "source": "telepathy"}', "{not json",
])
def test_bad_utterances(data):
    with pytest.raises(PayloadError):
        Utterance.from_json(data)


@pytest.mark.parametrize("cls,data", [
    (PlanDispatch, '{"id": "a"}'),
    (PlanDispatch, '{"id": "a", "xml": "<root/>", "mode": "later"}'),
    (SkillGoal, '{"goal_id": 1, "skill": "Fly", "args": {}}'),
    (SkillGoal, '{"goal_id": 1, "skill": "Sequence", "args": {}}'),
    (SkillGoal, '{"goal_id": 1, "skill": "PickCake", "args": {"color": "purple", "quadrant": 1}}'),
    (SkillGoal, '{"goal_id": 1, "skill": "PickCake", "args": {"colour": "pink"}}'),
    (SkillGoal, '{"goal_id": true, "skill": "FunnyAction"}'),
    *[(SkillGoal, '{"goal_id": 1, "skill": "PickCake", "args": {"color": "pink", "quadrant": %s}}'
       % json.dumps(q)) for q in ("0_2", " 2", "+2", "\u0662", "2 ", 2.0, True)],
    (SkillGoal, '{"goal_id": 1, "skill": "Wait", "args": {"seconds": %s}}' % ("1" * 400)),
    (SkillGoal, '{"goal_id": 1, "skill": "Wait", "args": {"seconds": "%s"}}' % ("1" * 400)),
    (SkillGoal, '{"goal_id": 1, "skill": "Wait", "args": {"seconds": 1e999}}'),
    (Utterance, '{"text": "go", "confidence": %s}' % ("1" * 5000)),
    (Utterance, '{"text": "go", "confidence": NaN}'),
    (LlmResult, '{"id": "r", "kind": "answer", "latency_s": %s}' % ("9" * 400)),
    (GoalRef, '[1, 2]'),
    (SkillFeedback, '{"goal_id": 1, "state": "DONE"}'),
    (LlmRequest, '{"id": "r", "task": "answer", "text": "where?"}'),
    (LlmRequest, '{"id": "r", "task": "dance", "text": "x"}'),
    (LlmRequest, '{"id": "r", "task": "answer", "text": "and 2?", "state": {}, "previous": '
                 '"robot3.location"}'),
    (LlmResult, '{"id": "r", "kind": "maybe"}'),
    (OperatorResponse, '{"id": "u", "kind": "plan", "text": "x", "robots": ["robot3"]}'),
    (OperatorResponse, '{"id": "u", "kind": "plan", "text": "x", "mode": "later"}'),
    (ExecutorStatus, '{"robot": "robot1", "status": "DONE"}'),
    (ExecutorStatus, '"just a string"'),
])
def test_bad_payloads(cls, data):
    with pytest.raises(PayloadError):
        cls.from_json(data)


PAYLOAD_CLASSES = sorted({type(p) for p in SAMPLES}, key=lambda c: c.__name__)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(cls=st.sampled_from(PAYLOAD_CLASSES),
       data=st.one_of(st.text(max_size=200), JSON_VALUES.map(json.dumps)))
def test_garbage_is_payload_error_or_valid(cls, data):
    try:
        payload = cls.from_json(data)
    except PayloadError:
        return
    assert type(payload).from_json(payload.to_json()) == payload


def test_the_id_of_a_payload_refused_for_a_huge_number_can_still_be_read():
    data = '{"id": "c5k", "text": "robot 1 go home", "confidence": %s}' % ("1" * 5000)
    assert peek_field(data, "id", str) == "c5k"


@pytest.mark.parametrize("path", [
    ("robots", "robot1", "carrying"), ("robots", "robot1", "location"),
    ("robots", "robot2", "carrying", "stacks"), ("robots", "robot1", "carrying", "cherries"),
    ("quadrants", "quadrant_3"), ("time_s",), ("plates", "plate_2"), ("holders", "holder_4"),
])
def test_a_world_state_missing_any_part_is_refused_whole(path):
    state = json.loads(json.dumps(STATE))
    *parents, key = path
    inner = state
    for parent in parents:
        inner = inner[parent]
    del inner[key]
    with pytest.raises(PayloadError, match=key):
        WorldStateMessage.from_json(json.dumps(state))


def test_a_drivers_state_of_its_own_robot_is_whole_enough():
    """docs/interfaces.md: a real robot's driver publishes at least its own robot's location
    and carrying, and time_s."""
    state = {"time_s": 3.5, "robots": {"robot2": {"location": None, "carrying": {
        "stacks": ["pink"], "cherries": 2}}}}
    assert WorldStateMessage.from_json(json.dumps(state)).state == state


@pytest.mark.parametrize("path, value", [
    (("robots", "robot1", "location"), "moon"), (("robots", "robot1", "carrying", "cherries"), "3"),
    (("robots", "robot1", "carrying", "stacks"), ["green"]), (("plates", "plate_1"), [{}]),
    (("robots", "robot2", "tree_status"), "DONE"), (("holders", "holder_1"), None),
    (("robots", "robot2", "history"), [3]), (("robots",), {}), (("robots", "robot3"), {}),
    (("basket",), "5"),
])
def test_a_world_state_with_a_wrong_value_is_refused(path, value):
    state = json.loads(json.dumps(STATE))
    *parents, key = path
    inner = state
    for parent in parents:
        inner = inner[parent]
    inner[key] = value
    with pytest.raises(PayloadError):
        WorldStateMessage.from_json(json.dumps(state))
