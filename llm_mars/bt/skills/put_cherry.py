"""Put one carried cherry on top of a cake on a plate."""
from __future__ import annotations

from llm_mars.bt.skills.base import SkillBehaviour


class PutCherry(SkillBehaviour):
    tag = "PutCherry"
