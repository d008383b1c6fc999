"""Messages cross process boundaries within a test's ROS domain, and never across domains."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from llm_mars.ros_domain import claim_domain_id

pytestmark = pytest.mark.ros

TALKER = Path(__file__).with_name("talker.py")


def _start_talker(topic: str, payload: str, domain_id: int | None = None) -> subprocess.Popen:
    env = dict(os.environ)
    if domain_id is not None:
        env["ROS_DOMAIN_ID"] = str(domain_id)
    return subprocess.Popen([sys.executable, str(TALKER), topic, payload], env=env)


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def listener():
    """An rclpy node spinning on a background executor thread, shut down cleanly after the test."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("listener", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    yield node
    executor.shutdown()
    thread.join(timeout=5)
    node.destroy_node()
    rclpy.shutdown(context=context)


def _collect(node, topic: str, seconds: float, until=None) -> list[str]:
    from std_msgs.msg import String

    received: list[str] = []
    node.create_subscription(String, topic, lambda msg: received.append(msg.data), 10)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not (until and until(received)):
        time.sleep(0.05)
    return received


def test_message_crosses_processes_in_own_domain(listener):
    talker = _start_talker("/chatter", "hello from another process")
    try:
        received = _collect(listener, "/chatter", 30.0, until=lambda r: len(r) >= 3)
    finally:
        _stop(talker)
    assert received.count("hello from another process") >= 3


def test_other_domain_is_not_heard(listener):
    other = claim_domain_id()
    try:
        assert str(other.domain_id) != os.environ["ROS_DOMAIN_ID"]
        stranger = _start_talker("/chatter", "from another domain", other.domain_id)
        ours = _start_talker("/chatter", "from our domain")
        try:
            received = _collect(listener, "/chatter", 30.0, until=lambda r: len(r) >= 10)
        finally:
            _stop(stranger)
            _stop(ours)
    finally:
        other.release()
    assert "from our domain" in received
    assert "from another domain" not in received
