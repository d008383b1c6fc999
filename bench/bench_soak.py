"""Operator load through the whole in-process system with the real model: utterances arriving
over time (batched by the engine across adapters and robots) against the same utterances sent
one at a time (each after the previous answer) as the baseline, in the same run; or, with
``--soak N``, N utterances (commands, questions, stops and malformed messages) after a warm-up,
in chunks, with the live memory after each chunk (docs/reliability.md, "Load").

    .venv/bin/python bench/bench_soak.py [--count 200] [--rate 1.6 --rate 20]
    .venv/bin/python bench/bench_soak.py --soak 1000 [--warm-up 100] [--chunk 100]
"""
from __future__ import annotations

import argparse

from llm_mars.system import isolate_ros_domain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--rate", type=float, action="append",
                        help="arrivals per second (repeatable; default: 1.6, an operator's "
                             "pace, and 20, which saturates the system: what batching buys "
                             "shows only at saturation)")
    parser.add_argument("--baseline-count", type=int, default=60)
    parser.add_argument("--soak", type=int, default=0, help="utterances of one long soak")
    parser.add_argument("--warm-up", type=int, default=100)
    parser.add_argument("--chunk", type=int, default=100)
    args = parser.parse_args()
    from llm_mars.llm.machine import this_machine

    print(f"machine: {this_machine().describe()}", flush=True)
    isolate_ros_domain()
    from llm_mars.assistant import Assistant

    assistant = Assistant.load()
    try:
        if args.soak:
            soak(assistant, args)
        else:
            compare(assistant, args)
    finally:
        assistant.close()


def compare(assistant, args: argparse.Namespace) -> None:
    from llm_mars.operator_load import run_load, utterances
    from llm_mars.system import Operator, System, SystemConfig

    loads = [("one at a time (baseline)", args.baseline_count, None)]
    loads += [(f"arrivals at {rate}/s", args.count, rate) for rate in args.rate or (1.6, 20.0)]
    for label, count, rate in loads:
        system = System(assistant, SystemConfig(time_scale=1.0, llm_timeout_s=60.0))
        operator = Operator(system)
        try:
            operator.wait_ready()
            report = run_load(operator, utterances(count, seed=1), rate)
        finally:
            system.close()
        print(f"{label}: {report.summary()}")


def soak(assistant, args: argparse.Namespace) -> None:
    from llm_mars.operator_load import run_load, utterances
    from llm_mars.system import Operator, System, SystemConfig

    system = System(assistant, SystemConfig(time_scale=1.0, llm_timeout_s=60.0))
    operator = Operator(system)
    try:
        operator.wait_ready()
        warm_up = run_load(operator, utterances(args.warm_up, seed=2), args.rate)
        print(f"warm-up: {warm_up.summary()}", flush=True)
        items = utterances(args.soak, seed=1)
        sent = answered = lost = duplicated = 0
        rss = []
        for start in range(0, len(items), args.chunk):
            report = run_load(operator, items[start:start + args.chunk], args.rate)
            sent, answered = sent + report.sent, answered + report.answered
            lost, duplicated = lost + len(report.lost), duplicated + len(report.duplicated)
            rss.append(report.rss_end_mb)
            print(f"{start + 1}-{start + report.sent}: {report.summary()}", flush=True)
        print(f"soak: {sent} sent, {answered} answered, {lost} lost, {duplicated} duplicated; "
              f"live RSS after each {args.chunk}: {', '.join(f'{r:.0f}' for r in rss)} MB; "
              f"spread {max(rss) - min(rss):.0f} MB", flush=True)
    finally:
        system.close()


if __name__ == "__main__":
    main()
