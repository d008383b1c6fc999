"""Training triples for the ``qa`` adapter: a state summary, an operator's question, the answer.

States come from the simulator: plans from the command generator (they succeed) and random
skill sequences (they fail in the ways real plans fail: a stack already taken, a robot full,
no cake to put a cherry on, an empty holder), sometimes with injected faults, sometimes a
second plan that cancels the first, sometimes run past the end of the match. Each run is
sampled mid-task (robots between places, skills active) and at its end.

Answers are computed from the state with the same describing functions that write the
summary (:mod:`llm_mars.qa.summary`), so an answer never says what the summary does not. They
are short and name places and numbers the way the evaluation reads them ("plate 3", "6
cherries", "62.5 seconds"), in digits even when the question spells the number out. A question
asked as yes/no states the fact, then "So yes." or "So no.": those phrasings live in the yes-no
kind.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from llm_mars import vocabulary as V
from llm_mars.bt.model import Node, Plan
from llm_mars.language.lexicon import ORDINALS, number_word
from llm_mars.qa.summary import (Step, activity, cake_totals, carrying, cherries, cherry_tally,
                                 empty_holders, failures, place_name, plate_text, robot_name,
                                 shown_history, stacks_taken, stopped_on_the_way_to, summarize,
                                 time_left)
from llm_mars.session.match import Match
from llm_mars.training.phrasing import speech_text, typo
from llm_mars.training.plan_data import generate_plan_examples, sequence_of, skill
from llm_mars.world.faults import Blockage, Faults, Stall


@dataclass(frozen=True)
class QaExample:
    question: str
    summary: str
    answer: str
    kind: str  # a key of KIND_WEIGHTS
    robots: tuple[str, ...]  # the robots the question is about (empty: about the field)
    state: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"question": self.question, "summary": self.summary, "answer": self.answer,
                "kind": self.kind, "robots": list(self.robots)}


# --- states ---------------------------------------------------------------------------------

_RANDOM_SKILLS = ("PickCake", "PickCake", "PickCake", "PlaceCakes", "PlaceCakes",
                  "CollectCherries", "CollectCherries", "DropCherries", "PutCherry", "PutCherry",
                  "MoveTo", "MoveTo", "FunnyAction", "Wait")


def _random_skill(rng: random.Random) -> Node:
    tag = rng.choice(_RANDOM_SKILLS)
    if tag == "PickCake":
        return skill(tag, color=rng.choice(V.COLORS), quadrant=rng.randint(1, V.N_QUADRANTS))
    if tag == "PlaceCakes":
        return skill(tag, plate=rng.randint(1, V.N_PLATES)) if rng.random() < 0.7 else \
            skill(tag, plate=rng.randint(1, V.N_PLATES), sort=True)
    if tag == "CollectCherries":
        return skill(tag, holder=rng.randint(1, V.N_HOLDERS)) if rng.random() < 0.5 else \
            skill(tag, holder=rng.randint(1, V.N_HOLDERS), count=rng.randint(1, 10))
    if tag == "PutCherry":
        return skill(tag, plate=rng.randint(1, V.N_PLATES))
    if tag == "MoveTo":
        return skill(tag, target=rng.choice(V.PLACES))
    if tag == "Wait":
        return skill(tag, seconds=float(rng.randint(1, 8)))
    return skill(tag)


def random_plan(rng: random.Random) -> Plan:
    """One or both robots with 1-6 random skills each (many fail, which is the point)."""
    robots = [r for r in V.ROBOTS if rng.random() < 0.75] or [rng.choice(V.ROBOTS)]
    trees = []
    for robot in robots:
        nodes = [_random_skill(rng) for _ in range(rng.randint(1, 6))]
        if rng.random() < 0.08:  # runs into the end of the match
            nodes.insert(0, skill("Wait", seconds=float(rng.randint(80, 95))))
        trees.append((robot, sequence_of(nodes)))
    return Plan(tuple(trees))


def _faults(rng: random.Random) -> Faults | None:
    roll = rng.random()
    if roll < 0.12:
        return Faults(fail_probability=rng.choice((0.2, 0.3, 0.5)))
    if roll < 0.18:
        return Faults(stalls=(Stall(rng.choice(V.ROBOTS), rng.uniform(0, 20), rng.uniform(3, 30)),))
    if roll < 0.24:
        return Faults(blocked=(Blockage(rng.choice(V.PLACES[1:])),))
    return None


def simulated_states(rng: random.Random, plan_pool: list[str]) -> list[dict[str, Any]]:
    """States from one simulated session: mid-task snapshots and the end."""
    match = Match(seed=rng.randrange(1 << 30), faults=_faults(rng))
    states: list[dict[str, Any]] = []
    plans = rng.choice((1, 2, 2, 3))  # later plans find the field already played on
    for i in range(plans):
        plan = rng.choice(plan_pool) if rng.random() < 0.55 else random_plan(rng)
        match.load(plan)
        cut = rng.random() < 0.25 and i < plans - 1  # the next plan cancels this one
        stop_at = match.world.time_s + rng.uniform(1.0, 25.0)
        snapshot_at = match.world.time_s + rng.uniform(0.5, 30.0)
        while match.running:
            match.tick()
            if snapshot_at is not None and match.world.time_s >= snapshot_at:
                states.append(match.state_dict())
                snapshot_at = None
            if cut and match.world.time_s >= stop_at:
                break
        if not cut:
            states.append(match.state_dict())
    return states


def initial_state() -> dict[str, Any]:
    return Match().state_dict()


# --- questions ------------------------------------------------------------------------------

def _robot_mention(robot: str, rng: random.Random) -> str:
    n = int(robot[-1])
    return rng.choice((f"robot {n}", f"robot {n}", f"robot {number_word(n)}", f"R{n}",
                       f"the {ORDINALS[n]} robot", f"bot {n}", f"robot{n}", f"Robot {n}"))


QUESTIONS: dict[str, tuple[str, ...]] = {
    "where": ("where is {r}", "where is {r} now", "where's {r}", "{r}, where are you",
              "where is {r} right now", "what is the position of {r}", "where is {r} going",
              "where is {r} headed", "location of {r}", "where did {r} go",
              "where can I find {r}", "where was {r} going", "where was {r} headed"),
    "doing": ("what is {r} doing", "what's {r} doing", "{r}, what are you doing",
              "what is {r} working on", "what is {r} up to", "status of {r}",
              "what is {r} doing and why", "why is {r} not moving", "what task is {r} on"),
    "carries": ("what does {r} carry", "what is {r} carrying",
                "what is {r} holding", "how many cherries does {r} have",
                "{r}, what are you carrying", "what has {r} loaded",
                "how many stacks does {r} carry", "what's on {r}"),
    "done": ("what has {r} done", "what did {r} do", "what has {r} done so far",
             "{r}, what have you done", "list what {r} did", "what did {r} do so far",
             "which steps has {r} completed", "what has {r} finished", "tell me what {r} did"),
    "failed": ("what went wrong with {r}", "why did {r} fail", "what failed for {r} and why",
               "any failures on {r}", "why did {r} stop", "what was the problem with {r}"),
    "basket": ("how many cherries are in the basket", "what's in the basket",
               "how full is the basket", "basket count", "how many cherries did we score in the basket",
               "cherries in the basket"),
    "score": ("what's the score", "what is the score", "how many points do we have",
              "current score", "what is our score right now", "how are we doing on points",
              "score please", "how many points so far", "tell me the score"),
    "time": ("how much time is left", "how many seconds are left", "time left",
             "how long until the match ends", "how much time do we have", "how many seconds remain",
             "what's the remaining time", "how long is left in the match"),
    "plates": ("what is on plate {p}", "how many cakes are on plate {p}", "what's on tray {p}",
               "which cakes are on plate {p}"),
    "holder": ("how many cherries are left in holder {h}", "how full is dispenser {h}",
               "how many cherries does holder {h} have", "how many cherries are in holder {h}",
               "which holder is empty", "which dispensers are empty"),
    "stacks": ("which stacks are left in quadrant {q}", "what is left in quadrant {q}",
               "how many stacks are left in quadrant {q}", "which stacks have been taken",
               "what stacks are gone"),
    "cakes": ("how many cakes are on the plates", "how many cakes have we made",
              "how many legendary cakes do we have", "how many cakes have a cherry",
              "how many cakes are there"),
    "score-part": ("how many points come from the {x}", "how many points did we get for the {x}",
                   "what did the {x} score", "points from the {x}", "how many points for the {x}"),
    "source": ("where did {r} get its {x}", "where did {r} get its {x} from",
               "where did {r} pick up its {x}", "where do {r}'s {x} come from"),
    "built": ("what did {r} build", "what has {r} built", "which cakes did {r} make",
              "what did {r} put on the plates", "where did {r} place its cakes"),
    "next": ("how many cherries is {r} going to collect", "what is {r} about to build",
             "what is {r} about to build and where", "where is {r} going to place its cakes",
             "how many cherries will {r} take"),
    "totals": ("how many cherries did {r} collect in total", "how many cherries has {r} collected",
               "how many cherries did {r} put in the basket",
               "how many cherries has {r} dropped in the basket"),
    "which-plate": ("which plate has the {x} cakes", "where are the {x} cakes",
                    "which plates have {x} cakes"),
    "two-part": ("where is {r} and what is it carrying",
                 "{r}, where are you and what are you carrying",
                 "what is {r} doing and what does it carry",
                 "{r} what are you doing and what do you have"),
}
BOTH_QUESTIONS: dict[str, tuple[str, ...]] = {
    "where": ("where are the robots", "where are both robots", "where is everyone",
              "where are robot 1 and robot 2"),
    "doing": ("what are the robots doing", "what are both robots doing", "status report",
              "what is everyone doing", "what are robot 1 and robot 2 doing"),
    "carries": ("what are the robots carrying", "what do both robots carry"),
    "done": ("what have the robots done", "what has been done so far", "what did both robots do"),
    "failed": ("what went wrong", "any failures", "what failed and why"),
}
KIND_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("where", 16), ("doing", 13), ("carries", 13), ("done", 15), ("failed", 14), ("basket", 8),
    ("score", 10), ("time", 7), ("plates", 7), ("holder", 4), ("stacks", 5), ("cakes", 4),
    ("yes-no", 20), ("score-part", 3), ("source", 4), ("built", 4), ("next", 4), ("totals", 4),
    ("which-plate", 3), ("two-part", 4),
)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _number(x: float) -> str:
    return f"{x:g}" if x == int(x) else f"{x:.1f}"


def _where_answer(name: str, robot: Mapping[str, Any]) -> str:
    location = robot.get("location")
    r = robot_name(name)
    if location is not None:
        return f"{r} is at {place_name(location)}."
    active = robot.get("active")
    destination = Step.parse(active).destination if active else None
    if destination is not None:
        return f"{r} is driving to {place_name(destination)}."
    stopped = stopped_on_the_way_to(robot)
    if stopped is not None:
        return f"{r} is between places: it stopped on the way to {place_name(stopped)}."
    return f"{r} is between places: it stopped on the way."


def _doing_answer(name: str, robot: Mapping[str, Any]) -> str:
    r = robot_name(name)
    status = robot.get("tree_status")
    if robot.get("active"):
        return f"{r} is {activity(robot, name)}."
    place = place_name(robot.get("location")) if robot.get("location") else "between places"
    at = f"at {place}" if robot.get("location") else place
    if status == "IDLE":
        return f"{r} is idle {at}: it has no plan yet."
    if status == "SUCCESS":
        return f"{r} has finished its plan and is idle {at}."
    if status == "CANCELLED":
        return f"{r} is idle {at}: its plan was cancelled."
    if status == "FAILURE":
        failed = failures(robot)
        why = f"; it {failed[-1].describe()}" if failed else ""
        return f"{r} stopped {at}: its plan failed{why}."
    return f"{r} is running its plan {at}."


def _carries_answer(name: str, robot: Mapping[str, Any]) -> str:
    return f"{robot_name(name)} carries {carrying(robot)}."


def _done_answer(name: str, robot: Mapping[str, Any], limit: int = 5) -> str:
    """The robot's steps, the last ``limit`` of them if there are more (answers stay under
    the assistant's 64-token answer limit)."""
    shown = shown_history(robot)
    r = robot_name(name)
    if not shown:
        return f"{r} has done nothing yet."
    items = [h.describe() for h in shown[-limit:]]
    listed = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    total = len(robot.get("history") or [])
    if total > len(items):
        return f"{r} did {total} steps; the last {len(items)}: {listed}."
    return f"{r} {listed}."


def _failed_answer(name: str, robot: Mapping[str, Any], limit: int = 2) -> str:
    r = robot_name(name)
    failed = failures(robot)[-limit:]
    if not failed:
        return f"Nothing has failed for {r.lower()}."
    parts = []
    for h in failed:
        if h.status == "CANCELLED":
            parts.append(f"its step to {h.step.attempt()} was cancelled")
        else:
            why = f" because of: {h.reason}" if h.reason else ""
            parts.append(f"it failed to {h.step.attempt()}{why}")
    return f"{r}: " + "; ".join(parts) + "."


def _source_answer(name: str, robot: Mapping[str, Any], item: str) -> str:
    """Where the robot took its cherries or stacks, from the history the summary shows."""
    r = robot_name(name)
    done = [h.step for h in shown_history(robot) if h.status == "SUCCESS"]
    if item == "cherries":
        holders = list(dict.fromkeys(f"holder {s.args[0]}" for s in done
                                     if s.tag == "CollectCherries" and s.args))
        return f"{r} collected its cherries at {' and '.join(holders)}." if holders else \
            f"{r} has not collected any cherries."
    picked: dict[str, list[str]] = {}
    for s in done:
        if s.tag == "PickCake" and len(s.args) > 1:
            picked.setdefault(f"quadrant {s.args[1]}", []).append(s.args[0])
    if not picked:
        return f"{r} has not picked any stacks."
    return f"{r} picked its stacks at " + " and ".join(
        f"{q} ({', '.join(colors)})" for q, colors in picked.items()) + "."


def _built_answer(name: str, robot: Mapping[str, Any], plates: Mapping[str, Any]) -> str:
    r = robot_name(name)
    placed = list(dict.fromkeys(s.args[0] for s in (h.step for h in shown_history(robot)
                                                    if h.status == "SUCCESS")
                                if s.tag == "PlaceCakes" and s.args))
    if not placed:
        return f"{r} has not placed any cakes yet."
    return f"{r} placed cakes on " + "; ".join(
        f"plate {p}, which now has {plate_text(plates.get(f'plate_{p}') or [])}"
        for p in placed) + "."


def _next_answer(name: str, robot: Mapping[str, Any], question: str) -> str:
    """The count or plate of the running step: what the robot is about to do."""
    r = robot_name(name)
    step = Step.parse(robot["active"]) if robot.get("active") else None
    if "cherries" in question:
        if step is None or step.tag != "CollectCherries":
            return f"{r} is not collecting cherries: it is {activity(robot, name)}."
        if len(step.args) > 1:
            count = cherries(int(step.args[1]))
            return f"{r} is going to collect {count} at holder {step.args[0]}."
        return f"{r} is going to collect cherries at holder {step.args[0]}; no count was given."
    if step is None or step.tag != "PlaceCakes":
        return f"{r} is not about to place cakes: it is {activity(robot, name)}."
    return f"{r} is going to place {carrying(robot)} on {place_name(step.destination)}."


def _totals_answer(name: str, state: Mapping[str, Any]) -> str:
    r = robot_name(name)
    tally = (cherry_tally(state) or {}).get(name)
    if tally is None or not tally[0]:  # no count in the summary: say where, not how many
        return _source_answer(name, state["robots"][name], "cherries")
    return f"{r} has collected {cherries(tally[0])} in all and dropped {tally[1]} in the basket."


_ROBOT_ANSWERS = {"where": _where_answer, "doing": _doing_answer, "carries": _carries_answer,
                  "done": _done_answer, "failed": _failed_answer}


def _field_answer(kind: str, state: Mapping[str, Any], rng: random.Random,
                  question_plate: int, question_holder: int) -> str:
    if kind == "basket":
        n = int(state.get("basket", 0))
        return "The basket is empty (0 cherries)." if n == 0 else \
            f"The basket holds {n} cherr{'y' if n == 1 else 'ies'}."
    if kind == "score":
        s = state.get("score") or {}
        return (f"The score is {s.get('total', 0)} points (cakes {s.get('cakes', 0)}, basket "
                f"{s.get('basket', 0)}, end zone {s.get('end_zone', 0)}, funny "
                f"{s.get('funny', 0)}).") if rng.random() < 0.3 else \
            f"The score is {s.get('total', 0)} points."
    if kind == "time":
        left = time_left(state)
        if left <= 0:
            return "No time is left: the match is over (0 seconds)."
        return f"{_number(left)} seconds are left."
    if kind == "plates":
        cakes = (state.get("plates") or {}).get(f"plate_{question_plate}") or []
        return f"Plate {question_plate} is empty." if not cakes else \
            f"Plate {question_plate} has {plate_text(cakes)}."
    if kind == "holder":
        n = int((state.get("holders") or {}).get(f"holder_{question_holder}", 0))
        return f"Holder {question_holder} has {cherries(n)} left" + (" (empty)." if n <= 0 else ".")
    raise ValueError(f"no field answer for {kind!r}")


def _empty_holders_answer(state: Mapping[str, Any]) -> str:
    empty = [place_name(h) for h in empty_holders(state)]
    if not empty:
        return "No holder is empty."
    return f"{' and '.join(empty).capitalize()} {'is' if len(empty) == 1 else 'are'} empty."


_SCORE_PARTS = {"cakes": "cakes", "basket": "basket", "end zone": "end_zone",
                "funny action": "funny"}


def _score_part_answer(state: Mapping[str, Any], part: str) -> str:
    points = (state.get("score") or {}).get(_SCORE_PARTS[part], 0)
    verb = "give" if part == "cakes" else "gives"
    return f"The {part} {verb} {points} point{'s' if points != 1 else ''}."


def _which_plate_answer(state: Mapping[str, Any], what: str) -> str:
    """Plates holding ``legendary`` cakes or cakes ``with a cherry``, with how many."""
    def has(cake: Mapping[str, Any]) -> bool:
        if what == "legendary":
            return V.is_legendary(cake.get("layers") or [])
        return bool(cake.get("cherry"))
    found = [(place_name(p), sum(map(has, cakes)))
             for p, cakes in (state.get("plates") or {}).items() if any(map(has, cakes))]
    label = "legendary cakes" if what == "legendary" else "cakes with a cherry"
    if not found:
        return f"There are no {label} yet."
    return f"The {label} are on " + " and ".join(f"{p} ({n})" for p, n in found) + "."


def _stacks_answer(state: Mapping[str, Any], question: str, q: int) -> str:
    if "{q}" not in question:
        gone = stacks_taken(state)
        return "Taken so far: " + ", ".join(gone) + "." if gone else \
            "No stack has been taken yet."
    left = [c for c, n in ((state.get("quadrants") or {}).get(f"quadrant_{q}") or {}).items() if n]
    if not left:
        return f"Quadrant {q} has no stacks left."
    return f"Quadrant {q} has {len(left)} stack{'s' if len(left) != 1 else ''} left: " \
        + ", ".join(left) + "."


def _cakes_answer(state: Mapping[str, Any]) -> str:
    cakes = [c for cakes in (state.get("plates") or {}).values() for c in cakes]
    return "There are no cakes on the plates yet." if not cakes else \
        f"There are {cake_totals(cakes)}."


def _verdict(yes: bool, fact: str) -> str:
    """A yes/no answer: the fact first, then the verdict ("Robot 2 carries 1 stack (pink). So
    yes."). Said in that order, the small model copies the fact from the state summary before
    it commits to yes or no, so the verdict follows the fact instead of contradicting it."""
    return f"{fact} So {'yes' if yes else 'no'}."


def _yes_no(state: Mapping[str, Any], rng: random.Random) -> tuple[str, str, tuple[str, ...]]:
    """A yes/no question with an answer that says the fact and ends "So yes." or "So no."."""
    robots = state.get("robots") or {}
    name = rng.choice(V.ROBOTS)
    robot, r, who = robots[name], robot_name(name), _robot_mention(name, rng)
    form = rng.choice(("at", "at", "carry", "carry", "carry", "finished", "busy", "moving",
                       "failed", "failed", "anything-failed", "basket", "over", "over", "plate",
                       "stack", "funny", "both-busy", "both-at", "plate-cherry", "holder-empty"))
    if form == "at":
        place = robot.get("location") if robot.get("location") and rng.random() < 0.5 else \
            rng.choice(V.PLACES)
        said = rng.choice((place_name(place), place_name(place).replace("plate", "tray")))
        q = rng.choice(("is {r} at {x}", "is {r} still at {x}", "{r} are you at {x}"))
        ok = robot.get("location") == place
        return (q.format(r=who, x=said), _verdict(ok, f"{r} is at {place_name(place)}." if ok
                                                  else _where_answer(name, robot)), (name,))
    if form == "carry":
        item = rng.choice(("cherries", "cake", "anything"))
        carried = robot.get("carrying") or {}
        has = {"cherries": bool(carried.get("cherries")), "cake": bool(carried.get("stacks")),
               "anything": bool(carried.get("cherries") or carried.get("stacks"))}[item]
        noun = {"cherries": "cherries", "cake": rng.choice(("a cake", "any stacks", "a stack")),
                "anything": "anything"}[item]
        q = rng.choice(("is {r} carrying {x}", "does {r} have {x}", "{r} do you carry {x}"))
        none = {"cherries": "no cherries", "cake": "no stacks", "anything": "nothing"}[item]
        return (q.format(r=who, x=noun),
                _verdict(has, f"{r} carries {carrying(robot) if has else none}."), (name,))
    if form == "finished":
        q = rng.choice(("has {r} finished", "is {r} done", "did {r} finish its job",
                        "is {r} finished"))
        status = robot.get("tree_status")
        if status == "SUCCESS":
            fact = f"{r} has finished its plan."
        elif status == "RUNNING":
            fact = f"{r} is still {activity(robot, name)}."
        elif status == "FAILURE":
            failed = failures(robot)
            fact = f"{r}'s plan failed" + (f": it {failed[-1].describe()}." if failed else ".")
        elif status == "CANCELLED":
            fact = f"{r}'s plan was cancelled."
        else:
            fact = f"{r} has no plan yet."
        return q.format(r=who), _verdict(status == "SUCCESS", fact), (name,)
    if form == "busy":
        q = rng.choice(("is {r} busy", "is {r} working", "is {r} idle"))
        busy = bool(robot.get("active"))
        return (q.format(r=who), _verdict(busy != q.endswith("idle"),
                                          f"{r} is {activity(robot, name)}."), (name,))
    if form == "moving":
        q = rng.choice(("is {r} moving", "is {r} driving", "is {r} on the move"))
        driving = robot.get("location") is None and bool(robot.get("active"))
        return q.format(r=who), _verdict(driving, f"{r} is {activity(robot, name)}."), (name,)
    if form == "failed":
        q = rng.choice(("did {r} fail", "did something go wrong with {r}",
                        "did {r} have any problem"))
        failed = bool(failures(robot))
        return (q.format(r=who), _verdict(failed, _failed_answer(name, robot) if failed
                                          else f"Nothing has failed for {r.lower()}."), (name,))
    if form == "anything-failed":
        q = rng.choice(("did anything fail", "did anything go wrong", "were there any failures"))
        bad = [n for n in V.ROBOTS if failures(robots[n])]
        fact = " ".join(_failed_answer(n, robots[n], 1) for n in bad) or "Nothing has failed."
        return q, _verdict(bool(bad), fact), V.ROBOTS
    if form == "basket":
        n = int(state.get("basket", 0))
        q = rng.choice(("is the basket empty", "are there cherries in the basket"))
        fact = f"The basket holds {n} cherries." if n else "The basket is empty."
        return q, _verdict((n == 0) == q.startswith("is"), fact), ()
    if form == "over":
        left = time_left(state)
        fact = ("The match is over: 0 seconds are left." if left <= 0
                else f"The match is not over: {_number(left)} seconds are left.")
        return (rng.choice(("is the match over", "has the match ended", "is the game finished")),
                _verdict(left <= 0, fact), ())
    if form == "both-busy":
        busy = [n for n in V.ROBOTS if robots[n].get("active")]
        q = rng.choice(("are both robots busy", "are the robots working", "is any robot idle"))
        said = " ".join(f"{robot_name(n)} is {activity(robots[n], n)}." for n in V.ROBOTS)
        lead = {2: "Both robots are busy.", 1: "Only one is busy.", 0: "Neither robot is busy."}
        yes = len(busy) < 2 if q.startswith("is any") else len(busy) == 2
        return q, _verdict(yes, f"{lead[len(busy)]} {said}"), V.ROBOTS
    if form == "both-at":
        place = rng.choice((V.PLACES[0],) * 2 + V.PLACES)
        at = [n for n in V.ROBOTS if robots[n].get("location") == place]
        q = rng.choice(("are the robots at {x}", "are both robots at {x}",
                        "is either robot at {x}")).format(x=place_name(place))
        said = " ".join(_where_answer(n, robots[n]) for n in V.ROBOTS)
        if len(at) == 2:
            fact = f"Both robots are at {place_name(place)}."
        else:
            fact = ("Neither robot is there. " if not at else "") + said
        return q, _verdict(bool(at) if q.startswith("is either") else len(at) == 2, fact), \
            V.ROBOTS
    if form == "plate-cherry":
        p = rng.randint(1, V.N_PLATES)
        cakes = (state.get("plates") or {}).get(f"plate_{p}") or []
        crowned = any(c.get("cherry") for c in cakes)
        q = rng.choice(("is there a cherry on the cake on plate {p}",
                        "does the cake on plate {p} have a cherry",
                        "are there cherries on plate {p}")).format(p=p)
        fact = f"Plate {p} has {plate_text(cakes)}." if cakes else f"Plate {p} is empty."
        return q, _verdict(crowned, fact), ()
    if form == "holder-empty":
        h = rng.randint(1, V.N_HOLDERS)
        n = int((state.get("holders") or {}).get(f"holder_{h}", 0))
        q = rng.choice(("is holder {h} empty", "is dispenser {h} empty")).format(
            h=_number_mention(h, rng))
        return q, _verdict(n <= 0, f"Holder {h} is empty." if n <= 0 else
                           f"Holder {h} has {cherries(n)} left."), ()
    if form == "plate":
        p = rng.randint(1, V.N_PLATES)
        cakes = (state.get("plates") or {}).get(f"plate_{p}") or []
        q = rng.choice(("is there a cake on plate {p}", "does plate {p} have a cake",
                        "is plate {p} empty"))
        fact = f"Plate {p} has {plate_text(cakes)}." if cakes else f"Plate {p} is empty."
        # "is plate N empty" is asked the other way round: yes means no cakes
        return q.format(p=p), _verdict(bool(cakes) != q.endswith("empty"), fact), ()
    if form == "stack":
        color, q = rng.choice(V.COLORS), rng.randint(1, V.N_QUADRANTS)
        there = bool(((state.get("quadrants") or {}).get(f"quadrant_{q}") or {}).get(color))
        return (rng.choice(("is the {c} stack still in quadrant {q}",
                            "is there still a {c} stack at quadrant {q}")).format(c=color, q=q),
                _verdict(there, f"The {color} stack is still at quadrant {q}." if there else
                         f"The {color} stack at quadrant {q} was taken."), ())
    q = rng.choice(("did {r} do the funny action", "has {r} done its disguise"))
    done = bool(robot.get("funny_action"))
    return (q.format(r=who), _verdict(done, f"{r} did the funny action." if done
                                      else f"{r} has not done the funny action."), (name,))


def _number_mention(n: int, rng: random.Random) -> str:
    """A place number as asked: mostly digits, sometimes spelled out (answers keep digits)."""
    return number_word(n) if rng.random() < 0.2 else str(n)


def _pick(rng: random.Random, numbers: range, changed: Callable[[int], bool]) -> int:
    """A place number to ask about: mostly one whose content changed during the match, so the
    answer has to be read from the summary rather than guessed ("plate 3 is empty")."""
    interesting = [n for n in numbers if changed(n)]
    return rng.choice(interesting if interesting and rng.random() < 0.75 else list(numbers))


_UNCHANGED_ANSWERS = ("is empty", "(0 cherries)", "carries nothing", "nothing done yet",
                      "no stack has been taken", "has 10 cherries left", "has not", "are no",
                      "no holder is empty", "gives 0 points",
                      "is not about to", "is not collecting")
UNCHANGED_KEPT = 0.35
"""Share of answers of the 'nothing happened here' kind that are kept: simulated states are
mostly early in a match, and a model trained on all of them learns to guess 'empty'."""


def _history_answer(kind: str, name: str, state: Mapping[str, Any], item: str,
                    template: str) -> str:
    robot = state["robots"][name]
    if kind == "source":
        return _source_answer(name, robot, item)
    if kind == "built":
        return _built_answer(name, robot, state.get("plates") or {})
    if kind == "next":
        return _next_answer(name, robot, template)
    if kind == "totals":
        return _totals_answer(name, state)
    first = _where_answer if "where" in template else _doing_answer
    return f"{first(name, robot)} {_carries_answer(name, robot)}"


def _pick_robot(rng: random.Random, answers: Mapping[str, str]) -> str:
    """Mostly a robot for which the answer is not "it has not ...", as :func:`_pick` does for
    places: otherwise early-match states teach the model to deny."""
    informative = [n for n, a in answers.items() if " not " not in a]
    return rng.choice(informative if informative and rng.random() < 0.75 else list(answers))


def make_question(state: Mapping[str, Any], rng: random.Random) -> QaExample:
    """One question about ``state`` with its answer."""
    kinds, weights = zip(*KIND_WEIGHTS)
    kind = rng.choices(kinds, weights)[0]
    plate = _pick(rng, range(1, V.N_PLATES + 1),
                  lambda n: bool((state.get("plates") or {}).get(f"plate_{n}")))
    holder = _pick(rng, range(1, V.N_HOLDERS + 1),
                   lambda n: (state.get("holders") or {}).get(f"holder_{n}") != V.CHERRIES_PER_HOLDER)
    quadrant = _pick(rng, range(1, V.N_QUADRANTS + 1),
                     lambda n: not all(((state.get("quadrants") or {}).get(f"quadrant_{n}")
                                        or {}).values()))
    robots_state = state.get("robots") or {}
    if kind == "yes-no":
        question, answer, about = _yes_no(state, rng)
    elif kind == "stacks":
        template = rng.choice(QUESTIONS[kind])
        question = template.format(q=_number_mention(quadrant, rng))
        answer = _stacks_answer(state, template, quadrant)
        about = ()
    elif kind == "cakes":
        question, answer, about = rng.choice(QUESTIONS[kind]), _cakes_answer(state), ()
    elif kind == "score-part":
        part = rng.choice(tuple(_SCORE_PARTS))
        question = rng.choice(QUESTIONS[kind]).format(x=part)
        answer, about = _score_part_answer(state, part), ()
    elif kind == "which-plate":
        what = rng.choice(("legendary", "cherry"))
        question = rng.choice(QUESTIONS[kind]).format(
            x="legendary" if what == "legendary" else "cherry-topped")
        answer, about = _which_plate_answer(state, what), ()
    elif kind in ("source", "built", "next", "totals", "two-part"):
        item, template = rng.choice(("cherries", "cakes")), rng.choice(QUESTIONS[kind])
        answers = {n: _history_answer(kind, n, state, item, template) for n in V.ROBOTS}
        name = _pick_robot(rng, answers)
        question = template.format(r=_robot_mention(name, rng), x=item)
        answer, about = answers[name], (name,)
    elif kind in _ROBOT_ANSWERS:
        if rng.random() < 0.15:
            question = rng.choice(BOTH_QUESTIONS[kind])
            answer = " ".join(_done_answer(r, robots_state[r], 2) if kind == "done"
                              else _failed_answer(r, robots_state[r], 1) if kind == "failed"
                              else _ROBOT_ANSWERS[kind](r, robots_state[r]) for r in V.ROBOTS)
            about: tuple[str, ...] = V.ROBOTS
        else:
            robot = rng.choice(V.ROBOTS)
            question = rng.choice(QUESTIONS[kind]).format(r=_robot_mention(robot, rng))
            answer = _ROBOT_ANSWERS[kind](robot, robots_state[robot])
            about = (robot,)
    else:
        template = rng.choice(QUESTIONS[kind])
        question = template.format(p=_number_mention(plate, rng), h=_number_mention(holder, rng))
        answer = _empty_holders_answer(state) if "{h}" not in template and kind == "holder" \
            else _field_answer(kind, state, rng, plate, holder)
        about = ()
    question = _style_question(question, rng)
    return QaExample(question, summarize(state), answer, kind, about, state)


def _style_question(question: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.35:
        return speech_text(rng.choice(("", "", "hey ", "ok ", "so ")) + question)
    if rng.random() < 0.1:
        question = rng.choice(("please tell me ", "quick question: ", "can you tell me ")) + question
    if rng.random() < 0.05:
        words = question.split()
        i = rng.randrange(len(words))
        words[i] = typo(words[i], rng)
        question = " ".join(words)
    return _sentence(question) + ("?" if rng.random() < 0.85 else "")


def generate_qa_examples(count: int, seed: int, questions_per_state: int = 2) -> list[QaExample]:
    """``count`` examples over simulated states, the same for the same seed."""
    rng = random.Random(seed)
    pool = [e.output for e in generate_plan_examples(300, seed) if e.executable]
    out: list[QaExample] = []
    seen: set[tuple[str, str]] = set()
    states: list[dict[str, Any]] = [initial_state()]
    while len(out) < count:
        if not states:
            states = simulated_states(rng, pool)
            rng.shuffle(states)
            continue
        state = states.pop()
        for _ in range(questions_per_state):
            example = make_question(state, rng)
            if (any(a in example.answer.lower() for a in _UNCHANGED_ANSWERS)
                    and rng.random() >= UNCHANGED_KEPT):
                continue
            key = (example.summary, example.question)
            if key in seen:
                continue
            seen.add(key)
            out.append(example)
            if len(out) == count:
                break
    return out
