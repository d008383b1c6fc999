"""``simulator``: the simulated Eurobot field on the ROS graph.

Runs :class:`llm_mars.world.simulator.Simulator` against the wall clock (scaled), serves both
robots' skills over topics so executors can run in other processes, and publishes the world.

Parameters (launch/config/simulator.yaml):
  seed (int, 0)                        random seed (manipulation times, injected faults)
  time_scale (float, 1.0)              simulated seconds per wall second
  step_hz (float, 20.0)                simulation steps per wall second
  state_rate_hz (float, 5.0)           /world/state and odometry publications per second
  fail_probability (float, 0.0)        fault injection: chance that a body skill fails
  pause_when_idle (bool, false)        the match clock stands still while no robot runs a skill
                                       (operator sessions in demos and replays, where the
                                       model's thinking time should not eat the match)
  executor_silence_s (float, 3.0)      a robot whose executor has been silent this long stops:
                                       its running skills are cancelled (dead man's switch)

Subscribes, for each robot R in /robot1, /robot2:
  R/skill/goal (String, SkillGoal JSON), R/skill/cancel (String, GoalRef JSON)
  R/bt_status (String, ExecutorStatus JSON): the tree status shown in the state JSON
  /world/reset (String, anything): a fresh field and match clock
Publishes:
  /world/state (String, the state JSON of DESIGN.md section 3, plus "time_left_s")
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
from llm_mars.errors import LlmMarsError, PayloadError
from llm_mars.nodes.common import (LATEST, declare_all, ParamSpec, run_node, safe_timer,
                                   string_publisher, string_subscription)
from llm_mars.payloads import ExecutorStatus, GoalRef, SkillFeedback, SkillGoal, peek_field
from llm_mars.bt.robot import SkillState
from llm_mars.world.faults import Faults
from llm_mars.world.simulator import Simulator

HEARTBEAT_S = 1.0

PARAMETERS = (
    ParamSpec("seed", 0, "random seed (manipulation times, injected faults)"),
    ParamSpec("time_scale", 1.0, "simulated seconds per wall second"),
    ParamSpec("step_hz", 20.0, "simulation steps per wall second"),
    ParamSpec("state_rate_hz", 5.0, "/world/state and odometry publications per second"),
    ParamSpec("fail_probability", 0.0, "chance that a body skill fails (fault injection)"),
    ParamSpec("pause_when_idle", False,
              "stop the match clock while no robot runs a skill (demos, replays)"),
    ParamSpec("executor_silence_s", 3.0,
              "a robot whose executor is silent this long has its running skills cancelled"),
)


class SimulatorNode(Node):
    def __init__(self, **kwargs):
        super().__init__("simulator", **kwargs)
        p = declare_all(self, PARAMETERS)
        self.seed, self.time_scale, self.fail_probability = p.seed, p.time_scale, p.fail_probability
        self.executor_silence_s = p.executor_silence_s
        self.pause_when_idle = p.pause_when_idle
        self._heard: dict[str, float] = {}  # robot -> last executor status (monotonic)
        self._lock = threading.Lock()
        self._reset()
        self._publish_state = string_publisher(self, "/world/state", LATEST)
        self._outcome = {r: string_publisher(self, f"/{r}/skill/outcome") for r in V.ROBOTS}
        self._odom = {r: self.create_publisher(Odometry, f"/{r}/odom", LATEST) for r in V.ROBOTS}
        for robot in V.ROBOTS:
            string_subscription(self, f"/{robot}/skill/goal",
                                lambda data, r=robot: self._on_goal(r, data))
            string_subscription(self, f"/{robot}/skill/cancel",
                                lambda data, r=robot: self._on_cancel(r, data))
            string_subscription(self, f"/{robot}/bt_status",
                                lambda data, r=robot: self._on_status(r, data))
        string_subscription(self, "/world/reset", lambda _data: self._reset())
        self._last_wall = time.monotonic()
        safe_timer(self, 1.0 / p.step_hz, self._step)
        safe_timer(self, 1.0 / p.state_rate_hz, self._publish)
        self.get_logger().info(f"simulating at {self.time_scale:g}x real time, seed {self.seed}")

    def _reset(self) -> None:
        with self._lock:
            self.world = Simulator(self.seed, Faults(fail_probability=self.fail_probability))
            self._goals: dict[str, dict[int, int]] = {r: {} for r in V.ROBOTS}  # ext -> sim id
            self._reported: dict[tuple[str, int], tuple[str, float]] = {}

    def _on_goal(self, robot: str, data: str) -> None:
        try:
            goal = SkillGoal.from_json(data)
        except PayloadError as exc:
            self.get_logger().warning(f"{robot}: bad skill goal: {exc}")
            goal_id = peek_field(data, "goal_id", int)
            if goal_id is not None:
                self._send(robot, SkillFeedback(goal_id, "FAILURE", f"bad goal: {exc}"))
            return
        with self._lock:
            try:
                self._goals[robot][goal.goal_id] = self.world.start_skill(robot, goal.skill,
                                                                           goal.args)
            except LlmMarsError as exc:
                self._send(robot, SkillFeedback(goal.goal_id, "FAILURE", str(exc)))
                return
        self._report()

    def _on_cancel(self, robot: str, data: str) -> None:
        try:
            ref = GoalRef.from_json(data)
        except PayloadError as exc:
            self.get_logger().warning(f"{robot}: bad cancel: {exc}")
            return
        with self._lock:
            sim_id = self._goals[robot].get(ref.goal_id)
            if sim_id is not None:
                self.world.cancel_skill(robot, sim_id)
        self._report()

    def _on_status(self, robot: str, data: str) -> None:
        try:
            status = ExecutorStatus.from_json(data)
        except PayloadError as exc:
            self.get_logger().warning(f"{robot}: bad executor status: {exc}")
            return
        with self._lock:
            self._heard[robot] = time.monotonic()
            self.world.set_tree_status(robot, status.status)

    def _stop_orphans(self, now: float) -> None:
        """Cancel the goals of robots whose executor went silent: a dead executor cannot
        steer or stop its robot, so the robot stops itself."""
        for robot, goals in self._goals.items():
            heard = self._heard.get(robot)
            if goals and heard is not None and now - heard > self.executor_silence_s:
                self.get_logger().warning(f"{robot}: executor silent, stopping the robot")
                for sim_id in goals.values():
                    self.world.cancel_skill(robot, sim_id)
                self._heard.pop(robot)

    def _step(self) -> None:
        now = time.monotonic()
        dt = (now - self._last_wall) * self.time_scale
        self._last_wall = now
        with self._lock:
            self._stop_orphans(now)
            idle = self.pause_when_idle and not any(self._goals.values())
            if dt > 0 and not idle:
                self.world.step(min(dt, 1.0))
        self._report()

    def _report(self) -> None:
        """Send outcomes that changed, and a RUNNING heartbeat for goals still running."""
        now = time.monotonic()
        messages = []
        with self._lock:
            for robot, goals in self._goals.items():
                for ext_id, sim_id in list(goals.items()):
                    outcome = self.world.skill_outcome(robot, sim_id)
                    key = (robot, ext_id)
                    last = self._reported.get(key)
                    due = last is None or last[0] != outcome.state.value or (
                        outcome.state is SkillState.RUNNING and now - last[1] >= HEARTBEAT_S)
                    if due:
                        self._reported[key] = (outcome.state.value, now)
                        messages.append((robot, SkillFeedback(ext_id, outcome.state.value,
                                                              outcome.reason)))
                    if outcome.done:
                        del goals[ext_id]
                        self._reported.pop(key, None)
        for robot, feedback in messages:
            self._send(robot, feedback)

    def _send(self, robot: str, feedback: SkillFeedback) -> None:
        self._outcome[robot](feedback.to_json())

    def _publish(self) -> None:
        with self._lock:
            state = self.world.state_dict()
            state["time_left_s"] = self.world.time_left_s
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
