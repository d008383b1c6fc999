"""Driving along waypoints and the geometry that keeps robots apart."""
from __future__ import annotations

import math

import pytest

from llm_mars.world.field import CLEARANCE_MM, PLACE_XY, STAND_POINTS, on_table, segment_distance
from llm_mars.world.motion import (
    ASIDE_REACH_MM, advance, blocks, detour, make_way, path_clear, retreat)


def test_advance_moves_along_waypoints_and_reports_what_it_reached():
    position, reached, moved = advance((0, 0), [(100, 0), (100, 100)], 150)
    assert position == pytest.approx((100, 50))
    assert (reached, moved) == (1, pytest.approx(150))
    position, reached, moved = advance((0, 0), [(100, 0)], 500)
    assert (position, reached, moved) == ((100, 0), 1, pytest.approx(100))


@pytest.mark.parametrize("start, step_to, other, blocked", [
    ((0, 0), (50, 0), (420, 0), True),  # approaching inside the clearance
    ((0, 0), (10, 0), (420, 0), False),  # still outside it
    ((0, 0), (-50, 0), (300, 0), False),  # already close, but moving away
    ((0, 0), (0, 50), (300, 0), False),  # already close, sideways: not closer
])
def test_blocks(start, step_to, other, blocked):
    assert blocks(start, step_to, other) is blocked


def test_path_clear_lets_a_close_robot_leave_but_not_pass_through():
    obstacle = (1000, 1000)
    assert path_clear([(700, 1000), (200, 1000)], obstacle)
    assert not path_clear([(500, 1000), (1500, 1000)], obstacle)
    assert path_clear([(500, 500), (1500, 500)], obstacle)


@pytest.mark.parametrize("start, goal, obstacle", [
    ((600, 1000), (2400, 1000), (1500, 1000)),  # right through it
    ((600, 900), (2400, 1150), (1500, 1050)),  # slightly off the line
    ((1000, 300), (2000, 300), (1500, 250)),  # near the edge: must pass on the table side
])
def test_detour_goes_around_clear_of_the_obstacle_and_on_the_table(start, goal, obstacle):
    route = detour(start, [goal], obstacle)
    assert route is not None and route[-1] == goal
    path = [start, *route]
    for a, b in zip(path, path[1:]):
        assert segment_distance(obstacle, a, b) >= CLEARANCE_MM - 1e-6
    assert all(on_table(p) for p in route)


def test_no_detour_when_the_goal_is_next_to_the_obstacle():
    assert detour((600, 1000), [(1300, 1000)], (1500, 1000)) is None


def test_retreat_steps_out_of_the_other_robots_route():
    me, other = (1000, 1000), (1000, 600)
    other_route = [(1000, 1500)]  # it wants to go straight through me
    aside = retreat(me, other, other_route)
    assert aside is not None and on_table(aside)
    assert segment_distance(aside, other, other_route[0]) >= CLEARANCE_MM
    assert math.dist(me, aside) <= 1.5 * CLEARANCE_MM


def test_make_way_leaves_the_route_and_the_place_and_prefers_free_ground():
    place = PLACE_XY["plate_3"]
    route = [(1500.0, 1000.0), place]  # the waiting robot comes from the centre
    waypoints = make_way(place, route, place, STAND_POINTS)
    assert waypoints is not None and len(waypoints) == 1  # straight there
    aside = waypoints[0]
    assert on_table(aside)
    assert round(math.dist(place, aside)) == ASIDE_REACH_MM[0]
    assert segment_distance(aside, *route) > CLEARANCE_MM
    assert all(math.dist(aside, s) > CLEARANCE_MM for s in STAND_POINTS)
    assert make_way(place, route, place, STAND_POINTS) == [aside]  # deterministic


def test_make_way_drives_around_the_waiting_robot_when_it_cannot_go_straight():
    # robot1 idle at plate_5 in the corner; robot2 waits for plate_5 just up the table
    place, waiter = PLACE_XY["plate_5"], (2450.0, 613.0)
    waypoints = make_way(place, [waiter, place], place, STAND_POINTS)
    assert waypoints is not None and len(waypoints) > 1
    assert path_clear([place, *waypoints], waiter)
    assert all(on_table(p) for p in waypoints)
    assert segment_distance(waypoints[-1], waiter, place) > CLEARANCE_MM


def test_make_way_finds_nothing_when_the_robot_is_hemmed_in():
    # a waiting robot this close: no point on the table is far enough from it
    assert make_way((1500.0, 1000.0), [(1500.0, 1300.0)], clearance=1500.0) is None
