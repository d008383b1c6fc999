"""``llm-mars eval plans|qa|qa-held-out|plans-held-out``: the adapters' evaluation on case
files and on generated held-out phrasings (docs/evaluation.md)."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from llm_mars.assistant import ALTERNATIVES, CHOOSERS, TIMEOUT_S, VERDICT_SAMPLES


def register(subparsers: argparse._SubParsersAction) -> None:
    evaluation = subparsers.add_parser(
        "eval", help="evaluate the adapters on case files (docs/evaluation.md)")
    kinds = evaluation.add_subparsers(dest="eval_kind", metavar="KIND", required=True)
    for kind, help_text in (("plans", "command cases: execution accuracy, validity, replies, "
                                      "latency"),
                            ("qa", "question cases: factual accuracy, latency"),
                            ("qa-held-out", "generated questions of the phrasing families the "
                                            "qa adapter never trained on, over simulated "
                                            "states: the same answer as the question's own "
                                            "query"),
                            ("plans-held-out", "generated commands of the phrasing families "
                                               "the bt adapter never trained on: the final "
                                               "state of their reference plan, or a reply")):
        sub = kinds.add_parser(kind, help=help_text)
        if kind.endswith("held-out"):
            sub.add_argument("--count", type=int, default=300, help="cases (default 300)")
            sub.add_argument("--seed", type=int, default=11, help="seed (default 11)")
            if kind.startswith("plans"):
                which = sub.add_mutually_exclusive_group()
                which.add_argument("--corrections", action="store_true",
                                 help="commands that take a word back in ways no training "
                                      "command does ('plate 6, my bad, plate 2') instead")
                which.add_argument("--step-wordings", action="store_true",
                                 help="commands with a sorted placement or a basket fill said "
                                      "in words no training command uses ('line them up in "
                                      "legendary order on plate 2') instead")
                which.add_argument("--gap-wordings", action="store_true",
                                 help="two-robot commands whose second robot's task is said "
                                      "without its verb in words no training command uses "
                                      "('robot 2 ditto, the pink from quadrant 1 to plate 3') "
                                      "instead")
                which.add_argument("--trained-families", action="store_true",
                                 help="the control: commands of the phrasing families the "
                                      "adapter trained on, none of them a training command")
        else:
            sub.add_argument("file", type=Path, metavar="FILE.jsonl")
        sub.add_argument("--model", help="base model folder (default: the bundled model)")
        sub.add_argument("--adapters", type=Path, help="folder with bt/, qa/ (and describe/) "
                                                       "adapters (default: the shipped ones)")
        sub.add_argument("--limit", type=int, default=None, help="only the first N cases")
        sub.add_argument("--json", type=Path, metavar="OUT", help="also write the full report")
        sub.add_argument("--quiet", action="store_true", help="do not list failed cases")
        sub.add_argument("--progress", action="store_true", help="print each case as it is done")
        sub.add_argument("--concurrency", type=at_least_one, default=1, metavar="N",
                         help="cases run at once, their requests batched by the engine (default "
                              "1: the latencies of a lone operator; more: the same verdicts up "
                              "to batch noise, sooner, with latencies under load)")
        if not kind.startswith("plans"):
            sub.add_argument("--verdict-samples", type=int, default=VERDICT_SAMPLES, metavar="N",
                             help="other readings sampled for a yes/no question; a yes or no "
                                  f"they contradict is withheld (default {VERDICT_SAMPLES}; 0: "
                                  "the first reading always)")
        if kind.startswith("plans"):
            sub.add_argument("--no-grounding", dest="grounding", action="store_false",
                             help="no world check before the bt adapter, no grounded "
                                  "grammar (llm_mars.language.grounding)")
            sub.add_argument("--alternatives", type=int, default=ALTERNATIVES, metavar="N",
                             help="plans sampled when the greedy plan leaves out something "
                                  f"the command mentions (default {ALTERNATIVES}; 0: the "
                                  "greedy plan, with --no-grounding the bt adapter alone)")
            sub.add_argument("--no-decompose", dest="decompose", action="store_false",
                             help="do not also plan a plain list of steps clause by clause "
                                  "(llm_mars.language.decomposition)")
            sub.add_argument("--chooser", choices=CHOOSERS, default=None,
                             help="what keeps one of several candidate plans (default: "
                                  "describe when the describe adapter is there, else mentions)")
        sub.set_defaults(handler=_eval)


def at_least_one(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number of at least 1, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"a whole number of at least 1, not {value}")
    return value


def _eval(args: argparse.Namespace) -> int:
    import json
    import sys

    from llm_mars.assistant import Assistant
    from llm_mars.evaluation import evaluate as E
    from llm_mars.evaluation.expectations import load_command_cases, load_question_cases

    if args.eval_kind == "plans":
        cases = load_command_cases(args.file)[:args.limit]
    elif args.eval_kind == "qa":
        cases = load_question_cases(args.file)[:args.limit]
    elif args.eval_kind == "plans-held-out":
        from llm_mars.training.plan_held_out import held_out_plan_cases

        cases = held_out_plan_cases(args.count, args.seed, args.corrections,
                                    args.trained_families, args.step_wordings,
                                    args.gap_wordings)[:args.limit]
    else:
        from llm_mars.training.qa_held_out import held_out_cases

        cases = held_out_cases(args.count, args.seed)[:args.limit]

    def progress(result) -> None:
        if args.progress:
            print(f"{'ok  ' if result.passed else 'FAIL'} {result.id}", file=sys.stderr,
                  flush=True)

    assistant = Assistant.load(args.model, args.adapters,
                               grounding=getattr(args, "grounding", True),
                               alternatives=getattr(args, "alternatives", ALTERNATIVES),
                               decompose=getattr(args, "decompose", True),
                               chooser=getattr(args, "chooser", None),
                               verdict_samples=getattr(args, "verdict_samples",
                                                       VERDICT_SAMPLES),
                               # N cases share the engine: a request also waits for the others
                               timeout_s=TIMEOUT_S * args.concurrency)
    extra: dict = {}
    try:
        if args.eval_kind.startswith("plans"):
            report = E.evaluate_plans(assistant, cases, progress=progress,
                                      concurrency=args.concurrency)
            print(E.format_plan_report(report, show_failures=not args.quiet))
            if args.eval_kind == "plans-held-out":
                from llm_mars.training.plan_held_out import family_figures

                figures = family_figures(report)  # none in the control
                if figures:
                    print("by family: " + ", ".join(f"{family} {passed}/{total}" for family,
                                                    (passed, total) in figures.items()))
        elif args.eval_kind == "qa":
            from llm_mars.training.query_data import trained_wording

            report = E.evaluate_questions(assistant, cases, progress=progress,
                                          concurrency=args.concurrency)
            print(E.format_qa_report(report, show_failures=not args.quiet))
            shapes = _trained_unknown_shapes(args.adapters)
            fresh = [r.passed for r in report.results
                     if not trained_wording(r.question, unknown_shapes=shapes)]
            extra["untemplated"] = {"passed": sum(fresh), "total": len(fresh)}
            print(f"questions no trained template words: {sum(fresh)}/{len(fresh)} right")
        else:
            from llm_mars.training.qa_held_out import evaluate_held_out

            report = evaluate_held_out(assistant, cases, progress=progress,
                                       concurrency=args.concurrency)
            print(E.format_qa_report(report, show_failures=not args.quiet))
    finally:
        assistant.close()
    measured_on = describe_measurement()
    print(f"measured on: {measured_on}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        data = {**E.report_json(report), **extra, "measured_on": measured_on}
        args.json.write_text(json.dumps(data, indent=1) + "\n")
    return 0


def describe_measurement() -> str:
    """The CPU and the engine's numeric path, which the figures depend on (a remote backend's
    figures depend on its server, which this does not see)."""
    from llm_mars.llm.backends import BackendConfig
    from llm_mars.llm.machine import this_machine
    from llm_mars.llm.model_store import default_precision
    from llm_mars.llm.weights import cpu_kernels

    config = BackendConfig.from_env()
    load = f"; load average {os.getloadavg()[1]:.1f} at the end (other work shares the CPU)" \
        if hasattr(os, "getloadavg") else ""
    if config.kind != "hf":
        return f"{this_machine().describe()}; model served by the {config.kind} backend{load}"
    return (f"{this_machine().describe()}; engine precision {config.dtype or default_precision()}"
            f", kernels {cpu_kernels().describe()}{load}")


def _trained_unknown_shapes(adapters: Path | None) -> bool:
    """Whether the qa adapter evaluated was trained with the unanswerable questions in
    answerable shapes (``data.unknown_shapes`` in its ``train.yaml``; none there: no)."""
    from llm_mars.llm.adapter_meta import default_adapters_dir
    from llm_mars.training.train import load_config

    config = (adapters or default_adapters_dir()) / "qa" / "train.yaml"
    return config.is_file() and bool(load_config(config).data.get("unknown_shapes", False))
