"""Operator load through the whole in-process system with the real model: utterances arriving
over time (batched by the engine across adapters and robots) against the same utterances sent
one at a time (each after the previous answer) as the baseline, in the same run.

    .venv/bin/python bench/bench_soak.py [--count 200] [--rate 1.6]
"""
from __future__ import annotations

import argparse

from llm_mars.system import isolate_ros_domain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--rate", type=float, default=1.6, help="arrivals per second")
    parser.add_argument("--baseline-count", type=int, default=60)
    args = parser.parse_args()
    from llm_mars.llm.machine import this_machine

    print(f"machine: {this_machine().describe()}", flush=True)
    isolate_ros_domain()
    from llm_mars.assistant import Assistant
    from llm_mars.operator_load import run_load, utterances
    from llm_mars.system import Operator, System, SystemConfig

    assistant = Assistant.load()
    try:
        for label, count, rate in (("one at a time (baseline)", args.baseline_count, None),
                                   (f"arrivals at {args.rate}/s", args.count, args.rate)):
            system = System(assistant, SystemConfig(time_scale=1.0, llm_timeout_s=60.0))
            operator = Operator(system)
            try:
                operator.wait_ready()
                report = run_load(operator, utterances(count, seed=1), rate)
            finally:
                system.close()
            print(f"{label}: {report.summary()}")
    finally:
        assistant.close()


if __name__ == "__main__":
    main()
