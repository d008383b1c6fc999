"""Drive to a named place; the robot plans its own path."""
from __future__ import annotations

from llm_mars.bt.skills.base import SkillBehaviour


class MoveTo(SkillBehaviour):
    tag = "MoveTo"
