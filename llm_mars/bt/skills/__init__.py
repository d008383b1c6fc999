"""One behaviour class per registry skill and condition, looked up by tag.

Every action and condition kind of the registry must have its class here; a missing one is a
programming error reported at import.
"""
from __future__ import annotations

from llm_mars.bt.registry import REGISTRY, Category
from llm_mars.bt.skills.base import ConditionBehaviour, RobotBehaviour, SkillBehaviour
from llm_mars.bt.skills.move_to import MoveTo
from llm_mars.bt.skills.pick_cake import PickCake
from llm_mars.bt.skills.place_cakes import PlaceCakes
from llm_mars.bt.skills.collect_cherries import CollectCherries
from llm_mars.bt.skills.drop_cherries import DropCherries
from llm_mars.bt.skills.put_cherry import PutCherry
from llm_mars.bt.skills.funny_action import FunnyAction
from llm_mars.bt.skills.wait import Wait
from llm_mars.bt.skills.signal import Signal
from llm_mars.bt.skills.wait_for_signal import WaitForSignal
from llm_mars.bt.skills.say import Say
from llm_mars.bt.skills.is_at import IsAt
from llm_mars.bt.skills.is_carrying import IsCarrying
from llm_mars.bt.skills.time_left import TimeLeft
from llm_mars.errors import RegistryError

BEHAVIOUR_CLASSES: dict[str, type[RobotBehaviour]] = {
    cls.tag: cls
    for cls in (MoveTo, PickCake, PlaceCakes, CollectCherries, DropCherries, PutCherry,
                FunnyAction, Wait, Signal, WaitForSignal, Say, IsAt, IsCarrying, TimeLeft)
}

_missing = [k.tag for k in (*REGISTRY.of(Category.ACTION), *REGISTRY.of(Category.CONDITION))
            if k.tag not in BEHAVIOUR_CLASSES]
if _missing:
    raise RegistryError(f"no behaviour class for {', '.join(_missing)}")

__all__ = ["BEHAVIOUR_CLASSES", "ConditionBehaviour", "RobotBehaviour", "SkillBehaviour"]
