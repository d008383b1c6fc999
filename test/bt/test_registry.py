"""The facts the registry keeps about each skill: body, label, where it drives, its phrases,
and the condition tests on the state JSON."""
from __future__ import annotations

import pytest

from llm_mars import vocabulary as V
from llm_mars.bt.registry import (REGISTRY, Category, NodeKind, Port, PortType, Registry,
                                   condition_holds)
from llm_mars.errors import RegistryError, UnknownSkillError

# skill, args -> history label, place it drives to
LABELS = [
    ("MoveTo", {"target": "plate_3"}, "MoveTo plate_3", "plate_3"),
    ("PickCake", {"color": "brown", "quadrant": 2}, "PickCake brown 2", "quadrant_2"),
    ("PlaceCakes", {"plate": 5, "sort": True}, "PlaceCakes 5", "plate_5"),
    ("CollectCherries", {"holder": 4}, "CollectCherries 4", "holder_4"),
    ("CollectCherries", {"holder": 4, "count": 6}, "CollectCherries 4 6", "holder_4"),
    ("DropCherries", {}, "DropCherries", V.BASKET),
    ("PutCherry", {"plate": 1}, "PutCherry 1", "plate_1"),
    ("FunnyAction", {}, "FunnyAction", None),
    ("Wait", {"seconds": 3.0}, "Wait 3", None),
    ("Wait", {"seconds": 2.5}, "Wait 2.5", None),
    ("Signal", {"signal": "robot1_done"}, "Signal robot1_done", None),
    ("WaitForSignal", {"signal": "go"}, "WaitForSignal go", None),
    ("Say", {"text": "on my way"}, "Say on my way", None),
]


@pytest.mark.parametrize("skill, args, label, place", LABELS)
def test_a_step_is_labelled_and_read_back_by_the_registry(skill, args, label, place):
    kind = REGISTRY[skill]
    assert kind.label(args) == label
    values = kind.label_values(label.partition(" ")[2])
    assert kind.destination(dict(zip(kind.label_ports, values))) == place


def test_body_skills_are_the_ones_that_drive_or_use_the_arms():
    body = {k.tag for k in REGISTRY.of(Category.ACTION) if k.body}
    assert body == {"MoveTo", "PickCake", "PlaceCakes", "CollectCherries", "DropCherries",
                    "PutCherry", "FunnyAction"}
    assert all(REGISTRY[tag].drives_to is None for tag in ("Wait", "Signal", "Say"))


@pytest.mark.parametrize("skill, values, doing, attempt", [
    ("MoveTo", {"target": "basket"}, "driving to the basket", "drive to the basket"),
    ("CollectCherries", {"holder": "4"}, "collecting cherries at holder 4",
     "collect cherries at holder 4"),
    ("CollectCherries", {"holder": "4", "count": "6"}, "collecting 6 cherries at holder 4",
     "collect cherries at holder 4"),
    ("PickCake", {"color": "pink"}, "picking the pink stack at quadrant ?",
     "pick the pink stack at quadrant ?"),
])
def test_phrases_say_a_step_from_its_label_values(skill, values, doing, attempt):
    kind = REGISTRY[skill]
    assert kind.phrase(kind.phrases.doing, values) == doing
    assert kind.phrase(kind.phrases.attempt, values) == attempt


def test_prose_is_read_whole_and_names_are_one_word():
    assert REGISTRY["Say"].label_values("hello  there") == ("hello  there",)
    assert REGISTRY["Signal"].label_values("a b") == ("a", "b")


STATE = {"time_s": 70.0,
         "robots": {"robot1": {"location": "plate_2",
                               "carrying": {"stacks": ["pink"], "cherries": 0}}}}


@pytest.mark.parametrize("condition, args, state, holds", [
    ("IsAt", {"target": "plate_2"}, STATE, True),
    ("IsAt", {"target": "home"}, STATE, False),
    ("IsCarrying", {"item": "cake"}, STATE, True),
    ("IsCarrying", {"item": "cherries"}, STATE, False),
    ("TimeLeft", {"seconds": 30.0}, STATE, True),
    ("TimeLeft", {"seconds": 30.5}, STATE, False),
    ("TimeLeft", {"seconds": 30.0}, {**STATE, "time_left_s": 10.0}, False),  # its own match
])
def test_conditions_are_tested_on_the_state_json(condition, args, state, holds):
    assert condition_holds(condition, state, "robot1", args) is holds


def test_only_conditions_have_a_test():
    with pytest.raises(UnknownSkillError):
        condition_holds("MoveTo", STATE, "robot1", {"target": "home"})


@pytest.mark.parametrize("port", ["name", "ID"])
def test_no_node_kind_may_declare_a_port_bt_cpp_reserves(port):
    kind = NodeKind("Beep", Category.ACTION, "beep", (Port(port, PortType.STRING, "x"),))
    with pytest.raises(RegistryError):
        Registry({"Beep": kind})
