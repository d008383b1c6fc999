"""The whole llm_mars graph in one process, an operator that talks to it, and a bag recorder.

Used by ``llm-mars demo`` and ``llm-mars replay`` (and the system tests): the same nodes as
``launch/llm_mars.launch.py`` — simulator, one executor per robot, commander, llm_server — on
one multi-threaded executor in their own ROS domain.
"""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm_mars import vocabulary as V
from llm_mars.payloads import ExecutorStatus, OperatorResponse, Utterance
from llm_mars.recording import BagRecorder

RECORDED_TOPICS = (
    "/operator/command", "/operator/response", "/llm/request", "/llm/result", "/world/state",
    *(f"/{r}/{t}" for r in V.ROBOTS
      for t in ("plan", "cancel", "bt_status", "skill/goal", "skill/cancel", "skill/outcome")),
)
"""String topics a session records: what was said, planned, and told to each robot."""
RECORDED_ODOMETRY = tuple(f"/{r}/odom" for r in V.ROBOTS)
"""nav_msgs/Odometry topics a session records, so that a replay shows where the robots went."""
ODOMETRY_TYPE = "nav_msgs/msg/Odometry"


def isolate_ros_domain() -> None:
    """Give this process a ROS domain of its own (unless one was chosen) before rclpy starts."""
    from llm_mars.ros_domain import claim_domain_id

    if "ROS_DOMAIN_ID" not in os.environ:
        claim = claim_domain_id()
        os.environ["ROS_DOMAIN_ID"] = str(claim.domain_id)
        isolate_ros_domain.claim = claim  # held for the life of the process
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")


@dataclass(frozen=True)
class SystemConfig:
    time_scale: float = 4.0
    seed: int = 0
    pause_when_idle: bool = True
    llm_timeout_s: float = 120.0


class System:
    """Start every node; ``close()`` stops them and joins the executor thread."""

    def __init__(self, assistant: Any, config: SystemConfig = SystemConfig()):
        import rclpy
        from rclpy.executors import MultiThreadedExecutor
        from rclpy.parameter import Parameter

        from llm_mars.nodes.bt_executor import BtExecutorNode
        from llm_mars.nodes.commander import CommanderNode
        from llm_mars.nodes.llm_server import LlmServerNode
        from llm_mars.nodes.simulator import SimulatorNode

        def params(**values):
            return [Parameter(k, value=v) for k, v in values.items()]

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.executor = MultiThreadedExecutor(num_threads=4, context=self.context)
        self.simulator = SimulatorNode(context=self.context, parameter_overrides=params(
            time_scale=config.time_scale, seed=config.seed,
            pause_when_idle=config.pause_when_idle))
        self.nodes = [
            self.simulator,
            *(BtExecutorNode(context=self.context, namespace=r, parameter_overrides=params(robot=r))
              for r in V.ROBOTS),
            CommanderNode(context=self.context,
                          parameter_overrides=params(llm_timeout_s=config.llm_timeout_s)),
            LlmServerNode(assistant=assistant, context=self.context),
        ]
        for node in self.nodes:
            self.executor.add_node(node)
        self._thread = threading.Thread(target=self.executor.spin, name="ros-spin", daemon=True)
        self._thread.start()

    def add_node(self, node) -> None:
        self.nodes.append(node)
        self.executor.add_node(node)

    def close(self) -> None:
        import rclpy

        from llm_mars.nodes.common import stop_executor

        stop_executor(self.executor, self._thread)
        for node in self.nodes:
            node.destroy_node()
        rclpy.try_shutdown(context=self.context)


class Operator:
    """Sends utterances and waits for their final responses; keeps the latest world state.

    Optionally records every topic of :data:`RECORDED_TOPICS` and :data:`RECORDED_ODOMETRY`
    into a bag.
    """

    def __init__(self, system: System, bag: str | Path | None = None):
        from nav_msgs.msg import Odometry
        from rclpy.node import Node
        from std_msgs.msg import String

        self.node = Node("operator", context=system.context)
        self.responses: list[OperatorResponse] = []
        self.state: dict[str, Any] | None = None
        self.executors: dict[str, ExecutorStatus] = {}
        self.final_at: dict[str, float] = {}  # utterance id -> when its first final arrived
        self.states_seen = 0
        self._cond = threading.Condition()
        self._recorder = BagRecorder(bag, RECORDED_TOPICS) if bag else None
        self._record_lock = threading.Lock()
        self._publisher = self.node.create_publisher(String, "/operator/command", 100)
        for topic in RECORDED_TOPICS:
            self.node.create_subscription(
                String, topic, lambda msg, t=topic: self._on_message(t, msg.data), 100)
        if self._recorder is not None:
            for topic in RECORDED_ODOMETRY:
                self.node.create_subscription(
                    Odometry, topic, lambda raw, t=topic: self._record(t, ODOMETRY_TYPE, raw),
                    10, raw=True)
        system.add_node(self.node)

    def _record(self, topic: str, msgtype: str, raw: bytes) -> None:
        with self._record_lock:
            if self._recorder is not None:
                self._recorder.write_raw(topic, msgtype, raw, time.time_ns())

    def _on_message(self, topic: str, data: str) -> None:
        if self._recorder is not None:
            with self._record_lock:
                if self._recorder is not None:
                    self._recorder.write(topic, data, time.time_ns())
        with self._cond:
            if topic == "/operator/response":
                response = OperatorResponse.from_json(data)
                self.responses.append(response)
                if response.final:
                    self.final_at.setdefault(response.id, time.monotonic())
            elif topic == "/world/state":
                self.state = json.loads(data)
                self.states_seen += 1
            elif topic.endswith("/bt_status"):
                status = ExecutorStatus.from_json(data)
                self.executors[status.robot] = status
            self._cond.notify_all()

    def wait_until(self, predicate, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def send(self, text: str, uid: str, **extra: Any) -> None:
        """Publish an utterance (``extra``: Utterance fields such as confidence, source)."""
        from std_msgs.msg import String

        self._publisher.publish(String(data=Utterance(text, uid, **extra).to_json()))

    def send_raw(self, data: str) -> None:
        """Publish ``data`` on the command topic as it is (malformed messages, in tests)."""
        from std_msgs.msg import String

        self._publisher.publish(String(data=data))

    def say(self, text: str, uid: str, timeout: float = 180.0, **extra: Any) -> OperatorResponse:
        """Publish an utterance and return its final response (TimeoutError if none comes)."""
        self.send(text, uid, **extra)
        if not self.wait_until(lambda: self.final(uid) is not None, timeout):
            raise TimeoutError(f"no response to {text!r} within {timeout:g} s")
        return self.final(uid)

    def final(self, uid: str) -> OperatorResponse | None:
        return next((r for r in self.responses if r.id == uid and r.final), None)

    def wait_plan_done(self, plan_id: str, robots, timeout: float = 120.0) -> bool:
        """Wait until each robot has run plan ``plan_id`` to an end (or the match is over)."""
        def done() -> bool:
            if self.state is not None and self.state.get("match_over"):
                return True
            return all((s := self.executors.get(r)) is not None and s.plan_id == plan_id
                       and s.status != "RUNNING" for r in robots)
        return self.wait_until(done, timeout)

    def wait_ready(self, timeout: float = 60.0) -> bool:
        """Wait for the first world state and for the commander to hear our utterances."""
        deadline = time.monotonic() + timeout
        while self._publisher.get_subscription_count() < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.wait_until(lambda: self.state is not None, max(0.0, deadline - time.monotonic()))

    def play(self, utterances: list[tuple[str, str]], on_response=None,
             timeout: float = 180.0, **extra: Any) -> list[OperatorResponse]:
        """Say each (id, text) in turn; after a plan, wait until its robots have finished it."""
        finals = []
        for uid, text in utterances:
            response = self.say(text, uid, timeout, **extra)
            if on_response is not None:
                on_response(text, response)
            if response.kind == "plan" and response.robots:
                self.wait_plan_done(uid, response.robots, timeout)
                self.wait_world_settled(response.robots, timeout)
            finals.append(response)
        return finals

    def wait_world_settled(self, robots, timeout: float = 30.0) -> bool:
        """Wait until the published world shows the robots' trees ended, then for two more
        states, so that everyone on the graph (the commander too) has the settled world."""
        def ended() -> bool:
            return self.state is not None and (self.state.get("match_over") or all(
                self.state["robots"][r]["tree_status"] != "RUNNING" for r in robots))
        if not self.wait_until(ended, timeout):
            return False
        seen = self.states_seen
        return self.wait_until(lambda: self.states_seen >= seen + 2, timeout)

    def close_bag(self) -> None:
        with self._record_lock:
            if self._recorder is not None:
                self._recorder.close()
                self._recorder = None
