"""A valid plan that loops for ever, through the simulator and an executor on a real ROS graph
(issue 17): what the state keeps and publishes stays bounded, and nothing ticks after the match."""
from __future__ import annotations

import json

import pytest

from llm_mars.nodes.bt_executor import BtExecutorNode
from llm_mars.nodes.simulator import SimulatorNode
from llm_mars.payloads import ExecutorStatus, PlanDispatch
from llm_mars.world.state import HISTORY_KEPT

from ros_harness import Graph, params

pytestmark = [pytest.mark.ros, pytest.mark.reliability]

RETRY_FOR_EVER = PlanDispatch("loop", '<root BTCPP_format="4"><BehaviorTree ID="robot1">'
                                      '<RetryUntilSuccessful num_attempts="-1"><DropCherries/>'
                                      '</RetryUntilSuccessful></BehaviorTree></root>').to_json()


def start(simulator: dict, tick_rate_hz: float) -> Graph:
    graph = Graph()
    graph.make(SimulatorNode, parameter_overrides=params(**simulator))
    graph.make(BtExecutorNode, namespace="robot1",
               parameter_overrides=params(robot="robot1", tick_rate_hz=tick_rate_hz))
    graph.listen("/world/state")
    graph.listen("/robot1/bt_status")
    graph.publisher("/robot1/plan", subscribers=1)(RETRY_FOR_EVER)
    return graph


def history(graph: Graph) -> list[str]:
    return graph.latest_state()["robots"]["robot1"]["history"]


@pytest.fixture
def graphs():
    made: list[Graph] = []
    yield made
    for graph in made:
        graph.close()


def test_a_retry_loop_with_the_clock_standing_still_keeps_only_recent_history(graphs):
    """With pause_when_idle the clock stands still between goals that fail at once: the loop
    added history for ever and the state JSON passed the payload limit (every question was
    then refused)."""
    graph = start({"pause_when_idle": True}, tick_rate_hz=50.0)
    graphs.append(graph)
    # each failed goal is a round trip through the graph (about 0.3 s on a 2-core machine, so
    # about 30 s to fill the history): the limit is what the bound needs, not a speed target
    assert graph.wait_for(lambda: graph.latest_state() is not None
                          and len(history(graph)) == HISTORY_KEPT, 120)
    graph.wait_for(lambda: False, 1.0)
    assert len(history(graph)) == HISTORY_KEPT
    assert graph.latest_state()["time_s"] == 0.0
    assert len(graph.received["/world/state"][-1]) < 32 * 1024


def test_nothing_is_ticked_once_the_match_is_over(graphs):
    """The executor kept ticking after the match: the loop started a goal every tick, each
    failing "match over", each one more history entry."""
    graph = start({"time_scale": 50.0}, tick_rate_hz=20.0)
    graphs.append(graph)
    assert graph.wait_for(lambda: (graph.latest_state() or {}).get("match_over"), 30)
    assert graph.wait_for(lambda: any(
        (s.plan_id, s.status, s.reason) == ("loop", "FAILURE", "match over")
        for s in map(ExecutorStatus.from_json, graph.received["/robot1/bt_status"])), 10)
    graph.wait_for(lambda: False, 0.5)
    seen = json.dumps(history(graph))
    graph.wait_for(lambda: False, 1.0)
    assert json.dumps(history(graph)) == seen
