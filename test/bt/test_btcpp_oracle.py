"""BehaviorTree.CPP v4 itself as the oracle: exported plans load in it, and trees of built-ins
tick, tick by tick, exactly as this project's py_trees builder ticks them.

What BT.CPP does not check here is said in test/bt/btcpp.py and docs/btcpp.md.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from itertools import count
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import behaviortreepy as bt
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from llm_mars.bt import controls, decorators, leaves
from llm_mars.bt.builder import build_tree
from llm_mars.bt.export import export_robot
from llm_mars.bt.library import load_library
from llm_mars.bt.model import Node, Plan
from llm_mars.bt.parser import parse_plan
from llm_mars.bt.registry import CONDITION_SCRIPTS, PRE_CONDITIONS, SWITCHES
from llm_mars.bt.robot import RobotInterface, SkillOutcome, SkillState
from llm_mars.bt.script import EMPTY, Blackboard, parse_script, truth
from llm_mars.errors import ScriptError, TreeLogicError

from .btcpp import PortNotInModel, load
from .strategies import ENTRY_KEYS, condition_script, plans, script_expressions, scripts
from .tables import plan_xml
from .test_library import subtree

MISSIONS = sorted((Path(__file__).resolve().parents[2] / "trees" / "missions").glob("*.xml"))
TICKS = 12


@pytest.mark.parametrize("path", MISSIONS, ids=lambda p: p.name)
def test_every_missions_per_robot_export_loads_and_runs_in_bt_cpp(path):
    plan = parse_plan(path.read_text())
    for robot in plan.robots:
        assert load(export_robot(plan, robot)).tick_while_running() == bt.NodeStatus.SUCCESS


@pytest.mark.parametrize("definition", list(load_library()), ids=lambda d: d.id)
def test_every_library_subtree_exports_to_a_file_bt_cpp_loads(definition):
    ports = " ".join(f'{p.name}="1"' for p in definition.ports)
    plan = parse_plan(plan_xml(f'<SubTree ID="{definition.id}" {ports}/>'))
    assert load(export_robot(plan, "robot1")).tick_while_running() == bt.NodeStatus.SUCCESS


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans(load_library()))
def test_every_valid_plan_exports_to_files_bt_cpp_loads(plan):
    for robot in plan.robots:
        load(export_robot(plan, robot))


def test_bt_cpp_refuses_what_the_model_does_not_declare():
    plan = parse_plan(plan_xml('<PickCake color="brown" quadrant="2"/>'))
    text = export_robot(plan, "robot1")
    with pytest.raises(PortNotInModel):
        load(text.replace('<input_port name="color"', '<input_port name="colour"'))
    with pytest.raises(RuntimeError):  # BT.CPP's own check of built-in ports
        load(text.replace("<PickCake", '<Inverter msec="3"><PickCake').replace(
            'quadrant="2"/>', 'quadrant="2"/></Inverter>'))


# --- tick by tick ----------------------------------------------------------------------------

STATUS = {"S": (SkillState.SUCCESS, bt.NodeStatus.SUCCESS),
          "F": (SkillState.FAILURE, bt.NodeStatus.FAILURE),
          "R": (SkillState.RUNNING, bt.NodeStatus.RUNNING)}
SAME_EVERY_TICK = {"Sequence", "ReactiveSequence", "Fallback", "ReactiveFallback", "Parallel",
                   "SequenceWithMemory", "IfThenElse", "WhileDoElse", "Inverter",
                   "ForceSuccess", "ForceFailure", "KeepRunningUntilFailure", "RunOnce"}
"""Built-ins compared tick by tick. Retry and Repeat restart a finished child on the next
tick where BT.CPP loops in the same tick (docs/btcpp.md); Timeout, Delay and Sleep follow
BT.CPP's wall clock, which a tick count cannot pin down (they have their own tests)."""


class Scripts:
    """Each leaf plays its script of statuses, one per tick of it, over and over."""

    def __init__(self, scripts: Mapping[str, str]):
        self.scripts = scripts
        self.played = {leaf: 0 for leaf in scripts}
        self.ticked: list[tuple[str, str]] = []

    def next(self, leaf: str) -> str:
        script = self.scripts[leaf]
        status = script[self.played[leaf] % len(script)]
        self.played[leaf] += 1
        self.ticked.append((leaf, status))
        return status


class ScriptedLeaves(RobotInterface):
    """The scripted leaves on the py_trees side: skills ``<Say text="L<n>">`` and conditions
    ``<TimeLeft seconds="<n>">`` (named ``C<n>``)."""

    def __init__(self, scripts: Scripts):
        self.scripts = scripts
        self.goals: list[str] = []

    def start_skill(self, skill: str, args: Mapping[str, Any]) -> int:
        self.goals.append(args["text"])
        return len(self.goals) - 1

    def skill_outcome(self, goal_id: int) -> SkillOutcome:
        return SkillOutcome(STATUS[self.scripts.next(self.goals[goal_id])][0])

    def cancel_skill(self, goal_id: int) -> None:
        pass

    def check_condition(self, condition: str, args: Mapping[str, Any]) -> bool:
        return self.scripts.next(f"C{args['seconds']:g}") == "S"


SCRIPTING = ("Script", "ScriptCondition", "Precondition", "SetBlackboard",
             *SWITCHES)
"""Compared tick by tick too, with the blackboard after each tick."""
COUNTING = st.builds("n += 1; n {} {}".format, st.sampled_from(["<", ">", "==", "!="]),
                     st.integers(1, 8))
"""Pre-conditions whose answer changes as the ticks go (``n`` counts the times asked)."""
SKIPPING = ("_skipIf", "_while")
"""The pre-conditions that skip a node (with ``RunOnce`` and ``Precondition
else="SKIPPED"``, what reports SKIPPED); the others are drawn too, less often."""


SWITCH_VARIABLES = ("{n}", "{n}", "{n}", "{a}", "{b}", "{c}", "2", None)
"""What a SwitchN compares: mostly ``n``, which counts the ticks, so the match changes while
a child runs."""
SWITCH_CASES = ("1", "2", "3", "4", "1", "2", "3", "4", "0", "1.0", "2.5", " 2", "+3", "0x4",
                "3x", "a", "", "{a}", "{b}", None)
"""Cases, as text (BT.CPP reads them with ``stoi``/``stod`` too) or entries; None: left out."""
COUNTER = "n = n >= 4 ? 1 : n + 1"
"""Run before the tree at every tick: 1, 2, 3, 4, 1, ... the values the cases hold most."""
SET_VALUES = ("1", "2", "2.5", "a", "", "{a}", "{b}", "{c}", "{n}")


@st.composite
def built_in_trees(draw, depth: int = 3, scripting: bool = False,
                   skipping: bool = False, switching: bool = False) -> Node:
    """Trees of the built-ins over scripted leaves; ``scripting``: with Script,
    ScriptCondition and Precondition; ``skipping``: also with what reports SKIPPED and the
    condition scripts (``_skipIf`` ...) on any node; ``switching``: with SwitchN and
    SetBlackboard (into ``a``, ``b`` or ``c``)."""
    numbers = count()
    tame = draw(st.integers(0, 3)) > 0  # most trees' scripts are numbers, which seldom fail

    def conditioned(node: Node) -> Node:
        if not skipping or draw(st.integers(0, 2)) > 0:
            return node
        names = draw(st.lists(st.sampled_from([*SKIPPING * 3, *CONDITION_SCRIPTS]),
                              min_size=1, max_size=2, unique=True))
        return replace(node, conditions=tuple(
            (name, draw(st.one_of(COUNTING, COUNTING, condition_script(name, tame))
                        if name in PRE_CONDITIONS else condition_script(name, tame)))
            for name in CONDITION_SCRIPTS if name in names))

    def leaf() -> Node:
        kind = draw(st.sampled_from(["L", "L", "L", "C", "AlwaysSuccess", "AlwaysFailure",
                                     *(["Script", "ScriptCondition"] * 2 * scripting),
                                     *(["SetBlackboard"] * 2 * switching)]))
        if kind == "C":
            return condition()
        if kind == "SetBlackboard":
            return Node(kind, (("value", draw(st.sampled_from(SET_VALUES))),
                               ("output_key", draw(st.sampled_from(ENTRY_KEYS)))))
        if kind in ("Script", "ScriptCondition"):
            return Node(kind, (("code", draw(scripts(kind == "ScriptCondition", tame))),))
        if kind != "L":
            return Node(kind)
        name = f"L{next(numbers)}"
        # in switching trees a halted skill shows on the blackboard (a literal: BT.CPP also
        # runs _onHalted while destroying a tree, where a throwing script ends the process)
        halted = (("_onHalted", f"halted := '{name}'"),) if switching and draw(
            st.booleans()) else ()
        return Node("Say", (("text", name),), name=name, conditions=halted)

    def condition() -> Node:
        number = next(numbers)
        return Node("TimeLeft", (("seconds", float(number)),), name=f"C{number}")

    def tree(level: int) -> Node:
        return conditioned(node(level))

    def node(level: int) -> Node:
        if level == 0 or draw(st.integers(0, 3)) == 0:
            return leaf()
        tag = draw(st.sampled_from(sorted(SAME_EVERY_TICK) + ["Precondition"] * 3 * scripting
                                   + [*SWITCHES, "Switch2", "Switch3"] * 2 * switching))
        if switching and level == depth:  # the top switches on n: its match changes
            tag = draw(st.sampled_from(sorted(SWITCHES)))
        if tag in SWITCHES:
            cases = [draw(st.sampled_from(SWITCH_CASES)) for _ in range(SWITCHES[tag])]
            variable = "{n}" if level == depth else draw(st.sampled_from(SWITCH_VARIABLES))
            ports = (("variable", variable),
                     *((f"case_{i}", case) for i, case in enumerate(cases, 1)))
            children = tuple(tree(level - 1) for _ in range(SWITCHES[tag] + 1))
            return Node(tag, tuple(port for port in ports if port[1] is not None), children)
        if tag == "Precondition":
            otherwise = ["SUCCESS", "FAILURE", "RUNNING", *["SKIPPED"] * 2 * skipping]
            ports = (("if", draw(scripts(True, tame))),
                     ("else", draw(st.sampled_from(otherwise))))
            return Node(tag, ports, (tree(level - 1),))
        if tag in ("Inverter", "ForceSuccess", "ForceFailure", "KeepRunningUntilFailure",
                   "RunOnce"):
            ports = ()
            if tag == "RunOnce":
                ports = (("then_skip", False),) if not skipping else draw(st.sampled_from(
                    [(), (("then_skip", False),), (("then_skip", True),)]))
            return Node(tag, ports, (tree(level - 1),))
        low = 2 if tag in ("IfThenElse", "WhileDoElse") else 1
        n = draw(st.integers(low, 3))
        children = tuple(tree(level - 1) for _ in range(n))
        if tag in ("IfThenElse", "WhileDoElse") and children[0].tag == "Say":
            # BT.CPP re-ticks a finished first child here without resetting it, and a skill
            # (an asynchronous action) then reports its old status unrun (docs/btcpp.md)
            children = (condition(), *children[1:])
        ports = ()
        if tag == "Parallel":
            ports = (("success_count", draw(st.integers(-1, n))),
                     ("failure_count", draw(st.integers(-1, n))))
        return Node(tag, ports, children)

    return tree(depth)


def leaf_scripts(root: Node) -> st.SearchStrategy[dict[str, str]]:
    """A script for each leaf: skills may run, conditions only hold or not."""
    return st.fixed_dictionaries({
        node.name: st.text("SFR" if node.tag == "Say" else "SF", min_size=1, max_size=4)
        for node in root.walk() if node.tag in ("Say", "TimeLeft")})


def board_of(board: Blackboard | None) -> dict[str, tuple[str, str] | None]:
    """Each variable as (kind, BT.CPP's text of it); None: created without a value."""
    if board is None:
        return {}
    kinds = {int: "int", float: "real", str: "string"}
    return {name: None if value is EMPTY else (kinds[type(value)], value if type(value) is str
                                               else str(value) if type(value) is int
                                               else "%f" % value)
            for name, value in board.values().items()}


def btcpp_board_of(board: bt.Blackboard) -> dict[str, tuple[str, str] | None]:
    values = {}
    for name in board.get_keys():
        try:
            text = board.get_string(name)
        except RuntimeError:  # created without a value
            values[name] = None
            continue
        try:
            board.get_bool(name)
            string = False
        except RuntimeError as error:  # only a string has no conversion at all to bool
            string = "no known safe conversion" in str(error)
        kind = "string" if string else "real" if "." in text or "n" in text else "int"
        values[name] = (kind, text.replace("-nan", "nan"))
    return values


def run_py_trees(root: Node, scripts: Mapping[str, str]) -> list[tuple]:
    played = Scripts(scripts)
    tree = build_tree(root, ScriptedLeaves(played))
    tree.setup_with_descendants()
    board = next((b.blackboard.root for b in tree.iterate()
                  if isinstance(b, (leaves.Script, decorators.Precondition,
                                    leaves.SetBlackboard, controls.Switch))), None)
    board = next((b.conditions.blackboard.root for b in tree.iterate()
                  if b.conditions is not None), board)
    rows = []
    for _ in range(TICKS):
        played.ticked = []
        try:
            tree.tick_once()
        except (ScriptError, TreeLogicError):  # BT.CPP throws out of the tick
            rows.append(("ERROR", played.ticked, board_of(board)))
            break
        rows.append((tree.tick_result.name, played.ticked, board_of(board)))
    return rows


def run_btcpp(root: Node, scripts: Mapping[str, str]) -> list[tuple]:
    played = Scripts(scripts)
    tree = load(export_robot(Plan((("robot1", root),)), "robot1"),
                lambda tag, name: STATUS[played.next(name)][1])
    scripted = any(node.tag in SCRIPTING or node.conditions for node in root.walk())
    rows = []
    for _ in range(TICKS):
        played.ticked = []
        board = tree.root_blackboard()
        try:
            status = tree.tick_exactly_once().name
        except RuntimeError:
            rows.append(("ERROR", played.ticked, btcpp_board_of(board) if scripted else {}))
            break
        rows.append((status, played.ticked, btcpp_board_of(board) if scripted else {}))
    return rows


def _compare(root: Node, scripts: Mapping[str, str]) -> None:
    parse_plan(export_robot(Plan((("robot1", root),)), "robot1"))  # a valid plan
    assert run_py_trees(root, scripts) == run_btcpp(root, scripts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_built_ins_tick_as_in_bt_cpp(data):
    root = data.draw(built_in_trees())
    _compare(root, data.draw(leaf_scripts(root), label="scripts"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_scripted_trees_tick_as_in_bt_cpp(data):
    """Script, ScriptCondition and Precondition among the built-ins, after a Script that
    sets the variables up (or not: a quarter of the trees start with an empty blackboard)."""
    root = data.draw(built_in_trees(scripting=True))
    if data.draw(st.integers(0, 3), label="set up") > 0:
        root = Node("Sequence", (), (Node("Script", (("code", "a := 0; b := 1"),)), root))
    _compare(root, data.draw(leaf_scripts(root), label="scripts"))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_skipping_trees_tick_as_in_bt_cpp(data):
    """SKIPPED (RunOnce, Precondition else="SKIPPED", ``_skipIf``, ``_while``) and the other
    condition scripts inside every control and decorator: the same result each tick
    (SKIPPED included, or the same tick throwing), leaves ticked and blackboard."""
    root = data.draw(built_in_trees(scripting=True, skipping=True))
    setup = "n := 0; a := 0; b := 1" if data.draw(st.integers(0, 3), label="set up") else \
        "n := 0"
    # after the first tick the set-up is skipped: the Sequence reports what ``root`` does
    root = Node("Sequence", (), (Node("RunOnce", (), (Node("Script", (("code", setup),)),)),
                                 root))
    _compare(root, data.draw(leaf_scripts(root), label="scripts"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_switching_trees_tick_as_in_bt_cpp(data):
    """SwitchN and SetBlackboard among the built-ins: a ReactiveSequence counts the ticks
    in ``n`` (:data:`COUNTER`) before the tree, so a Switch on ``{n}`` changes its match
    while a child runs (a halted skill writes ``halted``);
    ``a`` and ``b`` are set up by a script (or not) and rewritten by scripts and
    SetBlackboard, whose entries' types (BT.CPP's, fixed when the tree is loaded) decide
    what later writes do. Same result each tick, leaves ticked and blackboard."""
    root = data.draw(built_in_trees(scripting=data.draw(st.integers(0, 2)) == 0,
                                    skipping=data.draw(st.booleans()), switching=True))
    setup = "n := 0; a := 0; b := 1" if data.draw(st.integers(0, 2), label="set up") else \
        "n := 0"
    root = Node("Sequence", (), (
        Node("RunOnce", (), (Node("Script", (("code", setup),)),)),
        Node("ReactiveSequence", (), (Node("Script", (("code", COUNTER),)), root))))
    _compare(root, data.draw(leaf_scripts(root), label="scripts"))


def btcpp_runs(statements: Sequence[str]) -> tuple:
    """BT.CPP's reading of Scripts then a ScriptCondition: refused, or the condition's
    status (or an error) and the blackboard."""
    nodes = [f"<Script code={quoteattr(s)}/>" for s in statements[:-1]]
    nodes.append(f"<ScriptCondition code={quoteattr(statements[-1])}/>")
    factory = bt.BehaviorTreeFactory()
    try:
        tree = factory.create_tree_from_text(
            f'<root BTCPP_format="4"><BehaviorTree ID="T"><Sequence>{"".join(nodes)}'
            "</Sequence></BehaviorTree></root>")
    except RuntimeError:
        return ("REFUSED",)
    try:
        status = tree.tick_exactly_once().name
    except RuntimeError:
        status = "ERROR"
    return status, btcpp_board_of(tree.root_blackboard())


def our_runs(statements: Sequence[str]) -> tuple:
    try:
        parsed = [parse_script(s) for s in statements]
    except ScriptError:
        return ("REFUSED",)
    board = Blackboard()
    try:
        for script in parsed[:-1]:
            script.run(board)
        status = "SUCCESS" if truth(parsed[-1].run(board)) else "FAILURE"
    except ScriptError:
        status = "ERROR"
    return status, board_of(board)


def _script_runs(numbers: bool) -> st.SearchStrategy[list[str]]:
    """Mostly a Script that sets the variables up; up to two Scripts, then a
    ScriptCondition."""
    setup = st.sampled_from([[], ["a := 1; b := 2"], ["a := 1; b := 2"], ["a := 2.5; b := 0"]])
    return st.tuples(setup, st.lists(scripts(numbers=numbers), max_size=2),
                     st.one_of(scripts(numbers=numbers), scripts(True, numbers))).map(
        lambda parts: [*parts[0], *parts[1], parts[2]])


@settings(max_examples=1000, deadline=None)
@given(st.booleans().flatmap(_script_runs))
@example(["0 .. 0 && (a := 0)"])  # BT.CPP assigns a before the empty left side fails
def test_scripts_run_as_in_bt_cpp(statements):
    assert our_runs(statements) == btcpp_runs(statements)


_PIECES = ("(", ")", ";", "?", ":", ":=", "=", "+=", "/=", "+", "-", "*", "/", "!", "~", "&",
           "|", "^", "..", "&&", "||", "==", "!=", "<", ">=", "1", "+2", "2.5", "1e2", "0x1F",
           "'a'", '"b"', "a", "@a", "true", "false", "1.", "0x", "3foo", ".5", "1e", "truex",
           "and", " ", " ", " ", "\n", "\t", "\r", "\\\n", "é", "'é'", "#")


@settings(max_examples=1500, deadline=None)
@given(st.one_of(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=12).map("".join),
                 script_expressions().map(lambda s: s.replace(" ", ""))))
def test_bt_cpp_refuses_exactly_the_scripts_refused_here(text):
    """Except ``code=""``, which BT.CPP loads by accident (its cache of the last script read
    starts empty) and the validator refuses (docs/btcpp.md)."""
    assert (our_runs([text]) == ("REFUSED",)) == (btcpp_runs([text]) == ("REFUSED",))


SAYS = '<Say name="L0" text="L0"/><Say name="L1" text="L1"/><Say name="L2" text="L2"/>'


@pytest.mark.parametrize("xml, scripts", [
    ('<SequenceWithMemory><Say name="L0" text="L0"/><Say name="L1" text="L1"/>'
     '</SequenceWithMemory>', {"L0": "S", "L1": "FS"}),
    ('<IfThenElse><TimeLeft name="C0" seconds="0"/><Say name="L1" text="L1"/><Say name="L2" '
     'text="L2"/></IfThenElse>', {"C0": "SFF", "L1": "RS", "L2": "F"}),
    ('<IfThenElse><TimeLeft name="C0" seconds="0"/><Say name="L1" text="L1"/></IfThenElse>',
     {"C0": "FS", "L1": "RF"}),
    ('<WhileDoElse><TimeLeft name="C0" seconds="0"/><Say name="L1" text="L1"/><Say name="L2" '
     'text="L2"/></WhileDoElse>', {"C0": "SFS", "L1": "RR", "L2": "RS"}),
    ('<KeepRunningUntilFailure><Say name="L0" text="L0"/></KeepRunningUntilFailure>',
     {"L0": "SRSF"}),
    ('<Parallel success_count="1" failure_count="0"><Say name="L0" text="L0"/><AlwaysSuccess/>'
     '</Parallel>', {"L0": "F"}),  # BT.CPP compares failures with ==
    ('<Sequence><RunOnce then_skip="false"><Say name="L0" text="L0"/></RunOnce>'
     '<Say name="L1" text="L1"/></Sequence>', {"L0": "RF", "L1": "S"}),
    # a halt leaves BT.CPP's Precondition believing its child runs: the third tick runs L1
    # though n == 1 is false by then
    ('<Sequence><Script code="n := 0"/><KeepRunningUntilFailure><ReactiveFallback>'
     '<ScriptCondition code="n += 1; n == 2"/><Precondition if="n == 1"><Say name="L1" '
     'text="L1"/></Precondition></ReactiveFallback></KeepRunningUntilFailure></Sequence>',
     {"L1": "R"}),
    ('<Sequence><Script code="n := 0"/><Precondition if="n += 1; n &gt; 2" else="RUNNING">'
     '<Say name="L1" text="L1"/></Precondition></Sequence>', {"L1": "RS"}),
    ('<Sequence><Script code="n := 0"/><Precondition if="n = n + 1; n &lt; 3" else="SUCCESS">'
     '<Say name="L1" text="L1"/></Precondition></Sequence>', {"L1": "S"}),
    ('<Sequence><Say name="L0" text="L0"/><Script code="n := 1; n /= 2"/></Sequence>',
     {"L0": "RS"}),  # n holds an integer: BT.CPP throws at the second tick
    # SKIPPED: a control that returned SKIPPED stays RUNNING in BT.CPP; a reactive parent
    # halts it (its _onHalted runs) so that its _skipIf is asked again
    ('<Sequence><Script code="n := 0; h := 0"/><ReactiveSequence><Sequence _skipIf="n += 1; '
     'n == 3" _onHalted="h += 1"><AlwaysSuccess _skipIf="true"/></Sequence><ScriptCondition '
     'code="g := h; true"/><Say name="L1" text="L1"/></ReactiveSequence></Sequence>',
     {"L1": "R"}),
    # _while turning false halts the running node, which is then skipped
    ('<Sequence><Script code="n := 0"/><Say name="L0" text="L0" _while="n += 1; n &lt; 3" '
     '_onHalted="h := n"/><Say name="L1" text="L1"/></Sequence>', {"L0": "R", "L1": "S"}),
    ('<Sequence><Script code="n := 0"/><Fallback><Say name="L0" text="L0" _failureIf="n &gt; '
     '1" _onFailure="f := n"/><Say name="L1" text="L1" _successIf="n += 1; n == 2" '
     '_onSuccess="s := n" _post="p := n"/></Fallback></Sequence>', {"L0": "F", "L1": "F"}),
    ('<KeepRunningUntilFailure><Sequence><RunOnce><Say name="L0" text="L0"/></RunOnce>'
     '<Say name="L1" text="L1"/></Sequence></KeepRunningUntilFailure>', {"L0": "RS", "L1": "S"}),
    ('<Sequence><Script code="n := 0"/><Precondition if="n += 1; n == 2" else="SKIPPED">'
     '<Say name="L0" text="L0"/></Precondition></Sequence>', {"L0": "S"}),
    ('<WhileDoElse><AlwaysSuccess _skipIf="true"/><Say name="L0" text="L0"/></WhileDoElse>',
     {"L0": "S"}),  # BT.CPP 4.8 throws: the node would end its tick IDLE
    ('<IfThenElse><AlwaysSuccess _skipIf="true"/><Say name="L0" text="L0"/></IfThenElse>',
     {"L0": "S"}),
    # SwitchN: BT.CPP's stoi/stod reading (the longest number a text starts with), entries
    # typed when the tree is loaded, SetBlackboard's writes into each type
    ('<Switch2 variable="5" case_1="+5" case_2=" 5">' + SAYS + '</Switch2>', {"L0": "S"}),
    ('<Switch2 variable="0x10" case_1="16" case_2="2.5">' + SAYS + '</Switch2>', {"L0": "S"}),
    ('<Switch2 variable="2.9" case_1="2" case_2="3">' + SAYS + '</Switch2>', {"L0": "S"}),
    ('<Sequence><Script code="a := 2.5"/><Switch2 variable="{a}" case_1="2.500000" '
     'case_2="{b}">' + SAYS + '</Switch2></Sequence>', {"L0": "S"}),
    ('<Sequence><Script code="a := 1; a := \'x\'"/><Switch2 variable="{a}" case_1="x">'
     + SAYS + '</Switch2></Sequence>', {"L0": "S"}),  # std::string: 'x' stays text
    ('<Sequence><Script code="n := 0"/><ReactiveSequence><Script code="n += 1"/><Switch2 '
     'variable="{n}" case_1="1" case_2="2"><Say name="L0" text="L0" _onHalted="h := 1"/>'
     '<Say name="L1" text="L1" _onHalted="g := 1"/><Say name="L2" text="L2"/></Switch2>'
     '</ReactiveSequence></Sequence>', {"L0": "R", "L1": "R", "L2": "RS"}),
    ('<ReactiveSequence><Script code="n := 0"/><Switch2 variable="{n}" case_1="1" case_2="0">'
     '<Say name="L0" text="L0"/><AlwaysSuccess _skipIf="true"/><Say name="L2" text="L2"/>'
     '</Switch2></ReactiveSequence>', {"L0": "S", "L2": "S"}),
    ('<Sequence><Script code="a := 1"/><SetBlackboard value="5" output_key="a"/>'
     '<Script code="a := 3; a := \'y\'"/></Sequence>', {}),  # BT::Any: no text into it
    ('<Sequence><SetBlackboard value="5" output_key="a"/><ScriptCondition code="a == 5"/>'
     '<Script code="a := 7"/></Sequence>', {}),
    ('<Sequence><Script code="c := 1; b := 5"/><SetBlackboard value="{b}" output_key="c"/>'
     '<SetBlackboard value="{q}" output_key="d"/></Sequence>', {}),
    ('<Sequence><Switch2 variable="{c}"><AlwaysSuccess/><AlwaysSuccess/><AlwaysSuccess/>'
     '</Switch2><Script code="b := 5"/><SetBlackboard value="{b}" output_key="c"/></Sequence>',
     {}),  # a number into a std::string entry: BT.CPP throws
])
def test_each_new_built_in_ticks_as_in_bt_cpp(xml: str, scripts: Sequence[str]):
    _compare(parse_plan(plan_xml(xml)).tree("robot1"), scripts)


def test_subtree_blackboards_are_bt_cpps():
    """A subtree's ports are text in a blackboard of its own, a {port} passed on shares the
    outer entry, ``@`` reaches the tree's: the tree's blackboard ends as BT.CPP's."""
    library = load_library().with_document("Echo.xml", subtree(
        "Echo", '<Script code="v = v .. \'!\'; @echoes := v"/>',
        '<input_port name="v" type="int" min="0" max="9"/>')).with_document("Tally.xml", subtree(
            "Tally", '<Sequence><SubTree ID="Echo" v="{h}"/><Script code="@seen := @seen .. '
            'h .. n; n = \'z\'"/><ScriptCondition code="h == 3 || h == \'3!\'"/></Sequence>',
            '<input_port name="h" type="int" min="0" max="9"/><input_port name="n" '
            'type="string" default="x"/>'))
    plan = parse_plan(plan_xml('<Sequence><Script code="seen := \'\'"/><SubTree ID="Tally" '
                               'h="03"/><SubTree ID="Tally" h="3" n="y"/></Sequence>'), library)
    tree = build_tree(plan.tree("robot1"), ScriptedLeaves(Scripts({})), library)
    tree.tick_once()
    board = next(b.blackboard.root for b in tree.iterate() if isinstance(b, leaves.Script))
    btcpp = load(export_robot(plan, "robot1", library))
    assert btcpp.tick_exactly_once().name == tree.status.name == "SUCCESS"
    assert board_of(board) == btcpp_board_of(btcpp.root_blackboard()) == {
        "seen": ("string", "03!x3!y"), "echoes": ("string", "3!")}
