"""Simplified Eurobot 2023 scoring (DESIGN.md section 3).

* 1 point per cake layer on a plate, +4 per legendary cake (brown, yellow, pink bottom to top,
  exactly three layers), +3 per cake with a cherry on top;
* basket: +5 if it holds any cherry, +1 per cherry;
* end zone: +15 per robot whose location is ``home`` at the moment the score is taken (so the
  initial field, with both robots home, already shows 30);
* +5 per robot that did the funny action.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llm_mars import vocabulary as V

if TYPE_CHECKING:
    from llm_mars.world.state import Cake, WorldState

POINTS_PER_LAYER = 1
LEGENDARY_BONUS = 4
CHERRY_ON_CAKE_BONUS = 3
BASKET_ANY_CHERRY_BONUS = 5
POINTS_PER_BASKET_CHERRY = 1
END_ZONE_POINTS = 15
FUNNY_ACTION_POINTS = 5


@dataclass(frozen=True)
class Score:
    cakes: int
    basket: int
    end_zone: int
    funny: int

    @property
    def total(self) -> int:
        return self.cakes + self.basket + self.end_zone + self.funny

    def to_dict(self) -> dict[str, Any]:
        return {"cakes": self.cakes, "basket": self.basket, "end_zone": self.end_zone,
                "funny": self.funny, "total": self.total}


def cake_points(cake: Cake) -> int:
    """Points of one cake on a plate: its layers, the legendary bonus, the cherry bonus."""
    points = POINTS_PER_LAYER * len(cake.layers)
    if cake.legendary:
        points += LEGENDARY_BONUS
    if cake.cherry:
        points += CHERRY_ON_CAKE_BONUS
    return points


def basket_points(cherries: int) -> int:
    if cherries <= 0:
        return 0
    return BASKET_ANY_CHERRY_BONUS + POINTS_PER_BASKET_CHERRY * cherries


def score(state: WorldState) -> Score:
    return Score(
        cakes=sum(cake_points(c) for cakes in state.plates.values() for c in cakes),
        basket=basket_points(state.basket),
        end_zone=END_ZONE_POINTS * sum(r.location == V.HOME for r in state.robots.values()),
        funny=FUNNY_ACTION_POINTS * sum(r.funny_action for r in state.robots.values()),
    )
