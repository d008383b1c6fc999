"""The two-robot Eurobot simulator: a simulated clock, skill goals, driving, faults, the match.

Nothing sleeps: ``step(dt)`` advances simulated time by ``dt`` seconds, so a whole 100 s
match runs in a fraction of a second of wall time. Both robots act in the same step. Each
started skill is a *goal* running a program from :mod:`llm_mars.world.skills`; the simulator
spends simulated time on its phases:

* ``Drive``: first the place is *reserved*. A place (other than ``home``, where each robot has
  its own slot) belongs to at most one robot at a time: the one standing at it, the one that
  reserved it, or the one still leaving it (until it is ``CLEARANCE_MM`` away). A robot whose
  target belongs to the other robot waits where it is, with ``waiting_for`` naming the other
  robot (until that robot, if idle, has given way: below). If the other robot is itself
  waiting for a place this robot holds, the drive fails with reason ``"deadlock"`` instead of
  waiting forever. Then the robot drives at ``ROBOT_SPEED_MM_S`` along straight lines under
  the rules in :mod:`llm_mars.world.motion`.
* *Giving way*: only a busy robot (one running a body skill: driving or manipulating) keeps
  the other waiting until it is done. An *idle* robot (no body skill running since the last
  tick, e.g. its tree has finished) that the other robot waits for (for a place it stands at
  or is still leaving, or because it stands in the way with no detour) drives aside, straight
  or around the waiting robot, to a point from :func:`motion.make_way`: 450-900 mm away
  (nearer only where it is hemmed in), on the table, more than ``CLEARANCE_MM`` off the
  waiting robot's route and off the place it leaves, and where the table allows off every
  place's stand point too. While it drives aside its ``location`` is ``None``,
  ``giving_way_to`` names the other robot and it still holds the place it left; once it is
  aside the place is free and the waiting robot goes on. Giving way is not a skill: it adds no
  history entry (:attr:`Simulator.give_ways` lists them). A body skill started meanwhile stops
  it where it is.
* ``Manipulate``: about ``MANIPULATION_S`` seconds, scaled by a factor drawn from the seeded
  random generator within ``1 +/- jitter``.
* ``Sleep`` and ``AwaitSignal``: wait for simulated time or a raised signal.

At ``MATCH_DURATION_S`` both robots stop: running goals fail with ``"match over"`` and new
ones fail at once (a robot giving way stops where it is). A body skill started while another
body skill of the same robot is running fails with ``"robot busy"``. Everything random comes
from ``random.Random(seed)``, so a seed fixes the whole run.
"""
from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llm_mars import vocabulary as V
from llm_mars.bt.registry import REGISTRY, condition_holds
from llm_mars.bt.robot import SkillOutcome, SkillState
from llm_mars.errors import UnknownGoalError, UnknownSkillError, WorldConfigError
from llm_mars.world import motion
from llm_mars.world import skills as S
from llm_mars.world.faults import NO_FAULTS, Faults
from llm_mars.world.field import (
    CLEARANCE_MM, HOME_SLOTS, PLACE_XY, STAND_POINTS, Point, check_robot, distance)
from llm_mars.world.state import HISTORY_KEPT, WorldState

_TIME_EPS = 1e-9
RECORDS_KEPT = 2000
"""Finished goals (their outcomes) and skill records kept: a whole match at ten goals a second,
bounded in a session of any length."""


@dataclass(frozen=True)
class SimConfig:
    speed_mm_s: float = V.ROBOT_SPEED_MM_S
    manipulation_s: float = V.MANIPULATION_S
    jitter: float = 0.1  # manipulation time factor is drawn from 1 +/- jitter
    match_duration_s: float = V.MATCH_DURATION_S

    def __post_init__(self) -> None:
        if self.speed_mm_s <= 0 or self.manipulation_s < 0 or not 0 <= self.jitter < 1:
            raise WorldConfigError(f"simulator settings out of range: {self}")


@dataclass(frozen=True)
class SkillRecord:
    """One finished skill, for timelines: when it ran and how it ended."""

    robot: str
    label: str
    start_s: float
    end_s: float
    state: SkillState
    reason: str | None

    @property
    def entry(self) -> str:
        """The history line, e.g. ``PickCake pink 1: FAILURE (stack already taken)``."""
        text = f"{self.label}: {self.state.value}"
        if self.state is SkillState.FAILURE and self.reason:
            text += f" ({self.reason})"
        return text


@dataclass(frozen=True)
class GiveWay:
    """One time an idle robot drove aside for the other: when, from which place, to where."""

    robot: str
    to: str  # the robot it made way for
    time_s: float
    place: str | None  # the place it held (None: it only stood in the way)
    aside: Point


@dataclass
class _Goal:
    id: int
    robot: str
    skill: str
    label: str
    program: S.Program
    start_s: float
    fault: bool  # drawn faulty at start; consumed by the first drive or at the end
    state: SkillState = SkillState.RUNNING
    reason: str | None = None
    phase: S.Phase | None = None
    remaining_s: float = 0.0  # for Manipulate / Sleep

    @property
    def body(self) -> bool:
        return REGISTRY[self.skill].body


@dataclass
class _Navigation:
    """A drive in progress: the place, whether it is reserved yet, the waypoints left.

    A robot giving way drives with ``goal_id`` ``None``: ``place`` is the place it holds until
    it is aside (``None`` if it held none), ``target`` the point aside.
    """

    goal_id: int | None
    place: str | None
    target: Point
    reserved: bool = False
    waypoints: list[Point] = field(default_factory=list)
    travelled_mm: float = 0.0
    fault_at_mm: float | None = None  # stop and fail after this distance (injected fault)


class Simulator:
    """The world plus the machinery that changes it over simulated time."""

    def __init__(self, seed: int = 0, faults: Faults | None = None,
                 config: SimConfig | None = None):
        self.seed = seed
        self.faults = faults or NO_FAULTS
        self.config = config or SimConfig()
        self.state = WorldState.initial()
        self.records: list[SkillRecord] = []
        self.samples: list[tuple[float, dict[str, Point]]] = []
        self.give_ways: list[GiveWay] = []  # idle robots driving aside (no history entries)
        self._rng = random.Random(seed)
        self._ids = itertools.count(1)
        self._goals: dict[int, _Goal] = {}
        self._done: list[int] = []  # ids of the finished goals still kept, oldest first
        self._running: dict[str, list[_Goal]] = {r: [] for r in V.ROBOTS}
        self._nav: dict[str, _Navigation | None] = {r: None for r in V.ROBOTS}
        self._leaving: dict[str, str | None] = {r: None for r in V.ROBOTS}
        self._no_way: tuple[Any, ...] | None = None  # the last situation make_way found hemmed
        self._record_sample()

    # --- clock ----------------------------------------------------------------------------

    @property
    def time_s(self) -> float:
        return self.state.time_s

    @property
    def time_left_s(self) -> float:
        return max(0.0, self.config.match_duration_s - self.state.time_s)

    @property
    def match_over(self) -> bool:
        return self.state.match_over

    def clock(self) -> float:
        """Simulated seconds since the start of the match (for behaviour timeouts)."""
        return self.state.time_s

    def step(self, dt: float) -> None:
        """Advance simulated time by ``dt`` seconds (less if the match ends within it)."""
        if not dt > 0 or not math.isfinite(dt):
            raise WorldConfigError(f"time step must be a positive number of seconds, got {dt}")
        if self.state.match_over:
            return
        dt = min(dt, self.time_left_s)
        t0 = self.state.time_s
        for name, robot in self.state.robots.items():
            robot.stalled = self.faults.stalled(name, t0)
        for name in V.ROBOTS:
            idle = not any(goal.body for goal in self._running[name])
            for goal in list(self._running[name]):
                self._advance(goal, t0, dt, dt)
            if idle:
                self._step_aside(name, t0, dt)
        self.state.time_s = round(t0 + dt, 9)
        if self.time_left_s <= _TIME_EPS:
            self.state.time_s = self.config.match_duration_s
            self._end_match()
        self._record_sample()

    # --- goals (the RobotInterface of each SimRobot delegates here) -------------------------

    def start_skill(self, robot: str, skill: str, args: Mapping[str, Any]) -> int:
        """Start ``skill`` on ``robot`` and return its goal id; runs its zero-time part now."""
        check_robot(robot)
        if skill not in S.PROGRAMS:
            raise UnknownSkillError(skill, tuple(S.PROGRAMS))
        args = S.read_args(skill, args)
        body = self.state.robots[robot]
        goal = _Goal(
            id=next(self._ids), robot=robot, skill=skill, label=REGISTRY[skill].label(args),
            program=S.PROGRAMS[skill](self.state, body, args), start_s=self.state.time_s,
            fault=(REGISTRY[skill].body and self.faults.may_fail(skill)
                   and self._rng.random() < self.faults.fail_probability),
        )
        self._goals[goal.id] = goal
        self._running[robot].append(goal)
        try:
            if self.state.match_over:
                self._finish(goal, SkillState.FAILURE, S.MATCH_OVER)
            elif goal.body and any(g.body for g in self._running[robot] if g is not goal):
                self._finish(goal, SkillState.FAILURE, S.ROBOT_BUSY)
            else:
                self._advance(goal, self.state.time_s, 0.0, 0.0)
        except Exception:  # a goal that cannot start must not stay to fail every later step
            self._forget(goal)
            raise
        self._update_active(robot)
        return goal.id

    def _forget(self, goal: _Goal) -> None:
        goal.program.close()
        self._goals.pop(goal.id, None)
        if goal in self._running[goal.robot]:
            self._running[goal.robot].remove(goal)
        nav = self._nav[goal.robot]
        if nav is not None and nav.goal_id == goal.id:
            self._stop_driving(goal.robot)
        self._update_active(goal.robot)

    def skill_outcome(self, robot: str, goal_id: int) -> SkillOutcome:
        goal = self._goal(robot, goal_id)
        return SkillOutcome(goal.state, goal.reason)

    def cancel_skill(self, robot: str, goal_id: int) -> None:
        """Stop a running goal where it is; no-op when it already finished."""
        goal = self._goal(robot, goal_id)
        if goal.state is SkillState.RUNNING:
            self._finish(goal, SkillState.CANCELLED, None)

    def check_condition(self, robot: str, condition: str, args: Mapping[str, Any]) -> bool:
        """The registry's test of the condition on the state JSON (the ROS-topic robot reads
        the same JSON from ``/world/state``)."""
        check_robot(robot)
        state = {**self.state_dict(), "time_left_s": self.time_left_s}
        return condition_holds(condition, state, robot, args)

    def _goal(self, robot: str, goal_id: int) -> _Goal:
        goal = self._goals.get(goal_id)
        if goal is None or goal.robot != robot:
            raise UnknownGoalError(goal_id, robot)
        return goal

    # --- running programs -----------------------------------------------------------------

    def _advance(self, goal: _Goal, t0: float, dt: float, budget: float) -> None:
        """Spend up to ``budget`` seconds of the step starting at ``t0`` on ``goal``."""
        while goal.state is SkillState.RUNNING:
            if goal.phase is None:
                try:
                    goal.phase = next(goal.program)
                except StopIteration as stop:
                    self._conclude(goal, stop.value, t0 + dt - budget)
                    return
                self._begin_phase(goal)
                if goal.state is not SkillState.RUNNING:
                    return
            used, done = self._run_phase(goal, t0 + dt - budget, dt, budget)
            budget = max(0.0, budget - used)
            if not done:
                return
            goal.phase = None

    def _begin_phase(self, goal: _Goal) -> None:
        phase = goal.phase
        if isinstance(phase, S.Manipulate):
            scale = 1.0 + self._rng.uniform(-self.config.jitter, self.config.jitter)
            goal.remaining_s = self.config.manipulation_s * scale
        elif isinstance(phase, S.Sleep):
            goal.remaining_s = phase.seconds
        if isinstance(phase, (S.Manipulate, S.Drive)) and self._aside(goal.robot):
            self._stop_driving(goal.robot)  # busy again: stop giving way where it is
        if isinstance(phase, S.Drive):
            target = self._stand_point(phase.place, goal.robot)
            self._nav[goal.robot] = _Navigation(goal.id, phase.place, target, waypoints=[target])

    def _run_phase(self, goal: _Goal, now: float, dt: float, budget: float) -> tuple[float, bool]:
        """Run the current phase for at most ``budget`` s; return (time used, phase done)."""
        phase = goal.phase
        robot = self.state.robots[goal.robot]
        if isinstance(phase, S.Drive):
            return self._drive(goal, now, dt, budget)
        if isinstance(phase, S.AwaitSignal):
            return (0.0, True) if phase.name in self.state.signals else (budget, False)
        if isinstance(phase, S.Manipulate) and robot.stalled:
            return budget, False
        if goal.remaining_s <= budget + _TIME_EPS:
            used, goal.remaining_s = goal.remaining_s, 0.0
            return used, True
        goal.remaining_s -= budget
        return budget, False

    def _conclude(self, goal: _Goal, result: S.Failure | S.Effect | None, now: float) -> None:
        if isinstance(result, S.Failure):
            self._finish(goal, SkillState.FAILURE, result.reason, now)
        elif goal.fault:
            self._finish(goal, SkillState.FAILURE, S.INJECTED_FAULT, now)
        else:
            if result is not None:
                result()
            self._finish(goal, SkillState.SUCCESS, None, now)

    def _finish(self, goal: _Goal, state: SkillState, reason: str | None,
                now: float | None = None) -> None:
        goal.state, goal.reason = state, reason
        goal.program.close()
        nav = self._nav[goal.robot]
        if nav is not None and nav.goal_id == goal.id:
            self._stop_driving(goal.robot)
        self._running[goal.robot].remove(goal)
        record = SkillRecord(goal.robot, goal.label, goal.start_s,
                             self.state.time_s if now is None else now, state, reason)
        self.records.append(record)
        history = self.state.robots[goal.robot].history
        history.append(record.entry)
        del history[:-HISTORY_KEPT]
        self._done.append(goal.id)
        if len(self._done) > RECORDS_KEPT:  # forget the oldest finished goals and records
            for old in self._done[:-RECORDS_KEPT]:
                self._goals.pop(old, None)
            del self._done[:-RECORDS_KEPT]
            del self.records[:-RECORDS_KEPT]
        self._update_active(goal.robot)

    def _update_active(self, robot: str) -> None:
        running = sorted(self._running[robot], key=lambda g: not g.body)
        self.state.robots[robot].active = running[0].label if running else None

    def _end_match(self) -> None:
        self.state.match_over = True
        for name in V.ROBOTS:
            for goal in list(self._running[name]):
                self._finish(goal, SkillState.FAILURE, S.MATCH_OVER)
            if self._aside(name):
                self._stop_driving(name)

    # --- driving --------------------------------------------------------------------------

    def _other(self, robot: str) -> str:
        return next(r for r in V.ROBOTS if r != robot)

    def _stand_point(self, place: str, robot: str) -> Point:
        """Where ``robot`` stops at ``place``: its point, or for home the nearest free slot."""
        if place != V.HOME:
            return PLACE_XY[place]
        other = self._other(robot)
        other_nav = self._nav[other]
        claimed = other_nav.target if other_nav is not None else self.state.robots[other].position
        position = self.state.robots[robot].position
        free = [slot for slot in HOME_SLOTS if distance(slot, claimed) >= 1.0]
        return min(free, key=lambda slot: distance(slot, position))

    def _holds(self, robot: str, place: str) -> bool:
        """Whether ``robot`` stands at, has reserved, or is still leaving ``place``."""
        nav = self._nav[robot]
        return (self.state.robots[robot].location == place
                or (nav is not None and nav.reserved and nav.place == place)
                or self._leaving[robot] == place)

    def _waiting_for_place(self, robot: str) -> str | None:
        nav = self._nav[robot]
        return nav.place if nav is not None and not nav.reserved else None

    def _driving(self, robot: str) -> bool:
        """Whether ``robot`` is under way (reserved its target and not stalled)."""
        nav = self._nav[robot]
        return nav is not None and nav.reserved and not self.state.robots[robot].stalled

    def _drive(self, goal: _Goal, now: float, dt: float, budget: float) -> tuple[float, bool]:
        name = goal.robot
        robot = self.state.robots[name]
        nav = self._nav[name]
        other = self._other(name)
        if self.faults.place_blocked(nav.place, now):
            self._finish(goal, SkillState.FAILURE, S.PLACE_BLOCKED, now)
            return 0.0, True
        if not nav.reserved:
            if distance(robot.position, nav.target) < 1.0:
                robot.location = nav.place
                self._nav[name] = None
                return 0.0, True
            if nav.place != V.HOME and self._holds(other, nav.place):
                waited_for = self._waiting_for_place(other)
                if waited_for is not None and self._holds(name, waited_for):
                    self._finish(goal, SkillState.FAILURE, f"{S.DEADLOCK} with {other}", now)
                    return 0.0, True
                robot.waiting_for = other
                return budget, False
            nav.reserved = True
            if robot.location is not None and robot.location != V.HOME:
                self._leaving[name] = robot.location
            robot.location = None
            if goal.fault:
                goal.fault = False
                nav.fault_at_mm = distance(robot.position, nav.target) / 2.0
        robot.waiting_for = None
        if robot.stalled or budget <= 0.0:
            return budget, False
        moved = self._move(name, nav, dt, budget)
        if moved is None:
            return budget, False
        used = moved / self.config.speed_mm_s
        if not nav.waypoints:
            robot.location = nav.place
            self._nav[name] = None
            return used, True
        if nav.fault_at_mm is not None and nav.travelled_mm >= nav.fault_at_mm - 1e-6:
            self._finish(goal, SkillState.FAILURE, S.INJECTED_FAULT, now + used)
            return used, True
        return budget, False

    def _move(self, name: str, nav: _Navigation, dt: float, budget: float) -> float | None:
        """Drive ``name`` along ``nav`` for up to ``budget`` s under the rules of ``motion``.

        Returns the distance driven, or ``None`` when the other robot holds it up this step.
        """
        robot = self.state.robots[name]
        other = self._other(name)
        other_position = self.state.robots[other].position
        if not self._driving(other) and not motion.path_clear(
                [robot.position, *nav.waypoints], other_position):
            nav.waypoints = motion.detour(robot.position, nav.waypoints, other_position) \
                or nav.waypoints
        step_mm = self.config.speed_mm_s * budget
        if nav.fault_at_mm is not None:
            step_mm = min(step_mm, nav.fault_at_mm - nav.travelled_mm)
        new_position, reached, moved = motion.advance(robot.position, nav.waypoints, step_mm)
        if motion.blocks(robot.position, new_position, other_position):
            self._give_way(name, other, dt)
            if robot.waiting_for is not None:
                return None
            new_position, reached, moved = motion.advance(robot.position, nav.waypoints, step_mm)
            if motion.blocks(robot.position, new_position, other_position):
                robot.waiting_for = other
                return None

        robot.position = new_position
        del nav.waypoints[:reached]
        nav.travelled_mm += moved
        left = self._leaving[name]
        if left is not None and distance(new_position, PLACE_XY[left]) >= CLEARANCE_MM:
            self._leaving[name] = None
        return moved

    def _give_way(self, name: str, other: str, dt: float) -> None:
        """``name`` is blocked by ``other``: wait, detour or step aside (see ``motion``)."""
        robot = self.state.robots[name]
        robot.waiting_for = other
        if self._driving(other) and not self._blocked_by(other, name, dt):
            return  # the other robot is getting out of the way
        if not self._driving(other):
            route = motion.detour(robot.position, self._nav[name].waypoints,
                                  self.state.robots[other].position)
            if route is not None:
                self._nav[name].waypoints = route
                robot.waiting_for = None
            return
        mover, route = self._resolve_standoff()
        if mover == name:
            self._nav[name].waypoints = route
            robot.waiting_for = None

    def _resolve_standoff(self) -> tuple[str | None, list[Point]]:
        """Two driving robots block each other: which one moves, and along which waypoints."""
        first, second = V.ROBOTS
        position = {r: self.state.robots[r].position for r in V.ROBOTS}
        waypoints = {r: self._nav[r].waypoints for r in V.ROBOTS}
        for robot, obstacle in ((first, second), (second, first)):
            route = motion.detour(position[robot], waypoints[robot], position[obstacle])
            if route is not None:
                return robot, route
        for robot, obstacle in ((second, first), (first, second)):
            aside = motion.retreat(position[robot], position[obstacle], waypoints[obstacle])
            if aside is not None:
                return robot, [aside, waypoints[robot][-1]]
        return None, []

    def _blocked_by(self, robot: str, other: str, dt: float) -> bool:
        """Whether ``robot``'s next step (if it drove now) would break the clearance to ``other``."""
        nav = self._nav[robot]
        position = self.state.robots[robot].position
        nxt, _, _ = motion.advance(position, nav.waypoints, self.config.speed_mm_s * dt)
        return motion.blocks(position, nxt, self.state.robots[other].position)

    def _stop_driving(self, robot: str) -> None:
        """Stop where the robot is (a failed or cancelled drive); it may still be at a place."""
        self._nav[robot] = None
        body = self.state.robots[robot]
        body.waiting_for = body.giving_way_to = None
        if body.location is None:
            stands = [slot for slot in HOME_SLOTS if distance(slot, body.position) < 1.0]
            body.location = V.HOME if stands else next(
                (p for p, xy in PLACE_XY.items() if distance(xy, body.position) < 1.0), None)
            if body.location == self._leaving[robot]:
                self._leaving[robot] = None

    # --- giving way -----------------------------------------------------------------------

    def _aside(self, robot: str) -> bool:
        """Whether ``robot`` is driving aside to make way for the other robot."""
        nav = self._nav[robot]
        return nav is not None and nav.goal_id is None

    def _step_aside(self, name: str, t0: float, dt: float) -> None:
        """The turn of ``name``, idle since the last tick: give way if the other robot waits
        for it, or go on driving aside."""
        robot = self.state.robots[name]
        other = self._other(name)
        if not self._aside(name):
            if self.state.robots[other].waiting_for != name or not self._start_aside(name, t0):
                return
        nav = self._nav[name]
        robot.waiting_for = None
        if robot.stalled:
            return
        if self._move(name, nav, dt, dt) is None:
            if not self._driving(other):
                self._stop_driving(name)  # hemmed in: plan again from here next step
            return
        if not nav.waypoints:
            self._nav[name] = None
            robot.giving_way_to = robot.waiting_for = None

    def _start_aside(self, name: str, now: float) -> bool:
        """Plan ``name``'s drive aside from the route of the robot waiting for it."""
        robot = self.state.robots[name]
        other = self._other(name)
        waiter = self.state.robots[other]
        other_nav = self._nav[other]
        route = [waiter.position, *(other_nav.waypoints if other_nav is not None else [])]
        held = robot.location if robot.location not in (None, V.HOME) else self._leaving[name]
        situation = (name, robot.position, tuple(route), held)
        if situation == self._no_way:
            return False  # nothing has moved since the last try
        waypoints = motion.make_way(robot.position, route,
                                    None if held is None else PLACE_XY[held], STAND_POINTS)
        if waypoints is None:
            self._no_way = situation
            return False
        self._nav[name] = _Navigation(None, held, waypoints[-1], reserved=True,
                                      waypoints=waypoints)
        if held is not None:
            self._leaving[name] = held
        robot.location = None
        robot.giving_way_to = other
        self.give_ways.append(GiveWay(name, other, now, held, waypoints[-1]))
        return True

    # --- observing ----------------------------------------------------------------------

    def _record_sample(self) -> None:
        self.samples.append((self.state.time_s,
                             {n: r.position for n, r in self.state.robots.items()}))

    def paths(self) -> dict[str, list[Point]]:
        """Each robot's driven path: its positions over time, without repeats."""
        paths: dict[str, list[Point]] = {r: [] for r in V.ROBOTS}
        for _, positions in self.samples:
            for name, point in positions.items():
                if not paths[name] or paths[name][-1] != point:
                    paths[name].append(point)
        return paths

    def set_tree_status(self, robot: str, status: str) -> None:
        if status not in V.TREE_STATUSES:
            raise WorldConfigError(f"tree status {status!r} is not one of {V.TREE_STATUSES}")
        self.state.robots[check_robot(robot)].tree_status = status

    def state_dict(self) -> dict[str, Any]:
        return self.state.state_dict()

    def to_json(self, indent: int | None = 2) -> str:
        return self.state.to_json(indent)
