"""Control nodes against expected-status tables (BehaviorTree.CPP v4 semantics)."""
from __future__ import annotations

import pytest

from llm_mars.bt.controls import same_text, threshold
from llm_mars.bt.robot import SkillState
from llm_mars.bt.tick import SKIPPED
from llm_mars.errors import TreeLogicError

from .scripted_robot import FAIL, Run, ScriptedRobot
from .tables import build, run_table, starts


def test_sequence_resumes_the_running_child_and_restarts_after_failure():
    robot = ScriptedRobot({"Say text=c": [FAIL]}, default_ticks=1)
    root = build('<Sequence><Say text="a"/><Say text="b"/><Say text="c"/></Sequence>', robot)
    run_table(root, [
        ("R", {"a": "R", "b": "-", "c": "-"}),
        ("R", {"a": "S", "b": "R", "c": "-"}),
        ("F", {"a": "S", "b": "S", "c": "F"}),
    ])
    assert starts(robot, "a") == 1  # with memory: a is not re-ticked while b runs
    run_table(root, [("R", {"a": "R", "b": "-", "c": "-"})])  # a failure restarts from a
    assert starts(robot, "a") == 2


def test_reactive_sequence_rechecks_earlier_children_and_halts_the_running_one():
    robot = ScriptedRobot({"Say text=a": [Run(5)]}, {"IsAt": [True, True, False]})
    root = build('<ReactiveSequence><IsAt target="home"/><Say text="a"/></ReactiveSequence>',
                 robot)
    run_table(root, [
        ("R", {"home": "S", "a": "R"}),
        ("R", {"home": "S", "a": "R"}),
        ("F", {"home": "F", "a": "-"}),
    ])
    assert len(robot.checks) == 3
    assert starts(robot, "a") == 1  # still the same goal on tick 2
    assert robot.cancelled == ["Say"]


def test_fallback_resumes_the_running_child_and_stops_at_the_first_success():
    robot = ScriptedRobot({"Say text=a": [Run(1, SkillState.FAILURE)]}, default_ticks=1)
    root = build('<Fallback><Say text="a"/><Say text="b"/><Say text="c"/></Fallback>', robot)
    run_table(root, [
        ("R", {"a": "R", "b": "-", "c": "-"}),
        ("R", {"a": "F", "b": "R", "c": "-"}),
        ("S", {"b": "S", "c": "-"}),
    ])
    assert (starts(robot, "a"), starts(robot, "c")) == (1, 0)


def test_fallback_fails_when_every_child_fails():
    robot = ScriptedRobot({"Say": [FAIL, FAIL]})
    root = build('<Fallback><Say text="a"/><Say text="b"/></Fallback>', robot)
    run_table(root, [("F", {"a": "F", "b": "F"})])


def test_reactive_fallback_rechecks_the_condition_and_halts_the_running_action():
    robot = ScriptedRobot({"Say text=a": [Run(5)]}, {"IsAt": [False, False, True]})
    root = build('<ReactiveFallback><IsAt target="home"/><Say text="a"/></ReactiveFallback>',
                 robot)
    run_table(root, [
        ("R", {"home": "F", "a": "R"}),
        ("R", {"home": "F", "a": "R"}),
        ("S", {"home": "S", "a": "-"}),
    ])
    assert starts(robot, "a") == 1
    assert robot.cancelled == ["Say"]


def test_parallel_defaults_need_all_successes_and_do_not_retick_finished_children():
    robot = ScriptedRobot({"Say text=a": [Run(1)], "Say text=b": [Run(2)]})
    root = build('<Parallel><Say text="a"/><Say text="b"/></Parallel>', robot)
    run_table(root, [
        ("R", {"a": "R", "b": "R"}),
        ("R", {"a": "S", "b": "R"}),
        ("S", {"a": "S", "b": "S"}),
    ])
    assert starts(robot, "a") == 1


def test_parallel_first_failure_fails_and_halts_the_others():
    robot = ScriptedRobot({"Say text=a": [Run(1, SkillState.FAILURE)], "Say text=b": [Run(5)]})
    root = build('<Parallel><Say text="a"/><Say text="b"/></Parallel>', robot)
    run_table(root, [("R", {"a": "R", "b": "R"}), ("F", {"a": "F", "b": "-"})])
    assert robot.cancelled == ["Say"]


def test_parallel_success_threshold_is_checked_after_each_child():
    robot = ScriptedRobot({"Say text=a": [Run(0)], "Say text=b": [Run(5)]})
    root = build('<Parallel success_count="1"><Say text="a"/><Say text="b"/></Parallel>', robot)
    run_table(root, [("S", {"a": "S", "b": "-"})])
    assert starts(robot, "b") == 0  # BT.CPP returns before ticking b


def test_parallel_failure_threshold_counts_failures():
    robot = ScriptedRobot({"Say text=a": [FAIL], "Say text=b": [Run(1, SkillState.FAILURE)],
                           "Say text=c": [Run(5)]})
    root = build('<Parallel success_count="1" failure_count="2">'
                 '<Say text="a"/><Say text="b"/><Say text="c"/></Parallel>', robot)
    run_table(root, [("R", {"a": "F", "b": "R", "c": "R"}),
                     ("F", {"a": "F", "b": "F", "c": "-"})])


def test_parallel_fails_as_soon_as_success_is_impossible():
    robot = ScriptedRobot({"Say text=a": [FAIL], "Say text=b": [Run(5)]})
    root = build('<Parallel success_count="2" failure_count="-1">'
                 '<Say text="a"/><Say text="b"/></Parallel>', robot)
    run_table(root, [("F", {"a": "F", "b": "-"})])


@pytest.mark.parametrize("count, n, expected", [(-1, 3, 3), (-2, 3, 2), (0, 3, 0), (2, 3, 2),
                                                (-5, 3, 0)])
def test_threshold_follows_btcpp(count, n, expected):
    assert threshold(count, n) == expected


# --- SKIPPED (BT.CPP 4.8's rows; the oracle test checks them against BT.CPP itself) -------

SKIP = '<AlwaysSuccess _skipIf="true"/>'


@pytest.mark.parametrize("control, done", [("Sequence", "S"), ("Fallback", "F"),
                                           ("ReactiveSequence", "S"),
                                           ("ReactiveFallback", "F"),
                                           ("SequenceWithMemory", "S")])
def test_a_skipped_child_is_passed_over_and_all_skipped_is_skipped(control, done):
    result = "S" if done == "S" else "F"
    robot = ScriptedRobot({"Say": [Run(0, SkillState.SUCCESS if done == "S" else
                                       SkillState.FAILURE)]})
    root = build(f'<{control}>{SKIP}<Say text="a"/>{SKIP}</{control}>', robot)
    # SequenceWithMemory hands the tick back after a child that succeeded at once
    handed_back = [("R", {"a": done})] if control == "SequenceWithMemory" else []
    run_table(root, [*handed_back, (result, {"a": done})])
    root = build(f'<{control}>{SKIP}{SKIP}</{control}>', robot)
    run_table(root, [("K", {}), ("K", {})])


def test_a_sequence_skips_a_child_whose_while_turns_false_and_halts_it():
    robot = ScriptedRobot({"Say text=a": [Run(5)]})
    root = build('<Sequence><Script code="n := 0"/><Say text="a" _while="n += 1; n &lt; 3"/>'
                 '<Say text="b"/></Sequence>', robot)
    run_table(root, [("R", {"a": "R", "b": "-"}), ("R", {"a": "R", "b": "-"}),
                     ("S", {"a": "-", "b": "S"})])
    assert robot.cancelled == ["Say"]


def test_parallel_counts_skipped_children_towards_success_only_for_all():
    robot = ScriptedRobot(default_ticks=1)
    run_table(build(f'<Parallel>{SKIP}<Say text="a"/></Parallel>', robot),
              [("R", {"a": "R"}), ("S", {"a": "S"})])
    run_table(build(f'<Parallel success_count="2">{SKIP}<Say text="a"/></Parallel>', robot),
              [("R", {"a": "R"}), ("R", {"a": "S"}), ("R", {"a": "S"})])  # asked again
    run_table(build(f'<Parallel success_count="1">{SKIP}{SKIP}</Parallel>', robot),
              [("K", {})])


@pytest.mark.parametrize("control", ["IfThenElse", "WhileDoElse"])
def test_a_skipped_branch_is_skipped_and_a_skipped_condition_throws(control):
    root = build(f'<{control}><AlwaysSuccess/>{SKIP}<Say text="a"/></{control}>',
                 ScriptedRobot())
    run_table(root, [("K", {"a": "-"})])
    root = build(f'<{control}>{SKIP}<Say text="a"/></{control}>', ScriptedRobot())
    with pytest.raises(TreeLogicError):  # as BT.CPP 4.8 throws
        root.tick_once()


SWITCH = ('<Sequence><Script code="v := 1"/><Switch2 variable="{v}" case_1="1" case_2="2">'
          '<Say text="a"/><Say text="b"/><Say text="c"/></Switch2></Sequence>')


def test_switch_ticks_the_child_of_the_matching_case_else_the_last():
    robot = ScriptedRobot(default_ticks=1)
    run_table(build(SWITCH, robot), [("R", {"a": "R"}), ("S", {"a": "S"})])
    for value, leaf in (("2", "b"), ("'x'", "c"), ("1.0", "a")):
        robot = ScriptedRobot(default_ticks=0)
        run_table(build(SWITCH.replace("v := 1", f"v := {value}"), robot), [("S", {leaf: "S"})])


def test_switch_halts_the_running_child_when_the_variable_changes():
    robot = ScriptedRobot(default_ticks=5)
    xml = SWITCH.replace('<Sequence><Script code="v := 1"/>', '<Sequence><Script code="v := 0"/>'
                         '<ReactiveSequence><Script code="v += 1"/>').replace(
        "</Switch2></Sequence>", "</Switch2></ReactiveSequence></Sequence>")
    run_table(build(xml, robot), [("R", {"a": "R"}), ("R", {"a": "-", "b": "R"}),
                                  ("R", {"b": "-", "c": "R"})])
    assert robot.cancelled == ["Say", "Say"]


def test_switch_is_skipped_with_a_skipped_child_and_reads_no_variable_as_the_default():
    robot = ScriptedRobot(default_ticks=0)
    root = build(SWITCH.replace('<Say text="a"/>', '<Say text="a" _skipIf="true"/>'), robot)
    run_table(root, [("S", {"a": "-"})])  # the Sequence passes over its skipped Switch
    assert root.children[1].tick_result is SKIPPED and not robot.started
    run_table(build('<Switch2 case_1="" case_2=""><Say text="a"/><Say text="b"/><Say text="c"/>'
                    '</Switch2>', robot), [("S", {"c": "S"})])


@pytest.mark.parametrize("variable, case, equal", [
    ("5", "5", True), ("5", " +5", True), ("5x", "5", True), ("2.5", "2", True),
    ("2.5", "2.50000001", True), ("0x10", "16", True), ("a", "A", False), ("", "0", False),
    ("4294967297", "1", False), ("1e400", "1e401", True), ("1e400", "2e400", False),
    ("nan", "nan", True), ("nan", "NAN", False), ("1.5", "1.6", True), ("1.5", "2.5", False), ("0.5", ".5", True)])
def test_switch_compares_as_bt_cpps_check_string_equality(variable, case, equal):
    """BT.CPP's stoi then stod, each reading the longest number a text starts with (checked
    against BT.CPP in test_btcpp_oracle.py)."""
    assert same_text(variable, case) is equal
