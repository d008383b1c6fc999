"""Node parameters as a ROS engineer sets them: integers for floats, ranges, and run-time
changes through the parameter services (what ``ros2 param set`` calls) that are either applied
or refused, never accepted and ignored."""
from __future__ import annotations

import pytest
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient

from llm_mars.errors import ParameterError
from llm_mars.nodes.bt_executor import BtExecutorNode
from llm_mars.nodes.commander import CommanderNode
from llm_mars.nodes.simulator import SimulatorNode
from processes import start_node, stop
from ros_harness import Graph, params

pytestmark = pytest.mark.ros


@pytest.fixture
def graph():
    g = Graph()
    yield g
    g.close()


def param_set(graph: Graph, node_name: str, **values) -> list:
    """``ros2 param set`` over the node's parameter service; the results, one per value."""
    client = AsyncParameterClient(graph.probe, node_name)
    assert client.wait_for_services(timeout_sec=20.0)
    future = client.set_parameters([Parameter(k, value=v) for k, v in values.items()])
    assert graph.wait_for(future.done, 20.0)
    return future.result().results


def test_an_integer_is_taken_for_a_float_parameter(graph):
    simulator = graph.make(SimulatorNode, parameter_overrides=params(time_scale=2, step_hz=10))
    assert simulator.params.time_scale == 2.0
    assert simulator.get_parameter("time_scale").type_ == Parameter.Type.DOUBLE
    assert simulator._rate_timers["step_hz"].timer_period_ns == 100_000_000


@pytest.mark.parametrize("name, value", [("tick_rate_hz", 0.0), ("tick_rate_hz", "fast"),
                                         ("status_rate_hz", -1)])
def test_a_bad_value_at_start_up_is_an_error_naming_the_parameter(graph, name, value):
    with pytest.raises(ParameterError) as caught:
        graph.make(BtExecutorNode, parameter_overrides=params(**{name: value}))
    assert caught.value.name == name


def test_an_unknown_plan_chooser_is_an_error_before_the_model_loads(graph):
    from llm_mars.nodes.llm_server import LlmServerNode

    with pytest.raises(ParameterError) as caught:
        graph.make(LlmServerNode, parameter_overrides=params(plan_chooser="longest"))
    assert caught.value.name == "plan_chooser"


def test_an_executor_given_tick_rate_zero_on_the_command_line_does_not_start(tmp_path):
    proc = start_node("bt_executor", "tick_rate_hz:=0", log_dir=tmp_path)
    try:
        assert proc.wait(timeout=60) == 1
    finally:
        stop(proc)
    assert "cannot start: parameter 'tick_rate_hz'" in (tmp_path / "bt_executor.log").read_text()


def test_runtime_parameters_are_applied_and_the_others_refused(graph):
    executor = graph.make(BtExecutorNode, namespace="robot1")
    rate, robot, zero, sim_time = param_set(graph, "/robot1/bt_executor", tick_rate_hz=4,
                                            robot="robot2", status_rate_hz=0.0,
                                            use_sim_time=False)
    assert rate.successful and executor._rate_timers["tick_rate_hz"].timer_period_ns == 250_000_000
    assert sim_time.successful  # rclpy's own parameter still works
    assert not robot.successful and executor.robot_name == "robot1"
    assert not zero.successful

    commander = graph.make(CommanderNode)
    [result] = param_set(graph, "/commander", min_confidence=0.8)
    assert result.successful and commander.core.min_confidence == 0.8
    [result] = param_set(graph, "/commander", robots=["robot1"])
    assert not result.successful
