"""Fault injection for tests and reliability runs: failing skills, stalling robots, blocked places.

* ``fail_probability``: each started body skill (a skill that moves the robot or its arms;
  not Wait, Signal, WaitForSignal, Say) is drawn faulty with this probability from the
  simulator's seeded random generator. A faulty skill fails with reason ``"injected fault"``:
  if it has to drive, the robot stops halfway along its path; otherwise its manipulation runs
  to the end without effect (a dropped cake, a missed cherry).
* ``stalls``: a robot freezes (no driving, no manipulation progress) for a time window; its
  running skill stays RUNNING and the state shows ``"stalled": true``.
* ``blocked``: a place is unreachable for a time window. A drive towards it fails with
  ``"place blocked"`` when it starts, or as soon as the place becomes blocked during the drive
  (the robot stops where it is). It does not wait: a tree can fall back to another place.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from llm_mars.errors import WorldConfigError
from llm_mars.world.field import check_place, check_robot


@dataclass(frozen=True)
class Stall:
    robot: str
    start_s: float
    duration_s: float

    def __post_init__(self) -> None:
        check_robot(self.robot)

    def active(self, robot: str, time_s: float) -> bool:
        return robot == self.robot and self.start_s <= time_s < self.start_s + self.duration_s


@dataclass(frozen=True)
class Blockage:
    place: str
    start_s: float = 0.0
    end_s: float = math.inf

    def __post_init__(self) -> None:
        check_place(self.place)

    def active(self, place: str, time_s: float) -> bool:
        return place == self.place and self.start_s <= time_s < self.end_s


@dataclass(frozen=True)
class Faults:
    fail_probability: float = 0.0
    fail_skills: frozenset[str] | None = None  # body skills that may fail; None: all of them
    stalls: tuple[Stall, ...] = ()
    blocked: tuple[Blockage, ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 <= self.fail_probability <= 1.0:
            raise WorldConfigError(f"fail_probability {self.fail_probability} is not within 0..1")

    def may_fail(self, skill: str) -> bool:
        return self.fail_probability > 0.0 and (
            self.fail_skills is None or skill in self.fail_skills)

    def stalled(self, robot: str, time_s: float) -> bool:
        return any(s.active(robot, time_s) for s in self.stalls)

    def place_blocked(self, place: str, time_s: float) -> bool:
        return any(b.active(place, time_s) for b in self.blocked)


NO_FAULTS = Faults()
