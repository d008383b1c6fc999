"""What every llm_mars ROS node shares: parameter declaration, String topics, spinning.

Nodes are thin: they declare parameters (with descriptors, loaded from launch/config/*.yaml),
wire topics to a core object, and never let one bad message take them down.
"""
from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, TypeVar

import rclpy
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.exceptions import InvalidHandle
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import String

from llm_mars.errors import PayloadError
from llm_mars.payloads import Payload

P = TypeVar("P", bound=Payload)

# Reliable, a deep queue: operator utterances and plans must not be dropped under load.
RELIABLE = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)
# Latest-only streams (state, odometry): a late subscriber wants the newest sample.
LATEST = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                    durability=DurabilityPolicy.VOLATILE)


@dataclass(frozen=True)
class ParamSpec:
    """One node parameter: each node module lists its own in ``PARAMETERS``; the node declares
    exactly these, and the launch tests check launch/config/*.yaml against them."""

    name: str
    default: Any
    description: str


def declare_all(node: Node, specs: tuple[ParamSpec, ...]) -> SimpleNamespace:
    """Declare every parameter with a descriptor; their values as attributes."""
    values = {}
    for spec in specs:
        node.declare_parameter(spec.name, spec.default,
                               ParameterDescriptor(description=spec.description))
        values[spec.name] = node.get_parameter(spec.name).value
    return SimpleNamespace(**values)


def string_publisher(node: Node, topic: str, qos: QoSProfile = RELIABLE):
    publisher = node.create_publisher(String, topic, qos)
    return lambda data: publisher.publish(String(data=data))


def string_subscription(node: Node, topic: str, handler: Callable[[str], None],
                        qos: QoSProfile = RELIABLE):
    """Subscribe ``handler(text)``; an exception in it is logged, never fatal to the node."""

    def callback(msg: String) -> None:
        try:
            handler(msg.data)
        except Exception:  # a bad message must not kill the node: log it and go on
            node.get_logger().error(f"{topic}: handler failed:\n{traceback.format_exc()}")

    return node.create_subscription(String, topic, callback, qos)


def payload_subscription(node: Node, topic: str, payload: type[P], handler: Callable[[P], None],
                         qos: QoSProfile = RELIABLE,
                         on_bad: Callable[[str, PayloadError], None] | None = None,
                         warn_every: bool = True):
    """Subscribe ``handler(message)`` to a topic of ``payload`` JSON: a message that does not
    decode is logged as a warning, passed to ``on_bad`` (to answer it) and dropped. With
    ``warn_every`` false (a stream republished several times a second) a run of bad messages
    is logged once, at its first one."""
    in_bad_run = False

    def decoded(data: str) -> None:
        nonlocal in_bad_run
        try:
            message = payload.from_json(data)
        except PayloadError as exc:
            if warn_every or not in_bad_run:
                node.get_logger().warning(f"{topic}: bad {payload.NAME}, ignored: {exc}")
            in_bad_run = True
            if on_bad is not None:
                on_bad(data, exc)
            return
        in_bad_run = False
        handler(message)

    return string_subscription(node, topic, decoded, qos)


def safe_timer(node: Node, period_s: float, callback: Callable[[], None]):
    """A timer whose callback failing is logged, never fatal to the node or its executor."""

    def tick() -> None:
        try:
            callback()
        except Exception:  # a bug in one tick must not stop every node on the executor
            node.get_logger().error(f"timer callback failed:\n{traceback.format_exc()}")

    return node.create_timer(period_s, tick)


def stop_executor(executor: MultiThreadedExecutor, spin_thread: threading.Thread | None = None,
                  timeout_s: float = 10.0) -> None:
    """Stop ``executor`` and wait for the callbacks it is still running, so that its nodes can
    be destroyed. rclpy's ``Executor.shutdown`` (Jazzy) does not wait for callbacks in flight
    and MultiThreadedExecutor never stops its worker pool: a node destroyed under a running
    callback makes that callback fail ("cannot use Destroyable because destruction was
    requested", reported later as an exception never retrieved)."""
    executor.shutdown()
    if spin_thread is not None:
        spin_thread.join(timeout=timeout_s)
    pool = getattr(executor, "_executor", None)  # MultiThreadedExecutor's ThreadPoolExecutor
    if pool is not None:
        waiter = threading.Thread(target=pool.shutdown, kwargs={"wait": True}, daemon=True)
        waiter.start()
        waiter.join(timeout=timeout_s)
    _collect_handler_errors(executor)


def _collect_handler_errors(executor: MultiThreadedExecutor) -> None:
    """Fetch the outcome of the callback handlers the executor ran but never looked at again.

    A handler queued before ``shutdown`` runs after it and wakes the executor through the guard
    condition ``shutdown`` destroyed; rclpy (Jazzy) does not catch that ``InvalidHandle`` there,
    and the handler's unread error is printed at garbage collection as "The following exception
    was never retrieved: cannot use Destroyable ...". That error is read and dropped here; any
    other error of a late handler is printed, since it is a callback's own failure."""
    for task in list(getattr(executor, "_futures", ())):
        if not task.done():
            continue
        error = task.exception()
        if error is not None and not isinstance(error, InvalidHandle):
            print("a callback failed while its executor stopped:\n" + "".join(
                traceback.format_exception(error)), file=sys.stderr)


def run_node(make_node: Callable[[], Node], args: list[str] | None = None,
             threads: int = 2) -> None:
    """Entry-point body: init, spin until Ctrl-C or shutdown, clean up."""
    rclpy.init(args=args if args is not None else sys.argv)
    node = make_node()
    executor = MultiThreadedExecutor(num_threads=threads)
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        close = getattr(node, "close", None)
        if close is not None:
            close()
        stop_executor(executor)
        node.destroy_node()
        rclpy.try_shutdown()
