"""Which chooser keeps the better plan: today's mention count or the describe adapter's score.

When the assistant has several candidate plans of a command (the greedy plan, the clause
plans joined, sampled plans), one is kept (:data:`llm_mars.assistant.CHOOSERS`):

* ``mentions``: the plan that leaves out fewest of the numbers, colours, robots, places and
  actions the words mention (a rule list, :mod:`llm_mars.language.mentions`);
* ``describe``: the likeliest under the noisy channel, log P(command | plan) under the
  ``describe`` adapter (the bt data reversed) plus log P(plan | command) under ``bt``.

Both run in one process over the same cases, on one engine, and see exactly the same
candidates: every generation request is answered once and its result reused for the other
chooser (the scores are the only requests one chooser makes and the other does not), so a
difference in accuracy is the choice alone. Latency is each chooser's own (its scores
included). ``--configs`` can add ``describe-every``: the describe chooser with plans sampled
for every command (``Assistant(sample_every=True)``), not only for those whose plan leaves out
a mention, so that the score alone decides; its samples are the same seeded requests, so the
commands the mention list already sampled cost nothing twice, and the samples it adds are
requests no other configuration makes. Case sets (``--sets``, default
held-out,hand-made): ``held-out``, the held-out phrasing families (``llm-mars eval
plans-held-out``); ``hand-made``, ``test/eval/handmade/commands.jsonl``; ``dev``, the
development set ``test/eval/commands.jsonl``.

    .venv/bin/python bench/bench_rerank.py [--adapters DIR] [--sets held-out,hand-made,dev]
                                           [--count 300] [--limit N] [--json OUT]
                                           [--reports DIR] [--configs mentions,describe]
                                           [--concurrency N]

``--reports DIR`` also writes each set's report per configuration as ``llm-mars eval ...
--json`` does (``DIR/SET-CONFIG.json``). The first configuration makes the generations and the
later ones reuse them, so only the first one's latencies are those of a run alone; the
reports of ``mentions`` and ``describe`` are those of ``llm-mars eval ... --chooser NAME``.
``--concurrency N`` runs N cases at once (``llm-mars eval --concurrency``): the same
comparison sooner, with every latency under load.

``--adapters`` must hold bt/, qa/ and describe/ (``llm-mars train describe --out DIR``).
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path

from llm_mars.assistant import CHOOSERS, TIMEOUT_S, Assistant
from llm_mars.cli.evaluation import at_least_one, describe_measurement
from llm_mars.evaluation.evaluate import (PlanReport, evaluate_plans, report_json,
                                         under_load)
from llm_mars.evaluation.expectations import load_command_cases
from llm_mars.llm.backends import make_backend
from llm_mars.llm.requests import DESCRIBE, GenerationRequest
from llm_mars.training.plan_held_out import held_out_plan_cases

ROOT = Path(__file__).resolve().parents[1]
SETS = ("held-out", "hand-made", "dev")
EVERY = "-every"
CONFIGS = (*CHOOSERS, DESCRIBE + EVERY)
"""With the mention count a sample never beats a plan that leaves out nothing, so only the
describe chooser has an ``-every`` form."""


class SharedGenerations:
    """An engine front that answers a generation request it has seen before with the first
    answer (requests differ only in their deadline), so that both choosers choose among the
    same candidates. Scoring requests always go to the engine."""

    def __init__(self, engine):
        self.engine = engine
        self.adapters = engine.adapters
        self._seen: dict[GenerationRequest, Future] = {}
        self._lock = threading.Lock()

    def submit(self, request: GenerationRequest) -> Future:
        if request.score_target is not None:
            return self.engine.submit(request)
        key = replace(request, deadline=None)
        with self._lock:
            if key not in self._seen:
                self._seen[key] = self.engine.submit(request)
            return self._seen[key]


def _cases(name: str, count: int, seed: int) -> list:
    if name == "held-out":
        return held_out_plan_cases(count, seed)
    folder = ROOT / "test" / "eval"
    return load_command_cases(folder / "handmade" / "commands.jsonl" if name == "hand-made"
                              else folder / "commands.jsonl")


def _row(name: str, chooser: str, report: PlanReport) -> str:
    s = report.summary()
    pct = lambda rate: "-" if rate is None else f"{100 * rate:.1f} %"  # noqa: E731
    return (f"| {name} | {chooser} | {pct(s['execution_accuracy_1_2_tasks'])} | "
            f"{pct(s['execution_accuracy'])} | {s['impossible_passed']}/{s['impossible_cases']} | "
            f"{s['possible_refused']} | {s['latency_p50_s']} s | {s['latency_p95_s']} s"
            f"{under_load(s['concurrency'])} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--adapters", type=Path, default=None,
                        help="folder with bt/, qa/ and describe/ (default: the shipped ones)")
    parser.add_argument("--count", type=int, default=300, help="held-out cases (default 300)")
    parser.add_argument("--seed", type=int, default=11, help="held-out seed (default 11)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N of each set")
    parser.add_argument("--sets", default=",".join(SETS[:2]),
                        help=f"comma-separated, of {', '.join(SETS)} (default held-out,hand-made)")
    parser.add_argument("--json", type=Path, default=None, help="write the comparison here")
    parser.add_argument("--reports", type=Path, default=None,
                        help="write each set's eval report per chooser into this folder")
    parser.add_argument("--configs", default=",".join(CHOOSERS),
                        help=f"comma-separated, in order, of {', '.join(CONFIGS)} "
                             f"(default {','.join(CHOOSERS)})")
    parser.add_argument("--concurrency", type=at_least_one, default=1, metavar="N",
                        help="cases at once (default 1; more: latencies under load)")
    args = parser.parse_args()
    names = args.sets.split(",")
    if set(names) - set(SETS):
        parser.error(f"unknown sets {sorted(set(names) - set(SETS))}; choose from {SETS}")
    configs = args.configs.split(",")
    if set(configs) - set(CONFIGS) or len(set(configs)) != len(configs):
        parser.error(f"--configs: distinct names of {CONFIGS}, not {args.configs!r}")

    config = Assistant.backend_config(adapters_dir=args.adapters)
    engine = SharedGenerations(make_backend(config))
    rows, out = [], {"sets": {}}
    try:
        for name in names:
            cases = _cases(name, args.count, args.seed)[:args.limit]
            reports = {}
            for label in configs:
                assistant = Assistant(engine, dict(config.adapter_dirs),
                                      chooser=label.removesuffix(EVERY),
                                      sample_every=label.endswith(EVERY),
                                      timeout_s=TIMEOUT_S * args.concurrency)
                reports[label] = evaluate_plans(assistant, cases,
                                                concurrency=args.concurrency)
                rows.append(_row(name, label, reports[label]))
                print(rows[-1], flush=True)
                if args.reports:
                    args.reports.mkdir(parents=True, exist_ok=True)
                    (args.reports / f"{name}-{label}.json").write_text(json.dumps(
                        {**report_json(reports[label]), "measured_on": describe_measurement()},
                        indent=1) + "\n")
            passed = {c: {r.id: r.passed for r in reports[c].results} for c in configs}
            only = {c: sorted(i for i in passed[c] if passed[c][i] and not any(
                passed[o][i] for o in configs if o != c)) for c in configs}
            print(f"{name}: passed by one configuration only: "
                  + ", ".join(f"{c} {len(only[c])}" for c in configs), flush=True)
            out["sets"][name] = {c: {"summary": reports[c].summary(), "only_this_passed": only[c]}
                                 for c in configs}
    finally:
        engine.engine.close()
    print("\n| cases | chooser | 1-2 tasks | all plan cases | impossible replied | "
          "possible refused | p50 | p95 |\n|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    out["measured_on"] = describe_measurement()
    print(f"measured on: {out['measured_on']}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
