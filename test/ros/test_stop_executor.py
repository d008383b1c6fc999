"""Stopping an executor waits for the callbacks it is running (llm_mars.nodes.common)."""
from __future__ import annotations

import threading
import time

import pytest
import rclpy
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node

from llm_mars.nodes.common import stop_executor

pytestmark = pytest.mark.ros


def test_a_callback_in_flight_finishes_before_its_node_is_destroyed():
    context = rclpy.Context()
    rclpy.init(context=context)
    executor = MultiThreadedExecutor(num_threads=2, context=context)
    node = Node("slow_callback", context=context)
    started, finished = threading.Event(), threading.Event()

    def slow() -> None:
        if started.is_set():
            return
        started.set()
        time.sleep(0.5)
        finished.set()

    node.create_timer(0.01, slow)
    executor.add_node(node)
    spin = threading.Thread(target=executor.spin, daemon=True)
    spin.start()
    try:
        assert started.wait(5)
        stop_executor(executor, spin)
        assert finished.is_set()  # rclpy's shutdown() alone returns while it still sleeps
        assert not spin.is_alive()
    finally:
        node.destroy_node()
        rclpy.try_shutdown(context=context)


def test_no_handler_error_is_left_unread_after_stopping(capfd):
    """Handlers queued at shutdown fail on the guard condition rclpy destroyed; their errors
    are read, so none is printed later as "never retrieved"; a callback's own error is shown."""
    import gc

    from rclpy.exceptions import InvalidHandle
    from rclpy.task import Future

    context = rclpy.Context()
    rclpy.init(context=context)
    executor = MultiThreadedExecutor(num_threads=2, context=context)
    node = Node("busy_timers", context=context)
    for _ in range(20):
        node.create_timer(0.001, lambda: None)
    executor.add_node(node)
    late, failed = Future(), Future()
    late.set_exception(InvalidHandle("cannot use Destroyable because destruction was requested"))
    failed.set_exception(ValueError("a callback's own failure"))
    spin = threading.Thread(target=executor.spin, daemon=True)
    spin.start()
    try:
        time.sleep(0.3)
        executor._futures += [late, failed]  # as rclpy leaves them when it stops mid-spin
        stop_executor(executor, spin)
    finally:
        node.destroy_node()
        rclpy.try_shutdown(context=context)
    del executor, late, failed
    gc.collect()
    out, err = capfd.readouterr()
    assert "never retrieved" not in out + err
    assert "a callback's own failure" in err
