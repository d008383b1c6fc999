"""In-process ROS graph for tests: nodes on one executor thread, shut down cleanly."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import rclpy
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from std_msgs.msg import String

from llm_mars.nodes.common import stop_executor


def params(**values) -> list[Parameter]:
    return [Parameter(k, value=v) for k, v in values.items()]


class Graph:
    """A context, an executor spinning in a thread, and the nodes added to it."""

    def __init__(self):
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.executor = MultiThreadedExecutor(num_threads=4, context=self.context)
        self.nodes: list[Node] = []
        self.probe = self.add(Node("probe", context=self.context))
        self.received: dict[str, list[str]] = {}
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def add(self, node: Node) -> Node:
        self.nodes.append(node)
        self.executor.add_node(node)
        return node

    def make(self, cls, **kwargs) -> Node:
        return self.add(cls(context=self.context, **kwargs))

    def listen(self, topic: str) -> list[str]:
        box = self.received.setdefault(topic, [])
        self.probe.create_subscription(String, topic, lambda m: box.append(m.data), 100)
        return box

    def publisher(self, topic: str, subscribers: int = 0,
                  timeout: float = 30.0) -> Callable[[str], None]:
        """A publish function; first waits until ``subscribers`` are matched (discovery)."""
        pub = self.probe.create_publisher(String, topic, 100)
        self.wait_for(lambda: pub.get_subscription_count() >= subscribers, timeout)
        return lambda data: pub.publish(String(data=data))

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return predicate()

    def latest_state(self) -> dict | None:
        states = self.received.get("/world/state") or []
        return json.loads(states[-1]) if states else None

    def close(self) -> None:
        stop_executor(self.executor, self._thread)
        for node in self.nodes:
            node.destroy_node()
        rclpy.shutdown(context=self.context)
