"""``simulator``: the simulated Eurobot field on the ROS graph.

Runs :class:`llm_mars.world.simulator.Simulator` against the wall clock (scaled), serves both
robots' skills over topics so executors can run in other processes
(:class:`llm_mars.session.skill_server.SkillServer`: goal ids, heartbeats, the dead man's
switch), and publishes the world.

Parameters (launch/config/simulator.yaml):
  seed (int, 0)                        random seed (manipulation times, injected faults)
  time_scale (float, 1.0)              simulated seconds per wall second
  step_hz (float, 20.0)                simulation steps per wall second
  state_rate_hz (float, 5.0)           world/state and odometry publications per second
  fail_probability (float, 0.0)        fault injection: chance that a body skill fails
  pause_when_idle (bool, false)        the match clock stands still while no robot runs a skill
                                       (operator sessions in demos and replays, where the
                                       model's thinking time should not eat the match)
  executor_silence_s (float, 3.0)      a robot whose executor has been silent this long stops:
                                       its running skills are cancelled (dead man's switch)

Subscribes, for each robot R in /robot1, /robot2:
  R/skill/goal (String, SkillGoal JSON), R/skill/cancel (String, GoalRef JSON)
  R/bt_status (String, ExecutorStatus JSON): the tree status shown in the state JSON
  world/reset (String, anything): a fresh field and match clock
Publishes:
  world/state (String, the state JSON of DESIGN.md section 3, plus "time_left_s")
  R/odom (nav_msgs/Odometry, metres in the field frame "field")
  R/skill/outcome (String, SkillFeedback JSON): on every change, and RUNNING once a second
"""
from __future__ import annotations

import json
import threading
import time

from nav_msgs.msg import Odometry
from rclpy.node import Node

from llm_mars import vocabulary as V
from llm_mars.nodes.common import (LATEST, ParamSpec, declare_all, payload_subscription,
                                   run_node, safe_timer, set_rate, string_publisher,
                                   string_subscription)
from llm_mars.payloads import ExecutorStatus, GoalRef, SkillFeedback, SkillGoal, peek_field
from llm_mars.session.skill_server import SkillServer
from llm_mars.world.faults import Faults
from llm_mars.world.simulator import Simulator

PARAMETERS = (
    ParamSpec("seed", 0, "random seed (manipulation times, injected faults)", (0, 2**31 - 1)),
    ParamSpec("time_scale", 1.0, "simulated seconds per wall second", (0.01, 1000.0),
              runtime=True),
    ParamSpec("step_hz", 20.0, "simulation steps per wall second", (1.0, 1000.0), runtime=True),
    ParamSpec("state_rate_hz", 5.0, "world/state and odometry publications per second",
              (0.1, 100.0), runtime=True),
    ParamSpec("fail_probability", 0.0, "chance that a body skill fails (fault injection)",
              (0.0, 1.0)),
    ParamSpec("pause_when_idle", False,
              "stop the match clock while no robot runs a skill (demos, replays)", runtime=True),
    ParamSpec("executor_silence_s", 3.0,
              "a robot whose executor is silent this long has its running skills cancelled",
              (0.1, 3600.0)),
)


class SimulatorNode(Node):
    def __init__(self, **kwargs):
        super().__init__("simulator", **kwargs)
        self.params = p = declare_all(self, PARAMETERS, self._on_parameter)
        self.seed, self.fail_probability = p.seed, p.fail_probability
        self._lock = threading.Lock()
        self.server = SkillServer(self._new_world(), p.executor_silence_s)
        self._publish_state = string_publisher(self, "world/state", LATEST)
        self._outcome = {r: string_publisher(self, f"{r}/skill/outcome") for r in V.ROBOTS}
        self._odom = {r: self.create_publisher(Odometry, f"{r}/odom", LATEST) for r in V.ROBOTS}
        for robot in V.ROBOTS:
            payload_subscription(self, f"{robot}/skill/goal", SkillGoal,
                                 lambda goal, r=robot: self._on_goal(r, goal),
                                 on_bad=lambda data, exc, r=robot: self._refuse(r, data, exc))
            payload_subscription(self, f"{robot}/skill/cancel", GoalRef,
                                 lambda ref, r=robot: self._on_cancel(r, ref))
            payload_subscription(self, f"{robot}/bt_status", ExecutorStatus,
                                 lambda status, r=robot: self._on_status(r, status))
        string_subscription(self, "world/reset", lambda _data: self._reset())
        self._last_wall = time.monotonic()
        self._rate_timers = {"step_hz": safe_timer(self, 1.0 / p.step_hz, self._step),
                        "state_rate_hz": safe_timer(self, 1.0 / p.state_rate_hz, self._publish)}
        self.get_logger().info(f"simulating at {p.time_scale:g}x real time, seed {self.seed}")

    def _on_parameter(self, name: str, value) -> None:
        if name in self._rate_timers:  # time_scale and pause_when_idle are read on every step
            set_rate(self._rate_timers[name], value)

    @property
    def world(self) -> Simulator:
        return self.server.world

    def _new_world(self) -> Simulator:
        return Simulator(self.seed, Faults(fail_probability=self.fail_probability))

    def _reset(self) -> None:
        with self._lock:
            self.server.reset(self._new_world())

    def _refuse(self, robot: str, data: str, exc: Exception) -> None:
        """A goal that does not decode fails at once, if its id can be read."""
        goal_id = peek_field(data, "goal_id", int)
        if goal_id is not None:
            self._send(robot, SkillFeedback(goal_id, "FAILURE", f"bad goal: {exc}"))

    def _on_goal(self, robot: str, goal: SkillGoal) -> None:
        with self._lock:
            reply = self.server.start(robot, goal)
            if reply is not None:
                self._send(robot, reply)
                return
        self._report()

    def _on_cancel(self, robot: str, ref: GoalRef) -> None:
        with self._lock:
            self.server.cancel(robot, ref.goal_id)
        self._report()

    def _on_status(self, robot: str, status: ExecutorStatus) -> None:
        with self._lock:
            self.server.executor_status(robot, status.status)

    def _step(self) -> None:
        now = time.monotonic()
        dt = (now - self._last_wall) * self.params.time_scale
        self._last_wall = now
        with self._lock:
            stopped = self.server.step(dt, self.params.pause_when_idle)
        for robot in stopped:
            self.get_logger().warning(f"{robot}: executor silent, stopping the robot")
        self._report()

    def _report(self) -> None:
        with self._lock:
            messages = self.server.outcomes()
        for robot, feedback in messages:
            self._send(robot, feedback)

    def _send(self, robot: str, feedback: SkillFeedback) -> None:
        self._outcome[robot](feedback.to_json())

    def _publish(self) -> None:
        with self._lock:
            state = self.server.state()
        self._publish_state(json.dumps(state))
        stamp = self.get_clock().now().to_msg()
        for robot, body in state["robots"].items():
            odom = Odometry()
            odom.header.stamp = stamp
            odom.header.frame_id = "field"
            odom.child_frame_id = f"{robot}/base_link"
            odom.pose.pose.position.x = body["x_mm"] / 1000.0
            odom.pose.pose.position.y = body["y_mm"] / 1000.0
            odom.pose.pose.orientation.w = 1.0
            self._odom[robot].publish(odom)


def main(args: list[str] | None = None) -> None:
    run_node(SimulatorNode, args)


if __name__ == "__main__":
    main()
