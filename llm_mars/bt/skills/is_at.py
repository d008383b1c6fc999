"""Condition: is the robot standing at a place?"""
from __future__ import annotations

from llm_mars.bt.skills.base import ConditionBehaviour


class IsAt(ConditionBehaviour):
    tag = "IsAt"
