"""Clause-by-clause planning on commands the development set does not hold.

Held-out generated commands of 2-4 tasks (``plan_data`` with a seed of its own, none of the
training commands), planned by the assistant as the system runs and, as the baseline in the
same run, with whole-command planning only (``decompose=False``). A plan is right when the
final state it leaves on the simulated field equals the one the generator's target plan
leaves (plates, basket, holders, quadrants, score, each robot's place, load and funny action).
Prints right/total per task count for both, and how many plans were joined from clauses.

    .venv/bin/python bench/bench_clauses.py [--n 100] [--seed 777]
"""
from __future__ import annotations

import argparse
import time
from collections import defaultdict
from typing import Any

from llm_mars.assistant import Assistant
from llm_mars.bt.model import Plan
from llm_mars.bt.parser import parse_bt_output
from llm_mars.errors import LlmMarsError
from llm_mars.session.match import Match
from llm_mars.training.plan_data import generate_plan_examples
from llm_mars.training.train import default_config_path, load_config, training_pairs


def outcome(plan: Plan) -> dict[str, Any]:
    match = Match(seed=0)
    match.execute(plan)
    state = match.state_dict()
    kept = {key: state[key] for key in ("plates", "basket", "holders", "quadrants", "score")}
    kept["robots"] = {name: {key: robot[key] for key in ("location", "carrying", "funny_action")}
                      for name, robot in state["robots"].items()}
    return kept


def held_out(n: int, seed: int) -> list:
    """``n`` executable generated commands of 2+ tasks that the bt adapter was not trained on."""
    config = load_config(default_config_path("bt"))
    trained = {pair.user.lower() for pair in training_pairs(config)}
    pool = generate_plan_examples(n * 4, seed, 0.0, exclude=trained)
    return [e for e in pool if e.executable and e.tasks >= 2][:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="commands (default 100)")
    parser.add_argument("--seed", type=int, default=777, help="generator seed (default 777)")
    args = parser.parse_args()
    examples = held_out(args.n, args.seed)
    system = Assistant.load()
    whole = Assistant(system.engine, decompose=False)
    whole._system = system._system  # the same adapters' prompts
    right: dict[str, dict[int, int]] = {"clauses": defaultdict(int), "whole": defaultdict(int)}
    total: dict[int, int] = defaultdict(int)
    joined = 0
    start = time.perf_counter()
    try:
        for example in examples:
            target = outcome(parse_bt_output(example.output))
            total[example.tasks] += 1
            for name, assistant in (("clauses", system), ("whole", whole)):
                try:
                    planned = assistant.plan(example.command)
                except LlmMarsError:
                    continue
                joined += name == "clauses" and planned.source == "clauses"
                if isinstance(planned.result, Plan) and outcome(planned.result) == target:
                    right[name][example.tasks] += 1
    finally:
        system.close()
    print(f"{len(examples)} held-out generated commands (seed {args.seed}), "
          f"{time.perf_counter() - start:.0f} s")
    for name in ("clauses", "whole"):
        rows = ", ".join(f"{k} tasks {right[name][k]}/{total[k]}" for k in sorted(total))
        print(f"{name:>8}: {sum(right[name].values())}/{len(examples)} right ({rows})")
    print(f"plans joined from clause plans: {joined}")


if __name__ == "__main__":
    main()
