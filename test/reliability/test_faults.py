"""Faults on the ROS graph: skill failures reach the operator with their reason, a missing
LLM gives a bounded error while robots keep their plans, stops halt within a tick."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from llm_mars.nodes.bt_executor import BtExecutorNode
from llm_mars.nodes.commander import CommanderNode
from llm_mars.nodes.simulator import SimulatorNode
from llm_mars.payloads import OperatorResponse, PlanDispatch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ros"))
from ros_harness import Graph, params  # noqa: E402

pytestmark = [pytest.mark.ros, pytest.mark.reliability]

LONG_DRIVE = ('<root BTCPP_format="4"><BehaviorTree ID="robot1"><Sequence>'
              '<MoveTo target="holder_3"/><MoveTo target="plate_5"/></Sequence>'
              '</BehaviorTree></root>')


def make_graph(fail_probability=0.0, llm_timeout_s=2.0):
    g = Graph()
    g.make(SimulatorNode, parameter_overrides=params(time_scale=4.0,
                                                     fail_probability=fail_probability))
    for robot in ("robot1", "robot2"):
        g.make(BtExecutorNode, namespace=robot, parameter_overrides=params(robot=robot))
    g.make(CommanderNode, parameter_overrides=params(llm_timeout_s=llm_timeout_s))
    g.listen("/world/state")
    g.listen("/operator/response")
    assert g.wait_for(lambda: g.latest_state() is not None)
    return g


def responses(graph):
    return [OperatorResponse.from_json(d) for d in graph.received["/operator/response"]]


def test_skill_failure_is_reported_with_its_reason():
    graph = make_graph(fail_probability=1.0)
    try:
        plan = graph.publisher("/robot1/plan", subscribers=1)
        plan(PlanDispatch("p1", '<root BTCPP_format="4"><BehaviorTree ID="robot1">'
                                '<PickCake color="brown" quadrant="1"/></BehaviorTree></root>'
                          ).to_json())
        assert graph.wait_for(lambda: any(
            r.kind == "progress" and "robot1 failed" in r.text and "injected fault" in r.text
            for r in responses(graph)), 30)
        assert graph.wait_for(lambda: graph.latest_state()["robots"]["robot1"]["history"]
                              == ["PickCake brown 1: FAILURE (injected fault)"])
    finally:
        graph.close()


def test_retry_recovers_from_injected_faults():
    graph = make_graph(fail_probability=0.5)
    try:
        plan = graph.publisher("/robot1/plan", subscribers=1)
        plan(PlanDispatch("p1", '<root BTCPP_format="4"><BehaviorTree ID="robot1">'
                                '<RetryUntilSuccessful num_attempts="20"><MoveTo target="plate_2"/>'
                                '</RetryUntilSuccessful></BehaviorTree></root>').to_json())
        assert graph.wait_for(lambda: graph.latest_state()["robots"]["robot1"]["tree_status"]
                              == "SUCCESS", 60)
        assert graph.latest_state()["robots"]["robot1"]["location"] == "plate_2"
    finally:
        graph.close()


def test_llm_down_gives_bounded_error_and_robots_keep_their_plans():
    graph = make_graph(llm_timeout_s=2.0)  # no llm_server on this graph
    try:
        plan = graph.publisher("/robot1/plan", subscribers=1)
        plan(PlanDispatch("p1", LONG_DRIVE).to_json())
        assert graph.wait_for(lambda: graph.latest_state()["robots"]["robot1"]["active"])
        say = graph.publisher("/operator/command", subscribers=1)
        start = time.monotonic()
        say(json.dumps({"id": "u1", "text": "robot 1 go home"}))
        assert graph.wait_for(lambda: any(r.id == "u1" and r.final for r in responses(graph)), 10)
        elapsed = time.monotonic() - start
        [final] = [r for r in responses(graph) if r.id == "u1" and r.final]
        assert (final.kind, final.code) == ("error", "llm_timeout")
        assert 1.5 <= elapsed <= 5.0
        assert graph.wait_for(lambda: graph.latest_state()["robots"]["robot1"]["location"]
                              == "plate_5", 60)
    finally:
        graph.close()


@pytest.mark.parametrize("text,stopped", [("robot 2 stop", {"robot2"}),
                                          ("everyone stop", {"robot1", "robot2"})])
def test_stop_halts_named_robots_only(text, stopped):
    graph = make_graph()
    try:
        for robot, target in (("robot1", "plate_5"), ("robot2", "holder_2")):
            publish = graph.publisher(f"/{robot}/plan", subscribers=1)
            publish(PlanDispatch("go", f'<root BTCPP_format="4"><BehaviorTree ID="{robot}">'
                                       f'<MoveTo target="{target}"/></BehaviorTree></root>')
                    .to_json())
        assert graph.wait_for(lambda: all(graph.latest_state()["robots"][r]["active"]
                                          for r in ("robot1", "robot2")))
        say = graph.publisher("/operator/command", subscribers=1)
        say(json.dumps({"id": "stop", "text": text}))
        assert graph.wait_for(lambda: all(
            graph.latest_state()["robots"][r]["tree_status"] == "CANCELLED" for r in stopped))
        state = graph.latest_state()["robots"]
        for robot in {"robot1", "robot2"} - stopped:
            assert state[robot]["tree_status"] == "RUNNING"
    finally:
        graph.close()
