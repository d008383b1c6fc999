"""``commander``: operator utterances in, plans to robots and answers out.

Parameters (launch/config/commander.yaml; all but robots change at run time):
  robots (string[], ["robot1", "robot2"])  robot namespaces it commands
  llm_timeout_s (float, 30.0)              an LLM request unanswered this long is an error
  llm_resend_s (float, 5.0)                an unanswered LLM request is sent again this often
                                           (0: never)
  min_confidence (float, 0.5)              recognised speech below this is not executed
  executor_silence_s (float, 3.0)          an executor silent this long is reported offline

Subscribes: operator/command (String: text or Utterance JSON), llm/result (LlmResult JSON),
  world/state (state JSON of the whole world: the simulator's), <robot>/bt_status
  (ExecutorStatus JSON), <robot>/state (state JSON: a robot driver's own view in field trials;
  its robots.<robot> entry replaces that robot's, the other robots keep theirs)
Publishes: operator/response (OperatorResponse JSON; exactly one final per utterance),
  llm/request (LlmRequest JSON), <robot>/plan (PlanDispatch JSON), <robot>/cancel (String)

The rules (stop, questions, commands, queueing) are in llm_mars.session.commander and
llm_mars.language.intent; this node only wires them to topics.
"""
from __future__ import annotations

import threading

from rclpy.node import Node

from llm_mars import vocabulary as V
from llm_mars.nodes.common import (LATEST, ParamSpec, declare_all, payload_subscription,
                                   run_node, safe_timer, string_publisher, string_subscription)
from llm_mars.payloads import ExecutorStatus, WorldStateMessage
from llm_mars.session.commander import Commander, CommanderPorts


PARAMETERS = (
    ParamSpec("robots", list(V.ROBOTS), "robot namespaces to command"),
    ParamSpec("llm_timeout_s", 30.0, "an LLM request unanswered this long is an error",
              (0.1, 3600.0), runtime=True),
    ParamSpec("llm_resend_s", 5.0, "an LLM request unanswered this long is sent again (the "
              "server answers it once); 0: never", (0.0, 3600.0), runtime=True),
    ParamSpec("min_confidence", 0.5, "recognised speech below this confidence is not executed",
              (0.0, 1.0), runtime=True),
    ParamSpec("executor_silence_s", 3.0, "an executor silent this long is reported offline",
              (0.1, 3600.0), runtime=True),
)


class CommanderNode(Node):
    def __init__(self, **kwargs):
        super().__init__("commander", **kwargs)
        p = declare_all(self, PARAMETERS, self._locked(lambda name, value: setattr(
            self.core, name, value)))  # runtime parameters are the core's attributes of that name
        robots = p.robots
        request = string_publisher(self, "llm/request")
        respond = string_publisher(self, "operator/response")
        plan = {r: string_publisher(self, f"{r}/plan") for r in robots}
        cancel = {r: string_publisher(self, f"{r}/cancel") for r in robots}
        self._lock = threading.Lock()
        self.core = Commander(
            CommanderPorts(
                request_llm=lambda req: request(req.to_json()),
                dispatch=lambda robot, dispatch: plan[robot](dispatch.to_json()),
                cancel=lambda robot, reason: cancel[robot](reason),
                respond=lambda response: respond(response.to_json()),
            ),
            llm_timeout_s=p.llm_timeout_s, min_confidence=p.min_confidence,
            executor_silence_s=p.executor_silence_s, llm_resend_s=p.llm_resend_s)
        string_subscription(self, "operator/command", self._locked(self.core.on_utterance))
        string_subscription(self, "llm/result", self._locked(self.core.on_llm_result))
        payload_subscription(self, "world/state", WorldStateMessage, self._on_state, LATEST,
                             warn_every=False)
        for robot in robots:
            payload_subscription(self, f"{robot}/bt_status", ExecutorStatus, self._on_status)
            payload_subscription(self, f"{robot}/state", WorldStateMessage,
                                 lambda message, r=robot: self._on_robot_state(r, message),
                                 LATEST, warn_every=False)
        safe_timer(self, 0.2, self._locked(self.core.poll))

    def _locked(self, handler):
        def call(*args):
            with self._lock:
                handler(*args)
        return call

    def _on_state(self, message: WorldStateMessage) -> None:
        with self._lock:
            self.core.on_world_state(message.state)

    def _on_robot_state(self, robot: str, message: WorldStateMessage) -> None:
        if robot not in message.state["robots"]:
            self.get_logger().warning(f"{robot}/state: the state holds no {robot}")
            return
        with self._lock:
            self.core.on_robot_state(robot, message.state)

    def _on_status(self, status: ExecutorStatus) -> None:
        with self._lock:
            self.core.on_executor_status(status)


def main(args: list[str] | None = None) -> None:
    run_node(CommanderNode, args)


if __name__ == "__main__":
    main()
