"""Kinematic driving and the rule that keeps the two robots apart.

Robots drive in straight lines between waypoints at a constant speed. Two rules keep them from
touching (the simulator applies them every step, one robot after the other, so the second
robot always sees where the first one has just moved):

* a robot never makes a step that brings its centre closer than ``CLEARANCE_MM`` to the other
  robot while it is approaching it (steps that keep or increase the distance are allowed, so
  robots already close can always separate);
* a robot whose remaining path passes too close to the other robot while that one stands
  still (at a place, manipulating, stalled, waiting for a place) plans a :func:`detour`
  around it ahead of time;
* a blocked robot *waits* while the other robot is driving and not blocked by it (the other
  is getting out of the way), and detours around a robot that stands still (or waits, if it
  cannot; if that robot is idle it then drives aside, to a point from :func:`make_way`).
  When both drive and block each other, the first of these that is possible happens, the
  other robot waiting: the robot first in ``vocabulary.ROBOTS`` detours; the
  second detours; the second steps aside (:func:`retreat`) to let the first pass; the first
  steps aside. Only if none is possible do both wait.

Places are exclusive on top of that (see ``simulator``): a robot only drives to a place that
the other robot neither stands at, has reserved, nor is still leaving. A busy robot keeps its
place; an idle one that the other waits for gives way (:func:`make_way`).
"""
from __future__ import annotations

import math
from collections.abc import Iterable

from llm_mars.world.field import CLEARANCE_MM, Point, distance, on_table, path_length, segment_distance

_EPS_MM = 1e-6


def advance(position: Point, waypoints: list[Point], step_mm: float) -> tuple[Point, int, float]:
    """Move up to ``step_mm`` along ``waypoints`` from ``position``.

    Returns the new position, how many waypoints were reached, and the distance covered.
    """
    x, y = position
    left = step_mm
    reached = 0
    for wx, wy in waypoints:
        d = math.hypot(wx - x, wy - y)
        if d <= left + _EPS_MM:
            x, y = wx, wy
            left -= d
            reached += 1
            continue
        f = left / d
        x, y = x + (wx - x) * f, y + (wy - y) * f
        left = 0.0
        break
    return (x, y), reached, step_mm - max(left, 0.0)


def blocks(position: Point, next_position: Point, other: Point,
           clearance: float = CLEARANCE_MM) -> bool:
    """Whether moving from ``position`` to ``next_position`` breaks the clearance to ``other``."""
    d_next = distance(next_position, other)
    return d_next < clearance - _EPS_MM and d_next < distance(position, other) - _EPS_MM


def path_clear(path: list[Point], obstacle: Point, clearance: float = CLEARANCE_MM) -> bool:
    """Whether driving along ``path`` never approaches ``obstacle`` closer than the clearance.

    The first segment may start inside the clearance (a robot already close to the other),
    as long as it does not get any closer along the way.
    """
    first_floor = min(clearance, distance(path[0], obstacle))
    for i, (a, b) in enumerate(zip(path, path[1:])):
        floor = first_floor if i == 0 else clearance
        if segment_distance(obstacle, a, b) < floor - _EPS_MM:
            return False
    return True


def detour(position: Point, waypoints: list[Point], obstacle: Point,
           clearance: float = CLEARANCE_MM) -> list[Point] | None:
    """The shortest waypoints from ``position`` around ``obstacle`` to the final waypoint.

    Candidates pass the obstacle on either side at a few lateral distances, through one
    waypoint beside it or two (before and after it along the heading); a candidate counts only
    if :func:`path_clear` holds and its waypoints are on the table. ``None`` when none does
    (for instance when the destination itself is too close to the obstacle).
    """
    goal = waypoints[-1]
    dx, dy = goal[0] - position[0], goal[1] - position[1]
    length = math.hypot(dx, dy)
    if length < _EPS_MM:
        return None
    hx, hy = dx / length, dy / length  # heading
    nx, ny = -hy, hx  # left normal
    best: list[Point] | None = None
    best_length = math.inf
    for lateral, along in _DETOUR_SHAPES:
        for side in (1.0, -1.0):
            ox = obstacle[0] + side * nx * lateral * clearance
            oy = obstacle[1] + side * ny * lateral * clearance
            a = along * clearance
            corners = [(ox - hx * a, oy - hy * a), (ox + hx * a, oy + hy * a)] if a else [(ox, oy)]
            path = [position, *corners, goal]
            if not all(on_table(p) for p in corners) or not path_clear(path, obstacle, clearance):
                continue
            candidate_length = path_length(path)
            if candidate_length < best_length:
                best, best_length = path[1:], candidate_length
    return best


def retreat(position: Point, obstacle: Point, obstacle_route: list[Point],
            clearance: float = CLEARANCE_MM) -> Point | None:
    """The nearest point to step aside to, so that a robot at ``obstacle`` can drive along
    ``obstacle_route`` past it.

    The point must be on the table, reachable without approaching the obstacle, and at least
    the clearance away from every segment of the obstacle's route. ``None`` if none of the
    candidates (16 directions, three distances) is.
    """
    route = [obstacle, *obstacle_route]
    best: Point | None = None
    best_distance = math.inf
    for distance_factor in (0.6, 1.0, 1.5):
        reach = distance_factor * clearance
        for k in range(16):
            angle = 2 * math.pi * k / 16
            point = (position[0] + reach * math.cos(angle), position[1] + reach * math.sin(angle))
            if (not on_table(point) or not path_clear([position, point], obstacle, clearance)
                    or any(segment_distance(point, a, b) < clearance + 1.0
                           for a, b in zip(route, route[1:]))):
                continue
            if reach < best_distance:
                best, best_distance = point, reach
        if best is not None:
            return best
    return None


ASIDE_REACH_MM: tuple[float, ...] = (450.0, 500.0, 600.0, 750.0, 900.0, 350.0, 250.0)
"""How far :func:`make_way` looks for a point aside, in order of preference (the short reaches
only help a robot hemmed in between the waiting robot's route and the table edge)."""
_ASIDE_DIRECTIONS = 24


def make_way(position: Point, route: list[Point], leaving: Point | None = None,
             stand_points: Iterable[Point] = (),
             clearance: float = CLEARANCE_MM) -> list[Point] | None:
    """The waypoints along which a robot standing idle at ``position`` drives aside so that the
    robot at ``route[0]`` can drive along ``route`` (its position, then its waypoints).

    The point aside (the last waypoint) is one of 24 directions at the ``ASIDE_REACH_MM``
    distances. It counts only if it is on the table, more than the clearance away from every
    segment of ``route`` (its end too) and from ``leaving`` (the place the robot gives up), and
    reachable without approaching the waiting robot: straight, or else along a :func:`detour`
    around it. Of those, the one farthest from the nearest of ``stand_points`` (up to the
    clearance: points that block no place come first) wins, then the one whose reach comes
    first in ``ASIDE_REACH_MM``, then the one farthest from the route. ``None`` if none counts.
    """
    floor = clearance + 1.0
    stands = tuple(stand_points)
    waiter = route[0]
    segments = list(zip(route, route[1:])) or [(waiter, waiter)]
    candidates: list[tuple[tuple[float, int, float, int], Point]] = []
    for rank, reach in enumerate(ASIDE_REACH_MM):
        for k in range(_ASIDE_DIRECTIONS):
            angle = 2 * math.pi * k / _ASIDE_DIRECTIONS
            point = (position[0] + reach * math.cos(angle), position[1] + reach * math.sin(angle))
            if not on_table(point) or (leaving is not None and distance(point, leaving) < floor):
                continue
            off_route = min(segment_distance(point, a, b) for a, b in segments)
            if off_route < floor:
                continue
            off_stands = min((distance(point, s) for s in stands), default=floor)
            key = (-min(off_stands, floor), rank, -off_route, len(candidates))
            candidates.append((key, point))
    for _, point in sorted(candidates):
        if path_clear([position, point], waiter, clearance):
            return [point]
        around = detour(position, [point], waiter, clearance)
        if around is not None:
            return around
    return None


_DETOUR_SHAPES: tuple[tuple[float, float], ...] = tuple(
    (lateral, along) for lateral in (1.1, 1.35, 1.7) for along in (0.0, 0.5, 1.0, 1.4))
"""(lateral, along) offsets of detour corners from the obstacle, in clearances."""
