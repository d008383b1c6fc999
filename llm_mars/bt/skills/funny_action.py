"""The end-of-match disguise that scores the funny-action bonus."""
from __future__ import annotations

from llm_mars.bt.skills.base import SkillBehaviour


class FunnyAction(SkillBehaviour):
    tag = "FunnyAction"
