"""BT.CPP's robot-free leaves: AlwaysSuccess, AlwaysFailure, Sleep, Script, ScriptCondition,
SetBlackboard."""
from __future__ import annotations

import pytest
from py_trees.common import Status

from llm_mars.bt.script import EMPTY, EntryType
from llm_mars.errors import ScriptRuntimeError, TreeLogicError

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


def _board_after(xml: str):
    root = build(xml, ScriptedRobot())
    root.tick_once()
    return root, next(b.blackboard for b in root.iterate() if hasattr(b, "blackboard"))


def test_set_blackboard_writes_text_that_scripts_read_as_bt_cpp_does():
    root, board = _board_after('<Sequence><SetBlackboard value="5" output_key="x"/>'
                               '<ScriptCondition code="x == 5"/></Sequence>')
    assert root.tick_result is Status.SUCCESS and board.values() == {"x": "5"}
    assert board.entry("x").type is EntryType.STRING_SET


def test_set_blackboard_copies_an_entry_and_fails_on_one_without_a_value():
    root, board = _board_after('<Sequence><Script code="a := 2.5"/><SetBlackboard value="{a}" '
                               'output_key="b"/></Sequence>')
    assert root.tick_result is Status.SUCCESS and board.values() == {"a": 2.5, "b": 2.5}
    root, board = _board_after('<SetBlackboard value="{a}" output_key="b"/>')
    assert root.tick_result is Status.FAILURE and board.values() == {"a": EMPTY, "b": EMPTY}


def test_set_blackboard_follows_bt_cpps_entry_types():
    """A script's entry takes no text (it is left empty, as BT.CPP's converter-less type
    leaves it); a text entry takes no number; a missing {key} throws."""
    root, board = _board_after('<Sequence><Script code="a := 1"/><SetBlackboard value="5" '
                               'output_key="a"/></Sequence>')
    assert board.values() == {"a": EMPTY} and board.entry("a").type is EntryType.ANY
    with pytest.raises(ScriptRuntimeError):
        build('<Sequence><SetBlackboard value="5" output_key="a"/><Script code="a := 7"/>'
              '</Sequence>', ScriptedRobot()).tick_once()
    with pytest.raises(TreeLogicError):
        build('<Sequence><Script code="a := 1"/><Switch2 variable="{b}"><AlwaysSuccess/>'
              '<AlwaysSuccess/><AlwaysSuccess/></Switch2><SetBlackboard value="{a}" '
              'output_key="b"/></Sequence>', ScriptedRobot()).tick_once()
