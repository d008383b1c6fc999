"""Where a command's time to a validated plan goes: generation (the greedy and clause plans, the
sampled alternatives) or the chooser's scoring of the candidates.

Plans each command once with the bundled model and the shipped adapters, as the system runs
(:meth:`llm_mars.assistant.Assistant.plan`), and records per command the total time, how
many generation requests it made and when the last one finished, and each call of the chooser
(:meth:`Assistant._choose`) with its number of candidates and its duration. The chooser scores
every distinct candidate text twice (log P(command | plan) under ``describe``, log P(plan |
command) under ``bt``): time spent there is prefill. The scoring requests' tokens are counted:
in all, and those whose keys and values were computed rather than reused (the system prompt's
prefix cache; a prompt opening shared with another request, ``scheduler.MIN_SHARED_TOKENS``).

    .venv/bin/python bench/bench_plan_stages.py [--cases test/eval/commands.jsonl]
                                                [--ids c001,c134] [--slowest N] [--report R]
                                                [--baseline]

``--baseline`` plans every command a second time right after, with no prompt shared between
requests beyond the system prompts (the engine before that sharing), and prints both.

``--slowest N`` with ``--report R`` (an ``llm-mars eval plans --json`` report of the same
cases) plans the N commands that took longest there; ``--ids`` names cases. The first command
planned also pays the process's first grammar compile, so a warm-up command is planned first
and not counted (with sampled alternatives, so that the chooser's first scores are paid there too).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from llm_mars.assistant import Assistant
from llm_mars.evaluation.expectations import load_command_cases
from llm_mars.llm import scheduler

WARM_UP = "robot 1 go home"


def _slowest(report: Path, n: int) -> list[str]:
    results = json.loads(report.read_text())["results"]
    took = {r["id"]: sum(c["latency_s"] for c in r["calls"]) for r in results}
    return sorted(took, key=took.get, reverse=True)[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=Path, default=Path("test/eval/commands.jsonl"))
    parser.add_argument("--ids", help="comma-separated case ids")
    parser.add_argument("--slowest", type=int, default=0)
    parser.add_argument("--report", type=Path, help="an eval report of the same cases")
    parser.add_argument("--baseline", action="store_true",
                        help="also plan each command with no prompt shared between requests")
    args = parser.parse_args()
    cases = {c.id: c for c in load_command_cases(args.cases)}
    ids = args.ids.split(",") if args.ids else _slowest(args.report, args.slowest) \
        if args.report and args.slowest else list(cases)
    assistant = Assistant.load()
    submit, choose = assistant._submit_plan, assistant._choose
    engine_submit = assistant.engine.submit
    log: dict[str, list] = {"requests": [], "done": [], "choices": [], "scores": []}

    def timed_submit(*a, **k):
        future = submit(*a, **k)
        log["requests"].append(future)
        future.add_done_callback(lambda _: log["done"].append(time.perf_counter()))
        return future

    def timed_choose(said, candidates):
        start = time.perf_counter()
        kept = choose(said, candidates)
        log["choices"].append((len(candidates), time.perf_counter() - start))
        return kept

    def counted_submit(request):
        future = engine_submit(request)
        if request.score_target is not None:
            log["scores"].append(future)
        return future

    def run(case_id: str, label: str) -> None:
        log.update(requests=[], done=[], choices=[], scores=[])
        start = time.perf_counter()
        assistant.plan(cases[case_id].commands[0])
        total = time.perf_counter() - start
        generated = max(log["done"], default=start) - start
        choosing = sum(s for _, s in log["choices"])
        choices = ", ".join(f"{n}: {s:.2f}" for n, s in log["choices"]) or "-"
        scored = [f.result() for f in log["scores"] if f.exception() is None]
        tokens = sum(r.prompt_tokens + r.scored_tokens for r in scored)
        computed = tokens - sum(r.cached_prompt_tokens for r in scored)
        print(f"{case_id}  {label:8s}  {total:7.2f}  {len(log['requests']):8d}  {generated:17.2f}  "
              f"{choices:23s}  {choosing / total:6.0%}  {computed:5d} / {tokens:5d}")

    assistant._submit_plan, assistant._choose = timed_submit, timed_choose
    assistant.engine.submit = counted_submit
    sharing = scheduler.MIN_SHARED_TOKENS
    try:
        assistant.sample_every = True  # the warm-up goes through the chooser's first scoring too
        assistant.plan(WARM_UP)
        assistant.sample_every = False
        print("case  sharing   total s  requests  generation done s  choices (candidates: s)  "
              "chooser share  scoring tokens computed / in all")
        for case_id in ids:
            scheduler.MIN_SHARED_TOKENS = sharing
            run(case_id, "prompts")
            if args.baseline:
                scheduler.MIN_SHARED_TOKENS = 1 << 30  # no prompt long enough to share
                run(case_id, "system")
        stats = getattr(assistant.engine, "stats", {})
        if "threads" in stats:
            print(f"engine threads at the end: decode steps {stats['threads']}, big prefill steps "
                  f"{stats['prefill_threads']} (llm_mars.llm.threads)")
    finally:
        scheduler.MIN_SHARED_TOKENS = sharing
        assistant.close()


if __name__ == "__main__":
    main()
