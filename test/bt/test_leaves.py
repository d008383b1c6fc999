"""BT.CPP's robot-free leaves: AlwaysSuccess, AlwaysFailure, Sleep, Script, ScriptCondition."""
from __future__ import annotations

import pytest

from llm_mars.errors import ScriptRuntimeError

from .scripted_robot import ScriptedRobot
from .tables import build, run_table


def test_always_success_and_failure():
    run_table(build("<AlwaysSuccess/>", ScriptedRobot()), [("S", {})] * 2)
    run_table(build("<AlwaysFailure/>", ScriptedRobot()), [("F", {})] * 2)


def test_sleep_is_running_from_its_first_tick_until_the_injected_clock_passes_msec():
    now = [0.0]
    root = build('<Sleep msec="250"/>', ScriptedRobot(), clock=lambda: now[0])
    times = [0.0, 0.25, 0.5, 0.5, 0.75]
    run_table(root, [("R", {}), ("S", {}), ("R", {}), ("R", {}), ("S", {})],
              before_tick=lambda tick: now.__setitem__(0, times[tick - 1]))


def test_sleep_of_zero_succeeds_at_once():
    run_table(build('<Sleep msec="0"/>', ScriptedRobot(), clock=lambda: 0.0), [("S", {})])


def test_scripts_share_their_trees_blackboard_and_each_tree_has_its_own():
    xml = ('<Sequence><Script code="n := 0"/><Script code="n += 1"/>'
           '<ScriptCondition code="n == 1"/></Sequence>')
    first, second = build(xml, ScriptedRobot()), build(xml, ScriptedRobot())
    run_table(first, [("S", {})] * 2)  # each tick sets n up again
    board = first.children[0].blackboard
    assert board.values() == {"n": 1} and second.children[0].blackboard.values() == {}


def test_script_condition_answers_by_the_scripts_last_value():
    run_table(build('<ScriptCondition code="x := 2; x &gt; 3"/>', ScriptedRobot()),
              [("F", {})])
    run_table(build('<ScriptCondition code="x := 2; x &gt; 1"/>', ScriptedRobot()),
              [("S", {})])


@pytest.mark.parametrize("xml", ['<Script code="n += 1"/>', '<ScriptCondition code="2"/>'])
def test_a_script_that_fails_as_it_runs_raises_out_of_the_tick_as_in_bt_cpp(xml):
    with pytest.raises(ScriptRuntimeError):
        build(xml, ScriptedRobot()).tick_once()
