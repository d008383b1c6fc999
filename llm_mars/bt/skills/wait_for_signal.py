"""Wait until the named signal has been raised by either robot."""
from __future__ import annotations

from llm_mars.bt.skills.base import SkillBehaviour


class WaitForSignal(SkillBehaviour):
    tag = "WaitForSignal"
