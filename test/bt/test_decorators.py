"""Decorators against expected-status tables (BehaviorTree.CPP v4 semantics)."""
from __future__ import annotations

import pytest

from llm_mars.bt.robot import SkillState

from .scripted_robot import FAIL, SUCCEED, Run, ScriptedRobot
from .tables import build, run_table, starts


@pytest.mark.parametrize("run, rows", [
    (Run(1), [("R", {"a": "R"}), ("F", {"a": "S"})]),
    (Run(1, SkillState.FAILURE), [("R", {"a": "R"}), ("S", {"a": "F"})]),
])
def test_inverter_swaps_success_and_failure(run, rows):
    root = build('<Inverter><Say text="a"/></Inverter>', ScriptedRobot({"Say": [run]}))
    run_table(root, rows)


@pytest.mark.parametrize("run, rows", [
    (Run(1), [("R", {"a": "R"}), ("S", {"a": "S"})]),
    (Run(1, SkillState.FAILURE), [("R", {"a": "R"}), ("S", {"a": "F"})]),
])
def test_force_success_turns_failure_into_success(run, rows):
    root = build('<ForceSuccess><Say text="a"/></ForceSuccess>', ScriptedRobot({"Say": [run]}))
    run_table(root, rows)


def test_retry_reruns_after_failure_one_attempt_per_tick():
    robot = ScriptedRobot({"Say": [FAIL, FAIL, SUCCEED]})
    root = build('<RetryUntilSuccessful num_attempts="3"><Say text="a"/></RetryUntilSuccessful>',
                 robot)
    run_table(root, [("R", {"a": "F"}), ("R", {"a": "F"}), ("S", {"a": "S"})])
    assert starts(robot, "a") == 3


def test_retry_fails_after_the_last_attempt():
    robot = ScriptedRobot({"Say": [FAIL, FAIL, SUCCEED]})
    root = build('<RetryUntilSuccessful num_attempts="2"><Say text="a"/></RetryUntilSuccessful>',
                 robot)
    run_table(root, [("R", {"a": "F"}), ("F", {"a": "F"})])
    assert starts(robot, "a") == 2


def test_retry_forever_and_zero_attempts():
    robot = ScriptedRobot({"Say": [FAIL] * 6})
    root = build('<RetryUntilSuccessful num_attempts="-1"><Say text="a"/></RetryUntilSuccessful>',
                 robot)
    run_table(root, [("R", {"a": "F"})] * 6 + [("S", {"a": "S"})])
    robot = ScriptedRobot()
    root = build('<RetryUntilSuccessful num_attempts="0"><Say text="a"/></RetryUntilSuccessful>',
                 robot)
    run_table(root, [("F", {"a": "-"})])
    assert robot.started == []


def test_retry_around_an_always_false_condition_never_hangs_a_tick():
    robot = ScriptedRobot(conditions={"IsAt": False})
    root = build('<RetryUntilSuccessful num_attempts="-1"><IsAt target="home"/>'
                 '</RetryUntilSuccessful>', robot)
    run_table(root, [("R", {"home": "F"})] * 3)
    assert len(robot.checks) == 3


def test_repeat_counts_successes_one_cycle_per_tick():
    robot = ScriptedRobot()
    root = build('<Repeat num_cycles="3"><Say text="a"/></Repeat>', robot)
    run_table(root, [("R", {"a": "S"}), ("R", {"a": "S"}), ("S", {"a": "S"})])
    assert starts(robot, "a") == 3


def test_repeat_stops_on_failure_and_handles_zero_and_forever():
    robot = ScriptedRobot({"Say": [Run(1), FAIL]})
    root = build('<Repeat num_cycles="5"><Say text="a"/></Repeat>', robot)
    run_table(root, [("R", {"a": "R"}), ("R", {"a": "S"}), ("F", {"a": "F"})])
    robot = ScriptedRobot()
    run_table(build('<Repeat num_cycles="0"><Say text="a"/></Repeat>', robot), [("S", {})])
    assert robot.started == []
    root = build('<Repeat num_cycles="-1"><Say text="a"/></Repeat>', robot)
    run_table(root, [("R", {"a": "S"})] * 10)
    assert starts(robot, "a") == 10


def test_timeout_halts_the_child_when_the_injected_clock_passes_the_limit():
    now = [100.0]
    robot = ScriptedRobot({"Say": [Run(10), Run(10)]})
    root = build('<Timeout msec="1000"><Say text="a"/></Timeout>', robot, clock=lambda: now[0])
    times = [100.0, 100.5, 100.999, 101.0]
    run_table(root, [("R", {"a": "R"})] * 3 + [("F", {"a": "-"})],
              before_tick=lambda tick: now.__setitem__(0, times[tick - 1]))
    assert robot.cancelled == ["Say"]
    assert "timed out" in root.feedback_message
    # ticked again, the timer starts afresh with a new goal
    run_table(root, [("R", {"a": "R"})])
    assert starts(robot, "a") == 2


def test_timeout_passes_on_a_result_within_the_limit():
    now = [0.0]
    root = build('<Timeout msec="500"><Say text="a"/></Timeout>',
                 ScriptedRobot({"Say": [Run(1, SkillState.FAILURE)]}), clock=lambda: now[0])
    run_table(root, [("R", {"a": "R"}), ("F", {"a": "F"})],
              before_tick=lambda tick: now.__setitem__(0, 0.2 * tick))


def test_subtree_reports_its_body_status():
    robot = ScriptedRobot({"CollectCherries": [Run(1)], "DropCherries": [FAIL]})
    root = build('<SubTree ID="CherriesToBasket" holder="2"/>', robot)
    run_table(root, [("R", {"CollectCherries holder=2": "R"}),
                     ("F", {"CollectCherries holder=2": "S", "DropCherries": "F"})])
    assert root.name == "SubTree CherriesToBasket holder=2"


def test_delay_waits_on_the_injected_clock_then_runs_the_child():
    now = [0.0]
    robot = ScriptedRobot({"Say": [Run(1), Run(0)]})
    root = build('<Delay delay_msec="500"><Say text="a"/></Delay>', robot, clock=lambda: now[0])
    times = [0.0, 0.3, 0.5, 0.6, 0.7, 0.8]
    run_table(root, [("R", {"a": "-"}), ("R", {"a": "-"}), ("R", {"a": "R"}), ("S", {"a": "S"}),
                     ("R", {"a": "S"}), ("R", {"a": "S"})],
              before_tick=lambda tick: now.__setitem__(0, times[tick - 1]))
    assert starts(robot, "a") == 1  # after finishing, the wait starts over


def test_keep_running_until_failure_restarts_the_child_after_each_success():
    robot = ScriptedRobot({"Say": [SUCCEED, SUCCEED, FAIL]})
    root = build("<KeepRunningUntilFailure><Say text=\"a\"/></KeepRunningUntilFailure>", robot)
    run_table(root, [("R", {"a": "S"}), ("R", {"a": "S"}), ("F", {"a": "F"})])
    assert starts(robot, "a") == 3


def test_run_once_runs_the_child_once_for_the_trees_lifetime():
    robot = ScriptedRobot({"Say": [Run(1, SkillState.FAILURE)]})
    root = build('<RunOnce then_skip="false"><Say text="a"/></RunOnce>', robot)
    run_table(root, [("R", {"a": "R"}), ("F", {"a": "F"}), ("F", {"a": "F"}), ("F", {"a": "F"})])
    assert starts(robot, "a") == 1


def test_force_failure_turns_success_into_failure():
    root = build("<ForceFailure><Say text=\"a\"/></ForceFailure>",
                 ScriptedRobot({"Say": [Run(1)]}))
    run_table(root, [("R", {"a": "R"}), ("F", {"a": "S"})])


def test_precondition_asks_its_script_until_the_child_runs_then_lets_it_finish():
    robot = ScriptedRobot({"Say": [Run(2), Run(0)]})
    root = build('<Sequence><Script code="n := 0"/><KeepRunningUntilFailure><ReactiveSequence>'
                 '<Script code="n += 1"/><Precondition if="n == 1 || n == 4"><Say text="a"/>'
                 '</Precondition></ReactiveSequence></KeepRunningUntilFailure></Sequence>',
                 robot)
    # n is 1: the child starts; n is 2 and 3: it runs on unasked; then n is 4: it starts again
    run_table(root, [("R", {"a": "R"}), ("R", {"a": "R"}), ("R", {"a": "S"}),
                     ("R", {"a": "S"}), ("F", {})])
    assert starts(robot, "a") == 2


@pytest.mark.parametrize("otherwise, status", [("SUCCESS", "S"), ("RUNNING", "R"),
                                                (None, "F")])
def test_precondition_reports_else_without_ticking_the_child(otherwise, status):
    robot = ScriptedRobot()
    written = "" if otherwise is None else f' else="{otherwise}"'
    root = build(f'<Precondition if="1 &gt; 2"{written}><Say text="a"/></Precondition>', robot)
    run_table(root, [(status, {})] * 2)
    assert starts(robot, "a") == 0


# --- SKIPPED (BT.CPP 4.8's rows; the oracle test checks them against BT.CPP itself) -------

SKIP = '<AlwaysSuccess _skipIf="true"/>'


@pytest.mark.parametrize("decorator, result", [
    ("Inverter", "K"), ("ForceSuccess", "K"), ("ForceFailure", "K"),
    ('RetryUntilSuccessful num_attempts="3"', "K"), ('Repeat num_cycles="3"', "K"),
    ('Timeout msec="100"', "K"), ('RunOnce', "K"), ('Precondition if="true"', "K"),
    ("KeepRunningUntilFailure", "R")])
def test_decorators_pass_a_skipped_child_on(decorator, result):
    tag = decorator.split()[0]
    root = build(f"<{decorator}>{SKIP}</{tag}>", ScriptedRobot(), clock=lambda: 0.0)
    run_table(root, [(result, {})] * 2)


def test_run_once_is_skipped_after_its_run_by_default():
    robot = ScriptedRobot({"Say": [Run(1)]})
    root = build('<RunOnce><Say text="a"/></RunOnce>', robot)
    run_table(root, [("R", {"a": "R"}), ("S", {"a": "S"}), ("K", {"a": "S"}), ("K", {})])
    assert starts(robot, "a") == 1


def test_precondition_else_skipped_skips_without_ticking_the_child():
    robot = ScriptedRobot()
    root = build('<Sequence><Precondition if="false" else="SKIPPED"><Say text="a"/>'
                 '</Precondition><Say text="b"/></Sequence>', robot)
    run_table(root, [("S", {"a": "-", "b": "S"})])
    assert starts(robot, "a") == 0


def test_skip_if_is_asked_only_while_the_node_is_idle():
    """BT.CPP asks _skipIf before a node starts, not while it runs."""
    robot = ScriptedRobot({"Say": [Run(2)]})
    root = build('<Sequence><Script code="n := 0"/><Say text="a" _skipIf="n += 1; n &gt; 1"/>'
                 '</Sequence>', robot)
    run_table(root, [("R", {"a": "R"}), ("R", {"a": "R"}), ("S", {"a": "S"})])
