"""The commander's logic: one operator utterance in, exactly one final response out.

The ``commander`` node wraps this class; it is tested without ROS. Per utterance:

* a malformed or low-confidence utterance gets an ``error`` response at once;
* **stop** (see :mod:`llm_mars.language.intent`) cancels the named robots at once: ``stopped``;
* a **question** goes to the LLM's qa adapter with the latest world state and the state query
  of the previous question answered (so "and robot two?" follows it): ``answer``;
* a **command** goes to the bt adapter; a plan is validated again, each addressed robot gets
  it (``replace``, or ``queue`` for "then"/"after that" commands): ``plan``; a reply (the
  command cannot be expressed) is passed on as ``reply`` and nothing moves;
* an LLM that does not answer within ``llm_timeout_s`` gives an ``error`` (code
  ``llm_timeout``); robots keep their plans; a late answer is dropped. Until then the request
  is sent again every ``llm_resend_s`` without a result: topics keep nothing for a server that
  has not yet matched the commander (start-up) or was restarted, and the server answers a
  request it already has only once.

Robot progress (status changes, failures with their reason, an executor that went silent or
came back) is reported as ``progress`` responses, which are never ``final``.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llm_mars import vocabulary as V
from llm_mars.bt.parser import parse_plan
from llm_mars.bt.render import render_unicode
from llm_mars.errors import PayloadError, PlanValidationError
from llm_mars.language.intent import Intent, classify
from llm_mars.payloads import (ExecutorStatus, LlmRequest, LlmResult, OperatorResponse,
                               PlanDispatch, Utterance, peek_field)


@dataclass(frozen=True)
class CommanderPorts:
    """Where the commander's decisions go (the node binds these to publishers)."""

    request_llm: Callable[[LlmRequest], None]
    dispatch: Callable[[str, PlanDispatch], None]  # (robot, plan)
    cancel: Callable[[str, str], None]  # (robot, reason)
    respond: Callable[[OperatorResponse], None]


@dataclass
class _Pending:
    utterance: Utterance
    intent: Intent
    queue: bool
    deadline: float
    request: LlmRequest
    resend_at: float


class Commander:
    def __init__(self, ports: CommanderPorts, llm_timeout_s: float = 30.0,
                 min_confidence: float = 0.5, executor_silence_s: float = 3.0,
                 clock: Callable[[], float] = time.monotonic, llm_resend_s: float = 5.0):
        self.ports = ports
        self.llm_timeout_s = llm_timeout_s
        self.llm_resend_s = llm_resend_s  # 0: never sent again
        self.min_confidence = min_confidence
        self.executor_silence_s = executor_silence_s
        self.clock = clock
        self.pending: dict[str, _Pending] = {}
        self.world_state: dict[str, Any] | None = None
        self.last_query: str | None = None  # the state query of the last question answered
        self.executors: dict[str, ExecutorStatus] = {}
        self._last_heard: dict[str, float] = {}
        self._offline: set[str] = set()

    # --- inputs --------------------------------------------------------------------------

    def on_utterance(self, data: str) -> None:
        try:
            utterance = Utterance.from_json(data)
        except PayloadError as exc:
            self._respond(peek_field(data, "id", str) or "invalid", "error", f"I could not read that: {exc}",
                          code="bad_input")
            return
        if utterance.id in self.pending:
            self._respond(utterance.id, "error", "an utterance with this id is still being "
                          "handled", code="duplicate_id", final=False)
            return
        if utterance.confidence is not None and utterance.confidence < self.min_confidence:
            self._respond(utterance.id, "error", "I did not catch that, please say it again.",
                          code="low_confidence")
            return
        intent = classify(utterance.text)
        if intent.intent is Intent.STOP:
            for robot in intent.robots:
                self.ports.cancel(robot, f"operator: {utterance.text}")
            self._respond(utterance.id, "stopped", f"Stopping {_names(intent.robots)}.",
                          robots=list(intent.robots))
            return
        if intent.intent is Intent.QUESTION:
            if self.world_state is None:
                self._respond(utterance.id, "error", "I have no state from the robots yet.",
                              code="no_state")
                return
            request = LlmRequest(utterance.id, "answer", utterance.text, self.world_state,
                                 self.last_query)
        else:
            request = LlmRequest(utterance.id, "plan", utterance.text)
        now = self.clock()
        self.pending[utterance.id] = _Pending(utterance, intent.intent, intent.queue,
                                              now + self.llm_timeout_s, request,
                                              now + self.llm_resend_s)
        self.ports.request_llm(request)

    def on_llm_result(self, data: str) -> None:
        try:
            result = LlmResult.from_json(data)
        except PayloadError as exc:  # the operator waiting for it hears now, not at the timeout
            uid = peek_field(data, "id", str)
            if uid is not None and self.pending.pop(uid, None) is not None:
                self._respond(uid, "error", f"the language model's answer could not be read: "
                              f"{exc}", code="llm_error")
            return
        pending = self.pending.pop(result.id, None)
        if pending is None:
            return  # late (already timed out) or someone else's request
        uid = pending.utterance.id
        if result.kind == "error":
            self._respond(uid, "error", result.text or "the language model failed",
                          code=result.code or "llm_error")
        elif result.kind == "answer":
            self.last_query = result.query or self.last_query
            self._respond(uid, "answer", result.text)
        elif result.kind == "reply":
            self._respond(uid, "reply", result.text)
        elif pending.intent is not Intent.COMMAND or not result.xml:
            self._respond(uid, "error", "the language model answered with the wrong kind",
                          code="llm_error")
        else:
            self._dispatch(uid, result.xml, pending.queue)

    def on_world_state(self, state: dict[str, Any]) -> None:
        """The whole world (the simulator's): it replaces what the commander knew."""
        self.world_state = state

    def on_robot_state(self, robot: str, state: dict[str, Any]) -> None:
        """One robot driver's view (field trials): it is the truth about that robot only, so
        its entry replaces that robot's and the other robots keep theirs; the rest of the world
        (time, score, field) is taken from the freshest view."""
        robots = dict((self.world_state or {}).get("robots") or {})
        robots[robot] = state["robots"][robot]
        self.world_state = {**state, "robots": robots}

    def on_executor_status(self, status: ExecutorStatus) -> None:
        previous = self.executors.get(status.robot)
        self.executors[status.robot] = status
        self._last_heard[status.robot] = self.clock()
        if status.robot in self._offline:
            self._offline.discard(status.robot)
            self._progress(status.robot, f"{status.robot} executor is back online.")
        if previous is None or (previous.status, previous.plan_id) != (status.status,
                                                                      status.plan_id):
            if status.status == "FAILURE":
                self._progress(status.robot, f"{status.robot} failed: {status.reason or '?'}")
            elif status.status in ("SUCCESS", "CANCELLED") and previous is not None:
                said = f" ({status.reason})" if status.reason else ""
                self._progress(status.robot, f"{status.robot}: plan {status.plan_id} "
                                             f"{status.status.lower()}{said}")

    def poll(self) -> None:
        """Expire LLM requests past their deadline, send again those still unanswered; notice
        executors that went silent."""
        now = self.clock()
        for uid, pending in list(self.pending.items()):
            if now >= pending.deadline:
                del self.pending[uid]
                self._respond(uid, "error",
                              f"The language model did not answer within "
                              f"{self.llm_timeout_s:g} s; the robots keep their plans.",
                              code="llm_timeout")
            elif self.llm_resend_s > 0 and now >= pending.resend_at:
                pending.resend_at = now + self.llm_resend_s
                self.ports.request_llm(pending.request)
        for robot, heard in self._last_heard.items():
            if robot not in self._offline and now - heard > self.executor_silence_s:
                self._offline.add(robot)
                self._progress(robot, f"{robot} executor is offline (no status for "
                                      f"{self.executor_silence_s:g} s).")

    # --- helpers -------------------------------------------------------------------------

    def _dispatch(self, uid: str, xml: str, queue: bool) -> None:
        try:
            plan = parse_plan(xml)
        except PlanValidationError as exc:
            self._respond(uid, "error", f"The plan did not validate, nothing was sent:\n{exc}",
                          code="invalid_plan")
            return
        mode = "queue" if queue else "replace"
        for robot in plan.robots:
            self.ports.dispatch(robot, PlanDispatch(uid, xml, mode))
        offline = [r for r in plan.robots if r in self._offline]
        text = render_unicode(plan)
        if queue:
            text = f"Queued after the current plan:\n{text}"
        if offline:
            text += f"\nWarning: the executor of {_names(offline)} is offline and may miss this plan."
        self._respond(uid, "plan", text, robots=list(plan.robots), plan=xml, mode=mode)

    def _respond(self, uid: str, kind: str, text: str, final: bool = True, **extra: Any) -> None:
        self.ports.respond(OperatorResponse(uid, kind, text, final, **extra))

    def _progress(self, robot: str, text: str) -> None:
        self._respond(f"{robot}-status", "progress", text, final=False, robots=[robot])


def _names(robots) -> str:
    robots = list(robots)
    if set(robots) == set(V.ROBOTS):
        return "both robots"
    return " and ".join(robots)
