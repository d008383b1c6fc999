"""Raise a named signal that the other robot can wait for."""
from __future__ import annotations

from llm_mars.bt.skills.base import SkillBehaviour


class Signal(SkillBehaviour):
    tag = "Signal"
