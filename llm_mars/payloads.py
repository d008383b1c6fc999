"""Typed payloads of the ROS interfaces (DESIGN.md section 4), validated on receipt.

Every structured message travels as JSON inside ``std_msgs/String``. Each payload here is a
frozen dataclass with ``to_json()`` and a ``from_json()`` that raises
:class:`~llm_mars.errors.PayloadError` naming the offending field, so a node answers a bad
message with an error instead of crashing. The schemas are documented in docs/interfaces.md.
"""
from __future__ import annotations

import json
import math
import unicodedata
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from llm_mars import vocabulary as V
from llm_mars.bt.robot import SkillState
from llm_mars.errors import PayloadError

MAX_PAYLOAD_CHARS = 256 * 1024
MAX_UTTERANCE_CHARS = 1000

def new_id() -> str:
    return uuid.uuid4().hex[:12]


def clean_text(text: str, what: str, max_chars: int = MAX_UTTERANCE_CHARS) -> str:
    """Whitespace-normalised text; control characters, binary and oversize text are rejected."""
    if len(text) > max_chars:
        raise PayloadError(f"{what}: {len(text)} characters, at most {max_chars} allowed")
    for ch in text:
        if ch not in "\n\t" and unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn"):
            raise PayloadError(f"{what}: contains a control or binary character {ch!r}")
    cleaned = " ".join(text.split())
    if not cleaned:
        raise PayloadError(f"{what}: empty")
    return cleaned


MAX_NUMBER_CHARS = 100
"""A longer number in a payload is refused before it is converted: no field needs one, and
Python refuses an integer of more than 4300 digits with a plain ValueError."""


def _number(text: str) -> int | float:
    """One JSON number; ValueError when it is too long or not finite (``1e999``)."""
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"a number of {len(text)} characters")
    value = float(text) if any(c in text for c in ".eE") else int(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is not a finite number")
    return value


def _not_json(text: str) -> None:
    raise ValueError(f"{text} is not JSON")


def _decode(data: str) -> Any:
    """JSON text as Python values; ValueError or RecursionError when it cannot be read."""
    return json.loads(data, parse_int=_number, parse_float=_number, parse_constant=_not_json)


def _load_object(data: str, what: str) -> dict[str, Any]:
    if len(data) > MAX_PAYLOAD_CHARS:
        raise PayloadError(f"{what}: payload of {len(data)} characters is too large")
    try:
        obj = _decode(data)
    except (ValueError, RecursionError) as exc:
        raise PayloadError(f"{what}: not valid JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise PayloadError(f"{what}: expected a JSON object, got {type(obj).__name__}")
    return obj


def _number_or_none(text: str) -> int | float | None:
    try:
        return _number(text)
    except ValueError:
        return None


def peek_field(data: str, key: str, kind: type, max_chars: int = 64):
    """``data[key]`` of a payload that failed validation, if it is JSON with a usable value
    of type ``kind`` there (to address the error reply); else None. A number that made the
    payload fail does not hide the field."""
    if len(data) > MAX_PAYLOAD_CHARS:
        return None
    try:
        value = json.loads(data, parse_int=_number_or_none, parse_float=_number_or_none,
                           parse_constant=_number_or_none).get(key)
    except (ValueError, AttributeError, RecursionError):
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        return None
    return value if not isinstance(value, str) or 0 < len(value) <= max_chars else None


def _get(obj: dict[str, Any], what: str, key: str, kind: type | tuple[type, ...],
         required: bool = True, default: Any = None) -> Any:
    if key not in obj or obj[key] is None:
        if required:
            raise PayloadError(f"{what}: missing field {key!r}")
        return default
    value = obj[key]
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise PayloadError(f"{what}.{key}: expected {_names(kind)}, got bool")
    if not isinstance(value, kind):
        raise PayloadError(f"{what}.{key}: expected {_names(kind)}, got {type(value).__name__}")
    return value


def _names(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def _choice(value: str, what: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise PayloadError(f"{what}: {value!r} is not one of {', '.join(choices)}")
    return value


@dataclass(frozen=True)
class Payload:
    """Base: JSON encoding of the dataclass fields, ``None`` fields left out."""

    NAME: ClassVar[str] = "payload"

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None})


@dataclass(frozen=True)
class Utterance(Payload):
    """``/operator/command``: plain text, or JSON ``{"text", "id"?, "confidence"?, "source"?}``."""

    NAME: ClassVar[str] = "utterance"
    SOURCES: ClassVar[tuple[str, ...]] = ("typed", "speech", "replay")

    text: str
    id: str = field(default_factory=new_id)
    confidence: float | None = None
    source: str = "typed"

    @classmethod
    def from_json(cls, data: str) -> Utterance:
        if not data.lstrip().startswith("{"):
            return cls(text=clean_text(data, cls.NAME))
        obj = _load_object(data, cls.NAME)
        text = clean_text(_get(obj, cls.NAME, "text", str), f"{cls.NAME}.text")
        utterance_id = _get(obj, cls.NAME, "id", str, required=False) or new_id()
        confidence = _get(obj, cls.NAME, "confidence", (int, float), required=False)
        if confidence is not None and not 0.0 <= confidence <= 1.0:
            raise PayloadError(f"{cls.NAME}.confidence: {confidence} is not within 0..1")
        source = _choice(_get(obj, cls.NAME, "source", str, required=False, default="typed"),
                         f"{cls.NAME}.source", cls.SOURCES)
        return cls(text, clean_text(utterance_id, f"{cls.NAME}.id", 64),
                   None if confidence is None else float(confidence), source)


@dataclass(frozen=True)
class OperatorResponse(Payload):
    """``/operator/response``: exactly one per utterance (``final``), plus progress reports.

    ``kind``: plan (trees dispatched), answer (qa), reply (the command cannot be expressed),
    stopped, error (with ``code``), or progress (robot status changes, ``final`` false). A
    plan response says how the plan was dispatched in ``mode`` (``PlanDispatch.MODES``).
    """

    NAME: ClassVar[str] = "operator_response"
    KINDS: ClassVar[tuple[str, ...]] = ("plan", "answer", "reply", "stopped", "error", "progress")

    id: str
    kind: str
    text: str
    final: bool = True
    robots: list[str] | None = None
    plan: str | None = None
    code: str | None = None
    mode: str | None = None

    @classmethod
    def from_json(cls, data: str) -> OperatorResponse:
        obj = _load_object(data, cls.NAME)
        robots = _get(obj, cls.NAME, "robots", list, required=False)
        if robots is not None:
            for robot in robots:
                _choice(robot, f"{cls.NAME}.robots", V.ROBOTS)
        mode = _get(obj, cls.NAME, "mode", str, required=False)
        return cls(
            id=_get(obj, cls.NAME, "id", str),
            kind=_choice(_get(obj, cls.NAME, "kind", str), f"{cls.NAME}.kind", cls.KINDS),
            text=_get(obj, cls.NAME, "text", str),
            final=_get(obj, cls.NAME, "final", bool, required=False, default=True),
            robots=robots,
            plan=_get(obj, cls.NAME, "plan", str, required=False),
            code=_get(obj, cls.NAME, "code", str, required=False),
            mode=None if mode is None else _choice(mode, f"{cls.NAME}.mode", PlanDispatch.MODES),
        )


@dataclass(frozen=True)
class PlanDispatch(Payload):
    """``/<robot>/plan``: a plan document for one robot; ``mode`` replace or queue."""

    NAME: ClassVar[str] = "plan_dispatch"
    MODES: ClassVar[tuple[str, ...]] = ("replace", "queue")

    id: str
    xml: str
    mode: str = "replace"

    @classmethod
    def from_json(cls, data: str) -> PlanDispatch:
        obj = _load_object(data, cls.NAME)
        return cls(
            id=_get(obj, cls.NAME, "id", str),
            xml=_get(obj, cls.NAME, "xml", str),
            mode=_choice(_get(obj, cls.NAME, "mode", str, required=False, default="replace"),
                         f"{cls.NAME}.mode", cls.MODES),
        )


@dataclass(frozen=True)
class SkillGoal(Payload):
    """``/<robot>/skill/goal``: start a skill on the robot (the simulator or a real driver)."""

    NAME: ClassVar[str] = "skill_goal"

    goal_id: int
    skill: str
    args: dict[str, Any]

    @classmethod
    def from_json(cls, data: str) -> SkillGoal:
        from llm_mars.bt.registry import REGISTRY, Category

        obj = _load_object(data, cls.NAME)
        skill = _get(obj, cls.NAME, "skill", str)
        kind = REGISTRY.get(skill)
        if kind is None or kind.category is not Category.ACTION:
            raise PayloadError(f"{cls.NAME}.skill: {skill!r} is not a skill")
        args = {}
        for name, value in _get(obj, cls.NAME, "args", dict, required=False, default={}).items():
            port = kind.port(name)
            if port is None:
                raise PayloadError(f"{cls.NAME}.args: {skill} has no port {name!r}")
            try:
                args[name] = port.read(value)
            except ValueError as exc:
                raise PayloadError(f"{cls.NAME}.args.{name}: {exc}") from None
        return cls(_get(obj, cls.NAME, "goal_id", int), skill, args)


@dataclass(frozen=True)
class GoalRef(Payload):
    """``/<robot>/skill/cancel``: the goal to cancel."""

    NAME: ClassVar[str] = "goal_ref"

    goal_id: int

    @classmethod
    def from_json(cls, data: str) -> GoalRef:
        return cls(_get(_load_object(data, cls.NAME), cls.NAME, "goal_id", int))


@dataclass(frozen=True)
class SkillFeedback(Payload):
    """``/<robot>/skill/outcome``: where a goal stands (RUNNING, SUCCESS, FAILURE, CANCELLED)."""

    NAME: ClassVar[str] = "skill_feedback"
    STATES: ClassVar[tuple[str, ...]] = tuple(state.value for state in SkillState)

    goal_id: int
    state: str
    reason: str | None = None

    @classmethod
    def from_json(cls, data: str) -> SkillFeedback:
        obj = _load_object(data, cls.NAME)
        return cls(
            goal_id=_get(obj, cls.NAME, "goal_id", int),
            state=_choice(_get(obj, cls.NAME, "state", str), f"{cls.NAME}.state", cls.STATES),
            reason=_get(obj, cls.NAME, "reason", str, required=False),
        )


@dataclass(frozen=True)
class LlmRequest(Payload):
    """``/llm/request``: ``task`` plan (``text`` is a command) or answer (a question + state;
    ``previous``: the state query of the session's previous question, for a follow-up)."""

    NAME: ClassVar[str] = "llm_request"
    TASKS: ClassVar[tuple[str, ...]] = ("plan", "answer")

    id: str
    task: str
    text: str
    state: dict[str, Any] | None = None
    previous: str | None = None

    @classmethod
    def from_json(cls, data: str) -> LlmRequest:
        obj = _load_object(data, cls.NAME)
        task = _choice(_get(obj, cls.NAME, "task", str), f"{cls.NAME}.task", cls.TASKS)
        state = _get(obj, cls.NAME, "state", dict, required=task == "answer")
        previous = _get(obj, cls.NAME, "previous", str, required=False)
        if previous is not None:
            from llm_mars.errors import QueryError
            from llm_mars.qa.query import parse_query

            try:
                parse_query(previous)
            except QueryError as exc:
                raise PayloadError(f"{cls.NAME}.previous: {exc}") from None
        return cls(
            id=clean_text(_get(obj, cls.NAME, "id", str), f"{cls.NAME}.id", 64),
            task=task,
            text=clean_text(_get(obj, cls.NAME, "text", str), f"{cls.NAME}.text"),
            state=state,
            previous=previous,
        )


@dataclass(frozen=True)
class LlmResult(Payload):
    """``/llm/result``: ``kind`` plan (``xml``), reply or answer (``text``, and the state
    ``query`` it answers), or error (``code``)."""

    NAME: ClassVar[str] = "llm_result"
    KINDS: ClassVar[tuple[str, ...]] = ("plan", "reply", "answer", "error")

    id: str
    kind: str
    text: str = ""
    xml: str | None = None
    code: str | None = None
    latency_s: float | None = None
    query: str | None = None

    @classmethod
    def from_json(cls, data: str) -> LlmResult:
        obj = _load_object(data, cls.NAME)
        latency = _get(obj, cls.NAME, "latency_s", (int, float), required=False)
        return cls(
            id=_get(obj, cls.NAME, "id", str),
            kind=_choice(_get(obj, cls.NAME, "kind", str), f"{cls.NAME}.kind", cls.KINDS),
            text=_get(obj, cls.NAME, "text", str, required=False, default=""),
            xml=_get(obj, cls.NAME, "xml", str, required=False),
            code=_get(obj, cls.NAME, "code", str, required=False),
            latency_s=None if latency is None else float(latency),
            query=_get(obj, cls.NAME, "query", str, required=False),
        )


@dataclass(frozen=True)
class ExecutorStatus(Payload):
    """``/<robot>/bt_status``: the executor's plan, tree status, active skill and snapshot."""

    NAME: ClassVar[str] = "executor_status"

    robot: str
    status: str
    plan_id: str | None = None
    active: str | None = None
    reason: str | None = None
    tree: str | None = None
    queued: int = 0

    @classmethod
    def from_json(cls, data: str) -> ExecutorStatus:
        obj = _load_object(data, cls.NAME)
        return cls(
            robot=_choice(_get(obj, cls.NAME, "robot", str), f"{cls.NAME}.robot", V.ROBOTS),
            status=_choice(_get(obj, cls.NAME, "status", str), f"{cls.NAME}.status",
                           V.TREE_STATUSES),
            plan_id=_get(obj, cls.NAME, "plan_id", str, required=False),
            active=_get(obj, cls.NAME, "active", str, required=False),
            reason=_get(obj, cls.NAME, "reason", str, required=False),
            tree=_get(obj, cls.NAME, "tree", str, required=False),
            queued=_get(obj, cls.NAME, "queued", int, required=False, default=0),
        )


@dataclass(frozen=True)
class WorldStateMessage(Payload):
    """``/world/state``: the state JSON (DESIGN.md section 3), checked whole on receipt, so
    that no reader (a condition in a tick, a question) meets a missing key or a wrong type
    later. A robot's driver may publish less than the simulator (docs/interfaces.md): what
    every state must hold is ``time_s`` and, for each robot it names, ``location`` and
    ``carrying``; every other part of the contract is checked where present. Extra keys are
    allowed, as the contract says."""

    NAME: ClassVar[str] = "world_state"

    state: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps(self.state)

    @classmethod
    def from_json(cls, data: str) -> WorldStateMessage:
        what = cls.NAME
        obj = _load_object(data, what)
        _get(obj, what, "time_s", (int, float))
        _get(obj, what, "time_left_s", (int, float), required=False)
        robots = _get(obj, what, "robots", dict)
        if not robots:
            raise PayloadError(f"{what}.robots: names no robot")
        for robot in robots:
            _choice(robot, f"{what}.robots", V.ROBOTS)
            _check_robot_state(_get(robots, f"{what}.robots", robot, dict),
                               f"{what}.robots.{robot}")
        for group, places, kind in (("quadrants", V.QUADRANTS, dict), ("holders", V.HOLDERS, int),
                                    ("plates", V.PLATES, list)):
            table = _get(obj, what, group, dict, required=False)
            for place in places if table is not None else ():
                value = _get(table, f"{what}.{group}", place, kind)
                where = f"{what}.{group}.{place}"
                if kind is dict:
                    for color in V.COLORS:
                        _get(value, where, color, int)
                for i, cake in enumerate(value if kind is list else ()):
                    if not isinstance(cake, dict):
                        raise PayloadError(f"{where}[{i}]: expected an object")
                    _colors(_get(cake, f"{where}[{i}]", "layers", list), f"{where}[{i}].layers")
                    _get(cake, f"{where}[{i}]", "cherry", bool)
        _get(obj, what, "basket", int, required=False)
        _get(obj, what, "match_over", bool, required=False)
        return cls(obj)


def _check_robot_state(body: dict[str, Any], what: str) -> None:
    if "location" not in body:  # present; null while between places
        raise PayloadError(f"{what}: missing field 'location'")
    location = _get(body, what, "location", str, required=False)
    if location is not None:
        _choice(location, f"{what}.location", V.PLACES)
    carrying = _get(body, what, "carrying", dict)
    _colors(_get(carrying, f"{what}.carrying", "stacks", list), f"{what}.carrying.stacks")
    _get(carrying, f"{what}.carrying", "cherries", int)
    for key, kind in (("x_mm", (int, float)), ("y_mm", (int, float)), ("active", str),
                      ("funny_action", bool), ("history", list)):
        _get(body, what, key, kind, required=False)
    status = _get(body, what, "tree_status", str, required=False)
    if status is not None:
        _choice(status, f"{what}.tree_status", V.TREE_STATUSES)
    if not all(isinstance(entry, str) for entry in body.get("history") or ()):
        raise PayloadError(f"{what}.history: expected a list of strings")


def _colors(values: list[Any], what: str) -> None:
    for value in values:
        if not isinstance(value, str):
            raise PayloadError(f"{what}: expected colour names")
        _choice(value, what, V.COLORS)
