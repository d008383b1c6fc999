"""Random reachable world states: plans run in the simulator, snapshots taken on the way.

Plans come from the command generator (they succeed) and from random skill sequences (they
fail in the ways real plans fail: a stack already taken, a robot full, no cake to put a
cherry on, an empty holder), sometimes with injected faults, sometimes a second plan that
cancels the first, sometimes run past the end of the match. Each session is sampled mid-task
(robots between places, skills active) and at its end. The held-out measurement of the qa
adapter and the property test of the answers (``test/qa/test_properties.py``) ask their
questions about these states.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from llm_mars import vocabulary as V
from llm_mars.bt.model import Node, Plan
from llm_mars.training.plan_data import generate_plan_examples, sequence_of, skill
from llm_mars.world.faults import Blockage, Faults, Stall
from llm_mars.session.match import Match

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


def plan_pool(count: int, seed: int) -> list[str]:
    """Executable plans of ``count`` generated commands (seeded)."""
    return [e.output for e in generate_plan_examples(count, seed) if e.executable]


def simulated_states(rng: random.Random, pool: list[str],
                     on_tick: Callable[[Match], None] | None = None) -> list[dict[str, Any]]:
    """States from one simulated session of 1-3 plans: mid-task snapshots and the end;
    now and then a plan is cut by the next one, or one robot is stopped on the way.
    ``on_tick`` sees the match after every tick (a test's record of what happened)."""
    match = Match(seed=rng.randrange(1 << 30), faults=_faults(rng))
    states: list[dict[str, Any]] = []
    plans = rng.choice((1, 2, 2, 3))  # later plans find the field already played on
    for i in range(plans):
        plan = rng.choice(pool) if rng.random() < 0.55 else random_plan(rng)
        match.load(plan)
        cut = rng.random() < 0.25 and i < plans - 1  # the next plan cancels this one
        stop_at = match.world.time_s + rng.uniform(1.0, 25.0)
        snapshot_at = match.world.time_s + rng.uniform(0.5, 30.0)
        # the operator stops one robot on the way ("robot 2 stop")
        halt_at = match.world.time_s + rng.uniform(1.0, 20.0) if rng.random() < 0.15 else None
        while match.running:
            match.tick()
            if on_tick is not None:
                on_tick(match)
            if halt_at is not None and match.world.time_s >= halt_at and match.ticking:
                match.cancel(rng.choice(sorted(match.ticking)))
                halt_at = None
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
