"""Speak or report a message to the operator."""
from __future__ import annotations

from llm_mars.bt.skills.base import SkillBehaviour


class Say(SkillBehaviour):
    tag = "Say"
