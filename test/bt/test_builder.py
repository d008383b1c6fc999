"""Building py_trees trees from plans: kinds, subtree expansion, port substitution, trees/."""
from __future__ import annotations

from pathlib import Path

import pytest
from py_trees.common import Status

from llm_mars.bt import controls, decorators
from llm_mars.bt.builder import build_plan, build_tree
from llm_mars.bt.library import SubtreeLibrary, load_library
from llm_mars.bt.model import Node
from llm_mars.bt.parser import parse_plan
from llm_mars.errors import PlanValidationError, UnknownRobotError

from .scripted_robot import Run, ScriptedRobot
from .tables import plan_xml
from .test_library import subtree

TREES = Path(__file__).resolve().parents[2] / "trees"
MISSIONS = sorted((TREES / "missions").glob("*.xml"))


def test_node_kinds_map_to_the_documented_behaviours():
    plan = parse_plan(plan_xml(
        '<Sequence><ReactiveSequence><FunnyAction/></ReactiveSequence>'
        '<Fallback><FunnyAction/></Fallback><ReactiveFallback><FunnyAction/></ReactiveFallback>'
        '<Parallel failure_count="2"><FunnyAction/><FunnyAction/></Parallel>'
        '<Inverter><FunnyAction/></Inverter><ForceSuccess><FunnyAction/></ForceSuccess>'
        '<RetryUntilSuccessful num_attempts="2"><FunnyAction/></RetryUntilSuccessful>'
        '<Repeat num_cycles="2"><FunnyAction/></Repeat><Timeout msec="5"><FunnyAction/></Timeout>'
        '</Sequence>'))
    root = build_tree(plan.tree("robot1"), ScriptedRobot())
    kinds = [type(child) for child in root.children]
    assert type(root) is controls.Sequence
    assert kinds == [controls.ReactiveSequence, controls.Fallback, controls.ReactiveFallback,
                     controls.Parallel, decorators.Inverter, decorators.ForceSuccess,
                     decorators.RetryUntilSuccessful, decorators.Repeat, decorators.Timeout]
    assert isinstance(root.children[3], controls.Parallel)
    assert (root.children[3].success_count, root.children[3].failure_count) == (-1, 2)


def test_subtree_expansion_substitutes_ports():
    robot = ScriptedRobot()
    plan = parse_plan(plan_xml('<SubTree ID="BuildLegendaryCakes" quadrant="2" plate="3"/>'))
    root = build_tree(plan.tree("robot1"), robot)
    assert isinstance(root, decorators.SubTree) and root.subtree_id == "BuildLegendaryCakes"
    while root.status is not Status.SUCCESS:
        root.tick_once()
    assert robot.started == [("PickCake", {"color": "brown", "quadrant": 2}),
                             ("PickCake", {"color": "yellow", "quadrant": 2}),
                             ("PickCake", {"color": "pink", "quadrant": 2}),
                             ("PlaceCakes", {"plate": 3, "sort": True})]


def test_nested_subtrees_defaults_and_int_to_float_conversion():
    library = load_library().with_document("Outer.xml", subtree(
        "Outer",
        '<Sequence><Wait seconds="{pause}"/><SubTree ID="CherriesToBasket" holder="{h}"/>'
        "</Sequence>",
        '<input_port name="pause" type="int" min="0" max="9" default="4"/>'
        '<input_port name="h" like="CollectCherries.holder"/>'))
    robot = ScriptedRobot()
    plan = parse_plan(plan_xml('<SubTree ID="Outer" h="3"/>'), library)
    root = build_tree(plan.tree("robot1"), robot, library)
    root.tick_once()  # every scripted skill succeeds at once: one tick runs the whole body
    assert root.status is Status.SUCCESS
    assert robot.started == [("Wait", {"seconds": 4.0}), ("CollectCherries", {"holder": 3}),
                             ("DropCherries", {})]
    assert isinstance(robot.started[0][1]["seconds"], float)


def test_build_plan_binds_each_tree_to_its_robot_and_shares_the_clock():
    plan = parse_plan(plan_xml('<Timeout msec="1000"><Say text="a"/></Timeout>').replace(
        "</root>", '<BehaviorTree ID="robot2"><FunnyAction/></BehaviorTree></root>'))
    robots = {"robot1": ScriptedRobot({"Say": [Run(9)]}), "robot2": ScriptedRobot(name="robot2")}
    now = [0.0]
    trees = build_plan(plan, robots, clock=lambda: now[0])
    for tree in trees.values():
        tree.tick_once()
    now[0] = 1.5
    trees["robot1"].tick_once()
    assert trees["robot1"].status is Status.FAILURE
    assert [s for s, _ in robots["robot1"].started] == ["Say"]
    assert [s for s, _ in robots["robot2"].started] == ["FunnyAction"]


def test_build_plan_needs_every_addressed_robot():
    plan = parse_plan(plan_xml("<FunnyAction/>", robot="robot2"))
    with pytest.raises(UnknownRobotError):
        build_plan(plan, {"robot1": ScriptedRobot()})


@pytest.mark.parametrize("node", [
    Node("Jump"),
    Node("SubTree", (("ID", "Nowhere"),)),
    Node("Inverter", (), (Node("FunnyAction"), Node("FunnyAction"))),
])
def test_hand_built_trees_that_cannot_be_built_raise_the_typed_error(node):
    with pytest.raises(PlanValidationError):
        build_tree(node, ScriptedRobot(), SubtreeLibrary())


def test_instance_names_show_in_behaviour_names():
    plan = parse_plan(plan_xml('<Sequence name="main"><Say name="hello" text="a"/>'
                               '<SubTree ID="FinishMatch" name="end"/></Sequence>'))
    tree = build_tree(plan.tree("robot1"), ScriptedRobot())
    assert (tree.name, tree.children[0].name) == ('Sequence "main"', 'Say "hello" text=a')
    assert tree.children[1].name == 'SubTree FinishMatch "end"'


def test_root_can_be_named():
    assert build_tree(Node("FunnyAction"), ScriptedRobot(), name="robot1").name == "robot1"


@pytest.mark.parametrize("path", sorted((TREES / "subtrees").glob("*.xml")), ids=lambda p: p.name)
def test_every_library_subtree_validates_and_builds(path):
    definition = load_library()[path.stem]
    assert definition.text == path.read_text()
    values = " ".join(f'{p.name}="{p.minimum:g}"' for p in definition.ports)
    plan = parse_plan(plan_xml(f'<SubTree ID="{path.stem}" {values}/>'))
    assert isinstance(build_tree(plan.tree("robot1"), ScriptedRobot()), decorators.SubTree)


@pytest.mark.parametrize("path", MISSIONS, ids=lambda p: p.name)
def test_every_mission_validates_builds_and_completes_with_obliging_robots(path):
    plan = parse_plan(path.read_text())
    robots = {name: ScriptedRobot(name=name, default_ticks=2) for name in plan.robots}
    trees = build_plan(plan, robots, clock=lambda: 0.0)
    for _ in range(200):
        for tree in trees.values():
            if tree.status is not Status.SUCCESS:
                tree.tick_once()
    assert {name: tree.status for name, tree in trees.items()} == \
        {name: Status.SUCCESS for name in plan.robots}
    assert all(robot.goals and not robot.cancelled for robot in robots.values())


def test_there_are_three_to_five_missions_covering_both_robots_and_coordination():
    assert 3 <= len(MISSIONS) <= 5
    tags = {node.tag for path in MISSIONS
            for _, root in parse_plan(path.read_text()).trees for node in root.walk()}
    assert {"Signal", "WaitForSignal", "Fallback", "SubTree"} <= tags
