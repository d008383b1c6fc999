"""The one registry of behavior-tree node kinds: tags, categories, arity, typed ports, and
every fact about a skill that other code needs.

Like BehaviorTree.CPP's ``providedPorts``, every node kind declares its ports here once. The
parser, the validator, the constrained-decoding grammar, the prompts, the payload checks and
the docs are all derived from this table; nothing else lists tags, ports or enum values by
hand. A skill also says here whether it uses the robot's body, how a step of it is labelled in
a robot's history (``PickCake brown 2``) and told in words (``picking the brown stack at
quadrant 2``), and where it drives; a condition says what it reads from the state JSON
(:func:`condition_holds`, the one evaluator the simulator and the ROS-topic robot share).

=================  ======================================================================
fact               read by
=================  ======================================================================
ports              parser, validator, grammar, prompts, payloads, behaviours
``body``           the simulator (one body skill at a time per robot; faults apply)
``label_ports``    the simulator (history and ``active``), the state summary (reading back)
``drives_to``      the skill programs of the simulator, the state summary
``phrases``        the state summary for the qa adapter (:mod:`llm_mars.qa.summary`)
``holds``          :func:`condition_holds`
=================  ======================================================================
"""
from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from llm_mars import vocabulary as V
from llm_mars.bt.script import (BLACKBOARD_KEY, EntryType, blackboard_pointer, entry_key,
                                parse_script)
from llm_mars.errors import RegistryError, UnknownSkillError, UnsupportedValueError


RESERVED_PORT_NAMES = ("name", "ID")
"""BT.CPP refuses to register a port with these names (every node's instance name, a
SubTree's tree ID)."""


class Category(str, enum.Enum):
    CONTROL = "control"
    DECORATOR = "decorator"
    ACTION = "action"  # a robot skill
    CONDITION = "condition"
    LEAF = "leaf"  # a BT.CPP built-in leaf that involves no robot (AlwaysSuccess, Sleep)
    SUBTREE = "subtree"


class PortType(str, enum.Enum):
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    STRING = "string"
    ENUM = "enum"
    SCRIPT = "script"  # BT.CPP script code (llm_mars/bt/script.py), read with the plan
    ENTRY = "entry"  # text, or {key}: the blackboard entry's value (std::string) at a tick
    COPY = "copy"  # text, or {key}: the blackboard entry's value as it is (AnyTypeAllowed)
    KEY = "key"  # the name of the blackboard entry a node writes


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
    prose: bool = False  # STRING only: free text that may hold spaces (a label shows it whole)

    def parse(self, text: str) -> Any:
        """Convert an XML attribute value to this port's Python value.

        Numbers are read as BehaviorTree.CPP reads them: ASCII digits with an optional minus
        (a float may add a fraction and an exponent), nothing around them; Python's own
        ``int()`` would also take ``" 2"``, ``"+2"``, ``"0_2"`` and ``"٢"``. Raises
        ``ValueError`` with a short reason when the text is not a legal value.
        """
        if self.type is PortType.INT:
            if not _INT_TEXT.fullmatch(text):
                raise ValueError(f"expected an integer, got {_shown(text)}")
            try:
                value = int(text)
            except ValueError:  # more digits than Python converts
                raise ValueError(f"expected an integer, got {len(text)} digits") from None
            self._check_range(value)
            return value
        if self.type is PortType.FLOAT:
            if not _FLOAT_TEXT.fullmatch(text):
                raise ValueError(f"expected a number, got {_shown(text)}")
            value = float(text)
            if not math.isfinite(value):
                raise ValueError(f"expected a finite number, got {_shown(text)}")
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
        if self.type is PortType.SCRIPT:
            parse_script(text)  # ScriptSyntaxError, a ValueError, says where it stopped
            return text
        if self.type in ENTRY_TYPES and blackboard_pointer(text) and entry_key(text) is None:
            raise UnsupportedValueError("a blackboard entry written otherwise than {name}")
        if self.type is PortType.KEY and not BLACKBOARD_KEY.fullmatch(text):
            raise UnsupportedValueError("a blackboard entry whose name is not a script "
                                        "variable's (letters, digits, _)")
        if self.max_length is not None and len(text) > self.max_length:
            raise ValueError(f"text longer than {self.max_length} characters")
        return text

    def read(self, value: Any) -> Any:
        """A value given as JSON (a skill goal's ``args``) read as its XML text would be, so
        that a goal and a plan node take the same values. Raises ``ValueError``."""
        if isinstance(value, str):
            return self.parse(value)
        if self.type is PortType.BOOL and isinstance(value, bool):
            return value
        if self.type in (PortType.INT, PortType.FLOAT) and isinstance(value, (int, float)) \
                and not isinstance(value, bool):
            return self.parse(repr(value))
        raise ValueError(f"expected {self.describe()}, got {type(value).__name__}")

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


ENTRY_TYPES = {PortType.ENTRY: EntryType.STRING, PortType.COPY: EntryType.ANY_ALLOWED}
"""Ports that read a ``{key}`` entry, and the type BT.CPP gives that entry when loading the
tree creates it (the port's C++ type)."""

_SLOT = re.compile(r"\{(\w+)\}")
_OPTIONAL = re.compile(r"\[([^\]]*)\]")


@dataclass(frozen=True)
class Phrases:
    """How a step of a skill is told in words, in the state summary the qa adapter reads.

    Each is a template over the step's label values: ``{port}`` is the value (a place said as
    words: ``plate 3``, ``the basket``), ``?`` when the label lacks it; a part in brackets is
    said only when each port in it has a value (``collecting [{count} ]cherries``)."""

    doing: str  # present participle: "picking the {color} stack at quadrant {quadrant}"
    done: str  # past tense: "picked the {color} stack at quadrant {quadrant}"
    attempt: str | None = None  # infinitive, for failures; None: the label as written
    purpose: str | None = None  # what a drive there is for: "pick the {color} stack"; None: attempt


Holds = Callable[[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]], bool]
"""A condition's test: (state JSON, the robot's entry in it, the port values) -> holds?"""


@dataclass(frozen=True)
class NodeKind:
    """One tag of the plan language."""

    tag: str
    category: Category
    description: str
    ports: tuple[Port, ...] = ()
    min_children: int = 0
    max_children: int | None = 0  # None: unbounded
    body: bool = False  # a skill that uses the wheels or arms: one at a time, faults apply
    label_ports: tuple[str, ...] = ()  # the ports a step's label shows after the tag
    drives_to: str | None = None  # the place the skill drives to, a template over its ports
    phrases: Phrases | None = None
    holds: Holds | None = None  # a condition's test of the state JSON
    planned: bool = True  # the bt adapter writes it (grammar, prompt); else hand-written only

    def port(self, name: str) -> Port | None:
        for p in self.ports:
            if p.name == name:
                return p
        return None

    @property
    def port_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.ports)

    def label(self, args: Mapping[str, Any]) -> str:
        """A step of this skill as a robot's history and ``active`` show it:
        ``PickCake brown 2``, ``CollectCherries 4`` (an absent optional port is left out)."""
        shown = [self._label_text(name, args[name]) for name in self.label_ports
                 if args.get(name) is not None]
        return " ".join((self.tag, *shown))

    def _label_text(self, name: str, value: Any) -> str:
        return f"{float(value):g}" if self.port(name).type is PortType.FLOAT else str(value)

    def label_values(self, rest: str) -> tuple[str, ...]:
        """The values a label shows after its tag (``rest``), in order; a prose port, always
        the last, takes the rest of the label whole."""
        ports = self.label_ports
        if ports and self.port(ports[-1]).prose:
            return tuple(rest.split(" ", len(ports) - 1))
        return tuple(rest.split())

    def destination(self, values: Mapping[str, Any]) -> str | None:
        """The place a step of this skill drives to (``None``: it does not drive)."""
        if self.drives_to is None:
            return None
        return _SLOT.sub(lambda m: str(values.get(m.group(1), "?")), self.drives_to)

    def phrase(self, template: str, values: Mapping[str, Any]) -> str:
        """One of :attr:`phrases` said for a step with these label values."""
        def said(name: str) -> str:
            value = values.get(name)
            if value is None:
                return "?"
            port = self.port(name)
            return V.place_words(value) if port is not None and port.choices == V.PLACES \
                else str(value)

        def optional(match: re.Match) -> str:
            inner = match.group(1)
            return inner if all(values.get(n) is not None for n in _SLOT.findall(inner)) else ""

        return _SLOT.sub(lambda m: said(m.group(1)), _OPTIONAL.sub(optional, template))

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "category": self.category.value,
            "description": self.description,
            "min_children": self.min_children,
            "max_children": self.max_children,
            "ports": [p.to_dict() for p in self.ports],
        }


_INT_TEXT = re.compile(r"-?[0-9]+")
_FLOAT_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def _shown(text: str, most: int = 40) -> str:
    return repr(text) if len(text) <= most else f"{text[:most]!r}... ({len(text)} characters)"


def _int(name: str, description: str, lo: float | None = None, hi: float | None = None,
         required: bool = True, default: Any = None) -> Port:
    return Port(name, PortType.INT, description, required, default, minimum=lo, maximum=hi)


def _enum(name: str, description: str, choices: tuple[str, ...]) -> Port:
    return Port(name, PortType.ENUM, description, choices=choices)


def _control(tag: str, description: str, *ports: Port,
             children: tuple[int, int | None] = (1, None), planned: bool = True) -> NodeKind:
    return NodeKind(tag, Category.CONTROL, description, ports, min_children=children[0],
                    max_children=children[1], planned=planned)


def _decorator(tag: str, description: str, *ports: Port, planned: bool = True) -> NodeKind:
    return NodeKind(tag, Category.DECORATOR, description, ports, min_children=1, max_children=1,
                    planned=planned)


def _leaf(tag: str, description: str, *ports: Port) -> NodeKind:
    return NodeKind(tag, Category.LEAF, description, ports, planned=False)


def _skill(tag: str, description: str, *ports: Port, body: bool, label: tuple[str, ...] = (),
           drives_to: str | None = None, phrases: Phrases | None = None) -> NodeKind:
    return NodeKind(tag, Category.ACTION, description, ports, body=body, label_ports=label,
                    drives_to=drives_to, phrases=phrases)


def _condition(tag: str, description: str, *ports: Port, holds: Holds) -> NodeKind:
    return NodeKind(tag, Category.CONDITION, description, ports, holds=holds)


SWITCHES = {f"Switch{cases}": cases for cases in range(2, 7)}
"""BT.CPP's Switch2 .. Switch6, by their number of cases."""


def _switch(cases: int) -> NodeKind:
    """BT.CPP's SwitchN: its ports are read like any input port (text, or ``{key}``)."""
    return _control(
        f"Switch{cases}", f"tick the child of the first of case_1..case_{cases} equal to "
        "variable (as text, else as integers, else as reals), else the last child",
        Port("variable", PortType.ENTRY, "the value compared: text, or {key}: that entry's "
             "value (none: the last child)", required=False),
        *(Port(f"case_{i}", PortType.ENTRY, f"the value of case {i}: text, or {{key}}",
               required=False) for i in range(1, cases + 1)),
        children=(cases + 1, cases + 1), planned=False)


def time_left_s(state: Mapping[str, Any]) -> float:
    """Match seconds left in a state JSON: its ``time_left_s`` (the simulator's own match
    length), else the standard match length minus ``time_s``."""
    if state.get("time_left_s") is not None:
        return float(state["time_left_s"])
    return V.MATCH_DURATION_S - float(state["time_s"])


def _is_at(state: Mapping[str, Any], robot: Mapping[str, Any], args: Mapping[str, Any]) -> bool:
    return robot["location"] == args["target"]


def _is_carrying(state: Mapping[str, Any], robot: Mapping[str, Any],
                 args: Mapping[str, Any]) -> bool:
    carrying = robot["carrying"]
    return bool(carrying["stacks"] if args["item"] == "cake" else carrying["cherries"])


def _time_left(state: Mapping[str, Any], robot: Mapping[str, Any],
               args: Mapping[str, Any]) -> bool:
    return time_left_s(state) >= float(args["seconds"])


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
    # BT.CPP built-ins people write by hand (not in the bt adapter's grammar)
    *(_switch(n) for n in SWITCHES.values()),
    _control("SequenceWithMemory", "like Sequence, but after a failure the next tick resumes "
             "at the failed child, not the first", planned=False),
    _control("IfThenElse", "tick the first child once; on SUCCESS run the second, on FAILURE "
             "the third (or fail)", children=(2, 3), planned=False),
    _control("WhileDoElse", "tick the first child every tick; while it succeeds run the "
             "second, else the third (or fail), halting the other", children=(2, 3),
             planned=False),
    _decorator("ForceFailure", "report FAILURE whenever the child finishes", planned=False),
    _decorator("KeepRunningUntilFailure", "re-run the child after each success, RUNNING "
               "until it fails", planned=False),
    _decorator(
        "RunOnce", "run the child to completion once, then report that status without ticking it",
        Port("then_skip", PortType.BOOL, "after the run, SKIPPED (true) or the child's status "
             "(false)", required=False, default=True), planned=False),
    _decorator("Delay", "wait delay_msec milliseconds, then run the child",
               _int("delay_msec", "delay in milliseconds", 0, 100_000), planned=False),
    _decorator(
        "Precondition", "tick the child only while the script if is true (once the child "
        "runs, until it finishes); else report else without ticking it",
        Port("if", PortType.SCRIPT, "the condition"),
        Port("else", PortType.ENUM, "the status when the condition is false", required=False,
             default="FAILURE", choices=("SUCCESS", "FAILURE", "RUNNING", "SKIPPED")),
        planned=False),
    _leaf("Script", "run the script on the tree's blackboard; SUCCESS",
          Port("code", PortType.SCRIPT, "statements")),
    _leaf("ScriptCondition", "SUCCESS if the script's value is true, else FAILURE",
          Port("code", PortType.SCRIPT, "statements; the last one's value is the answer")),
    _leaf("SetBlackboard", "write value (text, or a copy of the entry {key}) into the "
          "blackboard entry output_key; SUCCESS (FAILURE if {key} has no value)",
          Port("value", PortType.COPY, "the text written, or {key}: that entry's value"),
          Port("output_key", PortType.KEY, "the name of the entry written")),
    _leaf("AlwaysSuccess", "SUCCESS"),
    _leaf("AlwaysFailure", "FAILURE"),
    _leaf("Sleep", "RUNNING for msec milliseconds, then SUCCESS",
          _int("msec", "time in milliseconds", 0, 100_000)),
    # skills
    _skill("MoveTo", "drive to a place", _enum("target", "where to drive", V.PLACES),
           body=True, label=("target",), drives_to="{target}",
           phrases=Phrases("driving to {target}", "drove to {target}", "drive to {target}")),
    _skill(
        "PickCake",
        "take one cake stack from a quadrant (fails if it is gone or the robot is full)",
        _enum("color", "stack colour", V.COLORS),
        _int("quadrant", "quadrant number", 1, V.N_QUADRANTS),
        body=True, label=("color", "quadrant"), drives_to="quadrant_{quadrant}",
        phrases=Phrases("picking the {color} stack at quadrant {quadrant}",
                        "picked the {color} stack at quadrant {quadrant}",
                        "pick the {color} stack at quadrant {quadrant}", "pick the {color} stack"),
    ),
    _skill(
        "PlaceCakes",
        "unload all carried stacks on a plate; sort=true builds legendary-order cakes",
        _int("plate", "plate number", 1, V.N_PLATES),
        Port("sort", PortType.BOOL, "build cakes layer by layer in legendary order",
             required=False, default=False),
        body=True, label=("plate",), drives_to="plate_{plate}",
        phrases=Phrases("placing cakes on plate {plate}", "placed cakes on plate {plate}",
                        "place cakes on plate {plate}", "place cakes"),
    ),
    _skill(
        "CollectCherries",
        "take cherries from a holder",
        _int("holder", "holder number", 1, V.N_HOLDERS),
        _int("count", "how many cherries (default: all that fit)", 1, V.MAX_CHERRIES_CARRIED,
             required=False),
        body=True, label=("holder", "count"), drives_to="holder_{holder}",
        phrases=Phrases("collecting [{count} ]cherries at holder {holder}",
                        "collected [{count} ]cherries at holder {holder}",
                        "collect cherries at holder {holder}", "collect [{count} ]cherries"),
    ),
    _skill("DropCherries", "put all carried cherries in the basket", body=True,
           drives_to=V.BASKET,
           phrases=Phrases("dropping cherries in the basket", "dropped cherries in the basket",
                           "drop cherries in the basket", "drop cherries")),
    _skill(
        "PutCherry",
        "put one carried cherry on top of a cake on a plate",
        _int("plate", "plate number", 1, V.N_PLATES),
        body=True, label=("plate",), drives_to="plate_{plate}",
        phrases=Phrases("putting a cherry on a cake on plate {plate}",
                        "put a cherry on a cake on plate {plate}", "put a cherry on plate {plate}",
                        "put a cherry on a cake"),
    ),
    _skill("FunnyAction", "end-of-match disguise", body=True,
           phrases=Phrases("doing the funny action", "did the funny action",
                           "do the funny action")),
    _skill(
        "Wait",
        "wait for some seconds",
        Port("seconds", PortType.FLOAT, "how long to wait", minimum=0, maximum=V.MATCH_DURATION_S),
        body=False, label=("seconds",),
        phrases=Phrases("waiting {seconds} seconds", "waited {seconds} seconds",
                        "wait {seconds} seconds"),
    ),
    _skill(
        "Signal",
        "raise a named signal the other robot can wait for",
        Port("signal", PortType.STRING, "signal name", max_length=64),
        body=False, label=("signal",), phrases=Phrases("signalling {signal}", "signalled {signal}"),
    ),
    _skill(
        "WaitForSignal",
        "wait until the named signal has been raised",
        Port("signal", PortType.STRING, "signal name", max_length=64),
        body=False, label=("signal",),
        phrases=Phrases("waiting for the signal {signal}", "got the signal {signal}",
                        "wait for the signal {signal}"),
    ),
    _skill(
        "Say",
        "speak or report a message to the operator",
        Port("text", PortType.STRING, "what to say", max_length=500, prose=True),
        body=False, label=("text",), phrases=Phrases('saying "{text}"', 'said "{text}"'),
    ),
    # conditions
    _condition("IsAt", "is the robot at this place?", _enum("target", "place", V.PLACES),
               holds=_is_at),
    _condition(
        "IsCarrying", "is the robot carrying this kind of item?",
        _enum("item", "item kind", V.CARRYABLE_ITEMS), holds=_is_carrying,
    ),
    _condition(
        "TimeLeft", "are at least this many match seconds left?",
        Port("seconds", PortType.FLOAT, "seconds", minimum=0, maximum=V.MATCH_DURATION_S),
        holds=_time_left,
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
            if kind.category is not Category.SUBTREE and set(names) & set(RESERVED_PORT_NAMES):
                raise RegistryError(f"{tag}: BT.CPP forbids ports named "
                                    f"{' or '.join(RESERVED_PORT_NAMES)}")
            if len(set(names)) != len(names):
                raise RegistryError(f"{tag}: duplicate port names")
            for p in kind.ports:
                if (p.type is PortType.ENUM) != bool(p.choices):
                    raise RegistryError(f"{tag}.{p.name}: enum ports and only they have choices")
                if p.prose and (p.type is not PortType.STRING or kind.label_ports[-1:] != (p.name,)):
                    raise RegistryError(f"{tag}.{p.name}: a prose port is a string a label "
                                        "shows last")
            named = {*kind.label_ports, *_SLOT.findall(kind.drives_to or "")}
            if kind.phrases is not None:
                named |= {n for text in vars(kind.phrases).values() if text
                          for n in _SLOT.findall(text)}
            if not named <= set(names):
                raise RegistryError(f"{tag}: labels or phrases name unknown ports "
                                    f"{sorted(named - set(names))}")
            if (kind.category is Category.CONDITION) != (kind.holds is not None):
                raise RegistryError(f"{tag}: conditions and only they have a test (holds)")

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

    @property
    def planned(self) -> Registry:
        """The kinds the bt adapter writes: what its grammar and prompt are made from."""
        return Registry({tag: k for tag, k in self.kinds.items() if k.planned})

    def to_dict(self) -> dict[str, Any]:
        return {
            "robots": list(V.ROBOTS),
            "places": list(V.PLACES),
            "colors": list(V.COLORS),
            "nodes": [k.to_dict() for k in self.kinds.values()],
        }


REGISTRY = Registry({k.tag: k for k in _NODE_KINDS})

UNSUPPORTED_BTCPP_NODES = (
    "UnsetBlackboard", "AsyncSequence", "AsyncFallback",
    "ParallelAll", "TryCatch", "ManualSelector", "LoopInt", "LoopBool", "LoopDouble",
    "LoopString", "WasEntryUpdated", "SkipUnlessUpdated", "WaitValueUpdate",
    "RetryUntilSuccesful", "SequenceStar", "SubTreePlus")
"""BT.CPP v4 built-ins this project does not run: they need blackboard ports (an entry's
update stamps, typed outputs), are not built (the async ones, ParallelAll, TryCatch,
ManualSelector), or are deprecated aliases. The validator names them as such (docs/btcpp.md)."""
UNSUPPORTED_BTCPP_ATTRIBUTES = ("_autoremap", "_uid", "_fullpath")
"""BT.CPP v4's subtree attributes, likewise (docs/btcpp.md says why)."""
PRE_CONDITIONS = ("_failureIf", "_successIf", "_skipIf", "_while")
"""BT.CPP's pre-condition scripts, in the order BT.CPP asks them (``PreCond``): every node
may carry them, and they run as in BT.CPP (llm_mars/bt/tick.py)."""
POST_CONDITIONS = ("_onHalted", "_onFailure", "_onSuccess", "_post")
"""BT.CPP's post-condition scripts (``PostCond``), likewise."""
CONDITION_SCRIPTS = PRE_CONDITIONS + POST_CONDITIONS


def condition_holds(condition: str, state: Mapping[str, Any], robot: str,
                    args: Mapping[str, Any]) -> bool:
    """Whether ``condition`` holds for ``robot`` in a state JSON (DESIGN.md section 3, plus
    ``time_left_s`` where the simulator's match length is not the standard one)."""
    kind = REGISTRY.get(condition)
    if kind is None or kind.holds is None:
        raise UnknownSkillError(condition, tuple(k.tag for k in REGISTRY.of(Category.CONDITION)))
    return kind.holds(state, state["robots"][robot], args)
