"""Wait some seconds of robot (match) time; the robot keeps the clock."""
from __future__ import annotations

from llm_mars.bt.skills.base import SkillBehaviour


class Wait(SkillBehaviour):
    tag = "Wait"
