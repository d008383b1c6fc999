"""The scoring table (DESIGN.md section 3)."""
from __future__ import annotations

import pytest

from llm_mars.world.scoring import basket_points, cake_points, score
from llm_mars.world.state import Cake, WorldState


@pytest.mark.parametrize("layers, cherry, points", [
    (["brown", "yellow", "pink"], True, 3 + 4 + 3),  # a legendary cake with a cherry: 10
    (["brown", "yellow", "pink"], False, 3 + 4),
    (["pink", "yellow", "brown"], False, 3),  # wrong order: not legendary
    (["brown", "yellow"], True, 2 + 3),  # two layers: not legendary
    (["brown", "yellow", "pink", "pink"], False, 4),  # four layers: not legendary
    (["brown"] * 3, False, 3),
    ([], False, 0),
])
def test_cake_points(layers, cherry, points):
    assert cake_points(Cake(layers, cherry)) == points


@pytest.mark.parametrize("cherries, points", [(0, 0), (1, 6), (10, 15), (20, 25)])
def test_basket_points(cherries, points):
    assert basket_points(cherries) == points


def test_the_initial_field_scores_both_robots_at_home():
    assert score(WorldState.initial()).to_dict() == {
        "cakes": 0, "basket": 0, "end_zone": 30, "funny": 0, "total": 30}


def test_score_adds_up_every_part():
    state = WorldState.initial()
    state.plates["plate_1"] = [Cake(["brown", "yellow", "pink"], True), Cake(["pink"] * 3)]
    state.plates["plate_4"] = [Cake(["brown", "yellow", "pink"])]
    state.basket = 4
    state.robots["robot1"].location = None
    state.robots["robot2"].funny_action = True
    assert score(state).to_dict() == {
        "cakes": 10 + 3 + 7, "basket": 9, "end_zone": 15, "funny": 5, "total": 49}
