"""One robot's plan executor: validate, build, tick, queue, preempt and cancel, without ROS.

The ``bt_executor`` node wraps this; so does the simulated match (:mod:`.match`), so plans run
the same way with and without ROS; tests drive it directly. Rules:

* every plan is parsed and validated again on receipt (``PlanValidationError`` otherwise), and a
  plan that does not address this robot is rejected; nothing moves on an invalid plan;
* ``replace`` halts the running tree (its skill is cancelled) and starts the new one at once;
  ``queue`` appends it, to start when the current tree finishes (whatever its outcome);
* ``cancel`` halts the running tree and drops the queue: status ``CANCELLED``;
* ``tick`` ticks the tree once and never blocks (skills only poll the robot); a tick that
  raises fails the plan, and once the match is over nothing is ticked;
* a tree whose root reports BT.CPP's SKIPPED (a ``_skipIf`` or ``_while`` on the root, every
  child of a control skipped...) ends as BT.CPP's ``tickWhileRunning`` does: the plan is
  over, ``SUCCESS`` with the reason :data:`SKIPPED_REASON`;
* a halt always completes (every running skill is cancelled) before an ``_onHalted``
  script's error is known; the error is added to the plan's reason, never raised.
"""
from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from py_trees.behaviour import Behaviour
from py_trees.common import Status

from llm_mars.bt.builder import build_tree
from llm_mars.bt.library import SubtreeLibrary
from llm_mars.bt.model import Plan
from llm_mars.bt.parser import parse_plan
from llm_mars.bt.render import render_unicode
from llm_mars.bt.robot import RobotInterface
from llm_mars.bt.tick import SKIPPED
from llm_mars.errors import PlanValidationError, Problem
from llm_mars.payloads import ExecutorStatus, PlanDispatch
from llm_mars.world.skills import MATCH_OVER

MAX_QUEUED_PLANS = 8
SKIPPED_REASON = ("skipped: the tree ended SKIPPED (BT.CPP), a _skipIf, _while, Precondition "
                  "or RunOnce stopped it before it finished")


@dataclass
class Job:
    """A plan's tree for this executor's robot, built and set up, not yet started."""

    plan_id: str
    root: Behaviour


class PlanExecutor:
    def __init__(self, robot_name: str, robot: RobotInterface,
                 library: SubtreeLibrary | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.robot_name = robot_name
        self.robot = robot
        self.library = library
        self.clock = clock
        self.current: Job | None = None
        self.queue: deque[Job] = deque()
        self.status = "IDLE"
        self.plan_id: str | None = None
        self.reason: str | None = None

    def submit(self, dispatch: PlanDispatch) -> None:
        """Validate and accept a plan (replace or queue); raises PlanValidationError."""
        self.start(self.prepare(parse_plan(dispatch.xml, self.library), dispatch.id),
                   dispatch.mode)

    def prepare(self, plan: Plan, plan_id: str) -> Job:
        """This robot's tree of a validated ``plan``, built and set up; nothing runs yet.
        PlanValidationError when the plan has no tree for this robot."""
        root_node = plan.tree(self.robot_name)
        if root_node is None:
            raise PlanValidationError([Problem(
                f"the plan has no tree for {self.robot_name} (it addresses "
                f"{', '.join(plan.robots)})", path=self.robot_name, code="wrong_robot")])
        job = Job(plan_id, build_tree(root_node, self.robot, self.library, clock=self.clock))
        job.root.setup_with_descendants()
        return job

    def start(self, job: Job, mode: str = "replace") -> None:
        """Run ``job`` now (``replace``: the running tree is halted, the queue dropped) or
        after the plans before it (``queue``); PlanValidationError when the queue is full."""
        if mode == "queue" and self.current is not None:
            if len(self.queue) >= MAX_QUEUED_PLANS:
                raise PlanValidationError([Problem(
                    f"{self.robot_name} already has {MAX_QUEUED_PLANS} plans queued",
                    path=self.robot_name, code="queue_full")])
            self.queue.append(job)
            return
        self._halt("CANCELLED", "replaced by a new plan")
        self.queue.clear()
        self._begin(job)

    def cancel(self, reason: str = "cancelled by the operator") -> bool:
        """Halt the running tree and drop queued plans: ``CANCELLED``; True if anything was
        running."""
        return self.stop("CANCELLED", reason)

    def stop(self, status: str, reason: str) -> bool:
        """Halt the running tree and drop queued plans, ending with ``status`` (``CANCELLED``,
        or ``FAILURE`` when the match is over); True if anything was running."""
        was_running = self.current is not None
        self.queue.clear()
        self._halt(status, reason)
        return was_running

    def tick(self, match_over: bool = False) -> Exception | None:
        """Tick the running tree once; start the next queued plan when it finishes. A tick
        that raises fails the plan with the error as its reason (a plan must never stay
        RUNNING on an error that every tick repeats); the error is returned, to be logged.
        Once the match is over nothing is ticked: the plan and the queue fail ("match over";
        a retry loop would otherwise start a failing goal every tick, for ever)."""
        if self.current is None:
            return None
        if match_over:
            self.stop("FAILURE", MATCH_OVER)
            return None
        root = self.current.root
        try:
            root.tick_once()
        except Exception as exc:  # a robot or behaviour failed: the plan fails, not the node
            self._halt("FAILURE", f"tick failed: {exc!r}")
            error = exc
        else:
            skipped = root.tick_result is SKIPPED
            if root.status not in (Status.SUCCESS, Status.FAILURE) and not skipped:
                return None
            # BT.CPP's tickWhileRunning ends on a SKIPPED root and reports SKIPPED: the
            # plan ends, with nothing failed, as SUCCESS (tree_status has no SKIPPED)
            self.status = Status.SUCCESS.value if skipped else root.status.value
            self.reason = SKIPPED_REASON if skipped else \
                self._failure_reason(root) if root.status is Status.FAILURE else None
            self.current = None
            error = None
        if self.queue:
            self._begin(self.queue.popleft())
        return error

    @property
    def running(self) -> bool:
        return self.current is not None

    def active_skill(self) -> str | None:
        """Label of the deepest running leaf, e.g. ``PickCake color=brown quadrant=2``."""
        node = self.current.root if self.current else None
        while node is not None and node.status is Status.RUNNING and node.children:
            node = next((c for c in node.children if c.status is Status.RUNNING), None)
        return node.name if node is not None and node.status is Status.RUNNING else None

    def snapshot(self) -> ExecutorStatus:
        tree = render_unicode(self.current.root) if self.current else None
        return ExecutorStatus(self.robot_name, self.status, self.plan_id, self.active_skill(),
                              self.reason, tree, len(self.queue))

    def _begin(self, job: Job) -> None:
        self.current = job
        self.plan_id = job.plan_id
        self.status = "RUNNING"
        self.reason = None

    def _halt(self, status: str, reason: str) -> None:
        if self.current is None:
            return
        root = self.current.root
        self.current = None
        self.status = status
        self.reason = reason
        try:
            root.stop(Status.INVALID)
        except Exception as exc:  # an _onHalted script failed; every skill was still halted
            self.reason = f"{reason}; while halting: {exc!r}"

    @staticmethod
    def _failure_reason(root: Behaviour) -> str | None:
        """The feedback of the failed leaf that made the tree fail (last one ticked), else of
        the failed decorator that did (a Timeout halts its leaf, which then shows nothing)."""
        reasons: dict[bool, str] = {}
        for behaviour in root.iterate():
            if behaviour.status is Status.FAILURE and behaviour.feedback_message \
                    and len(behaviour.children) <= 1:
                reasons[not behaviour.children] = f"{behaviour.name}: {behaviour.feedback_message}"
        return reasons.get(True, reasons.get(False))
