"""The ``openai`` backend against our server over a scripted engine, and against sockets that
misbehave (refuse, drop, stall). The real model behind ``llm-mars serve`` in another process:
test_backend_openai_serve.py."""
from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from test_server import BASE, PLAN, FakeEngine, all_at_once, echo

from llm_mars.assistant import Assistant
from llm_mars.bt.model import Plan, Reply
from llm_mars.bt.parser import parse_bt_output
from llm_mars.errors import (BackendConfigError, BackendError, ConstraintError,
                             EngineClosedError, GenerationTimeout, PlanValidationError,
                             PromptTooLongError, RequestError, ServerUnavailableError,
                             UnknownAdapterError)
from llm_mars.llm.backends.openai import OpenAIBackend
from llm_mars.llm.requests import GenerationRequest, SamplingParams
from llm_mars.llm.server import OpenAIServer
from llm_mars.qa.query import format_query

FAST = dict(retries=2, backoff_s=0.01, connect_timeout_s=2.0)


@pytest.fixture(scope="module")
def shared_server():
    with OpenAIServer(FakeEngine(), BASE, port=0).start() as running:
        yield running


@pytest.fixture
def engine(shared_server):
    fake = shared_server.api.engine
    fake.script, fake.token_delay_s, fake.adapters = echo, 0.0, ("bt", "qa")
    fake.requests, fake.cancelled, fake.submit_errors = [], [], []
    return fake


@pytest.fixture
def backend(shared_server, engine):
    with OpenAIBackend(shared_server.url, **FAST) as client:
        yield client


def ask(content="Robot 1, go home", adapter="bt", **sampling):
    return GenerationRequest.chat([{"role": "user", "content": content}], adapter,
                                  SamplingParams(**sampling))


# --- answers --------------------------------------------------------------------------------


def test_it_finds_the_base_model_and_the_adapters(backend):
    assert backend.base_model == BASE and backend.adapters == ("bt", "qa")


@pytest.mark.parametrize("adapter", ["bt", "qa", None])
def test_the_adapter_is_the_model_name(backend, engine, adapter):
    result = backend.submit(ask(adapter=adapter)).result(10)
    assert result.text == f"[{adapter or 'base'}] Robot 1, go home"
    assert engine.requests[-1].adapter == adapter
    assert result.finish_reason == "stop" and result.token_ids == tuple(map(ord, result.text))
    assert result.prompt_tokens == len("Robot 1, go home") and result.output_tokens > 0
    assert 0 < result.first_token_s <= result.total_s


def test_sampling_reaches_the_server_as_sent(backend, engine):
    backend.submit(ask(temperature=0.5, top_p=0.8, seed=3, max_new_tokens=40,
                       stop=("home",))).result(10)
    sampling = engine.requests[-1].sampling
    assert (sampling.temperature, sampling.top_p, sampling.seed, sampling.max_new_tokens,
            sampling.stop) == (0.5, 0.8, 3, 40, ("home",))


def test_greedy_is_sent_explicitly(backend, engine):
    backend.submit(ask()).result(10)
    assert engine.requests[-1].sampling.temperature == 0.0  # the server's default is 1


def test_streaming_delivers_tokens_as_they_come(backend):
    seen = []
    result = backend.submit(ask(content="stream me"), on_token=seen.append).result(10)
    assert len(seen) == len(result.text) > 5
    assert "".join(e.text for e in seen) == result.text == "[bt] stream me"
    assert tuple(i for e in seen for i in e.token_ids) == result.token_ids
    assert result.prompt_tokens == len("stream me")  # from the usage event
    assert result.first_token_s < result.total_s


def test_concurrent_requests(backend, engine):
    engine.script = all_at_once(8)  # not one after another
    requests = [ask(f"command {i}", ["bt", "qa"][i % 2]) for i in range(8)]
    futures = [backend.submit(r) for r in requests]
    texts = [f.result(60).text for f in futures]
    assert texts == [f"[{r.adapter}] command {i}" for i, r in enumerate(requests)]


def test_the_assistant_plans_through_the_backend_unchanged(backend, engine):
    engine.script = lambda r: PLAN
    outcome = Assistant(backend).plan("Robot 1, take the pink cake from quadrant 2")
    assert outcome.result == parse_bt_output(PLAN) and outcome.text == PLAN
    # the grammar sent is narrowed to the command's grounding, and the server reads it back
    assert engine.requests[-1].adapter == "bt"
    assert engine.requests[-1].constraint == "plan:n=2;c=pink;r=robot1"


# --- plans ----------------------------------------------------------------------------------


@pytest.mark.parametrize("grammar_field", ["structured_outputs", "guided_grammar",
                                           "llm_mars_constraint"])
def test_the_plan_grammar_is_sent_and_the_plan_validated(shared_server, engine, grammar_field):
    engine.script = lambda r: PLAN
    with OpenAIBackend(shared_server.url, grammar_field=grammar_field, **FAST) as client:
        result = client.submit(GenerationRequest.chat(
            [{"role": "user", "content": "Robot 1, pink cake from quadrant 2"}], "bt",
            constraint="plan")).result(10)
    assert engine.requests[-1].constraint == "plan"  # the server recognised the grammar
    assert isinstance(result.parsed, Plan) and result.parsed == parse_bt_output(PLAN)
    assert result.finish_reason == "constraint"


@pytest.mark.parametrize("grammar_field", ["structured_outputs", "llm_mars_constraint"])
def test_the_query_grammar_is_sent_and_the_query_parsed(shared_server, engine, grammar_field):
    engine.script = lambda r: "check robot1.location = home"
    with OpenAIBackend(shared_server.url, grammar_field=grammar_field, **FAST) as client:
        result = client.submit(GenerationRequest.chat(
            [{"role": "user", "content": "is robot 1 home?"}], "qa",
            constraint="query")).result(10)
    assert engine.requests[-1].constraint == "query"
    assert format_query(result.parsed) == "check robot1.location = home"
    engine.script = lambda r: "robot one is home"
    with OpenAIBackend(shared_server.url, grammar_field="none", **FAST) as client:
        with pytest.raises(ConstraintError):
            client.submit(GenerationRequest.chat(
                [{"role": "user", "content": "is robot 1 home?"}], "qa",
                constraint="query")).result(10)


def test_without_a_grammar_field_plans_are_still_validated(shared_server, engine):
    engine.script = lambda r: "<reply>I cannot fly.</reply>"
    with OpenAIBackend(shared_server.url, grammar_field="none", **FAST) as client:
        result = client.submit(GenerationRequest.chat(
            [{"role": "user", "content": "Robot 1, fly"}], "bt", constraint="plan")).result(10)
    assert engine.requests[-1].constraint is None
    assert result.parsed == Reply("I cannot fly.")


@pytest.mark.parametrize("text", [
    PLAN.replace("PickCake", "EatCake"),  # an unknown skill
    PLAN.replace('quadrant="2"', 'quadrant="7"'),  # out of range
    PLAN[:-20],  # cut off
    "Sure! Robot 1 will pick the cake.",
])
def test_a_returned_plan_that_does_not_validate_is_a_constraint_error(shared_server, engine,
                                                                      text):
    engine.script = lambda r: text
    with OpenAIBackend(shared_server.url, grammar_field="none", **FAST) as client:
        future = client.submit(GenerationRequest.chat(
            [{"role": "user", "content": "Robot 1, go"}], "bt", constraint="plan"))
        with pytest.raises(ConstraintError) as caught:
            future.result(10)
    assert isinstance(caught.value.__cause__, PlanValidationError)


def test_a_plan_cut_by_max_tokens_is_a_constraint_error(backend, engine):
    engine.script = lambda r: PLAN
    future = backend.submit(GenerationRequest.chat(
        [{"role": "user", "content": "go"}], "bt", SamplingParams(max_new_tokens=30),
        constraint="plan"))
    with pytest.raises(ConstraintError):
        future.result(10)


# --- refusals and errors --------------------------------------------------------------------


def test_an_adapter_the_server_lacks_is_named(shared_server, engine):
    with pytest.raises(UnknownAdapterError) as caught:
        OpenAIBackend(shared_server.url, adapters=("bt", "planner"), **FAST)
    assert caught.value.name == "planner" and caught.value.loaded == ("bt", "qa")


def test_an_adapter_the_backend_does_not_serve_is_refused_at_once(backend):
    with pytest.raises(UnknownAdapterError):
        backend.submit(ask(adapter="planner"))


def test_an_adapter_the_server_dropped_later_is_an_unknown_adapter(backend, engine):
    engine.adapters = ("bt",)
    with pytest.raises(UnknownAdapterError) as caught:
        backend.submit(ask(adapter="qa")).result(10)
    assert caught.value.name == "qa"


@pytest.mark.parametrize("error, expected", [
    (lambda r: ConstraintError("no plan"), ConstraintError),
    (lambda r: GenerationTimeout("late"), GenerationTimeout),
])
def test_server_errors_come_back_as_their_types(backend, engine, error, expected):
    engine.script = error
    with pytest.raises(expected):
        backend.submit(ask()).result(10)


@pytest.mark.parametrize("error, expected", [
    (PromptTooLongError("3000 tokens"), PromptTooLongError),
    (RequestError("bad"), RequestError),
])
def test_server_refusals_come_back_as_their_types(backend, engine, error, expected):
    engine.submit_errors.append(error)
    with pytest.raises(expected):
        backend.submit(ask()).result(10)


def test_5xx_answers_are_retried_with_backoff(backend, engine):
    engine.submit_errors += [EngineClosedError("restarting"), EngineClosedError("restarting")]
    result = backend.submit(ask()).result(10)
    assert result.text == "[bt] Robot 1, go home" and len(engine.requests) == 3


def test_5xx_answers_give_up_after_the_retries(backend, engine):
    engine.submit_errors += [EngineClosedError("down")] * 5
    with pytest.raises(ServerUnavailableError):
        backend.submit(ask()).result(10)
    assert len(engine.requests) == 3  # one try and two retries


def test_a_wrong_api_key_is_a_backend_error(engine):
    with OpenAIServer(engine, BASE, port=0, api_key="right").start() as server:
        with pytest.raises(BackendError):
            OpenAIBackend(server.url, api_key="wrong", **FAST)
        with OpenAIBackend(server.url, api_key="right", **FAST) as client:
            assert client.submit(ask()).result(10).text.startswith("[bt]")


def test_the_deadline_bounds_the_wait(backend, engine):
    engine.token_delay_s, engine.script = 0.05, (lambda r: "x" * 30)
    request = GenerationRequest.chat([{"role": "user", "content": "go"}], "bt",
                                     SamplingParams(max_new_tokens=30), timeout_s=0.3)
    start = time.monotonic()
    with pytest.raises(GenerationTimeout):
        backend.submit(request).result(10)
    assert time.monotonic() - start < 2


def test_closed_backend_refuses(backend):
    backend.close()
    with pytest.raises(EngineClosedError):
        backend.submit(ask())


@pytest.mark.parametrize("url", ["ftp://host:21", "localhost:8000", "http://"])
def test_bad_urls_are_config_errors(url):
    with pytest.raises(BackendConfigError):
        OpenAIBackend(url)


def test_a_url_with_v1_works(shared_server, engine):
    with OpenAIBackend(shared_server.url + "/v1/", **FAST) as client:
        assert client.submit(ask()).result(10).text.startswith("[bt]")


# --- unreachable, dropped and stalled servers -----------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_server_is_a_clear_error_in_bounded_time():
    start = time.monotonic()
    with pytest.raises(ServerUnavailableError) as caught:
        OpenAIBackend(f"http://127.0.0.1:{free_port()}", **FAST)
    assert "3 attempts" in str(caught.value)
    assert time.monotonic() - start < 2


class RudeServer:
    """Accepts connections and answers with ``reply(request_bytes)`` (then closes)."""

    def __init__(self, reply):
        self.reply = reply
        self.connections = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                data = conn.recv(65536)
                answer = self.reply(data)
                if answer:
                    conn.sendall(answer)
                    time.sleep(0.05)

    def close(self):
        self._sock.close()


def models_then(reply):
    """Answer /v1/models properly, then ``reply`` for chat completions."""
    listing = json.dumps({"data": [{"id": BASE, "parent": None}, {"id": "bt", "parent": BASE},
                                   {"id": "qa", "parent": BASE}]}).encode()

    def answer(request: bytes) -> bytes | None:
        if request.startswith(b"GET /v1/models"):
            return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d"
                    b"\r\nConnection: close\r\n\r\n%s" % (len(listing), listing))
        return reply(request)

    return answer


def test_a_server_that_drops_every_request_is_retried_then_unavailable():
    rude = RudeServer(models_then(lambda r: None))
    try:
        with OpenAIBackend(rude.url, **FAST) as client:
            start = time.monotonic()
            with pytest.raises(ServerUnavailableError):
                client.submit(ask()).result(10)
            assert time.monotonic() - start < 2
        assert rude.connections == 1 + 3
    finally:
        rude.close()


def test_a_stream_that_breaks_after_tokens_is_not_retried():
    chunk = json.dumps({"choices": [{"index": 0, "delta": {"content": "half"}}]}).encode()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
    rude = RudeServer(models_then(lambda r: head + b"data: " + chunk + b"\n\n"))
    try:
        with OpenAIBackend(rude.url, **FAST) as client:
            seen = []
            with pytest.raises(BackendError) as caught:
                client.submit(ask(), on_token=seen.append).result(10)
        assert not isinstance(caught.value, ServerUnavailableError)
        assert [e.text for e in seen] == ["half"] and rude.connections == 2
    finally:
        rude.close()


def test_a_server_that_never_answers_times_out():
    silent = socket.create_server(("127.0.0.1", 0))  # accepts (backlog) but never answers
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        start = time.monotonic()
        with pytest.raises(BackendError):
            OpenAIBackend(url, timeout_s=0.3, **FAST)
        assert time.monotonic() - start < 2
    finally:
        silent.close()


def test_many_waiting_requests_share_the_pool(backend, engine):
    engine.token_delay_s = 0.002
    with ThreadPoolExecutor(4) as pool:
        texts = list(pool.map(lambda i: backend.submit(ask(f"q{i}", "qa")).result(20).text,
                              range(24)))
    assert texts == [f"[qa] q{i}" for i in range(24)]
