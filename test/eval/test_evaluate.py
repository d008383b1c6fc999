import threading
import time

import pytest

from llm_mars.assistant import AnswerOutcome, PlanOutcome
from llm_mars.bt.model import Reply
from llm_mars.bt.parser import parse_plan
from llm_mars.errors import ConstraintError
from llm_mars.evaluation.evaluate import (evaluate_plans, evaluate_questions, format_plan_report,
                                        format_qa_report, percentile, report_json, run_cases)
from llm_mars.evaluation.expectations import CommandCase, QuestionCase
from llm_mars.session.match import Match

DELIVER = """<root BTCPP_format="4">
  <BehaviorTree ID="robot1">
    <Sequence>
      <PickCake color="brown" quadrant="2"/>
      <PlaceCakes plate="3"/>
    </Sequence>
  </BehaviorTree>
</root>
"""
HOME = DELIVER.replace("""<Sequence>
      <PickCake color="brown" quadrant="2"/>
      <PlaceCakes plate="3"/>
    </Sequence>""", '<MoveTo target="home"/>')


class FakeAssistant:
    """Answers from a table: a plan document, a Reply, or an exception to raise."""

    def __init__(self, plans=None, answers=None):
        self.plans, self.answers = plans or {}, answers or {}

    def plan(self, command):
        result = self.plans[command]
        if isinstance(result, Exception):
            raise result
        if isinstance(result, Reply):
            return PlanOutcome(result, f"<reply>{result.text}</reply>", 0.5)
        if result == HOME:  # chosen among the greedy plan and 3 samples
            return PlanOutcome(parse_plan(result), result, 2.0, 4, source="sample", sampled=3)
        return PlanOutcome(parse_plan(result), result, 2.0, 2, source="clauses")

    def answer(self, question, state, previous=None):
        self.asked = getattr(self, "asked", []) + [(question, previous)]
        text = self.answers[question]
        return AnswerOutcome(text, 1.0, f"query of {question}")


def _case(id, commands, kind="plan", tasks=1, expect=None):
    expect = expect or [{"path": "plates.plate_3", "of": "layers", "eq": 3}]
    return CommandCase.from_json({"id": id, "commands": commands, "tasks": tasks, "kind": kind,
                                  "expect": expect})


NOTHING_HAPPENED = [{"path": "basket", "eq": 0}, {"path": "robots.robot1.history", "eq": []}]


def test_plan_report_counts_passes_failures_replies_and_errors():
    assistant = FakeAssistant({
        "deliver": DELIVER, "wrong": HOME, "fly": Reply("The robots cannot fly."),
        "refused": Reply("no"), "broken": ConstraintError("unfinished"),
        "fly but plan": HOME,
    })
    cases = [
        _case("ok", ["deliver"]),
        _case("bad", ["wrong"], tasks=2),
        _case("refused", ["refused"], tasks=2),
        _case("err", ["broken"], tasks=3),
        _case("imp", ["fly"], kind="reply", expect=NOTHING_HAPPENED),
        _case("imp2", ["fly but plan"], kind="reply", expect=NOTHING_HAPPENED),
    ]
    report = evaluate_plans(assistant, cases)
    passed = {r.id: r.passed for r in report.results}
    assert passed == {"ok": True, "bad": False, "refused": False, "err": False, "imp": True,
                      "imp2": False}
    s = report.summary()
    assert s["execution_accuracy_by_tasks"]["1"] == {"passed": 1, "total": 1, "rate": 1.0}
    assert s["execution_accuracy_by_tasks"]["2"]["passed"] == 0
    assert (s["execution_accuracy"], s["execution_accuracy_1_2_tasks"]) == (0.25, 0.3333)
    assert (s["generations"], s["valid_outputs"], s["plans_emitted"]) == (6, 5, 3)
    assert (s["impossible_with_reply"], s["impossible_cases"], s["possible_refused"]) == (1, 2, 1)
    assert (s["latency_p50_s"], s["latency_p95_s"]) == (0.5, 2.0)  # an error costs ~0 s
    assert s["resampled"] == 2  # the two HOME plans were chosen among sampled alternatives
    assert s["from_clauses"] == 1  # the DELIVER plan was joined from clause plans
    text = format_plan_report(report)
    assert "FAIL err" in text and "error: unfinished" in text
    assert report_json(report)["summary"] == s


def test_sessions_run_their_commands_on_one_field():
    assistant = FakeAssistant({"deliver": DELIVER, "home": HOME})
    case = _case("s", ["deliver", "home"], tasks=2,
                 expect=[{"path": "robots.robot1.location", "eq": "home"},
                         {"path": "plates.plate_3", "len": 1}])
    report = evaluate_plans(assistant, [case])
    assert report.results[0].passed and len(report.results[0].calls) == 2


def test_questions_are_checked_for_their_facts():
    state = Match().state_dict()
    cases = [QuestionCase("q1", state, "score?", ({"number": 30},)),
             QuestionCase("q2", state, "where is robot 1?", ({"any_of": ["plate 3"]},), ("where",))]
    assistant = FakeAssistant(answers={"score?": "The score is thirty points.",
                                       "where is robot 1?": "Robot 1 is at home."})
    report = evaluate_questions(assistant, cases)
    assert [r.passed for r in report.results] == [True, False]
    s = report.summary()
    assert s["factual_accuracy"] == 0.5 and s["accuracy_by_tag"]["where"]["passed"] == 0
    assert "FAIL q2" in format_qa_report(report)


def test_a_follow_up_is_asked_after_its_session_with_the_previous_query():
    state = Match().state_dict()
    case = QuestionCase("f1", state, "and robot 2?", ({"any_of": ["home"]},),
                        before=("where is robot 1?", "what is robot 1 doing?"))
    assistant = FakeAssistant(answers={"where is robot 1?": "Robot 1 is at home.",
                                       "what is robot 1 doing?": "Robot 1 is idle.",
                                       "and robot 2?": "Robot 2 is at home."})
    report = evaluate_questions(assistant, [case])
    assert assistant.asked == [("where is robot 1?", None),
                               ("what is robot 1 doing?", "query of where is robot 1?"),
                               ("and robot 2?", "query of what is robot 1 doing?")]
    assert report.results[0].passed and report.results[0].query == "query of and robot 2?"


def test_a_yes_or_no_that_the_case_rules_out_is_a_contradiction():
    state = Match().state_dict()
    facts = ({"any_of": ["no", "nothing"]}, {"none_of": ["yes"]})
    cases = [QuestionCase("y1", state, "is robot 1 carrying anything?", facts),
             QuestionCase("y2", state, "does robot 1 carry something?", facts),
             QuestionCase("y3", state, "what does robot 1 carry?", ({"any_of": ["cherries"]},))]
    assistant = FakeAssistant(answers={"is robot 1 carrying anything?": "Yes, it carries it.",
                                       "does robot 1 carry something?": "No, it carries nothing.",
                                       "what does robot 1 carry?": "Robot 1 carries nothing."})
    report = evaluate_questions(assistant, cases)
    assert [r.contradiction for r in report.results] == [True, False, False]
    assert report.summary()["yes_no_contradictions"] == 1
    assert "contradict the state: 1" in format_qa_report(report)


@pytest.mark.parametrize("values, q, expected", [([], 50, None), ([3.0], 95, 3.0),
                                                 ([1, 2, 3, 4], 50, 2), ([1, 2, 3, 4], 95, 4)])
def test_percentile(values, q, expected):
    assert percentile(values, q) == expected


def test_cases_run_at_once_keep_their_order_and_verdicts():
    plans = {f"c{i}": (DELIVER if i % 2 else HOME) for i in range(9)}
    cases = [_case(f"c{i}", [f"c{i}"]) for i in range(9)]
    one = evaluate_plans(FakeAssistant(plans), cases)
    heard = []
    three = evaluate_plans(FakeAssistant(plans), cases, progress=lambda r: heard.append(r.id),
                           concurrency=3)
    assert [r.id for r in three.results] == heard == [c.id for c in cases]
    assert [r.passed for r in three.results] == [r.passed for r in one.results]
    assert (one.summary()["concurrency"], three.summary()["concurrency"]) == (1, 3)
    assert "3 cases at once" in format_plan_report(three)
    assert "at once" not in format_plan_report(one)


def test_concurrency_runs_that_many_cases_at_the_same_time():
    together = threading.Barrier(3, timeout=10)  # broken (an error) unless 3 judges wait at once
    assert run_cases(range(6), lambda i: (together.wait(), i)[1], concurrency=3) == list(range(6))
    with pytest.raises(ValueError):
        run_cases(range(3), lambda i: i, concurrency=0)


def test_an_error_in_one_case_stops_the_cases_not_yet_started():
    judged = []

    def judge(i):
        judged.append(i)
        if i == 0:
            raise RuntimeError("the engine died")
        time.sleep(0.05)
        return i

    with pytest.raises(RuntimeError):
        run_cases(range(100), judge, concurrency=2)
    assert len(judged) < 10  # Executor.map drops the cases not yet started: none waits
