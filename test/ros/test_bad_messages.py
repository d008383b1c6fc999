"""Messages that once wedged a node, sent on its topics with real rclpy (issue 17): each gets
an answer to its sender or is ignored whole, and the node keeps working."""
from __future__ import annotations

import json

import pytest
from rcl_interfaces.msg import Log
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import String

from llm_mars.nodes.bt_executor import BtExecutorNode
from llm_mars.nodes.commander import CommanderNode
from llm_mars.nodes.simulator import SimulatorNode
from llm_mars.payloads import ExecutorStatus, OperatorResponse, PlanDispatch, SkillFeedback
from llm_mars.world.simulator import Simulator

from ros_harness import Graph, params

pytestmark = [pytest.mark.ros, pytest.mark.reliability]


@pytest.fixture
def graph():
    g = Graph()
    yield g
    g.close()


@pytest.mark.parametrize("quadrant", ["0_2", " 2", "+2", "\u0662"])
def test_a_goal_number_in_another_spelling_fails_the_goal_and_the_clock_runs_on(graph, quadrant):
    """Python's int() reads all four as 2; the simulator then registered the goal, failed to
    start it, and every later step raised: the match clock stopped for both robots."""
    # the test stands in for the executor but sends no status: the dead man's switch (3 s of
    # silence) once cancelled the drive below on a slow step, which is not what is tested here
    graph.make(SimulatorNode, parameter_overrides=params(time_scale=5.0, executor_silence_s=60.0))
    outcomes = graph.listen("/robot1/skill/outcome")
    graph.listen("/world/state")
    goal = graph.publisher("/robot1/skill/goal", subscribers=1)
    assert graph.wait_for(lambda: graph.latest_state() is not None)
    goal(json.dumps({"goal_id": 41, "skill": "PickCake",
                     "args": {"color": "pink", "quadrant": quadrant}}))
    assert graph.wait_for(lambda: any(
        (f.goal_id, f.state) == (41, "FAILURE")
        for f in map(SkillFeedback.from_json, outcomes)), 10)
    then = graph.latest_state()["time_s"]
    assert graph.wait_for(lambda: graph.latest_state()["time_s"] > then + 2, 10)
    goal(json.dumps({"goal_id": 42, "skill": "MoveTo", "args": {"target": "plate_3"}}))
    assert graph.wait_for(
        lambda: graph.latest_state()["robots"]["robot1"]["location"] == "plate_3", 30)


def test_an_utterance_whose_confidence_has_5000_digits_gets_a_bad_input_reply(graph):
    """int() refuses a 5000-digit integer with a plain ValueError, which escaped the
    commander's bad-input path: the sender heard nothing."""
    graph.make(CommanderNode)
    responses = graph.listen("/operator/response")
    say = graph.publisher("/operator/command", subscribers=1)
    say('{"id": "c5k", "text": "robot 1 go home", "confidence": %s}' % ("1" * 5000))
    assert graph.wait_for(lambda: any(
        (r.id, r.code, r.final) == ("c5k", "bad_input", True)
        for r in map(OperatorResponse.from_json, responses)), 10)


def test_an_unreadable_llm_result_is_told_to_the_operator_at_once(graph):
    """The commander dropped it: the operator heard nothing until the LLM timeout."""
    graph.make(CommanderNode, parameter_overrides=params(llm_timeout_s=60.0))
    responses = graph.listen("/operator/response")
    result = graph.publisher("/llm/result", subscribers=1)
    graph.probe.create_subscription(String, "/llm/request", lambda m: result(
        '{"id": "%s", "kind": "plan", "latency_s": %s}' % (json.loads(m.data)["id"], "9" * 400)),
        100)
    say = graph.publisher("/operator/command", subscribers=1)
    say(json.dumps({"id": "u1", "text": "robot 1 go to plate 3"}))
    assert graph.wait_for(lambda: any(
        (r.id, r.code, r.final) == ("u1", "llm_error", True)
        for r in map(OperatorResponse.from_json, responses)), 10)


def test_a_plan_with_a_number_bt_cpp_would_not_read_is_rejected_with_its_id(graph):
    graph.make(BtExecutorNode, namespace="robot1", parameter_overrides=params(robot="robot1"))
    responses = graph.listen("/operator/response")
    plan = graph.publisher("/robot1/plan", subscribers=1)
    plan(PlanDispatch("p+2", '<root BTCPP_format="4"><BehaviorTree ID="robot1">'
                             '<PickCake color="pink" quadrant="+2"/></BehaviorTree></root>'
                      ).to_json())
    assert graph.wait_for(lambda: any(
        (r.id, r.code) == ("p+2", "plan_rejected")
        for r in map(OperatorResponse.from_json, responses)), 10)


def test_a_partial_world_state_is_ignored_whole_said_once_and_hangs_no_plan(graph):
    """A state without ``carrying`` reached the conditions: every tick raised KeyError, the
    plan stayed RUNNING and a traceback was logged ten times a second."""
    graph.make(BtExecutorNode, namespace="robot1", parameter_overrides=params(robot="robot1"))
    statuses = graph.listen("/robot1/bt_status")
    logs: list[str] = []
    graph.probe.create_subscription(
        Log, "/rosout", lambda m: logs.append(m.msg) if m.name.endswith("bt_executor") else None,
        QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE,
                   durability=DurabilityPolicy.TRANSIENT_LOCAL))
    state = Simulator(0).state_dict()
    del state["robots"]["robot1"]["carrying"]
    publish_state = graph.publisher("/world/state", subscribers=1)
    plan = graph.publisher("/robot1/plan", subscribers=1)
    for _ in range(5):
        publish_state(json.dumps(state))
        graph.wait_for(lambda: False, 0.05)
    plan(PlanDispatch("p1", '<root BTCPP_format="4"><BehaviorTree ID="robot1"><Inverter>'
                            '<IsCarrying item="cake"/></Inverter></BehaviorTree></root>'
                      ).to_json())
    for _ in range(15):
        publish_state(json.dumps(state))
        graph.wait_for(lambda: False, 0.05)
    assert graph.wait_for(lambda: any(
        (s.plan_id, s.status) == ("p1", "SUCCESS")
        for s in map(ExecutorStatus.from_json, statuses)), 10)
    graph.wait_for(lambda: False, 0.5)
    said = [m for m in logs if "world_state" in m]
    assert len(said) == 1 and "carrying" in said[0], logs
    assert not [m for m in logs if "tick failed" in m]
