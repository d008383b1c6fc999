"""The facts a query reference reads from the state JSON: a value to test and a clause that
states it.

``read(state, ref)`` returns a :class:`Fact` for one subject of the state (``robot1``,
``holder_3``, ``time``, ...); :mod:`llm_mars.qa.answers` combines facts into answers. The
value is what a test compares (a place, a number, a list, a flag, a status word); the clause
says the same thing in words ("Robot 1 is at plate 3"), with every name and number taken from
the state.

Some facts are not written in the state and are worked out from the robots' histories, each
only where the state makes it certain:

* what a robot placed on a plate: the stacks it carried then, replayed from its own picks and
  placements (only picks add stacks and only placements remove them), checked against what
  it carries now;
* where a taken stack went: the robot whose history took it, and its next placement;
* how many cherries a robot collected and dropped in all (``collected``, ``dropped``): a
  collection's history entry records the count asked, not the count taken, so the counts are
  replayed under the simulator's rules (:func:`llm_mars.qa.summary.cherry_tally`) and used
  only when the replay agrees with every holder, the basket and both cargoes; otherwise the
  fact is *unknown* and the answer says it cannot tell.

History entries and skill labels are read by :mod:`llm_mars.qa.summary` (the one reader of
labels), which also words the steps.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llm_mars import vocabulary as V
from llm_mars.qa import summary as S
from llm_mars.qa.query import CHERRY, LEGENDARY, OUTCOMES, STATUSES, Ref

STEPS_LISTED = 8
"""History steps an answer lists (the latest; the count covers them all)."""

_STATUS_WORDS = {v: k for k, v in STATUSES.items()}


@dataclass(frozen=True)
class Fact:
    """``value``: what a test reads (``None`` when the state does not tell: ``known`` false);
    ``text``: a clause stating it, starting with its subject."""

    value: Any
    text: str
    known: bool = True


def and_list(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def number_text(x: float) -> str:
    """``62.5``, ``100``: as the state has it, without a trailing ``.0``."""
    x = round(float(x), 1)
    return f"{x:g}" if x == int(x) else f"{x:.1f}"


def count_text(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def subject_name(subject: str) -> str:
    """``robot1`` -> ``Robot 1``, ``holder_3`` -> ``Holder 3``, ``basket`` -> ``the basket``."""
    if subject in V.ROBOTS:
        return S.robot_name(subject)
    if subject == V.BASKET:
        return "the basket"
    return S.place_name(subject).capitalize()


def count_of(value: Any) -> int | float | None:
    """The number a count test compares: a number itself, the length of a list."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    return len(value)


# --- robots -----------------------------------------------------------------------------


def _robot(state: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    return (state.get("robots") or {})[name]


def _location(state, name, ref) -> Fact:
    robot, r = _robot(state, name), S.robot_name(name)
    place = robot.get("location")
    if place is not None:
        return Fact(place, f"{r} is at {S.place_name(place)}")
    active = robot.get("active")
    destination = S.Step.parse(active).destination if active else None
    if destination is not None:
        return Fact(None, f"{r} is between places, driving to {S.place_name(destination)}")
    stopped = S.stopped_on_the_way_to(robot)
    if stopped is not None:
        return Fact(None, f"{r} is between places: it stopped on the way to "
                          f"{S.place_name(stopped)}")
    aside = f", driving aside for {S.robot_name(robot['giving_way_to']).lower()}" \
        if robot.get("giving_way_to") else ""
    return Fact(None, f"{r} is between places (x {robot.get('x_mm')} mm, "
                      f"y {robot.get('y_mm')} mm){aside}")


def _destination(state, name, ref) -> Fact:
    robot, r = _robot(state, name), S.robot_name(name)
    place = robot.get("location")
    active = robot.get("active")
    if active:
        step = S.Step.parse(active)
        target = step.destination
        if target is not None and place == target:
            return Fact(target, f"{r} is at {S.place_name(target)}, where it is {step.doing()}")
        if target is not None:
            why = f" to {step.purpose()}" if step.tag != "MoveTo" else ""
            carried = _cargo_to_place(robot) if step.tag == "PlaceCakes" else ""
            return Fact(target, f"{r} is driving to {S.place_name(target)}{why}{carried}")
        return Fact(None, f"{r} is not driving anywhere: it is {S.activity(robot, name)}")
    stopped = S.stopped_on_the_way_to(robot)
    if stopped is not None:
        last = S.history(robot)[-1]
        why = "its step was cancelled" if last.status == "CANCELLED" else \
            f"its step failed{f' ({last.reason})' if last.reason else ''}"
        return Fact(stopped, f"{r} was going to {S.place_name(stopped)} but stopped on the "
                             f"way: {why}")
    return Fact(None, f"{r} is not going anywhere: it is {S.activity(robot, name)}")


def _cargo_to_place(robot: Mapping[str, Any]) -> str:
    stacks = list((robot.get("carrying") or {}).get("stacks") or [])
    if not stacks:
        return ""
    text = f" (it carries {_stacks_text(stacks)}"
    if sorted(stacks) == sorted(V.COLORS):
        text += ": one stack of each colour, what legendary cakes are made of"
    return text + ")"


def _stacks_text(stacks: Sequence[str]) -> str:
    """``the brown stack`` / ``2 stacks: brown and yellow``."""
    if len(stacks) == 1:
        return f"the {stacks[0]} stack"
    return f"{len(stacks)} stacks: {and_list(stacks)}"


def _doing(state, name, ref) -> Fact:
    """What the robot does now; on its way to place cakes, the stacks it brings (as ``next``
    says)."""
    robot = _robot(state, name)
    active = robot.get("active")
    placing = active is not None and S.Step.parse(active).tag == "PlaceCakes"
    carried = _cargo_to_place(robot) if placing else ""
    return Fact(S.activity(robot, name),
                f"{S.robot_name(name)} is {S.activity(robot, name)}{carried}")


def _next(state, name, ref) -> Fact:
    robot, r = _robot(state, name), S.robot_name(name)
    active = robot.get("active")
    if not active:
        return Fact(None, f"{r} has no step running ({S.plan_status(robot)}), so I can't tell "
                          "what it will do next", known=False)
    step = S.Step.parse(active)
    target, place = step.destination, robot.get("location")
    if target is not None and place != target:
        carried = _cargo_to_place(robot) if step.tag == "PlaceCakes" else ""
        why = f" to {step.purpose()}" if step.tag != "MoveTo" else ""
        return Fact(active, f"{r} is driving to {S.place_name(target)}{why}{carried}")
    if step.tag == "CollectCherries" and len(step.args) < 2:
        room = V.MAX_CHERRIES_CARRIED - int((robot.get("carrying") or {}).get("cherries") or 0)
        return Fact(active, f"{r} is {step.doing()}, as many as fit (room for "
                            f"{S.cherries(room)})")
    carried = _cargo_to_place(robot) if step.tag == "PlaceCakes" else ""
    return Fact(active, f"{r} is {step.doing()}{carried}")


def _status(state, name, ref) -> Fact:
    robot, r = _robot(state, name), S.robot_name(name)
    status = robot.get("tree_status")
    word = _STATUS_WORDS.get(status, str(status).lower())
    last = (S.failures(robot) or [None])[-1]
    if status == "SUCCESS":
        text = f"{r}'s plan succeeded: it has finished and is idle {_at(robot)}"
    elif status == "RUNNING":
        text = f"{r} is running its plan: it is {S.activity(robot, name)}"
    elif status == "FAILURE":
        text = f"{r}'s plan failed" + (f": it {last.describe()}" if last else "")
    elif status == "CANCELLED":
        text = f"{r}'s plan was cancelled" + (f": it {last.describe()}" if last else "")
    else:
        text = f"{r} has no plan yet and is idle {_at(robot)}"
    return Fact(word, text)


def _at(robot: Mapping[str, Any]) -> str:
    place = robot.get("location")
    return f"at {S.place_name(place)}" if place else "between places"


def _carrying(state, name, ref) -> Fact:
    robot = _robot(state, name)
    carried = robot.get("carrying") or {}
    has = bool(carried.get("stacks") or carried.get("cherries"))
    return Fact(has, f"{S.robot_name(name)} carries {S.carrying(robot)}")


def _stacks(state, name, ref) -> Fact:
    stacks = list((_robot(state, name).get("carrying") or {}).get("stacks") or [])
    what = _stacks_text(stacks) if stacks else "no stacks"
    return Fact(stacks, f"{S.robot_name(name)} carries {what}")


def _cherries(state, name, ref) -> Fact:
    n = int((_robot(state, name).get("carrying") or {}).get("cherries") or 0)
    return Fact(n, f"{S.robot_name(name)} carries {S.cherries(n)}")


def _funny(state, name, ref) -> Fact:
    done = bool(_robot(state, name).get("funny_action"))
    r = S.robot_name(name)
    return Fact(done, f"{r} did the funny action" if done else
                f"{r} has not done the funny action")


def _flag(test: Callable[[Mapping[str, Any]], bool]):
    def read(state, name, ref) -> Fact:
        robot = _robot(state, name)
        return Fact(test(robot), f"{S.robot_name(name)} is {S.activity(robot, name)}")
    return read


def _moving(robot: Mapping[str, Any]) -> bool:
    """Driving to a step's place, or aside to make way for the other robot."""
    if robot.get("giving_way_to") and not robot.get("stalled"):
        return True
    active = robot.get("active")
    return bool(active) and robot.get("location") is None and not robot.get("stalled") \
        and S.Step.parse(active).destination is not None


def _waiting(robot: Mapping[str, Any]) -> bool:
    active = robot.get("active")
    return bool(robot.get("waiting_for")) or bool(active) and \
        S.Step.parse(active).tag in ("WaitForSignal", "Wait")


def _tally(state, name, index: int, verb: str) -> Fact:
    r = S.robot_name(name)
    tally = S.cherry_tally(state)
    if tally is None or name not in tally:
        return Fact(None, f"I can't tell how many cherries {r} {verb} in all: a "
                          "collection's history records the count asked, and the holders do "
                          "not show what each robot took", known=False)
    n = tally[name][index]
    where = " in the basket" if verb == "dropped" else ""
    return Fact(n, f"{r} {verb} {S.cherries(n)}{where} in all")


def _position(state, name, ref) -> Fact:
    robot = _robot(state, name)
    x, y = robot.get("x_mm"), robot.get("y_mm")
    return Fact((x, y), f"{S.robot_name(name)} is at x {x} mm, y {y} mm ({S.where(robot)})")


# --- history ----------------------------------------------------------------------------


def _matches(entry: S.HistoryEntry, filters: Sequence[str]) -> bool:
    step = entry.step
    for word in filters:
        if word in OUTCOMES:
            ok = entry.status in OUTCOMES[word]
        elif word in V.COLORS:
            ok = word in step.args
        elif word in V.PLACES:
            ok = step.destination == word
        else:
            ok = step.tag == word
        if not ok:
            return False
    return True


def placed_stacks(robot: Mapping[str, Any]) -> list[list[str] | None] | None:
    """For each history entry, the stacks a successful placement put down (``None`` for other
    entries), replayed from the robot's own picks and placements; ``None`` when the replay
    does not end with what the robot carries (a state this reading does not explain)."""
    carried: list[str] = []
    out: list[list[str] | None] = []
    for h in S.history(robot):
        placed = None
        if h.status == "SUCCESS" and h.step.tag == "PickCake" and h.step.args:
            carried.append(h.step.args[0])
        elif h.status == "SUCCESS" and h.step.tag == "PlaceCakes":
            placed, carried = carried, []
        out.append(placed)
    now = list((robot.get("carrying") or {}).get("stacks") or [])
    return out if carried == now else None


def _describe_entry(h: S.HistoryEntry, placed: list[str] | None, moved: int | None,
                    state: Mapping[str, Any]) -> str:
    """One history step in words, with what the state shows it moved: the stacks a placement
    put down (and what the plate holds now), the cherries a collection took or a drop put in
    the basket (only where the replay is confirmed: a collection's label holds the count
    asked, not the count taken)."""
    step = h.step
    if placed is not None and step.tag == "PlaceCakes":
        plate = step.destination
        cakes = list((state.get("plates") or {}).get(plate) or [])
        now = f" (it now has {S.plate_text(cakes)})" if cakes else ""
        stacks = and_list(placed)
        return f"placed its {stacks} stack{'s' if len(placed) > 1 else ''} on " \
               f"{S.place_name(plate)}{now}"
    if h.status == "SUCCESS" and step.tag == "CollectCherries" and step.args:
        if moved is not None:
            return S.Step(step.tag, (step.args[0], str(moved))).done()
        asked = f" ({step.args[1]} asked; I can't tell how many it got)" \
            if len(step.args) > 1 else ""
        return S.Step(step.tag, step.args[:1]).done() + asked
    if h.status == "SUCCESS" and step.tag == "DropCherries" and moved is not None:
        return f"{step.done()} ({S.cherries(moved)})"
    return h.describe()


def _history(state, name, ref) -> Fact:
    robot, r = _robot(state, name), S.robot_name(name)
    entries = S.history(robot)
    placed = placed_stacks(robot) or [None] * len(entries)
    moved = (S.cherry_moves(state) or {}).get(name) or [None] * len(entries)
    described = [_describe_entry(h, p, m, state) for h, p, m in zip(entries, placed, moved)]
    filters = ref.filters
    matching = [(h, d) for h, d in zip(entries, described) if _matches(h, filters)]
    outcome_given = any(f in OUTCOMES for f in filters)
    counted = [h for h, _ in matching if outcome_given or h.status == "SUCCESS"]
    if not entries:
        return Fact([], f"{r} has done nothing yet")
    if not matching:
        said = and_list(described[-STEPS_LISTED:])
        return Fact([], f"{r} has no such step in its history; of its "
                        f"{count_text(len(entries), 'step')} it {said}")
    shown = matching[-STEPS_LISTED:]
    said = and_list([d for _, d in shown])
    earlier = len(matching) - len(shown)
    more = f" (and {count_text(earlier, 'earlier step')})" if earlier else ""
    if not filters:
        return Fact(counted, f"{r} did {count_text(len(entries), 'step')}: it {said}{more}")
    if outcome_given:
        kind = "successful step" if "ok" in filters else "failed step"
        return Fact(counted, f"{r} has {count_text(len(matching), kind)}: it {said}{more}")
    failed = len(matching) - len(counted)
    tally = count_text(len(counted), "time") + (f"; {failed} more failed" if failed else "")
    return Fact(counted, f"{r} {said}{more} ({tally})")


# --- the field --------------------------------------------------------------------------


def _holder(state, name, ref) -> Fact:
    n = int((state.get("holders") or {}).get(name, 0))
    h = subject_name(name)
    if n <= 0:
        return Fact(0, f"{h} is empty (0 cherries left)")
    full = " (full)" if n == V.CHERRIES_PER_HOLDER else ""
    return Fact(n, f"{h} has {S.cherries(n)} left{full}")


def _quadrant_stacks(state, name, ref) -> Fact:
    stacks = (state.get("quadrants") or {}).get(name) or {}
    left = [c for c in V.COLORS if stacks.get(c)]
    taken = [c for c in V.COLORS if not stacks.get(c)]
    q = subject_name(name)
    if not left:
        return Fact(left, f"{q} is empty: its {and_list(taken)} stacks were taken")
    if not taken:
        return Fact(left, f"{q} still has all 3 stacks: {and_list(left)}")
    return Fact(left, f"{q} has {count_text(len(left), 'stack')} left ({and_list(left)}; "
                      f"{and_list(taken)} taken)")


def _stack(state, name, ref) -> Fact:
    color = ref.attribute
    there = bool(((state.get("quadrants") or {}).get(name) or {}).get(color))
    what = f"the {color} stack of {S.place_name(name)}"
    if there:
        return Fact(True, f"{what.capitalize()} is still there")
    label = f"PickCake {color} {name.rsplit('_', 1)[-1]}"
    for robot_name, robot in (state.get("robots") or {}).items():
        entries = S.history(robot)
        placed = placed_stacks(robot)
        for i, h in enumerate(entries):
            if h.status != "SUCCESS" or h.raw.split(":")[0] != label:
                continue
            r = S.robot_name(robot_name)
            later = [(j, entries[j]) for j in range(i + 1, len(entries))
                     if placed is not None and placed[j] is not None]
            if later:
                plate = S.place_name(later[0][1].step.destination)
                return Fact(False, f"{what.capitalize()} is gone: {r.lower()} took it and "
                                   f"placed it on {plate}")
            if placed is not None:
                return Fact(False, f"{what.capitalize()} is gone: {r.lower()} took it and "
                                   "still carries it")
            return Fact(False, f"{what.capitalize()} is gone: {r.lower()} took it")
    return Fact(False, f"{what.capitalize()} is gone (taken)")


def _cake_matches(cake: Mapping[str, Any], filters: Sequence[str]) -> bool:
    layers = list(cake.get("layers") or [])
    for word in filters:
        if word == LEGENDARY:
            ok = layers == list(V.COLORS)
        elif word == CHERRY:
            ok = bool(cake.get("cherry"))
        else:
            ok = word in layers
        if not ok:
            return False
    return True


def cakes_text(n: int, filters: Sequence[str]) -> str:
    """``1 legendary cake with a cherry``, ``2 cakes with brown``: ``n`` cakes of a filter."""
    kind = [f for f in filters if f != CHERRY]
    cakes = "cake" if n == 1 else "cakes"
    if kind and kind[0] in V.COLORS:
        text = f"{n} {cakes} with {kind[0]}"
    else:
        text = f"{n} {kind[0] + ' ' if kind else ''}{cakes}"
    return text + (" with a cherry" if CHERRY in filters else "")


def _plate(state, name, ref) -> Fact:
    cakes = list((state.get("plates") or {}).get(name) or [])
    chosen = [c for c in cakes if _cake_matches(c, ref.filters)]
    p = subject_name(name)
    if not cakes:
        return Fact(chosen, f"{p} is empty (0 cakes)")
    if not ref.filters:
        return Fact(chosen, f"{p} has {S.plate_text(cakes)}")
    return Fact(chosen, f"{p} has {cakes_text(len(chosen), ref.filters)} "
                        f"({S.plate_text(cakes)})")


# --- basket, score, time, signals -------------------------------------------------------


def _basket(state, name, ref) -> Fact:
    n = int(state.get("basket", 0))
    return Fact(n, f"The basket holds {S.cherries(n)}" if n else
                "The basket is empty (0 cherries)")


_SCORE_PARTS = {"cakes": "the cakes", "basket": "the basket", "end_zone": "robots at home",
                "funny": "the funny action"}


def _score(state, name, ref) -> Fact:
    score = state.get("score") or {}
    part = ref.attribute
    n = int(score.get(part, 0))
    if part == "total":
        parts = ", ".join(f"{_SCORE_PARTS[p]} {int(score.get(p, 0))}" for p in _SCORE_PARTS)
        return Fact(n, f"The score is {count_text(n, 'point')} ({parts})")
    return Fact(n, f"{_SCORE_PARTS[part].capitalize()} give {count_text(n, 'point')}")


def time_left(state: Mapping[str, Any]) -> float:
    """Match seconds left: the state's ``time_left_s`` when it has one (a match of another
    length), else the standard match length minus ``time_s``."""
    if state.get("time_left_s") is not None:
        return max(0.0, float(state["time_left_s"]))
    return S.time_left(state)


def _time(state, name, ref) -> Fact:
    played = float(state.get("time_s", 0.0))
    left = time_left(state)
    if ref.attribute == "elapsed":
        return Fact(played, f"{number_text(played)} seconds of the match have been played")
    if ref.attribute == "left":
        if left <= 0:
            return Fact(0, "0 seconds are left: the match is over")
        return Fact(left, f"{number_text(left)} seconds are left in the match")
    if left <= 0:
        return Fact(True, "the match is over: 0 seconds are left")
    return Fact(False, f"the match is not over: {number_text(left)} seconds are left")


def signals_sent(state: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """(signal, the robot that raised it) in order: the state's ``signals`` when it has them,
    with the robot from the histories where one shows it."""
    by_robot: dict[str, str] = {}
    order: list[str] = []
    for name, robot in (state.get("robots") or {}).items():
        for h in S.history(robot):
            if h.step.tag == "Signal" and h.status == "SUCCESS" and h.step.args:
                by_robot.setdefault(h.step.args[0], name)
                order.append(h.step.args[0])
    names = list(state["signals"]) if isinstance(state.get("signals"), list) \
        else list(dict.fromkeys(order))
    return [(s, by_robot.get(s)) for s in names]


def _signals(state, name, ref) -> Fact:
    sent = signals_sent(state)
    if not sent:
        return Fact([], "no signal has been raised")
    said = and_list([f'"{s}"' + (f" (by {S.robot_name(r).lower()})" if r else "")
                     for s, r in sent])
    return Fact([s for s, _ in sent], f"{count_text(len(sent), 'signal')} raised: {said}")


_READERS: dict[tuple[str, str], Callable[[Mapping[str, Any], str, Ref], Fact]] = {
    ("robot", "location"): _location,
    ("robot", "destination"): _destination,
    ("robot", "doing"): _doing,
    ("robot", "next"): _next,
    ("robot", "status"): _status,
    ("robot", "carrying"): _carrying,
    ("robot", "stacks"): _stacks,
    ("robot", "cherries"): _cherries,
    ("robot", "history"): _history,
    ("robot", "funny"): _funny,
    ("robot", "busy"): _flag(lambda r: bool(r.get("active"))),
    ("robot", "idle"): _flag(lambda r: not r.get("active")),
    ("robot", "moving"): _flag(_moving),
    ("robot", "waiting"): _flag(_waiting),
    ("robot", "collected"): lambda s, n, r: _tally(s, n, 0, "collected"),
    ("robot", "dropped"): lambda s, n, r: _tally(s, n, 1, "dropped"),
    ("robot", "position"): _position,
    ("holder", "cherries"): _holder,
    ("quadrant", "stacks"): _quadrant_stacks,
    **{("quadrant", c): _stack for c in V.COLORS},
    ("plate", "cakes"): _plate,
    ("basket", "cherries"): _basket,
    **{("score", p): _score for p in ("total", *_SCORE_PARTS)},
    ("time", "elapsed"): _time,
    ("time", "left"): _time,
    ("time", "over"): _time,
    ("signals", "sent"): _signals,
}


def read(state: Mapping[str, Any], ref: Ref, subject: str | None = None) -> Fact:
    """The fact ``ref`` names, on ``subject`` (a member, for a set reference) or its own."""
    subject = subject or ref.subject
    return _READERS[(ref.kind, ref.attribute)](state, subject, ref)


def cake_totals(state: Mapping[str, Any], filters: Sequence[str]) -> tuple[int, int]:
    """(matching cakes, all cakes) over every plate."""
    cakes = [c for p in V.PLATES for c in (state.get("plates") or {}).get(p) or []]
    return sum(_cake_matches(c, filters) for c in cakes), len(cakes)


def stack_counts(state: Mapping[str, Any]) -> Counter:
    """Stacks left per colour over every quadrant."""
    out: Counter = Counter()
    for stacks in (state.get("quadrants") or {}).values():
        out.update({c: int(n) for c, n in stacks.items()})
    return out
