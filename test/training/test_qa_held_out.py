"""The held-out measurement of the qa adapter (llm_mars.training.qa_held_out)."""
from llm_mars.assistant import AnswerOutcome
from llm_mars.qa.answers import answer
from llm_mars.qa.query import parse_query
from llm_mars.training.qa_held_out import evaluate_held_out, held_out_cases
from llm_mars.training.query_data import families


class TableAssistant:
    """Answers with the case's own query, except where ``wrong`` says another."""

    def __init__(self, cases, wrong=None):
        self.queries = {(c.question, c.previous): c.query for c in cases}
        self.wrong = wrong or {}

    def answer(self, question, state, previous=None):
        query = self.wrong.get(question, self.queries[(question, previous)])
        return AnswerOutcome(answer(parse_query(query), state).text, 0.2, query)


def test_cases_come_from_the_held_out_families_only():
    cases = held_out_cases(60, seed=3, sessions=4)
    held = {f.name for f in families(True)}
    assert all(c.family in held or c.family.startswith("follow-") for c in cases)
    assert any(c.previous for c in cases)
    assert cases == held_out_cases(60, seed=3, sessions=4)


def test_an_answer_passes_when_it_is_the_answer_of_the_right_query():
    cases = held_out_cases(40, seed=5, sessions=4)
    report = evaluate_held_out(TableAssistant(cases), cases)
    assert report.summary()["factual_accuracy"] == 1.0
    assert report.summary()["yes_no_contradictions"] == 0


def test_a_wrong_yes_or_no_is_counted_as_a_contradiction():
    cases = held_out_cases(80, seed=5, sessions=4)
    case = next(c for c in cases if c.query.startswith("check ")
                and answer(parse_query(c.query), c.state).verdict is not None)
    verdict = answer(parse_query(case.query), case.state).verdict
    flipped = next(q for q in ("check score.total > 0", "check score.total = 0")
                   if answer(parse_query(q), case.state).verdict != verdict)
    report = evaluate_held_out(TableAssistant(cases, {case.question: flipped}), [case])
    result = report.results[0]
    assert not result.passed and result.contradiction and result.query == flipped
