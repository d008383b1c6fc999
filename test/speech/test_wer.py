"""Word error rate after normalisation."""
import pytest

from llm_mars.speech.wer import word_error_rate, word_errors


@pytest.mark.parametrize("reference,hypothesis,errors", [
    ("robot one go home", "Robot 1, go home.", 0),  # normalised alike
    ("robot one go home", "robot one go to home", 1),  # insertion
    ("robot one go home", "robot one home", 1),  # deletion
    ("robot one go home", "robot one go dome", 1),  # substitution
    ("robot one go home", "", 4),
    ("", "thank you", 2),
    ("where is robot two", "where is robot to?", 0),  # homophone after "robot"
])
def test_word_errors(reference, hypothesis, errors):
    assert word_errors(reference, hypothesis) == errors


def test_rate_is_errors_over_reference_words():
    pairs = [("robot one go home", "robot one go dome"), ("stop", "stop"),
             ("what is the score", "what is this score")]
    assert word_error_rate(pairs) == pytest.approx(2 / 9)
    assert word_error_rate([]) == 0.0
