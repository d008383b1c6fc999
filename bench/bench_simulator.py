"""How much faster than real time a match runs: every example mission and a full 100 s match.

Baseline: real time (a match played on a real field takes its simulated duration). Prints wall
time, simulated time and the speed-up for each run (best of ``--repeat``).

    .venv/bin/python bench/bench_simulator.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from llm_mars.bt.library import trees_dir
from llm_mars.session.match import run_plan

# Both robots shuttle across the field for the whole match.
FULL_MATCH = """<root BTCPP_format="4">
  <BehaviorTree ID="robot1"><Repeat num_cycles="-1"><Sequence>
    <MoveTo target="plate_5"/><MoveTo target="basket"/></Sequence></Repeat></BehaviorTree>
  <BehaviorTree ID="robot2"><Repeat num_cycles="-1"><Sequence>
    <MoveTo target="holder_3"/><MoveTo target="plate_1"/></Sequence></Repeat></BehaviorTree>
</root>"""


def best_of(repeat: int, plan: str) -> tuple[float, float]:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = run_plan(plan)
        best = min(best, time.perf_counter() - start)
    return best, result.state["time_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    runs = [("full match, both robots driving", FULL_MATCH)]
    runs += [(p.stem, p.read_text()) for p in sorted((trees_dir() / "missions").glob("*.xml"))]
    print(f"{'run':34} {'wall ms':>9} {'sim s':>7} {'x real time':>12}")
    for name, plan in runs:
        wall, sim = best_of(args.repeat, plan)
        print(f"{name:34} {wall * 1000:9.1f} {sim:7.1f} {sim / wall:12.0f}")


if __name__ == "__main__":
    main()
