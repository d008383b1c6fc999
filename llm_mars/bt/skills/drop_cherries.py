"""Put every carried cherry in the basket."""
from __future__ import annotations

from llm_mars.bt.skills.base import SkillBehaviour


class DropCherries(SkillBehaviour):
    tag = "DropCherries"
