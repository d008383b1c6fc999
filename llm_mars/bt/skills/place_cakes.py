"""Unload every carried stack on a plate, sorted into legendary cakes when sort=true."""
from __future__ import annotations

from llm_mars.bt.skills.base import SkillBehaviour


class PlaceCakes(SkillBehaviour):
    tag = "PlaceCakes"
