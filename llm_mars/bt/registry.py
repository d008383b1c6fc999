"""The one registry of behavior-tree node kinds: tags, categories, arity and typed ports.

Like BehaviorTree.CPP's ``providedPorts``, every node kind declares its ports here once. The
parser, the validator, the constrained-decoding grammar, the prompts and the docs are all
derived from this table; nothing else lists tags, ports or enum values by hand.
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any

from llm_mars import vocabulary as V
from llm_mars.errors import RegistryError


class Category(str, enum.Enum):
    CONTROL = "control"
    DECORATOR = "decorator"
    ACTION = "action"  # a robot skill
    CONDITION = "condition"
    SUBTREE = "subtree"


class PortType(str, enum.Enum):
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    STRING = "string"
    ENUM = "enum"


@dataclass(frozen=True)
class Port:
    """One typed input port of a node kind."""

    name: str
    type: PortType
    description: str
    required: bool = True
    default: Any = None
    choices: tuple[str, ...] = ()  # ENUM only
    minimum: float | None = None  # INT / FLOAT only, inclusive
    maximum: float | None = None
    max_length: int | None = None  # STRING only

    def parse(self, text: str) -> Any:
        """Convert an XML attribute value to this port's Python value.

        Raises ``ValueError`` with a short reason when the text is not a legal value.
        """
        if self.type is PortType.INT:
            try:
                value = int(text.strip())
            except ValueError:
                raise ValueError(f"expected an integer, got {text!r}") from None
            self._check_range(value)
            return value
        if self.type is PortType.FLOAT:
            try:
                value = float(text.strip())
            except ValueError:
                raise ValueError(f"expected a number, got {text!r}") from None
            if not math.isfinite(value):
                raise ValueError(f"expected a finite number, got {text!r}")
            self._check_range(value)
            return value
        if self.type is PortType.BOOL:
            lowered = text.strip().lower()
            if lowered in ("true", "1"):
                return True
            if lowered in ("false", "0"):
                return False
            raise ValueError(f"expected true or false, got {text!r}")
        if self.type is PortType.ENUM:
            if text not in self.choices:
                raise ValueError(f"{text!r} is not one of {', '.join(self.choices)}")
            return text
        if self.max_length is not None and len(text) > self.max_length:
            raise ValueError(f"text longer than {self.max_length} characters")
        return text

    def format(self, value: Any) -> str:
        """Canonical XML text of a value (inverse of :meth:`parse`)."""
        if self.type is PortType.BOOL:
            return "true" if value else "false"
        if self.type is PortType.FLOAT:
            return repr(float(value))
        return str(value)

    def _check_range(self, value: float) -> None:
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"{value} is below the minimum {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"{value} is above the maximum {self.maximum:g}")

    def describe(self) -> str:
        """Short human text of the type, e.g. ``int 1..5`` or ``brown|yellow|pink``."""
        if self.type is PortType.ENUM:
            return "|".join(self.choices)
        if self.type in (PortType.INT, PortType.FLOAT) and (
            self.minimum is not None or self.maximum is not None
        ):
            lo = "" if self.minimum is None else f"{self.minimum:g}"
            hi = "" if self.maximum is None else f"{self.maximum:g}"
            return f"{self.type.value} {lo}..{hi}"
        return self.type.value

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "type": self.type.value,
            "required": self.required,
            "description": self.description,
        }
        if self.default is not None:
            data["default"] = self.default
        if self.choices:
            data["choices"] = list(self.choices)
        if self.minimum is not None:
            data["minimum"] = self.minimum
        if self.maximum is not None:
            data["maximum"] = self.maximum
        if self.max_length is not None:
            data["max_length"] = self.max_length
        return data


@dataclass(frozen=True)
class NodeKind:
    """One tag of the plan language."""

    tag: str
    category: Category
    description: str
    ports: tuple[Port, ...] = ()
    min_children: int = 0
    max_children: int | None = 0  # None: unbounded

    def port(self, name: str) -> Port | None:
        for p in self.ports:
            if p.name == name:
                return p
        return None

    @property
    def port_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.ports)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "category": self.category.value,
            "description": self.description,
            "min_children": self.min_children,
            "max_children": self.max_children,
            "ports": [p.to_dict() for p in self.ports],
        }


def _int(name: str, description: str, lo: float | None = None, hi: float | None = None,
         required: bool = True, default: Any = None) -> Port:
    return Port(name, PortType.INT, description, required, default, minimum=lo, maximum=hi)


def _enum(name: str, description: str, choices: tuple[str, ...]) -> Port:
    return Port(name, PortType.ENUM, description, choices=choices)


def _control(tag: str, description: str, *ports: Port) -> NodeKind:
    return NodeKind(tag, Category.CONTROL, description, ports, min_children=1, max_children=None)


def _decorator(tag: str, description: str, *ports: Port) -> NodeKind:
    return NodeKind(tag, Category.DECORATOR, description, ports, min_children=1, max_children=1)


def _skill(tag: str, description: str, *ports: Port) -> NodeKind:
    return NodeKind(tag, Category.ACTION, description, ports)


def _condition(tag: str, description: str, *ports: Port) -> NodeKind:
    return NodeKind(tag, Category.CONDITION, description, ports)


_NODE_KINDS: tuple[NodeKind, ...] = (
    # controls
    _control("Sequence", "tick children in order; fail on the first failure (with memory)"),
    _control("ReactiveSequence", "re-tick all children from the first every tick; fail on the first failure"),
    _control("Fallback", "tick children in order until one succeeds (with memory)"),
    _control("ReactiveFallback", "re-tick children from the first every tick until one succeeds"),
    _control(
        "Parallel",
        "tick all children every tick; succeed/fail when the thresholds are reached",
        _int("success_count", "children that must succeed (-1: all)", -1, None, False, -1),
        _int("failure_count", "children that must fail (-1: all)", -1, None, False, 1),
    ),
    # decorators
    _decorator("Inverter", "swap SUCCESS and FAILURE of the child"),
    _decorator("ForceSuccess", "report SUCCESS whenever the child finishes"),
    _decorator(
        "RetryUntilSuccessful",
        "re-run the child after a failure, up to num_attempts times",
        _int("num_attempts", "attempts in total (-1: forever)", -1, 100),
    ),
    _decorator(
        "Repeat",
        "re-run the child after each success, num_cycles times in total",
        _int("num_cycles", "cycles in total (-1: forever)", -1, 100),
    ),
    _decorator(
        "Timeout",
        "fail (and halt the child) if it runs longer than msec milliseconds",
        _int("msec", "time limit in milliseconds", 1, 100_000),
    ),
    # skills
    _skill("MoveTo", "drive to a place", _enum("target", "where to drive", V.PLACES)),
    _skill(
        "PickCake",
        "take one cake stack from a quadrant (fails if it is gone or the robot is full)",
        _enum("color", "stack colour", V.COLORS),
        _int("quadrant", "quadrant number", 1, V.N_QUADRANTS),
    ),
    _skill(
        "PlaceCakes",
        "unload all carried stacks on a plate; sort=true builds legendary-order cakes",
        _int("plate", "plate number", 1, V.N_PLATES),
        Port("sort", PortType.BOOL, "build cakes layer by layer in legendary order",
             required=False, default=False),
    ),
    _skill(
        "CollectCherries",
        "take cherries from a holder",
        _int("holder", "holder number", 1, V.N_HOLDERS),
        _int("count", "how many cherries (default: all that fit)", 1, V.MAX_CHERRIES_CARRIED,
             required=False),
    ),
    _skill("DropCherries", "put all carried cherries in the basket"),
    _skill(
        "PutCherry",
        "put one carried cherry on top of a cake on a plate",
        _int("plate", "plate number", 1, V.N_PLATES),
    ),
    _skill("FunnyAction", "end-of-match disguise"),
    _skill(
        "Wait",
        "wait for some seconds",
        Port("seconds", PortType.FLOAT, "how long to wait", minimum=0, maximum=V.MATCH_DURATION_S),
    ),
    _skill(
        "Signal",
        "raise a named signal the other robot can wait for",
        Port("name", PortType.STRING, "signal name", max_length=64),
    ),
    _skill(
        "WaitForSignal",
        "wait until the named signal has been raised",
        Port("name", PortType.STRING, "signal name", max_length=64),
    ),
    _skill(
        "Say",
        "speak or report a message to the operator",
        Port("text", PortType.STRING, "what to say", max_length=500),
    ),
    # conditions
    _condition("IsAt", "is the robot at this place?", _enum("target", "place", V.PLACES)),
    _condition(
        "IsCarrying", "is the robot carrying this kind of item?",
        _enum("item", "item kind", V.CARRYABLE_ITEMS),
    ),
    _condition(
        "TimeLeft", "are at least this many match seconds left?",
        Port("seconds", PortType.FLOAT, "seconds", minimum=0, maximum=V.MATCH_DURATION_S),
    ),
    # subtree reference; its ports are the referenced subtree's declared ports
    NodeKind(
        "SubTree",
        Category.SUBTREE,
        "run a reusable subtree from the trees/ library; other attributes are its ports",
        (Port("ID", PortType.STRING, "subtree name", max_length=64),),
    ),
)


@dataclass(frozen=True)
class Registry:
    """All node kinds, by tag, in declaration order."""

    kinds: dict[str, NodeKind] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for tag, kind in self.kinds.items():
            if tag != kind.tag:
                raise RegistryError(f"registry key {tag!r} != tag {kind.tag!r}")
            names = kind.port_names
            if len(set(names)) != len(names):
                raise RegistryError(f"{tag}: duplicate port names")
            for p in kind.ports:
                if (p.type is PortType.ENUM) != bool(p.choices):
                    raise RegistryError(f"{tag}.{p.name}: enum ports and only they have choices")

    def __contains__(self, tag: str) -> bool:
        return tag in self.kinds

    def __getitem__(self, tag: str) -> NodeKind:
        return self.kinds[tag]

    def get(self, tag: str) -> NodeKind | None:
        return self.kinds.get(tag)

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(self.kinds)

    def of(self, category: Category) -> tuple[NodeKind, ...]:
        return tuple(k for k in self.kinds.values() if k.category is category)

    def to_dict(self) -> dict[str, Any]:
        return {
            "robots": list(V.ROBOTS),
            "places": list(V.PLACES),
            "colors": list(V.COLORS),
            "nodes": [k.to_dict() for k in self.kinds.values()],
        }


REGISTRY = Registry({k.tag: k for k in _NODE_KINDS})
