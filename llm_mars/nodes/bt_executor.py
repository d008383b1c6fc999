"""``bt_executor``: runs one robot's behavior trees (one node per robot namespace).

The node runs in its robot's namespace (``<team>/robot1``; ``<team>`` is empty by default or
what PushRosNamespace adds): the robot is the namespace's last part unless ``robot`` names it,
and the two must agree. Team-level topics are taken in ``<team>``, so a whole team moves into
a namespace together and two teams share a ROS domain without seeing each other.

Parameters (launch/config/bt_executor.yaml; docs/interfaces.md has the ranges):
  robot (str, "")                  the robot this executor drives; "" = the namespace's last part
  tick_rate_hz (float, 10.0)       tree ticks per second (run-time)
  status_rate_hz (float, 2.0)      status heartbeats per second (run-time; changes go out at once)
  silence_timeout_s (float, 3.0)   a skill goal with no word from the robot for this long fails

Subscribes (in the robot namespace, e.g. /robot1/...):
  plan (String, PlanDispatch JSON)       validated again; replace or queue
  cancel (String, reason text)           halt the tree and drop the queue
  skill/outcome (String, SkillFeedback)  from the simulator or the robot's driver
  state (String, state JSON)             the robot driver's own view (field trials)
  <team>/world/state (String, state JSON)  the simulator's world; both feed conditions
                                         (IsAt, IsCarrying, TimeLeft); a state that is not
                                         whole is ignored (logged once)
Publishes:
  bt_status (String, ExecutorStatus JSON) on every change and as a heartbeat
  skill/goal, skill/cancel (String)        goals for the robot
  <team>/operator/response (String)        rejected plans (kind error, not final)

Ticking only polls the robot; nothing on the tick path blocks.
"""
from __future__ import annotations

import threading

from rclpy.node import Node

from llm_mars import vocabulary as V
from llm_mars.errors import LlmMarsError, ParameterError, PayloadError, PlanValidationError
from llm_mars.nodes.common import (LATEST, ParamSpec, declare_all, payload_subscription,
                                   run_node, safe_timer, set_rate, string_publisher,
                                   string_subscription)
from llm_mars.payloads import (OperatorResponse, PlanDispatch, SkillFeedback, WorldStateMessage,
                               peek_field)
from llm_mars.robots.topic_robot import TopicRobot
from llm_mars.session.executor import PlanExecutor


PARAMETERS = (
    ParamSpec("robot", "", "robot this executor drives; empty: the namespace's last part"),
    ParamSpec("tick_rate_hz", 10.0, "tree ticks per second", (0.1, 1000.0), runtime=True),
    ParamSpec("status_rate_hz", 2.0, "status heartbeats per second", (0.1, 100.0), runtime=True),
    ParamSpec("silence_timeout_s", 3.0, "a goal with no word from the robot for this long fails",
              (0.1, 3600.0)),
)


class BtExecutorNode(Node):
    def __init__(self, **kwargs):
        super().__init__("bt_executor", **kwargs)
        p = declare_all(self, PARAMETERS, self._on_parameter)
        team, _, last = self.get_namespace().rpartition("/")
        self.robot_name = p.robot or last
        if self.robot_name not in V.ROBOTS or last != self.robot_name:
            raise ParameterError("robot", f"{p.robot!r} in namespace {self.get_namespace()!r}: "
                                 f"run one executor in each robot's namespace (one of "
                                 f"{', '.join(V.ROBOTS)}), e.g. -r __ns:=/robot1")
        publishers = {"skill/goal": string_publisher(self, "skill/goal"),
                      "skill/cancel": string_publisher(self, "skill/cancel")}
        self.robot = TopicRobot(self.robot_name, lambda topic, data: publishers[topic](data),
                                silence_timeout_s=p.silence_timeout_s)
        self.plans = PlanExecutor(self.robot_name, self.robot)
        self._lock = threading.Lock()  # plan/cancel callbacks vs the tick timer
        self._publish_status = string_publisher(self, "bt_status")
        self._respond = string_publisher(self, f"{team}/operator/response")
        self._last_status: str | None = None
        string_subscription(self, "plan", self._on_plan)
        string_subscription(self, "cancel", self._on_cancel)
        payload_subscription(self, "skill/outcome", SkillFeedback, self._on_outcome)
        for topic in (f"{team}/world/state", "state"):
            payload_subscription(self, topic, WorldStateMessage, self._on_state, LATEST,
                                 warn_every=False)
        self._rate_timers = {
            "tick_rate_hz": safe_timer(self, 1.0 / p.tick_rate_hz, self._tick),
            "status_rate_hz": safe_timer(self, 1.0 / p.status_rate_hz,
                                         lambda: self._status(force=True))}
        self.get_logger().info(f"executor for {self.robot_name} ticking at {p.tick_rate_hz:g} Hz")

    def _on_parameter(self, name: str, value: float) -> None:
        set_rate(self._rate_timers[name], value)

    def _on_plan(self, data: str) -> None:
        try:
            dispatch = PlanDispatch.from_json(data)
            with self._lock:
                self.plans.submit(dispatch)
        except (PayloadError, PlanValidationError) as exc:
            self.get_logger().warning(f"plan rejected: {exc}")
            plan_id = dispatch.id if isinstance(exc, PlanValidationError) else (
                peek_field(data, "id", str) or "invalid")
            self._respond(OperatorResponse(
                plan_id, "error", f"{self.robot_name} rejected the plan: {exc}", final=False,
                robots=[self.robot_name], code="plan_rejected").to_json())
            return
        self._status()

    def _on_cancel(self, data: str) -> None:
        with self._lock:
            self.plans.cancel(data.strip()[:200] or "cancelled")
        self._status()

    def _on_outcome(self, feedback: SkillFeedback) -> None:
        with self._lock:
            self.robot.on_outcome(feedback)

    def _on_state(self, message: WorldStateMessage) -> None:
        if self.robot_name not in message.state["robots"]:
            return  # the other robot's driver speaking (field.launch.py)
        with self._lock:
            self.robot.on_state(message.state)

    def _tick(self) -> None:
        with self._lock:
            error = self.plans.tick(match_over=self.robot.match_over)
        if error is not None:
            self.get_logger().error(f"tick failed, plan failed: {error!r}")
        self._status()

    def _status(self, force: bool = False) -> None:
        with self._lock:
            data = self.plans.snapshot().to_json()
        if force or data != self._last_status:
            self._last_status = data
            self._publish_status(data)


def main(args: list[str] | None = None) -> None:
    run_node(BtExecutorNode, args)


if __name__ == "__main__":
    main()
