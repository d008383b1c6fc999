"""Per-tick cost of a 50-node llm_mars behavior tree against stock py_trees of the same shape.

The tree is a ``Parallel`` of 7 ``ReactiveSequence`` branches, each re-checking 5 conditions
and polling 1 running skill, so every tick visits all 50 nodes (the worst case: nothing is
skipped by memory). The baseline, measured in the same run, is the same shape built directly
from py_trees ``Parallel(SuccessOnAll)`` / ``Sequence(memory=False)`` with the stock
``Success`` and ``Running`` behaviours (no robot calls).

    .venv/bin/python bench/bench_bt_tick.py [--ticks N] [--repeats R]
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Mapping
from typing import Any

import py_trees

from llm_mars.bt.builder import build_tree
from llm_mars.bt.library import SubtreeLibrary
from llm_mars.bt.parser import parse_plan
from llm_mars.bt.robot import RobotInterface, SkillOutcome, SkillState

BRANCHES, CONDITIONS = 7, 5
RUNNING = SkillOutcome(SkillState.RUNNING)


class BusyRobot(RobotInterface):
    """Conditions hold and every skill keeps running: the tree is ticked in full each time."""

    name = "robot1"

    def start_skill(self, skill: str, args: Mapping[str, Any]) -> int:
        return 0

    def skill_outcome(self, goal_id: int) -> SkillOutcome:
        return RUNNING

    def cancel_skill(self, goal_id: int) -> None:
        pass

    def check_condition(self, condition: str, args: Mapping[str, Any]) -> bool:
        return True


def plan_text() -> str:
    branch = ("<ReactiveSequence>" + '<IsAt target="home"/>' * CONDITIONS
              + '<MoveTo target="basket"/></ReactiveSequence>')
    return ('<root BTCPP_format="4"><BehaviorTree ID="robot1"><Parallel>'
            + branch * BRANCHES + "</Parallel></BehaviorTree></root>")


def llm_mars_tree() -> py_trees.behaviour.Behaviour:
    plan = parse_plan(plan_text(), SubtreeLibrary())
    return build_tree(plan.tree("robot1"), BusyRobot(), SubtreeLibrary())


def stock_tree() -> py_trees.behaviour.Behaviour:
    branches = [
        py_trees.composites.Sequence("ReactiveSequence", memory=False, children=[
            *(py_trees.behaviours.Success(f"IsAt{i}") for i in range(CONDITIONS)),
            py_trees.behaviours.Running("MoveTo"),
        ])
        for _ in range(BRANCHES)
    ]
    return py_trees.composites.Parallel(
        "Parallel", policy=py_trees.common.ParallelPolicy.SuccessOnAll(synchronise=False),
        children=branches)


def per_tick_us(root: py_trees.behaviour.Behaviour, ticks: int, repeats: int) -> float:
    root.tick_once()  # first tick starts the goals; measure the steady state
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(ticks):
            root.tick_once()
        samples.append((time.perf_counter() - start) / ticks * 1e6)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    ours, stock = llm_mars_tree(), stock_tree()
    sizes = (len(list(ours.iterate())), len(list(stock.iterate())))
    assert sizes == (50, 50), sizes
    start = time.perf_counter()
    for _ in range(20):
        llm_mars_tree()
    parse_build_ms = (time.perf_counter() - start) / 20 * 1e3

    ours_us = per_tick_us(ours, args.ticks, args.repeats)
    stock_us = per_tick_us(stock, args.ticks, args.repeats)
    print(f"50-node tree, {args.ticks} ticks x {args.repeats} repeats (median):")
    print(f"  llm_mars (BT.CPP semantics, robot calls): {ours_us:8.1f} us/tick")
    print(f"  stock py_trees, same shape (baseline):    {stock_us:8.1f} us/tick")
    print(f"  ratio llm_mars / baseline:                {ours_us / stock_us:8.2f}")
    print(f"  parse + validate + build the plan:        {parse_build_ms:8.2f} ms")


if __name__ == "__main__":
    main()
