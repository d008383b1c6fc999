"""The Eurobot 2023-like field: where every named place is, in millimetres, and plane geometry.

The table is 3000 x 2000 mm, origin at the bottom-left corner, x along the long edge, y up.
Our side is the left one. The layout (a simplified "Cherry on the Cake" table)::

    y=2000 +--------------------------------------------------------------+
           | basket        plate_2          holder_2                      |
           |                                                               |
           |  home(r1)   quadrant_2                   quadrant_3  plate_3  |
           |  home                        holder_4                holder_3 |
           |  home(r2)   quadrant_1                   quadrant_4           |
           |                                                               |
           | plate_1                        holder_1   plate_4     plate_5 |
    y=0    +--------------------------------------------------------------+
          x=0                                                          x=3000

* ``home`` is the start and end zone, centred on (300, 1000); it is wide enough for both
  robots, so it has two parking slots (robot1 starts in the upper one, robot2 in the lower
  one). A robot driving home takes the free slot nearest to it, so two robots coming home
  from opposite sides never have to swap. It is the only place two robots may be at together.
* ``quadrant_N``: the four cake-stack areas, one per quarter of the table; the robot stands at
  the listed point to pick any of the three stacks (brown, yellow, pink) laid out around it.
* ``holder_N``: cherry dispensers at the middle of both long edges, the right short edge and
  the centre of the table.
* ``plate_N``: our five serving plates along the edges; ``basket``: our cherry basket in the
  top-left corner.

Every place is inside the table by more than a robot radius and at least ``CLEARANCE_MM``
from every other place, so a robot standing at one place never blocks another place.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

from llm_mars import vocabulary as V
from llm_mars.errors import UnknownPlaceError, UnknownRobotError

Point = tuple[float, float]

ROBOT_RADIUS_MM = 150.0
"""Robots are drawn and checked as discs of this radius (300 mm across)."""

CLEARANCE_MM = 400.0
"""Two robots never approach each other closer than this, centre to centre (discs touch at 300)."""

PLACE_XY: Mapping[str, Point] = MappingProxyType({
    V.HOME: (300.0, 1000.0),
    "plate_1": (300.0, 275.0),
    "plate_2": (1000.0, 1775.0),
    "plate_3": (2550.0, 1400.0),
    "plate_4": (2050.0, 225.0),
    "plate_5": (2700.0, 275.0),
    "quadrant_1": (900.0, 650.0),
    "quadrant_2": (900.0, 1350.0),
    "quadrant_3": (2100.0, 1350.0),
    "quadrant_4": (2100.0, 650.0),
    "holder_1": (1500.0, 150.0),
    "holder_2": (1500.0, 1850.0),
    "holder_3": (2850.0, 1000.0),
    "holder_4": (1500.0, 1000.0),
    V.BASKET: (225.0, 1850.0),
})
"""The point a robot stands at to use each place (for ``home``: the zone's centre)."""

HOME_SLOTS: tuple[Point, Point] = ((300.0, 1250.0), (300.0, 750.0))
"""The two parking slots inside the home zone."""

STAND_POINTS: tuple[Point, ...] = (
    *(xy for place, xy in PLACE_XY.items() if place != V.HOME), *HOME_SLOTS)
"""Every point a robot stands at to use a place (for ``home``: its two slots)."""

START_POSITIONS: Mapping[str, Point] = MappingProxyType(dict(zip(V.ROBOTS, HOME_SLOTS)))
"""Where each robot stands when the match starts (its home slot)."""


def check_place(place: str) -> str:
    """Return ``place`` if it is a named place, else raise :class:`UnknownPlaceError`."""
    if place not in PLACE_XY:
        raise UnknownPlaceError(place, V.PLACES)
    return place


def check_robot(robot: str) -> str:
    """Return ``robot`` if it is one of our robots, else raise :class:`UnknownRobotError`."""
    if robot not in START_POSITIONS:
        raise UnknownRobotError(robot, V.ROBOTS)
    return robot


def distance(a: Point, b: Point) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def segment_distance(p: Point, a: Point, b: Point) -> float:
    """Shortest distance from point ``p`` to the segment ``a``-``b``."""
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    length2 = dx * dx + dy * dy
    if length2 == 0.0:
        return distance(p, a)
    t = max(0.0, min(1.0, ((p[0] - ax) * dx + (p[1] - ay) * dy) / length2))
    return distance(p, (ax + t * dx, ay + t * dy))


def on_table(p: Point, margin_mm: float = ROBOT_RADIUS_MM) -> bool:
    """Whether a robot centred at ``p`` stays ``margin_mm`` inside the table edges."""
    return (margin_mm <= p[0] <= V.FIELD_WIDTH_MM - margin_mm
            and margin_mm <= p[1] <= V.FIELD_HEIGHT_MM - margin_mm)


def path_length(points: list[Point]) -> float:
    return sum(distance(a, b) for a, b in zip(points, points[1:]))
