"""The evaluation of the two adapters on case files (docs/evaluation.md).

``evaluate_plans`` runs every command case through the whole pipeline, exactly as
``llm-mars command`` does (:func:`llm_mars.session.match.run_session`: bt adapter,
constrained decoding, validation, simulator), and checks the final state against the case's
predicates. It reports execution accuracy by number of tasks, how many generations gave a
valid plan or reply, how impossible commands were handled (a reply, and nothing ran) and how
often a possible command was refused, and the command-to-validated-plan latency.

``evaluate_questions`` asks the qa adapter each question about its state (after the questions
asked before it in the session, for a follow-up) and checks the answer for the case's facts;
it reports factual accuracy (by question tag), yes/no answers that contradict the state, and
latency.

Cases run one at a time by default, so that latencies are those of a lone operator; with
``concurrency`` N, N cases run at once and the engine batches their requests (the same
verdicts up to batch noise, in a fraction of the time; the latencies are then under load and
the report says so).

The assistant is anything with ``plan(command)`` and ``answer(question, state)`` returning
outcomes with ``latency_s`` (:class:`llm_mars.assistant.Assistant`), so the bookkeeping is
tested without a model.
"""
from __future__ import annotations

import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from llm_mars.bt.model import Plan, Reply
from llm_mars.errors import LlmMarsError
from llm_mars.evaluation.expectations import (CommandCase, Failure, QuestionCase, check_answer,
                                            evaluate_case)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class PlanCall:
    """One command sent to the bt adapter: what came back and how long it took."""

    command: str
    outcome: str  # "plan" | "reply" | "error"
    latency_s: float
    text: str  # the generated document, the reply, or the error
    candidates: int = 1  # plans the choice was made from (llm_mars.assistant); 1: greedy only
    source: str = "greedy"  # where the plan came from: "greedy", "clauses" or "sample"
    sampled: int = 0  # alternatives sampled: a mention left out or a wait nobody answers


@dataclass(frozen=True)
class CaseResult:
    id: str
    tasks: int
    kind: str
    passed: bool
    failures: tuple[str, ...]
    calls: tuple[PlanCall, ...]
    tags: tuple[str, ...] = ()


class _Recorder:
    """Wraps an assistant so that a session run records every plan call."""

    def __init__(self, assistant: Any):
        self.assistant = assistant
        self.calls: list[PlanCall] = []

    def plan(self, command: str):
        start = time.perf_counter()
        try:
            outcome = self.assistant.plan(command)
        except LlmMarsError as exc:
            self.calls.append(PlanCall(command, "error", time.perf_counter() - start, str(exc)))
            raise
        result = outcome.result
        kind = "reply" if isinstance(result, Reply) else "plan" if isinstance(result, Plan) \
            else "error"
        text = result.text if isinstance(result, Reply) else outcome.text
        self.calls.append(PlanCall(command, kind, outcome.latency_s, text,
                                   outcome.candidates, outcome.source, outcome.sampled))
        return outcome


def run_cases(cases: Iterable[Any], judge: Callable[[Any], Any], concurrency: int = 1,
              progress: Callable[[Any], None] | None = None) -> list[Any]:
    """``judge`` of every case, in the cases' order; ``concurrency`` cases at a time."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, not {concurrency}")

    def judged(results: Iterator[Any]) -> list[Any]:
        done = []
        for result in results:
            done.append(result)
            if progress is not None:
                progress(result)
        return done

    if concurrency == 1:
        return judged(map(judge, cases))
    with ThreadPoolExecutor(concurrency, thread_name_prefix="eval") as pool:
        return judged(pool.map(judge, cases))


@dataclass
class PlanReport:
    results: list[CaseResult] = field(default_factory=list)
    concurrency: int = 1  # cases run at once: latencies are a lone operator's only at 1

    @property
    def plan_cases(self) -> list[CaseResult]:
        return [r for r in self.results if r.kind == "plan"]

    @property
    def reply_cases(self) -> list[CaseResult]:
        return [r for r in self.results if r.kind == "reply"]

    @property
    def calls(self) -> list[PlanCall]:
        return [c for r in self.results for c in r.calls]

    def accuracy_by_tasks(self) -> dict[int, tuple[int, int]]:
        """tasks -> (passed, total) over plan cases."""
        table: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for r in self.plan_cases:
            table[r.tasks][0] += r.passed
            table[r.tasks][1] += 1
        return {n: (p, t) for n, (p, t) in sorted(table.items())}

    def summary(self) -> dict[str, Any]:
        plans, replies, calls = self.plan_cases, self.reply_cases, self.calls
        by_tasks = self.accuracy_by_tasks()
        short = [r for r in plans if r.tasks <= 2]
        emitted = [c for c in calls if c.outcome != "error"]
        latencies = [c.latency_s for c in calls]
        return {
            "cases": len(self.results),
            "execution_accuracy": _rate(sum(r.passed for r in plans), len(plans)),
            "execution_accuracy_1_2_tasks": _rate(sum(r.passed for r in short), len(short)),
            "execution_accuracy_by_tasks": {str(n): {"passed": p, "total": t,
                                                     "rate": _rate(p, t)}
                                            for n, (p, t) in by_tasks.items()},
            "all_cases_accuracy": _rate(sum(r.passed for r in self.results), len(self.results)),
            "generations": len(calls),
            "valid_outputs": len(emitted),
            "validity_rate": _rate(len(emitted), len(calls)),
            "plans_emitted": sum(c.outcome == "plan" for c in calls),
            "impossible_with_reply": sum(any(c.outcome == "reply" for c in r.calls)
                                         for r in replies),
            "impossible_cases": len(replies),
            "impossible_passed": sum(r.passed for r in replies),
            "possible_refused": sum(any(c.outcome == "reply" for c in r.calls) for r in plans),
            "resampled": sum(c.sampled > 0 for c in calls),
            "from_clauses": sum(c.source == "clauses" for c in calls),
            "latency_p50_s": _round(percentile(latencies, 50)),
            "latency_p95_s": _round(percentile(latencies, 95)),
            "concurrency": self.concurrency,
        }


def _rate(passed: int, total: int) -> float | None:
    return round(passed / total, 4) if total else None


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def evaluate_plans(assistant: Any, cases: Iterable[CommandCase], seed: int = 0,
                   progress: Callable[[CaseResult], None] | None = None,
                   concurrency: int = 1) -> PlanReport:
    """Run every case's session through ``assistant`` and the simulator, and judge it."""
    from llm_mars.session.match import run_session

    def judge(case: CommandCase) -> CaseResult:
        recorder = _Recorder(assistant)
        state = run_session(recorder, list(case.commands), seed)
        failures = evaluate_case(case, state)
        errors = [e["error"] for e in state.get("errors", [])]
        return CaseResult(case.id, case.tasks, case.kind, not failures and not errors,
                          tuple([f"error: {e}" for e in errors] + [str(f) for f in failures]),
                          tuple(recorder.calls), case.tags)

    return PlanReport(run_cases(cases, judge, concurrency, progress), concurrency)


@dataclass(frozen=True)
class AnswerResult:
    id: str
    question: str
    answer: str
    passed: bool
    failures: tuple[str, ...]
    latency_s: float
    tags: tuple[str, ...] = ()
    query: str | None = None  # the state query the answer comes from, when there is one
    contradiction: bool = False  # a yes or no that contradicts the state


_VERDICT = re.compile(r"^\s*(yes|no)\b", re.I)


def contradicts(answer: str, failures: Sequence[Failure]) -> bool:
    """Whether an answer that starts with a yes or a no says what the case rules out (a
    ``none_of`` fact, such as "no" to a question whose answer is yes)."""
    return _VERDICT.match(answer) is not None and \
        any("none_of" in f.expectation for f in failures)


@dataclass
class QaReport:
    results: list[AnswerResult] = field(default_factory=list)
    concurrency: int = 1  # cases run at once: latencies are a lone operator's only at 1

    def summary(self) -> dict[str, Any]:
        by_tag: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r in self.results:
            for tag in r.tags:
                by_tag[tag][0] += r.passed
                by_tag[tag][1] += 1
        latencies = [r.latency_s for r in self.results]
        return {
            "questions": len(self.results),
            "factual_accuracy": _rate(sum(r.passed for r in self.results), len(self.results)),
            "yes_no_contradictions": sum(r.contradiction for r in self.results),
            "accuracy_by_tag": {t: {"passed": p, "total": n, "rate": _rate(p, n)}
                                for t, (p, n) in sorted(by_tag.items())},
            "latency_p50_s": _round(percentile(latencies, 50)),
            "latency_p95_s": _round(percentile(latencies, 95)),
            "concurrency": self.concurrency,
        }


def evaluate_questions(assistant: Any, cases: Iterable[QuestionCase],
                       progress: Callable[[AnswerResult], None] | None = None,
                       concurrency: int = 1) -> QaReport:
    """Ask every question about its state and check the answer's facts."""

    def judge(case: QuestionCase) -> AnswerResult:
        start = time.perf_counter()
        query, contradiction = None, False
        try:
            previous = None
            for earlier in case.before:  # the session so far: each answer's query goes on
                previous = assistant.answer(earlier, dict(case.state), previous=previous).query
            start = time.perf_counter()
            outcome = assistant.answer(case.question, dict(case.state), previous=previous) \
                if case.before else assistant.answer(case.question, dict(case.state))
            text, latency, query = outcome.text, outcome.latency_s, getattr(outcome, "query", None)
            found = check_answer(text, case.answer_facts)
            contradiction = contradicts(text, found)
            failures = tuple(str(f) for f in found)
        except LlmMarsError as exc:
            text, latency = "", time.perf_counter() - start
            failures = (f"error: {exc}",)
        return AnswerResult(case.id, case.question, text, not failures, failures, latency,
                            case.tags, query, contradiction)

    return QaReport(run_cases(cases, judge, concurrency, progress), concurrency)


# --- text reports ---------------------------------------------------------------------------


def _pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{100 * rate:.1f} %"


def under_load(concurrency: int) -> str:
    """What a latency measured with ``concurrency`` cases at once is marked with."""
    return "" if concurrency == 1 else f" ({concurrency} cases at once: latencies under load)"


def format_plan_report(report: PlanReport, show_failures: bool = True) -> str:
    s = report.summary()
    lines = ["tasks  passed/total  execution accuracy"]
    for n, row in s["execution_accuracy_by_tasks"].items():
        lines.append(f"{n:>5}  {row['passed']:>6}/{row['total']:<5}  {_pct(row['rate'])}")
    lines += [
        f"1-2 tasks: {_pct(s['execution_accuracy_1_2_tasks'])}   "
        f"all plan cases: {_pct(s['execution_accuracy'])}",
        f"valid outputs: {s['valid_outputs']}/{s['generations']} ({_pct(s['validity_rate'])}), "
        f"plans emitted: {s['plans_emitted']}",
        f"impossible commands: {s['impossible_with_reply']}/{s['impossible_cases']} got a reply, "
        f"{s['impossible_passed']}/{s['impossible_cases']} passed; possible commands refused: "
        f"{s['possible_refused']}",
        f"plans joined from clause plans (llm_mars.language.decomposition): "
        f"{s['from_clauses']}; commands whose plans left out a mention or waited for a signal "
        f"nobody raises (alternatives sampled): "
        f"{s['resampled']}",
        f"latency per command: p50 {s['latency_p50_s']} s, p95 {s['latency_p95_s']} s"
        f"{under_load(report.concurrency)}",
    ]
    failed_tags = tag_counts(report)
    if failed_tags:
        lines.append("failed cases by tag: " + ", ".join(f"{t} {n}"
                                                         for t, n in failed_tags.most_common()))
    if show_failures:
        for r in report.results:
            if not r.passed:
                lines.append(f"FAIL {r.id} ({r.kind}, {r.tasks} tasks): "
                             + " | ".join(c.command for c in r.calls))
                for c in r.calls:
                    lines.append(f"    -> {c.outcome}: " + " ".join(c.text.split())[:300])
                lines += [f"    {f}" for f in r.failures[:4]]
    return "\n".join(lines)


def format_qa_report(report: QaReport, show_failures: bool = True) -> str:
    s = report.summary()
    lines = [f"factual accuracy: {_pct(s['factual_accuracy'])} of {s['questions']} questions; "
             f"yes/no answers that contradict the state: {s['yes_no_contradictions']}",
             "by tag: " + ", ".join(f"{t} {row['passed']}/{row['total']}"
                                    for t, row in s["accuracy_by_tag"].items()),
             f"latency per answer: p50 {s['latency_p50_s']} s, p95 {s['latency_p95_s']} s"
             f"{under_load(report.concurrency)}"]
    if show_failures:
        for r in report.results:
            if not r.passed:
                query = f" [{r.query}]" if r.query else ""
                lines.append(f"FAIL {r.id}: {r.question!r}{query} -> {r.answer!r}")
                lines += [f"    {f}" for f in r.failures[:3]]
    return "\n".join(lines)


def report_json(report: PlanReport | QaReport) -> dict[str, Any]:
    return {"summary": report.summary(), "results": [asdict(r) for r in report.results]}


def tag_counts(report: PlanReport) -> Counter:
    """Failed plan cases per tag (where to look first)."""
    return Counter(t for r in report.results if not r.passed for t in r.tags)
