"""Per-robot exports: one file BT.CPP loads as it is, read back by the plan reader."""
from __future__ import annotations

from pathlib import Path

import pytest

from llm_mars.bt.export import export_robot, used_subtrees
from llm_mars.bt.library import SubtreeLibrary, load_library
from llm_mars.bt.model import Plan
from llm_mars.bt.parser import parse_plan
from llm_mars.bt.safe_xml import read_xml
from llm_mars.errors import PlanValidationError

from .tables import plan_xml
from .test_library import subtree

MISSIONS = sorted((Path(__file__).resolve().parents[2] / "trees" / "missions").glob("*.xml"))


@pytest.mark.parametrize("path", MISSIONS, ids=lambda p: p.name)
def test_each_robots_export_reads_back_as_that_robots_plan(path):
    plan = parse_plan(path.read_text())
    for robot, root in plan.trees:
        text = export_robot(plan, robot)
        assert parse_plan(text) == Plan(((robot, root),))
        document = read_xml(text)
        assert document.attributes == {"BTCPP_format": "4", "main_tree_to_execute": robot}
        trees = [c.attributes["ID"] for c in document.children if c.tag == "BehaviorTree"]
        assert trees == [robot, *used_subtrees(root, load_library())]
        assert document.children[-1].tag == "TreeNodesModel"
        assert document.comments == list(plan.comments)  # the mission's header is kept
        assert document.comments


def test_subtrees_used_through_other_subtrees_are_copied_too():
    library = SubtreeLibrary.from_documents({
        "Outer.xml": subtree("Outer", '<Sequence><SubTree ID="Inner"/><FunnyAction/></Sequence>'),
        "Inner.xml": subtree("Inner", "<DropCherries/>"),
    })
    plan = parse_plan(plan_xml('<SubTree ID="Outer"/>', "robot2"), library)
    assert used_subtrees(plan.tree("robot2"), library) == ("Outer", "Inner")
    assert parse_plan(export_robot(plan, "robot2", library), library) == plan


def test_a_copy_that_was_edited_is_reported():
    plan = parse_plan(MISSIONS[0].read_text())
    text = export_robot(plan, plan.robots[0]).replace('<MoveTo target="home"/>',
                                                      '<MoveTo target="basket"/>')
    with pytest.raises(PlanValidationError) as info:
        parse_plan(text)
    assert [p.code for p in info.value.problems] == ["subtree_differs"]


def test_a_robot_without_a_tree_cannot_be_exported():
    plan = parse_plan(plan_xml("<FunnyAction/>", "robot1"))
    with pytest.raises(PlanValidationError) as info:
        export_robot(plan, "robot2")
    assert info.value.problems[0].code == "wrong_robot"
