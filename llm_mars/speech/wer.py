"""Word error rate: word-level edit distance between what was said and what was heard.

Both sides are compared after :func:`~llm_mars.language.normaliser.normalise`, so
"Robot 1," and "robot one" are the same words and only real recognition errors count.
"""
from __future__ import annotations

from collections.abc import Iterable

from llm_mars.language.normaliser import normalise


def words(text: str) -> list[str]:
    return normalise(text).rstrip("?").split()


def word_errors(reference: str, hypothesis: str) -> int:
    """Substitutions + deletions + insertions turning the reference into the hypothesis."""
    ref, hyp = words(reference), words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i]
        for j, h in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1]


def word_error_rate(pairs: Iterable[tuple[str, str]]) -> float:
    """Errors over all pairs divided by the reference words over all pairs."""
    errors = total = 0
    for reference, hypothesis in pairs:
        errors += word_errors(reference, hypothesis)
        total += len(words(reference))
    return errors / total if total else 0.0
