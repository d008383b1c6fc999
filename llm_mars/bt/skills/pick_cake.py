"""Take one cake stack of a colour from a quadrant (fails if gone or the robot is full)."""
from __future__ import annotations

from llm_mars.bt.skills.base import SkillBehaviour


class PickCake(SkillBehaviour):
    tag = "PickCake"
