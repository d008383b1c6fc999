"""The world state in words: the describing functions of robots, steps, cargo and cakes, and a
short factual text of the whole state.

The describing functions (where a robot is, what it is doing, a step done or failed, what it
carries, a plate's cakes, the cherries each robot collected and dropped) word the answers of
:mod:`llm_mars.qa.facts`. :func:`summarize` is the text the previous qa adapter answered from
(question + summary -> free answer); ``bench/bench_qa.py`` still asks it, as the baseline of
the state queries that replaced it. It says in plain words what an operator asks about and
states outright what a small model cannot work out (where a robot that stopped on the way was
going, each robot's cherry totals, which holders are empty).

Input is the state JSON of DESIGN.md section 3 (extra keys are used when present:
``waiting_for``, ``stalled``). Skill labels (``PickCake brown 2``, ``CollectCherries 4 6``)
are read and told in words as the skill registry says (:class:`llm_mars.bt.registry.Phrases`);
history entries (``PlaceCakes 5: CANCELLED``, ``PickCake pink 1: FAILURE (stack already
taken)``) by their documented form; anything unrecognised is shown as written.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llm_mars import vocabulary as V
from llm_mars.bt.registry import REGISTRY, NodeKind

HISTORY_SHOWN = 6
"""History entries shown per robot (the latest; earlier failures are kept as well)."""

_ENTRY = re.compile(r"^(?P<label>.*?): (?P<status>SUCCESS|FAILURE|CANCELLED|RUNNING)"
                    r"(?: \((?P<reason>.*)\))?$", re.S)


def robot_name(robot: str) -> str:
    """``robot1`` -> ``Robot 1``."""
    return f"Robot {robot.removeprefix('robot')}" if robot.startswith("robot") else robot


def place_name(place: str | None) -> str:
    """``plate_3`` -> ``plate 3``; ``basket`` -> ``the basket``; ``home`` -> ``home``."""
    return "between places" if place is None else V.place_words(place)


@dataclass(frozen=True)
class Step:
    """A skill label split into what it does: ``CollectCherries 4 6`` -> verb phrases.

    The label's values and the phrases are the registry's (:mod:`llm_mars.bt.registry`); a
    label of a tag the registry lacks is told as written."""

    tag: str
    args: tuple[str, ...]

    @classmethod
    def parse(cls, label: str) -> Step:
        tag, _, rest = label.partition(" ")
        kind = REGISTRY.get(tag)
        return cls(tag, kind.label_values(rest) if kind is not None else tuple(rest.split()))

    @property
    def destination(self) -> str | None:
        """The place this step drives to, if it drives."""
        kind = REGISTRY.get(self.tag)
        return None if kind is None else kind.destination(self._values(kind))

    def _values(self, kind: NodeKind) -> dict[str, str]:
        return dict(zip(kind.label_ports, self.args))

    def _told(self, phrase: str) -> str | None:
        """One of the registry's phrases of this step; ``None`` when it has none."""
        kind = REGISTRY.get(self.tag)
        template = None if kind is None or kind.phrases is None else getattr(kind.phrases, phrase)
        return None if template is None else kind.phrase(template, self._values(kind))

    def doing(self) -> str:
        """Present participle phrase: ``picking the brown stack at quadrant 2``."""
        return self._told("doing") or " ".join((self.tag, *self.args))

    def done(self) -> str:
        """Past tense phrase: ``picked the brown stack at quadrant 2``."""
        return self._told("done") or " ".join((self.tag, *self.args))

    def purpose(self) -> str:
        """What a driving step goes to do once there: ``pick the brown stack``."""
        return self._told("purpose") or self.attempt()

    def attempt(self) -> str:
        """Infinitive phrase for failures: ``pick the brown stack at quadrant 2``."""
        return self._told("attempt") or " ".join((self.tag, *self.args)).strip()


@dataclass(frozen=True)
class HistoryEntry:
    step: Step
    status: str  # SUCCESS | FAILURE | CANCELLED | RUNNING
    reason: str | None
    raw: str

    @classmethod
    def parse(cls, entry: str) -> HistoryEntry:
        match = _ENTRY.match(entry)
        if match is None:
            return cls(Step(entry, ()), "SUCCESS", None, entry)
        return cls(Step.parse(match["label"]), match["status"], match["reason"], entry)

    def describe(self) -> str:
        if self.status == "SUCCESS":
            return self.step.done()
        if self.status == "CANCELLED":
            return f"was stopped before it could {self.step.attempt()} (cancelled)"
        why = f" ({self.reason})" if self.reason else ""
        return f"failed to {self.step.attempt()}{why}"


def history(robot: Mapping[str, Any]) -> list[HistoryEntry]:
    return [HistoryEntry.parse(str(e)) for e in robot.get("history") or []]


def failures(robot: Mapping[str, Any]) -> list[HistoryEntry]:
    return [h for h in history(robot) if h.status in ("FAILURE", "CANCELLED")]


def shown_history(robot: Mapping[str, Any], limit: int = HISTORY_SHOWN) -> list[HistoryEntry]:
    """The last ``limit`` entries, plus earlier failures (the operator asks about those)."""
    entries = history(robot)
    recent = entries[-limit:]
    early_failures = [h for h in entries[:-limit] if h.status != "SUCCESS"][-2:]
    return early_failures + recent


def stopped_on_the_way_to(robot: Mapping[str, Any]) -> str | None:
    """Where a robot left between places was going: its last step, if that was cut short."""
    if robot.get("location") is not None or robot.get("active"):
        return None
    entries = history(robot)
    if entries and entries[-1].status in ("FAILURE", "CANCELLED"):
        return entries[-1].step.destination
    return None


def where(robot: Mapping[str, Any]) -> str:
    """``at plate 3`` / ``driving to holder 4`` / ``between places, stopped on the way to
    plate 5`` / ``between places (x 1800 mm, y 463 mm)``."""
    location = robot.get("location")
    if location is not None:
        return f"at {place_name(location)}"
    active = robot.get("active")
    if active:
        destination = Step.parse(active).destination
        if destination is not None:
            return f"driving to {place_name(destination)}"
    stopped = stopped_on_the_way_to(robot)
    if stopped is not None:
        return f"between places, stopped on the way to {place_name(stopped)}"
    return f"between places (x {robot.get('x_mm')} mm, y {robot.get('y_mm')} mm)"


def activity(robot: Mapping[str, Any], name: str | None = None) -> str:
    """Where the robot is and what it is doing, in words:
    ``driving to quadrant 2 to pick the brown stack`` / ``at holder 4, collecting cherries`` /
    ``at plate 3, idle (plan succeeded)``."""
    active = robot.get("active")
    location = robot.get("location")
    stalled = "stalled (not moving), " if robot.get("stalled") else ""
    if active:
        step = Step.parse(active)
        destination = step.destination
        if location is None and destination is not None:
            text = f"driving to {place_name(destination)}"
            if step.tag != "MoveTo":
                text += f" to {step.purpose()}"
        elif destination is not None and location == destination:
            text = step.doing()
        else:
            text = f"{where(robot)}, {step.doing()}"
        if step.tag == "WaitForSignal" and name in V.ROBOTS:
            other = next(r for r in V.ROBOTS if r != name)  # only the other robot can signal
            text += f" from {robot_name(other).lower()}"
        waiting = robot.get("waiting_for")
        if waiting:
            text += f", waiting for {robot_name(waiting).lower()} to clear the way"
        return stalled + text
    return f"{stalled}{where(robot)}, {'running its plan' if robot.get('tree_status') == 'RUNNING' else 'idle'} ({plan_status(robot)})"


def plan_status(robot: Mapping[str, Any]) -> str:
    return {"IDLE": "no plan yet", "RUNNING": "plan running", "SUCCESS": "plan succeeded",
            "FAILURE": "plan failed", "CANCELLED": "plan cancelled"}.get(
        robot.get("tree_status"), str(robot.get("tree_status")))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else ("es" if noun.endswith("ch") else "s"))


def cherries(n: int) -> str:
    return _count(n, "cherry").replace("cherrys", "cherries")


def carrying(robot: Mapping[str, Any]) -> str:
    """``2 stacks (brown, yellow) and 6 cherries`` / ``nothing``."""
    carried = robot.get("carrying") or {}
    stacks = list(carried.get("stacks") or [])
    n_cherries = int(carried.get("cherries") or 0)
    parts = []
    if stacks:
        parts.append(f"{_count(len(stacks), 'stack')} ({', '.join(stacks)})")
    if n_cherries:
        parts.append(cherries(n_cherries))
    return " and ".join(parts) if parts else "nothing"


def _cake_kind(cake: Mapping[str, Any]) -> str:
    layers = list(cake.get("layers") or [])
    if V.is_legendary(layers):
        kind = "legendary"
    elif layers and len(set(layers)) == 1:
        kind = layers[0]
    else:
        kind = "-".join(layers) or "empty"
    return kind + (" with cherry" if cake.get("cherry") else "")


def plate_text(cakes: list[Mapping[str, Any]]) -> str:
    """``3 cakes (2 legendary with cherry, 1 brown)``."""
    kinds = Counter(_cake_kind(c) for c in cakes)
    inner = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
    return f"{len(cakes)} cake{'s' if len(cakes) != 1 else ''} ({inner})"


def cake_totals(cakes: list[Mapping[str, Any]]) -> str:
    """``3 cakes in all, 2 legendary, 1 with a cherry``."""
    legendary = sum(V.is_legendary(c.get("layers") or []) for c in cakes)
    cherry = sum(bool(c.get("cherry")) for c in cakes)
    return (f"{len(cakes)} cake{'s' if len(cakes) != 1 else ''} in all, {legendary} legendary, "
            f"{cherry} with a cherry")


def stacks_left(state: Mapping[str, Any]) -> str:
    """``quadrant 1 has pink left (brown, yellow taken); others full``: what is left is stated,
    not left to be worked out from what was taken."""
    parts = []
    for q, stacks in (state.get("quadrants") or {}).items():
        left = [c for c, n in stacks.items() if n]
        taken = [c for c, n in stacks.items() if not n]
        if taken:
            parts.append(f"{place_name(q)} has {', '.join(left) if left else 'nothing'} left "
                         f"({', '.join(taken)} taken)")
    return "; ".join(parts) + "; others full" if parts else "all in place"


def stacks_taken(state: Mapping[str, Any]) -> list[str]:
    """``brown at quadrant 2`` for every stack no longer in its quadrant."""
    return [f"{color} at {place_name(q)}" for q, stacks in (state.get("quadrants") or {}).items()
            for color, left in stacks.items() if not left]


def cherry_moves(state: Mapping[str, Any]) -> dict[str, list[int | None]] | None:
    """For each robot and each of its history entries, the cherries a successful
    ``CollectCherries`` took, ``DropCherries`` dropped or ``PutCherry`` put on a cake (``None``
    for other entries), replayed under the simulator's rules (a collection takes what fits
    and what the holder has left, at most the count asked); ``None`` when the replay disagrees
    with the holders, the basket or the cargo (both robots took from one holder, so a
    count is not known), rather than a wrong number."""
    robots = state.get("robots") or {}
    moves: dict[str, list[int | None]] = {}
    taken: Counter[str] = Counter()
    dropped_total = 0
    for name, robot in robots.items():
        carried = 0
        own: Counter[str] = Counter()  # what this robot took from each holder
        entries: list[int | None] = []
        for h in history(robot):
            n = None
            if h.status == "SUCCESS" and h.step.tag == "CollectCherries" and h.step.args:
                holder = f"holder_{h.step.args[0]}"
                room = min(V.MAX_CHERRIES_CARRIED - carried, V.CHERRIES_PER_HOLDER - own[holder])
                n = room if len(h.step.args) < 2 else min(room, int(h.step.args[1]))
                carried += n
                own[holder] += n
            elif h.status == "SUCCESS" and h.step.tag == "DropCherries":
                n, carried = carried, 0
                dropped_total += n
            elif h.status == "SUCCESS" and h.step.tag == "PutCherry":
                n, carried = 1, carried - 1
            entries.append(n)
        taken += own
        if carried != int((robot.get("carrying") or {}).get("cherries") or 0):
            return None
        moves[name] = entries
    holders = state.get("holders") or {}
    if any(V.CHERRIES_PER_HOLDER - n != taken[h] for h, n in holders.items()) or \
            dropped_total != int(state.get("basket", 0)):
        return None
    return moves


def cherry_tally(state: Mapping[str, Any]) -> dict[str, tuple[int, int]] | None:
    """Cherries each robot collected and dropped in the basket, in all
    (:func:`cherry_moves`); ``None`` when the replay is not confirmed by the state."""
    moves = cherry_moves(state)
    if moves is None:
        return None
    tally = {}
    for name, robot in (state.get("robots") or {}).items():
        entries = history(robot)
        collected = sum(n or 0 for h, n in zip(entries, moves[name])
                        if h.step.tag == "CollectCherries")
        dropped = sum(n or 0 for h, n in zip(entries, moves[name]) if h.step.tag == "DropCherries")
        tally[name] = (collected, dropped)
    return tally


def empty_holders(state: Mapping[str, Any]) -> list[str]:
    return [h for h, n in (state.get("holders") or {}).items() if n <= 0]


def _number(x: Any) -> str:
    value = float(x)
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def time_left(state: Mapping[str, Any]) -> float:
    return max(0.0, V.MATCH_DURATION_S - float(state.get("time_s", 0.0)))


def robot_line(name: str, robot: Mapping[str, Any],
               tally: tuple[int, int] | None = None) -> str:
    parts = [f"{robot_name(name)}: {activity(robot, name)}", f"carries {carrying(robot)}"]
    if tally and tally[0]:
        parts.append(f"collected {cherries(tally[0])} in all, dropped {tally[1]} in the basket")
    if robot.get("funny_action"):
        parts.append("did the funny action")
    shown = shown_history(robot)
    total = len(robot.get("history") or [])
    if shown:
        head = "done" if total == len(shown) else f"last {len(shown)} of {total} steps"
        parts.append(f"{head}: " + ", ".join(h.describe() for h in shown))
    else:
        parts.append("nothing done yet")
    return "; ".join(parts) + "."


def summarize(state: Mapping[str, Any]) -> str:
    """The state as a few short lines of plain text (see the module docstring)."""
    t = float(state.get("time_s", 0.0))
    left = time_left(state)
    lines = [f"Time: {_number(t)} s played, {_number(left)} s left"
             + (" (match over)." if left <= 0 else ".")]
    tally = cherry_tally(state) or {}
    for name, robot in (state.get("robots") or {}).items():
        lines.append(robot_line(name, robot, tally.get(name)))
    lines.append(f"Basket: {cherries(int(state.get('basket', 0)))}.")
    plates = [(p, cakes) for p, cakes in (state.get("plates") or {}).items() if cakes]
    if plates:
        every = [c for _, cakes in plates for c in cakes]
        lines.append("Plates: " + "; ".join(f"{place_name(p)} {plate_text(c)}"
                                            for p, c in plates)
                     + f"; others empty; {cake_totals(every)}.")
    else:
        lines.append("Plates: all empty.")
    lines.append(f"Stacks: {stacks_left(state)}.")
    used = [f"{place_name(h)} {n} left" if n > 0 else f"{place_name(h)} empty"
            for h, n in (state.get("holders") or {}).items() if n != V.CHERRIES_PER_HOLDER]
    lines.append("Holders: " + (", ".join(used) + ", others full." if used else "all full."))
    score = state.get("score") or {}
    lines.append(f"Score: {score.get('total', 0)} (cakes {score.get('cakes', 0)}, basket "
                 f"{score.get('basket', 0)}, end zone {score.get('end_zone', 0)}, funny "
                 f"{score.get('funny', 0)}).")
    return "\n".join(lines)
