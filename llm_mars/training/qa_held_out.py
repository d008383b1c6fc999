"""The qa adapter on question phrasings it never trained on.

The held-out phrasing families and follow-ups of :mod:`llm_mars.training.query_data` are
asked about random reachable states (:mod:`llm_mars.training.states`), each with the previous
query of its session where it has one. A case passes when its answer is the answer of the
question's own query on that state: the same sentence, so the same facts and the same yes or
no. An answer *contradicts the state* when the question is a yes/no question and the answer
says the other yes or no (an answer without a yes or no, or a yes/no to a question that asked
for something else, is wrong without contradicting).

Cases are tagged with their family, so the report breaks the accuracy down by family.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from llm_mars.errors import LlmMarsError
from llm_mars.qa.answers import answer
from llm_mars.qa.query import parse_query
from llm_mars.evaluation.evaluate import AnswerResult, QaReport, run_cases
from llm_mars.training.query_data import held_out_examples
from llm_mars.training.states import initial_state, plan_pool, simulated_states


@dataclass(frozen=True)
class HeldOutCase:
    id: str
    question: str
    previous: str | None  # the query before it in the session
    query: str  # the query the question means
    family: str
    state: dict[str, Any]


def held_out_cases(count: int, seed: int, sessions: int = 40) -> list[HeldOutCase]:
    """``count`` cases (seeded): held-out questions over the states of ``sessions`` simulated
    sessions and the initial field."""
    rng = random.Random(seed)
    pool = plan_pool(120, seed)
    states = [initial_state()]
    for _ in range(sessions):
        states += simulated_states(rng, pool)
    return [HeldOutCase(f"h{i + 1:03d}", e.question, e.previous, e.query, e.family,
                        rng.choice(states))
            for i, e in enumerate(held_out_examples(count, seed))]


def verdict_of(text: str) -> bool | None:
    """The yes or no an answer gives (:mod:`llm_mars.qa.answers` starts it "Yes, " or "No, "),
    ``None`` if it gives none."""
    return True if text.startswith("Yes, ") else False if text.startswith("No, ") else None


def evaluate_held_out(assistant: Any, cases: Iterable[HeldOutCase],
                      progress: Callable[[AnswerResult], None] | None = None,
                      concurrency: int = 1) -> QaReport:
    """Ask every case and compare its answer with the answer of the case's own query."""

    def judge(case: HeldOutCase) -> AnswerResult:
        expected = answer(parse_query(case.query), case.state)
        start = time.perf_counter()
        query, contradiction = None, False
        try:
            outcome = assistant.answer(case.question, case.state, previous=case.previous)
            text, latency, query = outcome.text, outcome.latency_s, outcome.query
            said = verdict_of(text)
            contradiction = None not in (expected.verdict, said) and said != expected.verdict
            failures = () if text == expected.text else \
                (f"expected [{case.query}] {expected.text}",)
        except LlmMarsError as exc:
            text, latency = "", time.perf_counter() - start
            failures = (f"error: {exc}",)
        tags = (case.family, "follow-up" if case.family.startswith("follow-") else "question")
        return AnswerResult(case.id, case.question, text, not failures, failures, latency,
                            tags, query, contradiction)

    return QaReport(run_cases(cases, judge, concurrency, progress), concurrency)
