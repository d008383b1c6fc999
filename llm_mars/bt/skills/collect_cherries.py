"""Take cherries from a holder (count omitted: as many as fit)."""
from __future__ import annotations

from llm_mars.bt.skills.base import SkillBehaviour


class CollectCherries(SkillBehaviour):
    tag = "CollectCherries"
