"""The field layout: every named place has a point on the table, far enough from the others."""
from __future__ import annotations

import itertools
import math

import pytest

from llm_mars import vocabulary as V
from llm_mars.errors import UnknownPlaceError, UnknownRobotError
from llm_mars.world.field import (CLEARANCE_MM, HOME_SLOTS, PLACE_XY, ROBOT_RADIUS_MM,
                                  START_POSITIONS, check_place, check_robot, on_table,
                                  segment_distance)


def stand_points() -> dict[str, tuple[float, float]]:
    """Every point a robot can stop at: each place's point, home as its two slots."""
    points = {p: xy for p, xy in PLACE_XY.items() if p != V.HOME}
    points.update({f"home slot {i}": slot for i, slot in enumerate(HOME_SLOTS)})
    return points


def test_every_place_has_a_point_and_nothing_else_does():
    assert set(PLACE_XY) == set(V.PLACES)


def test_every_stand_point_is_on_the_table_with_room_for_the_robot():
    for name, point in stand_points().items():
        assert on_table(point, ROBOT_RADIUS_MM), name


def test_a_robot_at_one_place_never_blocks_another():
    for (a, p), (b, q) in itertools.combinations(stand_points().items(), 2):
        assert math.dist(p, q) >= CLEARANCE_MM, (a, b)


def test_robots_start_in_the_two_home_slots_near_x300_y1000():
    assert set(START_POSITIONS) == set(V.ROBOTS)
    assert sorted(START_POSITIONS.values()) == sorted(HOME_SLOTS)
    for slot in HOME_SLOTS:
        assert math.dist(slot, PLACE_XY[V.HOME]) <= 300
    assert PLACE_XY[V.HOME] == (300.0, 1000.0)


def test_names_are_checked():
    assert check_place("plate_3") == "plate_3"
    with pytest.raises(UnknownPlaceError):
        check_place("plate_6")
    with pytest.raises(UnknownRobotError):
        check_robot("robot3")


@pytest.mark.parametrize("point, expected", [
    ((5, 5), 5.0),  # beside the middle
    ((-3, 4), 5.0),  # beyond the start
    ((14, 0), 4.0),  # beyond the end
    ((10, 0), 0.0),  # on the end point
])
def test_segment_distance(point, expected):
    assert segment_distance(point, (0, 0), (10, 0)) == pytest.approx(expected)


def test_segment_distance_of_a_degenerate_segment_is_the_point_distance():
    assert segment_distance((3, 4), (0, 0), (0, 0)) == pytest.approx(5.0)
