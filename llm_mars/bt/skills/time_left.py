"""Condition: are at least this many match seconds left?"""
from __future__ import annotations

from llm_mars.bt.skills.base import ConditionBehaviour


class TimeLeft(ConditionBehaviour):
    tag = "TimeLeft"
