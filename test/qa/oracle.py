"""An independent reading of answers, for the property test of llm_mars.qa.answers.

* :class:`Ledger` watches a simulated match tick by tick and records what the state JSON does
  not hold: how many cherries each robot really collected and dropped, and where each stack
  went (which robot took it, which plate it was placed on).
* :func:`truth` works out the value a query reference names from the raw state JSON and the
  ledger, written apart from :mod:`llm_mars.qa.facts` (its own label reading, its own rules,
  following the query language's documentation).
* :class:`Claims` reads an answer sentence by sentence pattern: every clause the answers are
  made of is recognised and checked against the state, and whatever is left over must hold
  no number, colour or place, so no fact of an answer goes unchecked.
"""
from __future__ import annotations

import bisect
import copy
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from llm_mars import vocabulary as V

# --- what happened ------------------------------------------------------------------------


@dataclass
class Record:
    collected: dict[str, int] = field(default_factory=lambda: {r: 0 for r in V.ROBOTS})
    dropped: dict[str, int] = field(default_factory=lambda: {r: 0 for r in V.ROBOTS})
    takes: dict[str, list[tuple[str, int]]] = field(
        default_factory=lambda: {r: [] for r in V.ROBOTS})  # (holder, cherries taken)
    drops: dict[str, list[int]] = field(default_factory=lambda: {r: [] for r in V.ROBOTS})
    placements: dict[str, list[tuple[str, list[str]]]] = field(
        default_factory=lambda: {r: [] for r in V.ROBOTS})  # (plate, colours put down)
    stacks: dict[tuple[str, str], tuple[str, str | None]] = field(default_factory=dict)
    # (quadrant, colour) -> (robot that took it, plate it went on or None while carried)


class Ledger:
    """Call :meth:`observe` after every tick of one match; :meth:`at` gives the record as it
    stood at a match time."""

    def __init__(self):
        self.record = Record()
        self.times: list[float] = []
        self.records: list[Record] = []
        self._last: dict[str, Any] | None = None
        self._carried: dict[str, list[tuple[str, str]]] = {r: [] for r in V.ROBOTS}

    def observe(self, match) -> None:
        world = match.world.state
        now = {
            "cherries": {r: world.robots[r].cherries for r in V.ROBOTS},
            "stacks": {r: list(world.robots[r].stacks) for r in V.ROBOTS},
            "location": {r: world.robots[r].location for r in V.ROBOTS},
            "holders": dict(world.holders),
            "basket": world.basket,
            "quadrants": copy.deepcopy(world.quadrants),
        }
        last = self._last
        changed = False
        if last is not None:
            rec = self.record
            for r in V.ROBOTS:
                gained = now["cherries"][r] - last["cherries"][r]
                if gained > 0:
                    holder = next(h for h in V.HOLDERS
                                  if now["holders"][h] < last["holders"][h])
                    rec.collected[r] += gained
                    rec.takes[r].append((holder, gained))
                    changed = True
                elif gained < 0 and now["basket"] > last["basket"]:
                    rec.dropped[r] += -gained
                    rec.drops[r].append(-gained)
                    changed = True
                before, after = last["stacks"][r], now["stacks"][r]
                if len(after) > len(before):
                    color = after[-1]
                    quadrant = now["location"][r]
                    assert last["quadrants"][quadrant][color] > now["quadrants"][quadrant][color]
                    self._carried[r].append((quadrant, color))
                    rec.stacks[(quadrant, color)] = (r, None)
                    changed = True
                elif before and not after:
                    plate = now["location"][r]
                    rec.placements[r].append((plate, list(before)))
                    for key in self._carried[r]:
                        rec.stacks[key] = (r, plate)
                    self._carried[r] = []
                    changed = True
        self._last = now
        if changed or not self.records:
            self.times.append(round(match.world.time_s, 3))
            self.records.append(copy.deepcopy(self.record))

    def at(self, time_s: float) -> Record:
        i = bisect.bisect_right(self.times, round(time_s, 3)) - 1
        return self.records[i] if i >= 0 else Record()


# --- labels, read here on their own -------------------------------------------------------

_ENTRY = re.compile(r"^(?P<tag>\w+)(?: (?P<args>.*?))?: (?P<status>SUCCESS|FAILURE|CANCELLED)"
                    r"(?: \((?P<reason>.*)\))?$")


@dataclass(frozen=True)
class Entry:
    tag: str
    args: tuple[str, ...]
    status: str
    reason: str | None


def entries(robot: dict) -> list[Entry]:
    out = []
    for text in robot["history"]:
        m = _ENTRY.match(text)
        assert m, text
        args = (m["args"],) if m["tag"] == "Say" else tuple((m["args"] or "").split())
        out.append(Entry(m["tag"], args, m["status"], m["reason"]))
    return out


def label_parts(label: str) -> tuple[str, tuple[str, ...]]:
    tag, _, rest = label.partition(" ")
    return tag, ((rest,) if tag == "Say" else tuple(rest.split()))


def goes_to(tag: str, args: tuple[str, ...]) -> str | None:
    return {"MoveTo": lambda: args[0], "PickCake": lambda: f"quadrant_{args[1]}",
            "PlaceCakes": lambda: f"plate_{args[0]}", "PutCherry": lambda: f"plate_{args[0]}",
            "CollectCherries": lambda: f"holder_{args[0]}",
            "DropCherries": lambda: V.BASKET}.get(tag, lambda: None)()


def _matches(e: Entry, filters: tuple[str, ...]) -> bool:
    for f in filters:
        if f == "ok":
            ok = e.status == "SUCCESS"
        elif f == "failed":
            ok = e.status in ("FAILURE", "CANCELLED")
        elif f in V.COLORS:
            ok = f in e.args
        elif f in V.PLACES:
            ok = goes_to(e.tag, e.args) == f
        else:
            ok = e.tag == f
        if not ok:
            return False
    return True


def matching(robot: dict, filters: tuple[str, ...]) -> list[Entry]:
    return [e for e in entries(robot) if _matches(e, filters)]


# --- the truth of a reference ---------------------------------------------------------------

UNKNOWN = object()


def truth(state: dict, record: Record, subject: str, attribute: str,
          filters: tuple[str, ...] = ()) -> Any:
    """The value the query language documents for ``subject.attribute(filters)``."""
    if subject in V.ROBOTS:
        robot = state["robots"][subject]
        active = robot["active"]
        if attribute == "location":
            return robot["location"]
        if attribute == "destination":
            if active:
                return goes_to(*label_parts(active))
            done = entries(robot)
            if robot["location"] is None and done and done[-1].status != "SUCCESS":
                return goes_to(done[-1].tag, done[-1].args)
            return None
        if attribute == "status":
            return {"IDLE": "idle", "RUNNING": "running", "SUCCESS": "succeeded",
                    "FAILURE": "failed", "CANCELLED": "cancelled"}[robot["tree_status"]]
        if attribute == "carrying":
            return bool(robot["carrying"]["stacks"] or robot["carrying"]["cherries"])
        if attribute == "stacks":
            return list(robot["carrying"]["stacks"])
        if attribute == "cherries":
            return robot["carrying"]["cherries"]
        if attribute == "history":
            found = matching(robot, filters)
            if not any(f in ("ok", "failed") for f in filters):
                found = [e for e in found if e.status == "SUCCESS"]
            return found
        if attribute == "funny":
            return robot["funny_action"]
        if attribute == "busy":
            return bool(active)
        if attribute == "idle":
            return not active
        if attribute == "moving":
            if robot.get("giving_way_to") and not robot.get("stalled"):
                return True
            return bool(active) and robot["location"] is None and not robot.get("stalled") \
                and goes_to(*label_parts(active)) is not None
        if attribute == "waiting":
            return bool(robot.get("waiting_for")) or bool(active) and \
                label_parts(active)[0] in ("Wait", "WaitForSignal")
        if attribute == "collected":
            return record.collected[subject]
        if attribute == "dropped":
            return record.dropped[subject]
        return UNKNOWN  # doing, next, position: described only
    if subject in V.HOLDERS:
        return state["holders"][subject]
    if subject in V.QUADRANTS:
        stacks = state["quadrants"][subject]
        if attribute == "stacks":
            return [c for c in V.COLORS if stacks[c]]
        return bool(stacks[attribute])
    if subject in V.PLATES:
        return [c for c in state["plates"][subject] if _cake_fits(c, filters)]
    if subject == "basket":
        return state["basket"]
    if subject == "score":
        return state["score"][attribute]
    if subject == "time":
        left = max(0.0, V.MATCH_DURATION_S - state["time_s"])
        return {"elapsed": state["time_s"], "left": left, "over": left <= 0}[attribute]
    if subject == "signals":
        return list(state.get("signals") or [])
    raise AssertionError(subject)


def _cake_fits(cake: dict, filters: tuple[str, ...]) -> bool:
    for f in filters:
        if f == "legendary" and cake["layers"] != list(V.COLORS):
            return False
        if f == "cherry" and not cake["cherry"]:
            return False
        if f in V.COLORS and f not in cake["layers"]:
            return False
    return True


def count(value: Any) -> float:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else len(value)


def holds(value: Any, op: str, operand: Any) -> bool:
    if not op:
        return bool(value)
    if op == "has":
        return operand in value
    if isinstance(operand, str) and not op.startswith(("<", ">")) and \
            (operand in V.PLACES or operand in ("idle", "running", "succeeded", "failed",
                                               "cancelled")):
        return value == operand
    a, b = count(value), count(operand)
    return {"=": a == b, ">": a > b, "<": a < b, ">=": a >= b, "<=": a <= b}[op]


# --- reading answers ------------------------------------------------------------------------

PLACE = r"(home|the basket|plate \d|quadrant \d|holder \d)"
COLORS = "|".join(V.COLORS)
_NUM = r"(\d+(?:\.\d)?)"


CAKES = rf"(legendary )?cakes?( with ({COLORS}))?( with a cherry)?"
"""A count of cakes of a filter, as the answers say it (groups: legendary, colour, cherry)."""


def cake_filters(m: re.Match, first: int = 2) -> tuple[str, ...]:
    """The filter a :data:`CAKES` match (starting at group ``first`` + 1) says."""
    legendary, _, colour, cherry = (m[first + i] for i in range(1, 5))
    return tuple(f for f in ("legendary" if legendary else None, colour,
                             "cherry" if cherry else None) if f)


def place_of(said: str) -> str:
    return V.BASKET if said == "the basket" else said.replace(" ", "_")


def colours_of(said: str) -> list[str]:
    return re.findall(COLORS, said)


def cake_kinds(cakes: list[dict]) -> Counter:
    def kind(c):
        layers = c["layers"]
        k = "legendary" if layers == list(V.COLORS) else layers[0] if len(set(layers)) == 1 \
            else "-".join(layers)
        return k + (" with cherry" if c["cherry"] else "")
    return Counter(kind(c) for c in cakes)


def kinds_said(said: str) -> Counter:
    out: Counter = Counter()
    for part in said.split(", "):
        n, kind = part.split(" ", 1)
        out[kind] += int(n)
    return out


_ATTEMPTS = (  # an infinitive as failures word it -> (tag, args pattern)
    (rf"pick the ({COLORS}) stack at quadrant (\d)", "PickCake", lambda m: (m[1], m[2])),
    (r"place cakes on plate (\d)", "PlaceCakes", lambda m: (m[1],)),
    (r"collect cherries at holder (\d)", "CollectCherries", lambda m: (m[1], None)),
    (r"drop cherries in the basket", "DropCherries", lambda m: ()),
    (r"put a cherry on plate (\d)", "PutCherry", lambda m: (m[1],)),
    (r"do the funny action", "FunnyAction", lambda m: ()),
    (r"wait (\S+) seconds", "Wait", lambda m: (m[1],)),
    (r"wait for the signal (\S+)", "WaitForSignal", lambda m: (m[1],)),
    (rf"drive to {PLACE}", "MoveTo", lambda m: (place_of(m[1]),)),
)


class Claims:
    """Checks an answer against a state (and the ledger's record); ``problems`` lists every
    claim that is false, and anything factual left unread."""

    def __init__(self, state: dict, record: Record, refs=()):
        """``refs``: the query's references (subject, attribute, filters), whose filters say
        what a history or plate clause counts."""
        self.state, self.record, self.refs = state, record, list(refs)
        self.problems: list[str] = []

    def filters(self, member: str, attribute: str) -> tuple[str, ...]:
        for exact in (True, False):
            for subject, name, filters in self.refs:
                if name == attribute and (subject == member if exact else
                                          subject in ("robots", "plates")
                                          and member[:-1] in ("robot", "plate_")):
                    return tuple(filters)
        return ()

    # helpers ----------------------------------------------------------------------------

    def robot(self, n: str) -> dict:
        return self.state["robots"][f"robot{n}"]

    def expect(self, ok: bool, what: str) -> None:
        if not ok:
            self.problems.append(what)

    def has_entry(self, n: str, tag: str, args: tuple, status: str,
                  reason: str | None = None) -> bool:
        for e in entries(self.robot(n)):
            if e.tag == tag and e.status == status and \
                    all(a is None or (i < len(e.args) and e.args[i] == a)
                        for i, a in enumerate(args)) and (reason is None or e.reason == reason):
                return True
        return False

    def active(self, n: str, tag: str, args: tuple) -> bool:
        label = self.robot(n)["active"]
        if not label:
            return False
        t, a = label_parts(label)
        return t == tag and all(x is None or (i < len(a) and a[i] == x)
                                for i, x in enumerate(args))

    # the reading ------------------------------------------------------------------------

    def check(self, text: str) -> list[str]:
        spans: list[tuple[int, int]] = []
        subjects = [(m.start(), m[1]) for m in re.finditer(r"Robot (\d)", text)]

        def subject_at(pos: int) -> str | None:
            found = [n for start, n in subjects if start <= pos]
            return found[-1] if found else None

        for pattern, verify in self.rules():
            for m in re.finditer(pattern, text):
                if any(a <= m.start() < b for a, b in spans):
                    continue
                try:
                    verify(m, subject_at(m.start()))
                except (KeyError, IndexError, TypeError, ValueError) as exc:
                    self.problems.append(f"cannot read {m[0]!r} in {text!r}: {exc!r}")
                spans.append((m.start(), m.end()))
        left = list(text)
        for a, b in spans:
            left[a:b] = " " * (b - a)
        rest = re.sub(r"\b(Robot|Holder|Quadrant|Plate) \d\b", " ", "".join(left))
        self.expect(not re.search(rf"\d|\b({COLORS}|plate|holder|quadrant|basket|home)\b",
                                  rest), f"unread facts in {rest!r}")
        return self.problems

    def rules(self):  # noqa: C901 - one table of every clause the answers are made of
        s, e = self.state, self.expect
        R = lambda n: self.robot(n)  # noqa: E731

        def step(tag, args, status="SUCCESS", reason=None):
            def verify(m, n):
                e(n is not None and self.has_entry(n, tag, args(m), status, reason and m[reason]),
                  f"no {tag} {args(m)} {status} for robot {n}: {m[0]!r}")
            return verify

        def attempt(status):
            def verify(m, n):
                said = m[1]
                for pattern, tag, args in _ATTEMPTS:
                    a = re.fullmatch(pattern, said)
                    if a:
                        reason = m[2] if status == "FAILURE" else None
                        e(n is not None and self.has_entry(n, tag, args(a), status, reason),
                          f"no {tag} {status} ({reason}) for robot {n}: {m[0]!r}")
                        return
                e(False, f"unknown attempt {said!r}")
            return verify

        def active(tag, args):
            def verify(m, n):
                e(n is not None and self.active(n, tag, args(m)),
                  f"robot {n} is not running {tag} {args(m)}: {m[0]!r}")
            return verify

        def idle_status(m, n):
            words = {"no plan yet": "IDLE", "plan succeeded": "SUCCESS", "plan failed": "FAILURE",
                     "plan cancelled": "CANCELLED", "plan running": "RUNNING"}
            e(R(n)["tree_status"] == words[m[2]] and not R(n)["active"],
              f"robot {n} status: {m[0]!r}")

        def placed(m, n):
            colours = colours_of(m[1])
            plate = f"plate_{m[2]}"
            e(self.has_entry(n, "PlaceCakes", (m[2],), "SUCCESS"), f"no placement {m[0]!r}")
            e((plate, colours) in self.record.placements[f"robot{n}"],
              f"robot {n} did not put {colours} on {plate}")
            if m[3]:
                self.plate_text(m[2], m[3])

        def collected(m, n):
            e(self.has_entry(n, "CollectCherries", (m[2],), "SUCCESS"), f"no collection {m[0]!r}")
            e((f"holder_{m[2]}", int(m[1])) in self.record.takes[f"robot{n}"],
              f"robot {n} did not take {m[1]} at holder {m[2]}: {self.record.takes}")

        def dropped(m, n):
            e(self.has_entry(n, "DropCherries", (), "SUCCESS"), f"no drop {m[0]!r}")
            if m[1]:
                e(int(m[1]) in self.record.drops[f"robot{n}"], f"no drop of {m[1]}")

        def history_count(m, n):
            filters = self.filters(f"robot{n}", "history")
            found = matching(R(n), filters)
            if filters and not any(f in ("ok", "failed") for f in filters):
                done = [x for x in found if x.status == "SUCCESS"]
                e(int(m[1]) == len(done), f"robot {n} did it {len(done)} times: {m[0]!r}")
                e(int(m[2] or 0) == len(found) - len(done), f"failures: {m[0]!r}")
            else:
                e(False, f"a count of times without a filter: {m[0]!r}")

        def stack(m, n):
            color, q = m[1], f"quadrant_{m[2]}"
            there = s["quadrants"][q][color] == 1
            taker = self.record.stacks.get((q, color))
            how = m[3]
            if how == " is still there":
                e(there, f"{color} of {q} is gone")
                return
            e(not there, f"{color} of {q} is there")
            if m[4]:
                e(taker is not None and taker[0] == f"robot{m[4]}", f"taker of {color} {q}")
            if m[5]:
                e(taker is not None and taker[1] == f"plate_{m[5]}", f"{color} {q} on {taker}")
            if m[6]:
                e(taker is not None and taker[1] is None, f"{color} {q} not carried: {taker}")

        def quadrant(m, _):
            q = s["quadrants"][f"quadrant_{m[1]}"]
            left = [c for c in V.COLORS if q[c]]
            if m[2] is not None:  # empty
                e(not left, f"quadrant {m[1]} has {left}")
            elif m[3] is not None:  # all 3
                e(left == list(V.COLORS), f"quadrant {m[1]} has {left}")
            else:
                e(int(m[4]) == len(left) and colours_of(m[5]) == left
                  and colours_of(m[6]) == [c for c in V.COLORS if not q[c]],
                  f"quadrant {m[1]}: {m[0]!r} vs {left}")

        def time_left(m, _):
            left = max(0.0, V.MATCH_DURATION_S - s["time_s"])
            e(abs(float(m[1]) - left) <= 0.05, f"{left} s left: {m[0]!r}")

        def signals(m, _):
            sent = list(s.get("signals") or [])
            said = re.findall(r'"([^"]+)"(?: \(by robot (\d)\))?', m[2])
            e(int(m[1]) == len(sent) and [name for name, _ in said] == sent,
              f"signals {sent}: {m[0]!r}")
            for name, by in said:
                if by:
                    e(self.has_entry(by, "Signal", (name,), "SUCCESS"), f"{name} by robot {by}")

        def other_plates(m, _):
            said = {f"plate_{x}" for x in re.findall(r"Plate (\d)", self.text)}
            others = [p for p in V.PLATES if p not in said]
            some = "have none" in m[0] or "has any" in m[0]
            e(all(not any(_cake_fits(c, self.filters(p, "cakes") if some else ())
                          for c in s["plates"][p]) for p in others),
              f"{m[0]!r}: {[(p, s['plates'][p]) for p in others]}")

        return [
            # verdicts and leads are read by the test itself; they hold no facts
            (r"^(Yes|No), |^I can't tell that from the robots' state|^None of them: "
             r"|^They are level: |^(?:Robot \d|Holder \d|Quadrant \d|Plate \d)"
             r"(?:(?:, | and )(?:Robot \d|Holder \d|Quadrant \d|Plate \d))*"
             r"(?: (?:has|have) the (?:most|least) \(\d+(?:\.\d)?\))?: ", lambda m, n: None),
            (r"I can't tell how many cherries Robot (\d) (collected|dropped) in all: a "
             r"collection's history records the count asked, and the holders do not show what "
             r"each robot took", lambda m, n: None),
            # the steps of a history, and failures
            (rf"failed to (.+?)(?: \(([^()]*)\))?(?=[,;.]| and | \(|$)", attempt("FAILURE")),
            (r"was stopped before it could (.+?) \(cancelled\)", attempt("CANCELLED")),
            (rf"placed its ((?:{COLORS})(?:(?:, | and )(?:{COLORS}))*) stacks? on plate (\d)"
             r"(?: \(it now has (\d+ cakes? \([^()]*\))\))?", placed),
            (rf"picked the ({COLORS}) stack at quadrant (\d)",
             step("PickCake", lambda m: (m[1], m[2]))),
            (r"collected (\d+) cherr(?:y|ies) at holder (\d)", collected),
            (r"collected cherries at holder (\d)(?: \((\d+) asked; I can't tell how many it "
             r"got\))?", step("CollectCherries", lambda m: (m[1], m[2]))),
            (r"dropped cherries in the basket(?: \((\d+) cherr(?:y|ies)\))?", dropped),
            (r"put a cherry on a cake on plate (\d)", step("PutCherry", lambda m: (m[1],))),
            (r"waited ([^\s,;()]*[^\s,;().]) seconds", step("Wait", lambda m: (m[1],))),
            (r'said "([^"]*)"', step("Say", lambda m: (m[1],))),
            (r'saying "([^"]*)"', active("Say", lambda m: (m[1],))),
            (r"got the signal ([^\s,;()]*[^\s,;().])", step("WaitForSignal", lambda m: (m[1],))),
            (r"signalled ([^\s,;()]*[^\s,;().])", step("Signal", lambda m: (m[1],))),
            (rf"drove to {PLACE}", step("MoveTo", lambda m: (place_of(m[1]),))),
            (r"Robot (\d) has done nothing yet", lambda m, n: e(not R(n)["history"], m[0])),
            (r"Robot (\d) did (\d+) steps?: it",
             lambda m, n: e(len(R(n)["history"]) == int(m[2]), m[0])),
            (r"Robot (\d) has (\d+) (successful|failed) steps?: it",
             lambda m, n: e(len(matching(R(n), self.filters(f"robot{n}", "history")))
                            == int(m[2]), m[0])),
            (r"Robot (\d) has no such step in its history; of its (\d+) steps? it",
             lambda m, n: e(not matching(R(n), self.filters(f"robot{n}", "history"))
                            and len(R(n)["history"]) == int(m[2]), m[0])),
            (r"\((\d+) times?(?:; (\d+) more failed)?\)", history_count),
            (r"\(and (\d+) earlier steps?\)", lambda m, n: e(
                len(matching(R(n), self.filters(f"robot{n}", "history"))) - 8 == int(m[1]),
                m[0])),
            # what a robot is doing now
            (r"stalled \(not moving\), ", lambda m, n: e(R(n).get("stalled"), m[0])),
            (r"waiting for robot (\d) to clear the way",
             lambda m, n: e(R(n).get("waiting_for") == f"robot{m[1]}", m[0])),
            (r"waiting for the signal ([^\s,;()]*[^\s,;().])(?: from robot (\d))?",
             lambda m, n: e(self.active(n, "WaitForSignal", (m[1],)) and m[2] != n, m[0])),
            (r"(?:driving|Robot \d is driving) to " + PLACE + r"(?: to (pick the (\w+) stack|"
             r"place cakes|collect (?:(\d+) )?cherries|drop cherries|put a cherry on a cake))?",
             lambda m, n: e(R(n)["active"] is not None
                            and goes_to(*label_parts(R(n)["active"])) == place_of(m[1])
                            and (m[2] is None or m[2].split()[0] == {
                                "PickCake": "pick", "PlaceCakes": "place",
                                "CollectCherries": "collect", "DropCherries": "drop",
                                "PutCherry": "put"}.get(label_parts(R(n)["active"])[0]))
                            and (m[3] is None or m[3] in R(n)["active"])
                            and (m[4] is None or label_parts(R(n)["active"])[1][1:] == (m[4],)),
                            m[0])),
            (rf"picking the ({COLORS}) stack at quadrant (\d)",
             active("PickCake", lambda m: (m[1], m[2]))),
            (r"placing cakes on plate (\d)", active("PlaceCakes", lambda m: (m[1],))),
            (r"collecting (?:(\d+) )?cherries at holder (\d)",
             active("CollectCherries", lambda m: (m[2], m[1]))),
            (r"dropping cherries in the basket", active("DropCherries", lambda m: ())),
            (r"putting a cherry on a cake on plate (\d)", active("PutCherry", lambda m: (m[1],))),
            (r"doing the funny action", active("FunnyAction", lambda m: ())),
            (r"waiting ([^\s,;()]*[^\s,;().]) seconds", active("Wait", lambda m: (m[1],))),
            (r"signalling ([^\s,;()]*[^\s,;().])", active("Signal", lambda m: (m[1],))),
            (r"as many as fit \(room for (\d+) cherr(?:y|ies)\)", lambda m, n: e(
                V.MAX_CHERRIES_CARRIED - R(n)["carrying"]["cherries"] == int(m[1]), m[0])),
            (rf"\(it carries ((?:the (?:{COLORS}) stack)|\d+ stacks: [a-z, ]+?)"
             r"(: one stack of each colour, what legendary cakes are made of)?\)",
             lambda m, n: e(colours_of(m[1]) == R(n)["carrying"]["stacks"] and
                            (m[2] is None or sorted(colours_of(m[1])) == sorted(V.COLORS)),
                            m[0])),
            (r"(?:, |Robot \d is )(idle|running its plan) \((no plan yet|plan succeeded|plan "
             r"failed|plan cancelled|plan running)\)", lambda m, n: idle_status(m, n)
             if m[1] == "idle" else e(R(n)["tree_status"] == "RUNNING" and not R(n)["active"],
                                      m[0])),
            (r"Robot (\d) has no step running \((no plan yet|plan succeeded|plan failed|plan "
             r"cancelled|plan running)\), so I can't tell what it will do next",
             lambda m, n: e(not R(n)["active"], m[0])),
            (r"Robot (\d) is not driving anywhere: it is ", lambda m, n: e(
                R(n)["active"] and goes_to(*label_parts(R(n)["active"])) is None, m[0])),
            (r"Robot (\d) is not going anywhere: it is ", lambda m, n: e(
                not R(n)["active"] and truth(s, self.record, f"robot{n}", "destination") is None,
                m[0])),
            (rf"Robot (\d) was going to {PLACE} but stopped on the way: its step "
             r"(was cancelled|failed(?: \(([^()]*)\))?)", lambda m, n: e(
                R(n)["location"] is None and not R(n)["active"]
                and goes_to(entries(R(n))[-1].tag, entries(R(n))[-1].args) == place_of(m[2])
                and entries(R(n))[-1].status == ("CANCELLED" if "cancelled" in m[3]
                                                 else "FAILURE")
                and (m[4] is None or entries(R(n))[-1].reason == m[4]), m[0])),
            (rf"Robot (\d) is at {PLACE}, where it is ",
             lambda m, n: e(R(n)["location"] == place_of(m[2]), m[0])),
            (r"Robot (\d) is at x (\d+) mm, y (\d+) mm \(", lambda m, n: e(
                (R(n)["x_mm"], R(n)["y_mm"]) == (int(m[2]), int(m[3])), m[0])),
            (r"Robot (\d) is between places \(x (\d+) mm, y (\d+) mm\)"
             r"(, driving aside for robot (\d))?", lambda m, n: e(
                R(n)["location"] is None and (R(n)["x_mm"], R(n)["y_mm"]) == (int(m[2]),
                                                                             int(m[3]))
                and (m[4] is None) == (not R(n).get("giving_way_to"))
                and (m[5] is None or R(n)["giving_way_to"] == f"robot{m[5]}"), m[0])),
            (rf"Robot (\d) is between places: it stopped on the way to {PLACE}", lambda m, n: e(
                R(n)["location"] is None and not R(n)["active"]
                and goes_to(entries(R(n))[-1].tag, entries(R(n))[-1].args) == place_of(m[2]),
                m[0])),
            # plan status
            (r"Robot (\d)'s plan succeeded: it has finished and is idle",
             lambda m, n: e(R(n)["tree_status"] == "SUCCESS" and not R(n)["active"], m[0])),
            (r"Robot (\d) is running its plan: it is ",
             lambda m, n: e(R(n)["tree_status"] == "RUNNING", m[0])),
            (r"Robot (\d)'s plan failed", lambda m, n: e(R(n)["tree_status"] == "FAILURE", m[0])),
            (r"Robot (\d)'s plan was cancelled",
             lambda m, n: e(R(n)["tree_status"] == "CANCELLED", m[0])),
            (r"Robot (\d) has no plan yet and is idle",
             lambda m, n: e(R(n)["tree_status"] == "IDLE", m[0])),
            # cargo
            (r"Robot (\d) carries nothing", lambda m, n: e(
                not R(n)["carrying"]["stacks"] and not R(n)["carrying"]["cherries"], m[0])),
            (r"Robot (\d) carries (\d+) stacks? \(([a-z, ]+)\)(?: and (\d+) cherr(?:y|ies))?",
             lambda m, n: e(colours_of(m[3]) == R(n)["carrying"]["stacks"]
                            and int(m[2]) == len(R(n)["carrying"]["stacks"])
                            and int(m[4] or 0) == R(n)["carrying"]["cherries"], m[0])),
            (rf"Robot (\d) carries the ({COLORS}) stack",
             lambda m, n: e(R(n)["carrying"]["stacks"] == [m[2]], m[0])),
            (r"Robot (\d) carries (\d+) stacks: ([a-z, ]+ and [a-z]+)",
             lambda m, n: e(colours_of(m[3]) == R(n)["carrying"]["stacks"], m[0])),
            (r"Robot (\d) carries no stacks", lambda m, n: e(not R(n)["carrying"]["stacks"], m[0])),
            (r"Robot (\d) carries (\d+) cherr(?:y|ies)",
             lambda m, n: e(R(n)["carrying"]["cherries"] == int(m[2]), m[0])),
            (r"Robot (\d) did the funny action", lambda m, n: e(R(n)["funny_action"], m[0])),
            (r"Robot (\d) has not done the funny action",
             lambda m, n: e(not R(n)["funny_action"], m[0])),
            (r"did the funny action", lambda m, n: e(R(n)["funny_action"], m[0])),
            (r"Robot (\d) collected (\d+) cherr(?:y|ies) in all",
             lambda m, n: e(self.record.collected[f"robot{n}"] == int(m[2]), m[0])),
            (r"Robot (\d) dropped (\d+) cherr(?:y|ies) in the basket in all",
             lambda m, n: e(self.record.dropped[f"robot{n}"] == int(m[2]), m[0])),
            # the field
            (r"[Tt]he holders have (\d+) cherr(?:y|ies) left in all",
             lambda m, n: e(sum(s["holders"].values()) == int(m[1]), m[0])),
            (r"Holder (\d) is empty \(0 cherries left\)",
             lambda m, n: e(s["holders"][f"holder_{m[1]}"] == 0, m[0])),
            (r"Holder (\d) has (\d+) cherr(?:y|ies) left( \(full\))?", lambda m, n: e(
                s["holders"][f"holder_{m[1]}"] == int(m[2]) and bool(m[3]) == (int(m[2]) == 10),
                m[0])),
            (r"(\d+) stacks? left in the quadrants",
             lambda m, n: e(sum(sum(q.values()) for q in s["quadrants"].values()) == int(m[1]),
                            m[0])),
            (r"Quadrant (\d) (?:(is empty: its [a-z, ]+ stacks were taken)|(still has all 3 "
             r"stacks: brown, yellow and pink)|has (\d+) stacks? left \(([a-z, ]+); ([a-z, ]+) "
             r"taken\))", quadrant),
            (rf"[Tt]he ({COLORS}) stack of quadrant (\d)( is still there| is gone(?:: robot "
             r"(\d) took it(?: and placed it on plate (\d)|( and still carries it))?| \(taken\)))",
             stack),
            (r"Plate (\d) is empty \(0 cakes\)",
             lambda m, n: e(not s["plates"][f"plate_{m[1]}"], m[0])),
            (rf"Plate (\d) has (\d+) {CAKES} \((\d+ cakes? \([^()]*\))\)", lambda m, n: (
                e(len(truth(s, self.record, f"plate_{m[1]}", "cakes", cake_filters(m)))
                  == int(m[2]), m[0]), self.plate_text(m[1], m[7]))),
            (r"Plate (\d) has (\d+ cakes? \([^()]*\))", lambda m, n: self.plate_text(m[1], m[2])),
            (rf"(\d+) {CAKES} on the plates \((\d+) cakes? in all\)", lambda m, n: e(
                sum(len(truth(s, self.record, p, "cakes", cake_filters(m, 1))) for p in V.PLATES)
                == int(m[1]) and sum(len(c) for c in s["plates"].values()) == int(m[6]), m[0])),
            (r"(\d+) cakes? on the plates",
             lambda m, n: e(sum(len(c) for c in s["plates"].values()) == int(m[1]), m[0])),
            (r"the other plates (?:are empty|have none)|every plate is empty|no plate has any",
             other_plates),
            (r"[Tt]he basket holds (\d+) cherr(?:y|ies)", lambda m, n: e(s["basket"] == int(m[1]),
                                                                       m[0])),
            (r"[Tt]he basket is empty \(0 cherries\)", lambda m, n: e(s["basket"] == 0, m[0])),
            (r"[Tt]he score is (\d+) points? \(the cakes (\d+), the basket (\d+), robots at home "
             r"(\d+), the funny action (\d+)\)", lambda m, n: e(
                [s["score"][k] for k in ("total", "cakes", "basket", "end_zone", "funny")]
                == [int(m[i]) for i in range(1, 6)], m[0])),
            (r"([Tt]he cakes|[Tt]he basket|[Rr]obots at home|[Tt]he funny action) give (\d+) points?",
             lambda m, n: e(s["score"][{"the cakes": "cakes", "the basket": "basket",
                                        "robots at home": "end_zone",
                                        "the funny action": "funny"}[m[1].lower()]]
                            == int(m[2]), m[0])),
            (_NUM + r" seconds of the match have been played",
             lambda m, n: e(abs(float(m[1]) - s["time_s"]) <= 0.05, m[0])),
            (_NUM + r" seconds are left", time_left),
            (r"the match is (not )?over",
             lambda m, n: e((s["time_s"] < V.MATCH_DURATION_S) == bool(m[1]), m[0])),
            (r"[Nn]o signal has been raised", lambda m, n: e(not s.get("signals"), m[0])),
            (r'(\d+) signals? raised: ((?:"[^"]+"(?: \(by robot \d\))?(?:, | and )?)+)', signals),
            (r"\(x (\d+) mm, y (\d+) mm\)", lambda m, n: e(
                (R(n)["x_mm"], R(n)["y_mm"]) == (int(m[1]), int(m[2])), m[0])),
            (rf"stopped on the way to {PLACE}", lambda m, n: e(
                R(n)["location"] is None and not R(n)["active"]
                and goes_to(entries(R(n))[-1].tag, entries(R(n))[-1].args) == place_of(m[1]),
                m[0])),
            # last: where a robot is, inside the clauses above
            (r"between places", lambda m, n: e(R(n)["location"] is None, m[0])),
            (rf"at {PLACE}", lambda m, n: e(R(n)["location"] == place_of(m[1]), m[0])),
        ]

    def plate_text(self, n: str, said: str) -> None:
        cakes = self.state["plates"][f"plate_{n}"]
        m = re.fullmatch(r"(\d+) cakes? \(([^()]*)\)", said)
        self.expect(m is not None and int(m[1]) == len(cakes)
                    and kinds_said(m[2]) == cake_kinds(cakes),
                    f"plate {n} has {cake_kinds(cakes)}: {said!r}")

    def read(self, text: str) -> list[str]:
        self.text = text
        return self.check(text)
