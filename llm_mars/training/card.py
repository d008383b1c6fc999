"""The model card (README.md) of a trained adapter, written from what the folder records.

Everything in the card comes from files, never from memory: ``train.yaml`` (data and
hyperparameters), ``train_stats.json`` (steps, time, throughput, loss) and, when given, the
JSON reports of ``llm-mars eval ... --json`` (scores on the development set). Rewriting the
card after a retraining or a new evaluation therefore cannot leave stale numbers behind.

    python -m llm_mars.training.card models/adapters/bt --eval reports/plans.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from collections.abc import Callable
from typing import Any

import yaml

from llm_mars.evaluation.evaluate import under_load

PURPOSE = {
    "bt": "command -> BehaviorTree.CPP v4 plan (one tree per addressed robot) or "
          "`<reply>reason</reply>` when the skills cannot do the command",
    "qa": "operator question (with the previous query of the session, for a follow-up) -> "
          "state query (`llm_mars.qa.query`), decoded under the query grammar; the answer is "
          "worked out from the state and worded by `llm_mars.qa.answers`, never by the model",
    "describe": "BehaviorTree plan -> the command it carries out; never generated from: the "
                "assistant's `describe` chooser scores each candidate plan by log P(command | "
                "plan) (plus log P(plan | command) under bt); its scores are the chooser "
                "comparison of `bench/bench_rerank.py`",
}
DATA = {
    "bt": "`llm_mars.training.plan_data.generate_plan_examples` (seeded generator; not tuned on "
          "the development set)",
    "qa": "`llm_mars.training.query_data.generate_query_examples` (seeded phrasing families; "
          "the held-out families never reach training)",
    "describe": "the bt data reversed: each plan of "
                "`llm_mars.training.plan_data.generate_plan_examples` (no replies) with its "
                "command",
}


def _pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{100 * rate:.1f} %"


def _met(value: Any, ok: Callable[[Any], bool]) -> str:
    """Whether a figure meets its target; ``n/a`` when there is no figure (nothing measured)."""
    if value is None:
        return "n/a"
    return "met" if ok(value) else "**not met**"


def _latency_met(summary: dict[str, Any], ok: Callable[[Any], bool]) -> str:
    """A latency target is judged only on a report that ran its cases one at a time."""
    if summary.get("concurrency", 1) > 1:
        return f"not judged ({summary['concurrency']} cases at once)"
    return _met(summary["latency_p50_s"], ok)


def _latencies(summary: dict[str, Any]) -> str:
    return (f"p50 {summary['latency_p50_s']} s, p95 {summary['latency_p95_s']} s"
            f"{under_load(summary.get('concurrency', 1))}")


def _comparison_lines(report: dict[str, Any]) -> list[str]:
    """The chooser comparison of ``bench/bench_rerank.py --json``: per case set and chooser."""
    lines = ["| cases | chooser | 1-2 tasks | all plan cases | passed by this chooser only | "
             "latency |", "|---|---|---|---|---|---|"]
    for name, choosers in report["sets"].items():
        for chooser, result in choosers.items():
            s = result["summary"]
            lines.append(f"| {name} | {chooser} | {_pct(s['execution_accuracy_1_2_tasks'])} | "
                         f"{_pct(s['execution_accuracy'])} | {len(result['only_this_passed'])} "
                         f"| {_latencies(s)} |")
    return lines


def _score_lines(report: dict[str, Any]) -> list[str]:
    if "sets" in report:
        return _comparison_lines(report)
    s = report["summary"]
    if "factual_accuracy" in s:
        wrong = s.get("yes_no_contradictions")
        return [f"- QA factual accuracy: **{_pct(s['factual_accuracy'])}** of {s['questions']} "
                "questions",
                f"- yes/no answers that contradict the state: "
                f"{'not recorded' if wrong is None else wrong}",
                f"- latency per answer: {_latencies(s)}",
                f"- targets: factual accuracy >= 97 % "
                f"{_met(s['factual_accuracy'], lambda v: v >= 0.97)}; no contradicting yes/no "
                f"{_met(wrong, lambda n: n == 0)}; answer p50 <= 0.8 s "
                f"{_latency_met(s, lambda v: v <= 0.8)}"]
    rows = [f"| {n} | {r['passed']}/{r['total']} | {_pct(r['rate'])} |"
            for n, r in s["execution_accuracy_by_tasks"].items()]
    return [
        "| tasks | passed | execution accuracy |", "|---|---|---|", *rows, "",
        f"- 1-2 tasks: **{_pct(s['execution_accuracy_1_2_tasks'])}**; all plan cases: "
        f"**{_pct(s['execution_accuracy'])}**",
        f"- valid outputs (plan or reply that parse and validate): {s['valid_outputs']}/"
        f"{s['generations']} ({_pct(s['validity_rate'])})",
        f"- impossible commands answered with a reply: {s['impossible_with_reply']}/"
        f"{s['impossible_cases']}; possible commands refused: {s['possible_refused']}",
        f"- plans joined from clause plans (llm_mars.language.decomposition): "
        f"{s.get('from_clauses', 'not recorded')}",
        f"- commands whose plans left out a mention or waited for a signal nobody raises, so "
        f"alternatives were sampled: "
        f"{s.get('resampled', 'not recorded')}",
        f"- latency per command (to a validated plan): {_latencies(s)}",
        f"- targets: 1-2 tasks >= 95 % "
        f"{_met(s['execution_accuracy_1_2_tasks'], lambda v: v >= 0.95)}; all >= 90 % "
        f"{_met(s['execution_accuracy'], lambda v: v >= 0.9)}; every impossible command "
        f"replied {_met(s['impossible_cases'], lambda n: s['impossible_with_reply'] == n)}; "
        f"plans valid {_met(s['generations'], lambda n: s['valid_outputs'] == n)}; plan p50 "
        f"<= 3 s {_latency_met(s, lambda v: v <= 3)}",
    ]


def _seeds(config: dict[str, Any]) -> str:
    if "seeds" not in config:
        return f"seed {config['seed']}"
    seeds = config["seeds"]
    return (f"seeds {', '.join(map(str, seeds))}: one training each, and the adapter is the "
            f"average of their weight changes (`llm_mars.training.soup`: one LoRA of rank "
            f"{len(seeds)} x {config['lora']['r']})")


def _run_lines(stats: dict[str, Any], t: dict[str, Any]) -> list[str]:
    """How the training went; for an average, how each of its seeds' went."""
    def run(s: dict[str, Any]) -> str:
        return (f"{s['steps_done']}/{s['steps_planned']} steps in {s['seconds'] / 60:.1f} min "
                f"on {s.get('trained_on') or 'the 2-core development CPU'} "
                f"({s['tokens_per_second']} tokens/s)"
                + (" - stopped at the time budget" if s["stopped_early"] else ""))

    def loss(s: dict[str, Any]) -> str:
        return f"first step {s['first_loss']:.3f}, last {t['log_every']} steps {s['final_loss']}"

    if "members" not in stats:
        return [f"- {run(stats)}", f"- loss: {loss(stats)}"]
    return [f"- seed {m['seed']}: {run(m)}; loss: {loss(m)}" for m in stats["members"]]


def render_card(adapter_dir: Path, reports: list[tuple[str, dict[str, Any]]] = ()) -> str:
    adapter_dir = Path(adapter_dir)
    config = yaml.safe_load((adapter_dir / "train.yaml").read_text())
    stats = json.loads((adapter_dir / "train_stats.json").read_text())
    name = config["adapter"]
    t, lora = config["train"], config["lora"]
    size = (adapter_dir / "adapter_model.safetensors").stat().st_size
    data = ", ".join(f"{k}={v}" for k, v in config["data"].items())
    lines = [
        f"# `{name}` adapter (LoRA on SmolLM2-135M-Instruct)", "",
        f"Task: {PURPOSE[name]}.", "",
        f"System prompt (also in `llm_mars_adapter.json`; inference must use it): "
        f"`{config['system_prompt']}`", "",
        "## Data", "",
        f"{DATA[name]}: {data}. {stats['examples']} sequences, mean "
        f"{stats['mean_tokens_per_example']} tokens; loss on the assistant tokens only.", "",
        "## Training", "",
        f"- LoRA r={lora['r']}, alpha={lora['alpha']}, dropout={lora['dropout']}, on "
        f"{', '.join(lora['target_modules'])}; weights stored in {t['save_dtype']} "
        f"({size / 1e6:.2f} MB)",
        f"- {t['epochs']:g} epoch, batch {t['batch_size']}, AdamW lr {t['learning_rate']:g} "
        f"(warm-up {t['warmup_steps']} steps, cosine to 10 %), {_seeds(config)}, "
        f"{t['dtype']} compute, {t['threads']} CPU thread",
        *_run_lines(stats, t),
        f"- reproduce: `llm-mars train {name}` (config `llm_mars/training/configs/{name}.yaml`, "
        "identical to `train.yaml` here)", "",
        "## Scores", "",
    ]
    if not reports:
        lines.append("Not evaluated yet: run `llm-mars eval plans|qa|qa-held-out`.")
    for source, report in reports:
        lines += [f"From `{source}`:", "", *_score_lines(report)]
        measured = report.get("measured_on")
        for where, machine in (measured.items() if isinstance(measured, dict)
                               else [("", measured)] if measured else []):
            lines.append(f"- measured on{f' ({where})' if where else ''}: {machine}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="write an adapter's README.md card")
    parser.add_argument("adapter_dir", type=Path)
    parser.add_argument("--eval", type=Path, action="append", default=[],
                        help="an `llm-mars eval ... --json` report (repeatable)")
    parser.add_argument("--command", action="append", default=[],
                        help="the command that produced each report (same order)")
    args = parser.parse_args(argv)
    commands = args.command + [str(p) for p in args.eval[len(args.command):]]
    reports = [(cmd, json.loads(p.read_text())) for cmd, p in zip(commands, args.eval)]
    (args.adapter_dir / "README.md").write_text(render_card(args.adapter_dir, reports))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
