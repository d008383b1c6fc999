"""Answers through state queries against the previous qa adapter, in the same run.

One engine serves both adapters: the shipped ``qa`` adapter (question -> state query, decoded
under the query grammar, answered from the state by ``llm_mars.qa.answers``) and, as the
baseline, the previous adapter (question + text summary of the state -> free answer,
``llm_mars.qa.summary``), loaded under the name ``qa_previous``. Every question case is asked
of both, one after the other on the same state, so both see the same load. Prints factual
accuracy, yes/no answers that contradict the state, and answer latency p50/p95 for each.

    git archive 0f1b521 models/adapters/qa | tar -x -C /tmp/previous   # the session-4 adapter
    .venv/bin/python bench/bench_qa.py --baseline /tmp/previous/models/adapters/qa \\
        [--cases test/eval/questions.jsonl] [--threads N]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from llm_mars.assistant import Assistant, default_adapters_dir
from llm_mars.errors import LlmMarsError
from llm_mars.llm.engine import Engine
from llm_mars.llm.prompts import qa_messages
from llm_mars.llm.requests import GenerationRequest, SamplingParams
from llm_mars.qa.summary import summarize
from llm_mars.evaluation.evaluate import contradicts, percentile
from llm_mars.evaluation.expectations import check_answer, load_question_cases

PREVIOUS = "qa_previous"
PREVIOUS_MAX_TOKENS = 64  # what the previous assistant allowed an answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="the previous qa adapter")
    parser.add_argument("--adapter", type=Path, default=default_adapters_dir() / "qa",
                        help="the qa adapter to measure (default: the shipped one)")
    parser.add_argument("--cases", type=Path, default=Path("test/eval/questions.jsonl"))
    parser.add_argument("--threads", default=None, help="engine threads (default: auto)")
    parser.add_argument("--json", type=Path, help="also write every answer")
    args = parser.parse_args()
    from llm_mars.llm.machine import this_machine

    print(f"machine: {this_machine().describe()}", flush=True)
    cases = load_question_cases(args.cases)
    threads = int(args.threads) if args.threads and args.threads.isdigit() else args.threads
    engine = Engine.load(adapters={"qa": args.adapter, PREVIOUS: args.baseline},
                         threads=threads)
    assistant = Assistant(engine, {"qa": args.adapter})
    system = json.loads((args.baseline / "llm_mars_adapter.json").read_text())["system_prompt"]
    rows = {"queries": [], "previous": []}
    start = time.perf_counter()
    try:
        for case in cases:
            messages = qa_messages(case.question, summarize(case.state))
            messages[0] = {"role": "system", "content": system}
            request = GenerationRequest.chat(messages, PREVIOUS,
                                             SamplingParams(max_new_tokens=PREVIOUS_MAX_TOKENS))
            result = engine.submit(request).result()
            rows["previous"].append((case, result.text.strip(), result.total_s))
            previous = None
            try:
                for earlier in case.before:
                    previous = assistant.answer(earlier, dict(case.state), previous).query
                outcome = assistant.answer(case.question, dict(case.state), previous)
                rows["queries"].append((case, outcome.text, outcome.latency_s))
            except LlmMarsError as exc:
                rows["queries"].append((case, f"error: {exc}", float("nan")))
    finally:
        engine.close()
    print(f"{len(cases)} question cases of {args.cases}, {time.perf_counter() - start:.0f} s; "
          f"engine threads {threads or 'auto'}")
    report = {}
    for name in ("queries", "previous"):
        found = [(case, text, s, check_answer(text, case.answer_facts))
                 for case, text, s in rows[name]]
        right = sum(not f for *_, f in found)
        wrong_verdicts = sum(contradicts(text, f) for _, text, _, f in found)
        latencies = [s for _, _, s, _ in found if s == s]
        p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
        print(f"{name:>9}: {right}/{len(found)} right ({100 * right / len(found):.1f} %), "
              f"{wrong_verdicts} yes/no contradicting the state, answer p50 {p50:.3f} s, "
              f"p95 {p95:.3f} s")
        report[name] = {"right": right, "cases": len(found), "contradictions": wrong_verdicts,
                        "p50_s": p50, "p95_s": p95,
                        "answers": [{"id": c.id, "answer": t, "latency_s": s,
                                     "failures": [str(x) for x in f]} for c, t, s, f in found]}
    ratio = report["previous"]["p50_s"] / report["queries"]["p50_s"]
    print(f"answer p50: queries {ratio:.2f}x faster than the previous adapter")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
