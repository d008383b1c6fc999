"""Namespaces: two whole teams in one ROS domain, each pushed into its own namespace, do not
see each other; an executor takes its robot from its namespace; in field trials the commander
merges each robot driver's own state."""
from __future__ import annotations

import json

import pytest
from std_msgs.msg import String

from llm_mars.errors import ParameterError
from llm_mars.nodes.bt_executor import BtExecutorNode
from llm_mars.nodes.commander import CommanderNode
from llm_mars.nodes.simulator import SimulatorNode
from llm_mars.payloads import LlmRequest, LlmResult, OperatorResponse
from ros_harness import Graph, params

pytestmark = pytest.mark.ros

PLAN = ('<root BTCPP_format="4"><BehaviorTree ID="robot1"><MoveTo target="plate_3"/>'
        '</BehaviorTree></root>')
TEAMS = ("team_a", "team_b")


@pytest.fixture
def graph():
    g = Graph()
    yield g
    g.close()


def start_team(g: Graph, team: str) -> None:
    """What ``PushRosNamespace(team)`` around llm_mars.launch.py starts (the LLM scripted)."""
    g.make(SimulatorNode, namespace=team, parameter_overrides=params(time_scale=5.0))
    for robot in ("robot1", "robot2"):  # no robot parameter: the namespace says which
        g.make(BtExecutorNode, namespace=f"{team}/{robot}")
    g.make(CommanderNode, namespace=team, parameter_overrides=params(llm_timeout_s=5.0))
    result = g.publisher(f"/{team}/llm/result", subscribers=1)

    def respond(msg: String) -> None:
        request = LlmRequest.from_json(msg.data)
        result(LlmResult(request.id, "plan", xml=PLAN).to_json())

    g.probe.create_subscription(String, f"/{team}/llm/request", respond, 100)
    g.listen(f"/{team}/world/state")
    g.listen(f"/{team}/operator/response")


def location(g: Graph, team: str, robot: str) -> str | None:
    states = g.received[f"/{team}/world/state"]
    return json.loads(states[-1])["robots"][robot]["location"] if states else None


def test_two_teams_in_one_domain_do_not_see_each_other(graph):
    for team in TEAMS:
        start_team(graph, team)
    assert graph.wait_for(lambda: all(location(graph, t, "robot1") == "home" for t in TEAMS))
    say = graph.publisher("/team_a/operator/command", subscribers=1)
    say(json.dumps({"id": "c1", "text": "robot 1 go to plate 3"}))
    assert graph.wait_for(lambda: location(graph, "team_a", "robot1") == "plate_3", 30)
    assert location(graph, "team_b", "robot1") == "home"
    assert [OperatorResponse.from_json(d).id for d in graph.received["/team_a/operator/response"]
            if OperatorResponse.from_json(d).final] == ["c1"]
    assert graph.received["/team_b/operator/response"] == []
    ours = {name for name, _ in graph.probe.get_topic_names_and_types()
            if not name.startswith(("/rosout", "/parameter_events"))}
    assert ours and all(name.startswith(("/team_a/", "/team_b/")) for name in ours), ours
    assert "/team_a/robot2/skill/goal" in ours and "/team_b/robot1/bt_status" in ours


def test_an_executor_takes_its_robot_from_its_namespace(graph):
    assert graph.make(BtExecutorNode, namespace="team_a/robot2").robot_name == "robot2"
    assert graph.make(BtExecutorNode, namespace="robot1",
                      parameter_overrides=params(robot="robot1")).robot_name == "robot1"
    for namespace, robot in (("/", ""), ("robot1", "robot2"), ("/", "robot1")):
        with pytest.raises(ParameterError):
            graph.make(BtExecutorNode, namespace=namespace,
                       parameter_overrides=params(robot=robot))


def test_field_trials_merge_each_robots_own_state(graph):
    commander = graph.make(CommanderNode)
    def at(place: str) -> dict:  # what a driver must publish of a robot (docs/interfaces.md)
        return {"location": place, "carrying": {"stacks": [], "cherries": 0}}

    views = {"robot1": {"robot1": at("plate_3"), "robot2": at("home")},
             "robot2": {"robot1": at("home"), "robot2": at("basket")}}
    drivers = {r: graph.publisher(f"/{r}/state", subscribers=1) for r in views}
    for robot, robots in views.items():
        drivers[robot](json.dumps({"time_s": 1.0, "robots": robots}))
    assert graph.wait_for(lambda: (commander.core.world_state or {}).get("robots") == {
        "robot1": at("plate_3"), "robot2": at("basket")})
