"""Simulator, two executors and the commander on one in-process ROS graph.

The LLM server is replaced by a scripted responder node (the real one is tested in the
cross-process tests): these tests are about the wiring, preemption, cancel and bad payloads.
"""
from __future__ import annotations

import json

import pytest
from std_msgs.msg import String

from llm_mars.nodes.bt_executor import BtExecutorNode
from llm_mars.nodes.commander import CommanderNode
from llm_mars.nodes.simulator import SimulatorNode
from llm_mars.payloads import LlmRequest, LlmResult, OperatorResponse, PlanDispatch

from ros_harness import Graph, params

pytestmark = pytest.mark.ros

PLANS = {
    "robot 1 go to plate 3": '<root BTCPP_format="4"><BehaviorTree ID="robot1">'
                             '<MoveTo target="plate_3"/></BehaviorTree></root>',
    "robot 2 go to the basket": '<root BTCPP_format="4"><BehaviorTree ID="robot2">'
                                '<MoveTo target="basket"/></BehaviorTree></root>',
    "robot 1 go to plate 5": '<root BTCPP_format="4"><BehaviorTree ID="robot1">'
                             '<MoveTo target="plate_5"/></BehaviorTree></root>',
}


@pytest.fixture
def graph():
    g = Graph()
    g.make(SimulatorNode, parameter_overrides=params(time_scale=5.0))
    for robot in ("robot1", "robot2"):
        g.make(BtExecutorNode, namespace=robot, parameter_overrides=params(robot=robot))
    g.make(CommanderNode, parameter_overrides=params(llm_timeout_s=5.0))
    result = g.publisher("/llm/result", subscribers=1)

    def respond(data: str) -> None:  # scripted LLM: canned plans, answers from the state
        request = LlmRequest.from_json(data)
        if request.task == "plan" and request.text in PLANS:
            result(LlmResult(request.id, "plan", xml=PLANS[request.text]).to_json())
        elif request.task == "plan":
            result(LlmResult(request.id, "reply", "I cannot do that.").to_json())
        else:
            where = request.state["robots"]["robot1"]["location"]
            result(LlmResult(request.id, "answer", f"Robot 1 is at {where}.").to_json())

    g.probe.create_subscription(String, "/llm/request", lambda m: respond(m.data), 100)
    g.listen("/world/state")
    g.listen("/operator/response")
    yield g
    g.close()


def finals(graph):
    return [OperatorResponse.from_json(d) for d in graph.received["/operator/response"]
            if OperatorResponse.from_json(d).final]


def location(graph, robot):
    state = graph.latest_state()
    return state and state["robots"][robot]["location"]


def test_command_moves_robot_and_question_sees_real_state(graph):
    say = graph.publisher("/operator/command", subscribers=1)
    assert graph.wait_for(lambda: graph.latest_state() is not None)
    say(json.dumps({"id": "c1", "text": "robot 1 go to plate 3"}))
    assert graph.wait_for(lambda: location(graph, "robot1") == "plate_3", 30)
    say(json.dumps({"id": "q1", "text": "where is robot 1?"}))
    assert graph.wait_for(lambda: any(f.id == "q1" for f in finals(graph)))
    by_id = {f.id: f for f in finals(graph)}
    assert by_id["c1"].kind == "plan" and by_id["c1"].robots == ["robot1"]
    assert by_id["q1"].text == "Robot 1 is at plate_3."
    assert graph.latest_state()["robots"]["robot2"]["location"] == "home"


def test_preempt_and_stop_through_ros(graph):
    say = graph.publisher("/operator/command", subscribers=1)
    assert graph.wait_for(lambda: graph.latest_state() is not None)
    say(json.dumps({"id": "a", "text": "robot 1 go to plate 5"}))
    assert graph.wait_for(lambda: graph.latest_state()["robots"]["robot1"]["active"] is not None)
    say(json.dumps({"id": "b", "text": "robot 1 go to plate 3"}))  # replaces plate 5
    assert graph.wait_for(lambda: location(graph, "robot1") == "plate_3", 30)
    history = graph.latest_state()["robots"]["robot1"]["history"]
    assert any(h.startswith("MoveTo plate_5") and "CANCELLED" in h for h in history)
    say(json.dumps({"id": "c", "text": "robot 2 go to the basket"}))
    assert graph.wait_for(lambda: graph.latest_state()["robots"]["robot2"]["active"] is not None)
    say(json.dumps({"id": "d", "text": "everyone stop"}))
    assert graph.wait_for(
        lambda: graph.latest_state()["robots"]["robot2"]["tree_status"] == "CANCELLED")
    x = graph.latest_state()["robots"]["robot2"]["x_mm"]
    graph.wait_for(lambda: False, 1.0)
    assert graph.latest_state()["robots"]["robot2"]["x_mm"] == x
    assert {f.id: f.kind for f in finals(graph)}["d"] == "stopped"


@pytest.mark.parametrize("topic", [
    "/operator/command", "/llm/result", "/world/state", "/robot1/plan", "/robot1/cancel",
    "/robot1/skill/goal", "/robot1/skill/cancel", "/robot1/skill/outcome", "/robot1/bt_status",
])
def test_malformed_payloads_do_not_kill_nodes(graph, topic):
    bad = graph.publisher(topic, subscribers=1)
    for data in ["", "{", "[1,2]", '{"id": 5}', "\x00\xff" * 10, "x" * 100_000]:
        bad(data)
    graph.wait_for(lambda: False, 0.5)
    say = graph.publisher("/operator/command", subscribers=1)
    say(json.dumps({"id": "alive", "text": "robot 1 go to plate 3"}))
    assert graph.wait_for(lambda: location(graph, "robot1") == "plate_3", 30)


def test_invalid_plan_on_topic_is_rejected_with_error(graph):
    plan = graph.publisher("/robot1/plan", subscribers=1)
    graph.wait_for(lambda: graph.latest_state() is not None)
    plan(PlanDispatch("bad1", '<root BTCPP_format="4"><BehaviorTree ID="robot1">'
                              '<MoveTo target="moon"/></BehaviorTree></root>').to_json())
    assert graph.wait_for(lambda: any(
        OperatorResponse.from_json(d).code == "plan_rejected"
        for d in graph.received["/operator/response"]))
    assert location(graph, "robot1") == "home"
