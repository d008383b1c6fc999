"""What every llm_mars ROS node shares: parameter declaration, String topics, spinning.

Nodes are thin: they declare parameters (with descriptors, loaded from launch/config/*.yaml),
wire topics to a core object, and never let one bad message take them down.

Topic names are relative (``operator/command``, ``robot1/plan``): in the default namespace they
resolve to the names of docs/interfaces.md (``/operator/command``), and PushRosNamespace or
``-r __ns:=/team_a`` moves a whole team, so two teams can share one ROS domain.
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
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import InvalidHandle, ParameterException
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import String

from llm_mars.errors import LlmMarsError, ParameterError, PayloadError
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
    exactly these, and the launch tests check launch/config/*.yaml against them.

    ``limits`` (inclusive) bound a number. A ``runtime`` parameter may be changed while the
    node runs (``ros2 param set``): the node applies it in its ``on_change``. Every other
    parameter is declared read-only, so a change is refused rather than ignored."""

    name: str
    default: Any
    description: str
    limits: tuple[float, float] | None = None
    runtime: bool = False

    def descriptor(self) -> ParameterDescriptor:
        descriptor = ParameterDescriptor(description=self.description,
                                         read_only=not self.runtime)
        if self.limits is not None:
            low, high = self.limits
            if isinstance(self.default, float):
                descriptor.floating_point_range = [
                    FloatingPointRange(from_value=float(low), to_value=float(high), step=0.0)]
            else:
                descriptor.integer_range = [
                    IntegerRange(from_value=int(low), to_value=int(high), step=0)]
        return descriptor


def declare_all(node: Node, specs: tuple[ParamSpec, ...],
                on_change: Callable[[str, Any], None] | None = None) -> SimpleNamespace:
    """Declare every parameter with its descriptor; their values as attributes, kept up to
    date as runtime parameters change (``on_change(name, value)`` is called after each).

    An integer given for a float parameter (``time_scale:=2`` on a command line or in a launch
    file) is taken as that float, at start-up and at run time. A value of the wrong type or
    out of range at start-up is a :class:`ParameterError` naming the parameter."""
    floats = {spec.name for spec in specs if isinstance(spec.default, float)}

    def as_float(parameter: Parameter) -> Parameter:
        if parameter.name in floats and parameter.type_ == Parameter.Type.INTEGER:
            return Parameter(parameter.name, value=float(parameter.value))
        return parameter

    # rclpy reads start-up values from here and offers no public hook before it checks types
    overrides = node._parameter_overrides
    values = SimpleNamespace()
    for spec in specs:
        if spec.name in overrides:
            overrides[spec.name] = as_float(overrides[spec.name])
        try:
            node.declare_parameter(spec.name, spec.default, spec.descriptor())
        except ParameterException as exc:
            raise ParameterError(spec.name, str(exc)) from None
        setattr(values, spec.name, node.get_parameter(spec.name).value)

    def changed(parameters: list[Parameter]) -> None:
        for parameter in parameters:
            if hasattr(values, parameter.name):  # not rclpy's own (use_sim_time)
                setattr(values, parameter.name, parameter.value)
                if on_change is not None:
                    on_change(parameter.name, parameter.value)

    node.add_pre_set_parameters_callback(lambda parameters: [as_float(p) for p in parameters])
    node.add_post_set_parameters_callback(changed)
    return values


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


def set_rate(timer, rate_hz: float) -> None:
    """Change a running timer's rate (a runtime ``*_rate_hz`` parameter)."""
    timer.timer_period_ns = 1e9 / rate_hz


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
    try:
        node = make_node()
    except LlmMarsError as exc:  # a configuration that cannot work: say what, and stop
        rclpy.try_shutdown()
        raise SystemExit(f"cannot start: {exc}") from None
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
