"""What is on the field and what each robot holds, and its contract JSON (DESIGN.md section 3).

This is plain data: the simulator changes it, scoring reads it, ``state_dict()`` renders it.
The keys of ``state_dict()`` are read by evaluations; extra keys may be added, none renamed.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from llm_mars import vocabulary as V
from llm_mars.world.field import START_POSITIONS, Point
from llm_mars.world.scoring import score


HISTORY_KEPT = 100
"""The most recent history entries (and ``said`` texts) a robot's state keeps: questions need
recent history, not all of it, and the state JSON must stay far below the payload limit in a
session of any length (a retry loop adds an entry every tick)."""


@dataclass
class Cake:
    """One cake on a plate: its layers bottom to top, and whether a cherry crowns it."""

    layers: list[str]
    cherry: bool = False

    @property
    def legendary(self) -> bool:
        return V.is_legendary(self.layers)

    def to_dict(self) -> dict[str, Any]:
        return {"layers": list(self.layers), "cherry": self.cherry}


@dataclass
class RobotState:
    """One robot's body: where it is, what it carries, what it has done."""

    name: str
    position: Point
    location: str | None = V.HOME
    stacks: list[str] = field(default_factory=list)  # colours of carried stacks, in pick order
    cherries: int = 0
    funny_action: bool = False
    history: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)
    tree_status: str = "IDLE"
    active: str | None = None  # label of the running skill, e.g. "PickCake brown 2"
    waiting_for: str | None = None  # the other robot, while this one waits for it
    giving_way_to: str | None = None  # the other robot, while this idle one drives aside for it
    stalled: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "x_mm": round(self.position[0]),
            "y_mm": round(self.position[1]),
            "carrying": {"stacks": list(self.stacks), "cherries": self.cherries},
            "tree_status": self.tree_status,
            "active": self.active,
            "funny_action": self.funny_action,
            "history": list(self.history),
            # extra keys (allowed by the contract)
            "waiting_for": self.waiting_for,
            "giving_way_to": self.giving_way_to,
            "stalled": self.stalled,
            "said": list(self.said),
        }


@dataclass
class WorldState:
    """The whole field at one instant."""

    time_s: float
    robots: dict[str, RobotState]
    quadrants: dict[str, dict[str, int]]  # quadrant -> colour -> stacks left (0 or 1)
    holders: dict[str, int]  # holder -> cherries left
    plates: dict[str, list[Cake]]
    basket: int = 0
    signals: list[str] = field(default_factory=list)  # raised signal names, in order
    match_over: bool = False

    @classmethod
    def initial(cls) -> WorldState:
        """The field at the start of a match: full stacks and holders, both robots home."""
        return cls(
            time_s=0.0,
            robots={name: RobotState(name, START_POSITIONS[name]) for name in V.ROBOTS},
            quadrants={q: {c: 1 for c in V.COLORS} for q in V.QUADRANTS},
            holders={h: V.CHERRIES_PER_HOLDER for h in V.HOLDERS},
            plates={p: [] for p in V.PLATES},
        )

    def state_dict(self) -> dict[str, Any]:
        """The contract JSON as a dict (DESIGN.md section 3), plus a few extra keys."""
        return {
            "time_s": round(self.time_s, 3),
            "robots": {name: robot.to_dict() for name, robot in self.robots.items()},
            "quadrants": {q: dict(stacks) for q, stacks in self.quadrants.items()},
            "holders": dict(self.holders),
            "plates": {p: [cake.to_dict() for cake in cakes] for p, cakes in self.plates.items()},
            "basket": self.basket,
            "score": score(self).to_dict(),
            # extra keys
            "signals": list(self.signals),
            "match_over": self.match_over,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.state_dict(), indent=indent)
