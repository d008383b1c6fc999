"""Condition: is the robot carrying cake stacks or cherries?"""
from __future__ import annotations

from llm_mars.bt.skills.base import ConditionBehaviour


class IsCarrying(ConditionBehaviour):
    tag = "IsCarrying"
