"""Commander: one final response per utterance, stops at once, timeouts, progress reports."""
from __future__ import annotations

import json

import pytest

from llm_mars.payloads import ExecutorStatus, LlmResult, Utterance
from llm_mars.session.commander import Commander, CommanderPorts

PLAN_R2 = ('<root BTCPP_format="4"><BehaviorTree ID="robot2">'
           '<DropCherries/></BehaviorTree></root>')
PLAN_BOTH = ('<root BTCPP_format="4"><BehaviorTree ID="robot1"><MoveTo target="home"/>'
             '</BehaviorTree><BehaviorTree ID="robot2"><FunnyAction/></BehaviorTree></root>')


class Harness:
    def __init__(self):
        self.now = 0.0
        self.requests, self.dispatched, self.cancelled, self.responses = [], [], [], []
        self.commander = Commander(
            CommanderPorts(self.requests.append,
                           lambda robot, plan: self.dispatched.append((robot, plan)),
                           lambda robot, reason: self.cancelled.append(robot),
                           self.responses.append),
            llm_timeout_s=10.0, clock=lambda: self.now)

    def say(self, text, **extra):
        self.commander.on_utterance(json.dumps({"text": text, **extra}) if extra else text)

    def finals(self):
        return [r for r in self.responses if r.final]


@pytest.fixture
def h():
    harness = Harness()
    harness.commander.on_world_state({"time_s": 1.0, "robots": {}})
    return harness


def test_command_becomes_plan_for_addressed_robots(h):
    h.say("robots, go home and be funny", id="u1")
    [request] = h.requests
    assert (request.id, request.task) == ("u1", "plan")
    h.commander.on_llm_result(LlmResult("u1", "plan", xml=PLAN_BOTH).to_json())
    assert [(r, p.mode) for r, p in h.dispatched] == [("robot1", "replace"), ("robot2", "replace")]
    [final] = h.finals()
    assert (final.id, final.kind, final.robots) == ("u1", "plan", ["robot1", "robot2"])
    assert "MoveTo" in final.text


def test_then_queues(h):
    h.say("then robot 2 drop the cherries", id="u2")
    h.commander.on_llm_result(LlmResult("u2", "plan", xml=PLAN_R2).to_json())
    assert [(r, p.mode) for r, p in h.dispatched] == [("robot2", "queue")]
    [final] = h.finals()
    assert final.mode == "queue"  # the speaker says "queued" from this, not from the text


def test_invalid_plan_from_llm_moves_nothing(h):
    h.say("robot 2 do something", id="u3")
    bad = PLAN_R2.replace("DropCherries", "DropCheries")
    h.commander.on_llm_result(LlmResult("u3", "plan", xml=bad).to_json())
    assert h.dispatched == []
    [final] = h.finals()
    assert (final.kind, final.code) == ("error", "invalid_plan")
    assert "DropCherries" in final.text  # the did-you-mean


def test_reply_is_passed_on_and_nothing_moves(h):
    h.say("robot 3 fly to the moon", id="u4")
    h.commander.on_llm_result(LlmResult("u4", "reply", "There is no robot 3.").to_json())
    assert h.dispatched == []
    assert [(f.kind, f.text) for f in h.finals()] == [("reply", "There is no robot 3.")]


def test_question_goes_to_qa_with_state(h):
    h.say("where is robot 2?", id="q1")
    [request] = h.requests
    assert (request.task, request.state) == ("answer", {"time_s": 1.0, "robots": {}})
    h.commander.on_llm_result(LlmResult("q1", "answer", "Robot 2 is at home.").to_json())
    assert [(f.kind, f.text) for f in h.finals()] == [("answer", "Robot 2 is at home.")]


def test_a_question_is_sent_with_the_query_of_the_last_answer(h):
    h.say("where is robot 1?", id="q1")
    assert h.requests[-1].previous is None
    h.commander.on_llm_result(LlmResult("q1", "answer", "Robot 1 is at home.",
                                         query="robot1.location").to_json())
    h.say("robot 2 go home", id="c1")  # a command in between leaves the session's question
    h.say("and robot two?", id="q2")
    assert (h.requests[-1].task, h.requests[-1].previous) == ("answer", "robot1.location")


def test_question_without_state_is_an_error():
    h = Harness()
    h.say("where is robot 2?")
    assert h.requests == [] and [f.code for f in h.finals()] == ["no_state"]


def test_stop_is_immediate_and_never_asks_the_llm(h):
    h.say("robot 2 stop", id="s1")
    assert h.requests == [] and h.cancelled == ["robot2"]
    assert [(f.kind, f.robots) for f in h.finals()] == [("stopped", ["robot2"])]
    h.say("everyone stop")
    assert h.cancelled == ["robot2", "robot1", "robot2"]


def test_timeout_gives_one_error_and_late_answer_is_dropped(h):
    h.say("robot 1 go home", id="t1")
    h.now = 9.9
    h.commander.poll()
    assert h.finals() == []
    h.now = 10.0
    h.commander.poll()
    h.commander.poll()
    h.commander.on_llm_result(LlmResult("t1", "plan", xml=PLAN_BOTH).to_json())
    assert [(f.kind, f.code) for f in h.finals()] == [("error", "llm_timeout")]
    assert h.dispatched == []


def test_an_unanswered_request_is_sent_again_until_answer_or_timeout(h):
    """A server that had not matched the commander yet (start-up) or was restarted never got
    the request: the operator waited for the timeout."""
    h.commander.llm_resend_s = 3.0
    h.say("robot 1 go home", id="r1")
    h.now = 2.9
    h.commander.poll()
    assert len(h.requests) == 1
    h.now = 3.0
    h.commander.poll()
    h.commander.poll()
    assert h.requests == [h.requests[0]] * 2  # the same request, once per interval
    h.now = 6.0
    h.commander.poll()
    assert len(h.requests) == 3
    h.commander.on_llm_result(LlmResult("r1", "plan", xml=PLAN_BOTH).to_json())
    h.now = 9.5
    h.commander.poll()
    assert len(h.requests) == 3 and [f.kind for f in h.finals()] == ["plan"]
    h.say("robot 2 go home", id="r2")  # never answered: sent again, then the timeout
    for h.now in (12.5, 15.5, 18.5, 19.5):
        h.commander.poll()
    assert len(h.requests) == 3 + 4  # at 9.5, 12.5, 15.5 and 18.5
    assert [(f.kind, f.code) for f in h.finals()] == [("plan", None), ("error", "llm_timeout")]


def test_no_request_is_sent_again_when_resending_is_off(h):
    h.commander.llm_resend_s = 0.0
    h.say("robot 1 go home", id="r1")
    for h.now in (3.0, 6.0, 9.0):
        h.commander.poll()
    assert len(h.requests) == 1


@pytest.mark.parametrize("data", ["", "\x00\x01", "x" * 5000, '{"text": 5}'])
def test_bad_input_gets_an_error(h, data):
    h.commander.on_utterance(data)
    assert [(f.kind, f.code) for f in h.finals()] == [("error", "bad_input")]
    assert h.requests == []


def test_low_confidence_is_not_executed(h):
    h.say("robot one go home", confidence=0.2, source="speech")
    assert h.requests == []
    assert "did not catch" in h.finals()[0].text


def test_llm_error_and_garbage_results(h):
    h.say("robot 1 go home", id="e1")
    h.commander.on_llm_result("garbage")
    h.commander.on_llm_result(LlmResult("someone-else", "answer", "x").to_json())
    assert h.finals() == []
    h.commander.on_llm_result(LlmResult("e1", "error", "engine crashed", code="engine").to_json())
    assert [(f.kind, f.code) for f in h.finals()] == [("error", "engine")]


def test_every_utterance_gets_exactly_one_final(h):
    ids = [f"u{i}" for i in range(30)]
    texts = ["robot 1 go home", "where is robot 2", "stop", "", "robot 2 fetch cherries"]
    for i, uid in enumerate(ids):
        text = texts[i % len(texts)]
        h.commander.on_utterance(Utterance(text or "x", uid).to_json() if text else
                                 json.dumps({"id": uid, "text": ""}))
    for request in h.requests[::2]:
        kind = "answer" if request.task == "answer" else "reply"
        h.commander.on_llm_result(LlmResult(request.id, kind, "ok").to_json())
    h.now = 100.0
    h.commander.poll()
    assert sorted(f.id for f in h.finals()) == sorted(ids)


def test_progress_reports_failures_and_offline_executors(h):
    c = h.commander
    c.on_executor_status(ExecutorStatus("robot1", "RUNNING", "p1", "PickCake"))
    c.on_executor_status(ExecutorStatus("robot1", "FAILURE", "p1",
                                        reason="PickCake: stack already taken"))
    h.now = 5.0
    c.poll()
    c.poll()
    c.on_executor_status(ExecutorStatus("robot1", "IDLE"))
    texts = [r.text for r in h.responses if not r.final]
    assert texts == ["robot1 failed: PickCake: stack already taken",
                     "robot1 executor is offline (no status for 3 s).",
                     "robot1 executor is back online."]


def test_robot_views_are_merged_each_robot_from_its_own_driver(h):
    view = {"robot1": {"location": "plate_3"}, "robot2": {"location": "home"}}
    other = {"robot1": {"location": "home"}, "robot2": {"location": "basket"}}
    h.commander.on_robot_state("robot1", {"time_s": 2.0, "robots": view})
    h.commander.on_robot_state("robot2", {"time_s": 3.0, "robots": other})
    h.commander.on_robot_state("robot1", {"time_s": 4.0, "robots": view})
    assert h.commander.world_state == {
        "time_s": 4.0, "robots": {"robot1": {"location": "plate_3"},
                                  "robot2": {"location": "basket"}}}


def test_progress_says_why_a_plan_ended_without_failing(h):
    c = h.commander
    c.on_executor_status(ExecutorStatus("robot1", "RUNNING", "p1", "MoveTo"))
    c.on_executor_status(ExecutorStatus("robot1", "SUCCESS", "p1", reason="skipped: the tree ended SKIPPED"))
    c.on_executor_status(ExecutorStatus("robot1", "RUNNING", "p2", "MoveTo"))
    c.on_executor_status(ExecutorStatus("robot1", "SUCCESS", "p2"))
    texts = [r.text for r in h.responses if not r.final]
    assert texts == ["robot1: plan p1 success (skipped: the tree ended SKIPPED)",
                     "robot1: plan p2 success"]
