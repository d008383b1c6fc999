"""The typed plan structure."""
from __future__ import annotations

from llm_mars.bt.model import Node, Plan, PortRef, format_value


def test_positions_do_not_take_part_in_equality():
    assert Node("FunnyAction", line=3, column=5) == Node("FunnyAction")
    assert hash(Node("FunnyAction", line=3)) == hash(Node("FunnyAction"))


def test_port_lookup_and_label():
    node = Node("PlaceCakes", (("plate", 3), ("sort", True)))
    assert (node.port("plate"), node.port("colour", "none")) == (3, "none")
    assert node.label == "PlaceCakes plate=3 sort=true"
    assert Node("SubTree", (("ID", "X"), ("q", PortRef("q")))).label == "SubTree X q={q}"
    assert Node("Say", (("text", "x" * 60),)).label == "Say text=" + "x" * 37 + "..."


def test_format_value_is_the_inverse_of_port_parsing():
    assert [format_value(v) for v in (True, False, 2, 2.5, 1e-7, "a b", PortRef("p"))] == \
        ["true", "false", "2", "2.5", "1e-07", "a b", "{p}"]


def test_walk_is_depth_first_parents_first():
    tree = Node("Sequence", (), (Node("Inverter", (), (Node("IsAt"),)), Node("FunnyAction")))
    assert [n.tag for n in tree.walk()] == ["Sequence", "Inverter", "IsAt", "FunnyAction"]


def test_plan_lookup():
    plan = Plan((("robot2", Node("FunnyAction")),))
    assert plan.robots == ("robot2",) and plan.tree("robot2") == Node("FunnyAction")
    assert plan.tree("robot1") is None
