"""BT.CPP's robot-free leaves: AlwaysSuccess, AlwaysFailure, Sleep."""
from __future__ import annotations

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
