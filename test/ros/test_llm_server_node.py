"""The llm_server node over topics: a request its caller sends again (the commander does while
it hears nothing) is served once, and a copy sent after the answer gets that answer again."""
from __future__ import annotations

from concurrent.futures import Future

import pytest

from llm_mars.assistant import PlanOutcome
from llm_mars.bt.model import Reply
from llm_mars.nodes import llm_server
from llm_mars.nodes.llm_server import LlmServerNode
from llm_mars.payloads import LlmRequest, LlmResult

from ros_harness import Graph

pytestmark = pytest.mark.ros


class HeldAssistant:
    """Plans only when the test says so: each request's future is kept."""

    def __init__(self):
        self.timeout_s = 60.0
        self.asked: list[str] = []
        self.futures: list[Future] = []

    def plan_async(self, text: str) -> Future:
        future: Future = Future()
        self.asked.append(text)
        self.futures.append(future)
        return future

    def answer(self, n: int, text: str) -> None:
        self.futures[n].set_result(PlanOutcome(Reply(text), text, 0.1))

    def close(self) -> None:
        pass


@pytest.fixture
def server():
    graph = Graph()
    assistant = HeldAssistant()
    graph.make(LlmServerNode, assistant=assistant)
    results = graph.listen("/llm/result")
    send = graph.publisher("/llm/request", subscribers=1)
    yield graph, assistant, results, lambda request: send(request.to_json())
    graph.close()


def test_a_request_sent_again_runs_once_and_its_answer_is_sent_again(server):
    graph, assistant, results, send = server
    request = LlmRequest("u1", "plan", "robot 1 fly home")
    send(request)
    assert graph.wait_for(lambda: len(assistant.asked) == 1, 10)
    send(request)  # while it runs
    graph.wait_for(lambda: len(assistant.asked) > 1, 1)
    assert assistant.asked == ["robot 1 fly home"] and results == []
    assistant.answer(0, "The robots cannot fly.")
    assert graph.wait_for(lambda: len(results) == 1, 10)
    send(request)  # its answer was lost on the way
    assert graph.wait_for(lambda: len(results) == 2, 10)
    assert results[0] == results[1]
    assert LlmResult.from_json(results[1]).text == "The robots cannot fly."
    assert len(assistant.asked) == 1


def test_the_same_id_with_other_words_is_another_request(server):
    graph, assistant, results, send = server
    send(LlmRequest("u1", "plan", "robot 1 go home"))
    send(LlmRequest("u1", "plan", "robot 2 go home"))
    assert graph.wait_for(lambda: len(assistant.asked) == 2, 10)
    assistant.answer(0, "one")
    assistant.answer(1, "two")
    assert graph.wait_for(lambda: len(results) == 2, 10)
    assert sorted(LlmResult.from_json(r).text for r in results) == ["one", "two"]


def test_only_the_latest_answers_are_kept(server, monkeypatch):
    graph, assistant, results, send = server
    monkeypatch.setattr(llm_server, "ANSWERS_KEPT", 3)
    for n in range(4):
        send(LlmRequest(f"u{n}", "plan", "go home"))
        assert graph.wait_for(lambda: len(assistant.asked) == n + 1, 10)
        assistant.answer(n, f"answer {n}")
        assert graph.wait_for(lambda: len(results) == n + 1, 10)
    send(LlmRequest("u3", "plan", "go home"))  # kept: answered again, not asked
    assert graph.wait_for(lambda: len(results) == 5, 10) and len(assistant.asked) == 4
    send(LlmRequest("u0", "plan", "go home"))  # forgotten: asked again
    assert graph.wait_for(lambda: len(assistant.asked) == 5, 10)
