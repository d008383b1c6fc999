"""The OpenAI-compatible server at the HTTP level, over a scripted engine (FakeEngine).

The fake keeps the engine's contract (adapters, ``submit(request, on_token)`` -> Future, the
engine's error types, deadlines, cancellation) and answers from a script, so every HTTP status
the server can send is reachable in milliseconds. The real engine behind ``llm-mars serve`` is
tested in test_backend_openai_serve.py.
"""
from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
import torch

from llm_mars.errors import (BackendError, ConstraintError, EngineClosedError, GenerationTimeout,
                             PlanValidationError, Problem, PromptTooLongError, RequestError,
                             UnknownAdapterError)
from llm_mars.language.grounding import Grounding
from llm_mars.llm.grammar import plan_grammar_ebnf
from llm_mars.llm.requests import GenerationRequest, GenerationResult, TokenEvent
from llm_mars.llm.server import OpenAIServer, StreamText
from llm_mars.qa.query import query_grammar_ebnf

BASE = "TinyBase"
PLAN = ('<root BTCPP_format="4">\n  <BehaviorTree ID="robot1">\n    <Sequence>\n'
        '      <PickCake color="pink" quadrant="2"/>\n    </Sequence>\n  </BehaviorTree>\n'
        '</root>\n')


def all_at_once(n: int) -> Callable[[GenerationRequest], str]:
    """An echo script that answers only once ``n`` requests are in the engine together: served
    one after another, the first waits in vain and fails its request (not a timing bound, which
    a loaded machine breaks)."""
    barrier = threading.Barrier(n)

    def script(request: GenerationRequest) -> str | Exception:
        try:
            barrier.wait(timeout=30)
        except threading.BrokenBarrierError:
            return GenerationTimeout("the requests were not served at the same time")
        return echo(request)

    return script


def echo(request: GenerationRequest) -> str:
    """The fake's default answer: which adapter answered, and the last message."""
    return f"[{request.adapter or 'base'}] {request.message_dicts()[-1]['content']}"


class FakeEngine:
    """The engine's contract, answering ``script(request)`` one character per token."""

    def __init__(self, script: Callable[[GenerationRequest], str | Exception] = echo, *,
                 adapters: tuple[str, ...] = ("bt", "qa"), token_delay_s: float = 0.0):
        self.adapters = adapters
        self.alive = True
        self.script = script
        self.token_delay_s = token_delay_s
        self.submit_errors: list[Exception] = []  # raised by the next submit() calls
        self.requests: list[GenerationRequest] = []
        self.cancelled: list[GenerationRequest] = []
        self._pool = ThreadPoolExecutor(16)

    def submit(self, request: GenerationRequest,
               on_token: Callable[[TokenEvent], None] | None = None) -> Future:
        self.requests.append(request)
        if self.submit_errors:
            raise self.submit_errors.pop(0)
        if request.adapter is not None and request.adapter not in self.adapters:
            raise UnknownAdapterError(request.adapter, self.adapters)
        future: Future = Future()
        self._pool.submit(self._run, request, on_token, future)
        return future

    def _run(self, request, on_token, future: Future) -> None:
        answer = self.script(request)
        if isinstance(answer, Exception):
            future.set_running_or_notify_cancel()
            future.set_exception(answer)
            return
        start, text, reason = time.monotonic(), "", "stop"
        for ch in answer:
            if future.cancelled():
                self.cancelled.append(request)
                return
            if request.deadline is not None and time.monotonic() > request.deadline:
                future.set_running_or_notify_cancel()
                future.set_exception(GenerationTimeout("deadline"))
                return
            if len(text) == request.sampling.max_new_tokens:
                reason = "length"
                break
            time.sleep(self.token_delay_s)
            text += ch
            if on_token is not None:
                on_token(TokenEvent((ord(ch),), ch))
            if any(stop in text for stop in request.sampling.stop):
                break
        for stop in request.sampling.stop:
            text = text.split(stop)[0]
        prompt = sum(len(m["content"]) for m in request.message_dicts())
        now = time.monotonic() - start
        if future.set_running_or_notify_cancel():
            future.set_result(GenerationResult(
                text, tuple(map(ord, text)), "constraint" if request.constraint else reason,
                prompt, 0, 0, 0.0, now, now))


GRAMMAR = plan_grammar_ebnf()


@pytest.fixture(scope="module")
def shared_server():
    with OpenAIServer(FakeEngine(), BASE, port=0).start() as running:
        yield running


@pytest.fixture
def engine(shared_server):
    """The shared server's fake engine, reset to echo without delay."""
    fake = shared_server.api.engine
    fake.script, fake.token_delay_s, fake.alive = echo, 0.0, True
    fake.requests, fake.cancelled, fake.submit_errors = [], [], []
    return fake


@pytest.fixture
def server(shared_server, engine):
    return shared_server


def call(server: OpenAIServer, method: str, path: str, body=None, *, raw: bytes | None = None,
         headers: dict[str, str] | None = None, conn: http.client.HTTPConnection | None = None):
    """(status, decoded JSON or text, response headers); ``conn`` keeps the connection."""
    own = conn is None
    if own:
        conn = http.client.HTTPConnection(*server._http.server_address[:2], timeout=10)
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    try:
        conn.request(method, path, body=data, headers={"Content-Type": "application/json",
                                                       **(headers or {})})
        response = conn.getresponse()
        payload = response.read().decode()
        kind = response.getheader("Content-Type", "")
        return (response.status, json.loads(payload) if "json" in kind else payload,
                dict(response.getheaders()))
    finally:
        if own:
            conn.close()


def chat(model="bt", content="Robot 1, go home", **fields):
    return {"model": model, "messages": [{"role": "user", "content": content}], **fields}


def events(text: str) -> list:
    """The ``data:`` payloads of a server-sent-event body (JSON decoded, except [DONE])."""
    out = []
    for block in text.split("\n\n"):
        if block.startswith("data: "):
            payload = block[len("data: "):]
            out.append(payload if payload == "[DONE]" else json.loads(payload))
    return out


def assert_serving(server: OpenAIServer) -> None:
    status, body, _ = call(server, "POST", "/v1/chat/completions", chat(temperature=0))
    assert status == 200 and body["choices"][0]["message"]["content"] == "[bt] Robot 1, go home"


# --- models and completions -----------------------------------------------------------------


def test_models_lists_the_base_model_then_the_adapters(server):
    status, body, _ = call(server, "GET", "/v1/models")
    assert status == 200 and body["object"] == "list"
    assert [(m["id"], m["parent"]) for m in body["data"]] == [
        (BASE, None), ("bt", BASE), ("qa", BASE)]


@pytest.mark.parametrize("model, adapter", [("bt", "bt"), ("qa", "qa"), (BASE, None)])
def test_the_model_field_chooses_the_adapter(server, engine, model, adapter):
    status, body, _ = call(server, "POST", "/v1/chat/completions", chat(model))
    assert status == 200
    assert engine.requests[-1].adapter == adapter
    assert body["model"] == model and body["object"] == "chat.completion"
    choice = body["choices"][0]
    assert choice["message"] == {"role": "assistant",
                                 "content": f"[{adapter or 'base'}] Robot 1, go home"}
    assert choice["finish_reason"] == "stop"
    assert body["usage"]["completion_tokens"] == len(choice["message"]["content"])
    assert body["usage"]["total_tokens"] == (body["usage"]["prompt_tokens"]
                                             + body["usage"]["completion_tokens"])


def test_sampling_fields_reach_the_engine(server, engine):
    status, _, _ = call(server, "POST", "/v1/chat/completions", chat(
        temperature=0.7, top_p=0.9, seed=5, max_completion_tokens=30, stop=["home"],
        messages=[{"role": "developer", "content": "Be brief."},
                  {"role": "user", "content": [{"type": "text", "text": "Robot 1, "},
                                               {"type": "text", "text": "go home"}]}]))
    assert status == 200
    request = engine.requests[-1]
    sampling = request.sampling
    assert (sampling.temperature, sampling.top_p, sampling.seed, sampling.max_new_tokens,
            sampling.stop) == (0.7, 0.9, 5, 30, ("home",))
    assert request.message_dicts() == [{"role": "system", "content": "Be brief."},
                                       {"role": "user", "content": "Robot 1, go home"}]
    assert request.constraint is None and request.deadline is not None


def test_defaults_follow_openai(server, engine):
    call(server, "POST", "/v1/chat/completions", chat())
    assert engine.requests[-1].sampling.temperature == 1.0
    assert engine.requests[-1].sampling.max_new_tokens == 256


def test_completions_send_the_prompt_as_one_user_turn(server, engine):
    status, body, _ = call(server, "POST", "/v1/completions",
                           {"model": "qa", "prompt": "Where is robot 2?"})
    assert status == 200 and body["object"] == "text_completion"
    assert engine.requests[-1].message_dicts() == [{"role": "user",
                                                    "content": "Where is robot 2?"}]
    choice = body["choices"][0]
    assert choice["text"] == "[qa] Where is robot 2?"[:16]  # completions default to 16 tokens
    assert choice["finish_reason"] == "length"


def test_return_token_ids(server):
    _, body, _ = call(server, "POST", "/v1/chat/completions",
                      chat(max_tokens=4, return_token_ids=True))
    assert body["choices"][0]["token_ids"] == [ord(c) for c in "[bt]"]


# --- structured output ----------------------------------------------------------------------


@pytest.mark.parametrize("fields", [
    {"guided_grammar": GRAMMAR},
    {"structured_outputs": {"grammar": GRAMMAR + "\n"}},  # surrounding whitespace is ignored
    {"llm_mars_constraint": "plan"},
    {"structured_outputs": {"grammar": GRAMMAR, "json": None}, "llm_mars_constraint": "plan"},
])
def test_the_plan_grammar_in_any_form_asks_for_a_plan(fields, server, engine):
    status, _, _ = call(server, "POST", "/v1/chat/completions", chat(**fields))
    assert status == 200 and engine.requests[-1].constraint == "plan"


@pytest.mark.parametrize("fields", [
    {"guided_grammar": query_grammar_ebnf()},
    {"structured_outputs": {"grammar": query_grammar_ebnf()}},
    {"llm_mars_constraint": "query"},
])
def test_the_query_grammar_in_any_form_asks_for_a_query(fields, server, engine):
    status, _, _ = call(server, "POST", "/v1/chat/completions", chat(**fields))
    assert status == 200 and engine.requests[-1].constraint == "query"


GROUNDING = Grounding(frozenset({2, 3}), frozenset({"brown"}))
GROUNDED = plan_grammar_ebnf(grounding=GROUNDING)


@pytest.mark.parametrize("fields", [
    {"guided_grammar": GROUNDED},
    {"structured_outputs": {"grammar": GROUNDED}},
    {"llm_mars_constraint": f"plan:{GROUNDING.key()}"},
])
def test_a_grounded_plan_grammar_asks_for_the_grounded_plan(fields, server, engine):
    status, _, _ = call(server, "POST", "/v1/chat/completions", chat(**fields))
    assert status == 200 and engine.requests[-1].constraint == f"plan:{GROUNDING.key()}"


@pytest.mark.parametrize("fields, param", [
    ({"guided_grammar": 'root ::= "yes" | "no"'}, "guided_grammar"),
    ({"structured_outputs": {"grammar": GRAMMAR.replace("PickCake", "EatCake")}},
     "structured_outputs.grammar"),
    ({"structured_outputs": {"regex": "[a-z]+"}}, "structured_outputs.regex"),
    ({"llm_mars_constraint": "json"}, "llm_mars_constraint"),
    ({"llm_mars_constraint": "plan:n=1;c=green"}, "llm_mars_constraint"),
    # a grounding header over a grammar that is not that grounding's
    ({"guided_grammar": GROUNDED.replace("n=2,3", "n=2")}, "guided_grammar"),
    ({"guided_grammar": GRAMMAR, "llm_mars_constraint": f"plan:{GROUNDING.key()}"},
     "guided_grammar"),
    ({"guided_grammar": GRAMMAR, "structured_outputs": {"grammar": "root ::= \"x\""}},
     "structured_outputs.grammar"),
])
def test_other_grammars_are_refused(fields, param, server, engine):
    status, body, _ = call(server, "POST", "/v1/chat/completions", chat(**fields))
    assert status == 400
    assert body["error"]["code"] == "unsupported_grammar" and body["error"]["param"] == param
    assert not engine.requests
    assert_serving(server)


# --- streaming ------------------------------------------------------------------------------


def test_stream_sends_the_same_text_as_a_whole_answer(server):
    _, whole, _ = call(server, "POST", "/v1/chat/completions", chat())
    status, text, headers = call(server, "POST", "/v1/chat/completions",
                                 chat(stream=True, stream_options={"include_usage": True}))
    assert status == 200 and headers["Content-Type"] == "text/event-stream"
    received = events(text)
    assert received[-1] == "[DONE]"
    chunks, usage = received[:-2], received[-2]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"]
               for c in chunks)
    assert len(chunks) > 3  # one event per token, not one at the end
    streamed = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert streamed == whole["choices"][0]["message"]["content"]
    assert [c["choices"][0]["finish_reason"] for c in chunks][-1] == "stop"
    assert usage["choices"] == [] and usage["usage"] == whole["usage"]


def test_stream_of_completions(server):
    _, text, _ = call(server, "POST", "/v1/completions",
                      {"model": "bt", "prompt": "Robot 2, fill the basket", "stream": True,
                       "max_tokens": 100})
    received = events(text)
    assert received[-1] == "[DONE]"
    assert all(c["object"] == "text_completion" for c in received[:-1])
    assert "".join(c["choices"][0]["text"] for c in received[:-1]) == \
        "[bt] Robot 2, fill the basket"


def test_stream_never_shows_a_stop_string(server):
    body = chat(content="Robot 1, go to plate 3 then home", stop=["plate 3", "xyz"])
    _, whole, _ = call(server, "POST", "/v1/chat/completions", body)
    _, text, _ = call(server, "POST", "/v1/chat/completions", {**body, "stream": True})
    deltas = [c["choices"][0]["delta"].get("content", "") for c in events(text)[:-1]]
    assert "".join(deltas) == whole["choices"][0]["message"]["content"] == "[bt] Robot 1, go to "
    assert not any("p" in d for d in deltas)  # not even the start of the stop string


@pytest.mark.parametrize("stops, pieces, shown", [
    ((), ["ab", "c"], ["ab", "c"]),
    (("END",), ["ab", "cE", "N", "D more"], ["ab", "c", "", ""]),
    (("END",), ["ab", "cE", "x"], ["ab", "c", "Ex"]),
    (("ab", "bc"), ["xa", "bc"], ["x", ""]),
])
def test_stream_text_holds_back_what_a_stop_string_may_cut(stops, pieces, shown):
    text = StreamText(stops)
    assert [text.feed(p) for p in pieces] == shown


def test_stream_text_finish_sends_the_rest_of_the_final_text():
    text = StreamText(("END",))
    assert text.feed("abcE") == "abc"
    assert text.finish("abcE") == "E"  # the engine ended there: E was not a stop after all


def test_an_error_after_the_stream_started_is_an_event(engine, server):
    engine.script = lambda r: ConstraintError("the grammar could not be finished")
    status, text, _ = call(server, "POST", "/v1/chat/completions",
                           chat(stream=True, llm_mars_constraint="plan"))
    assert status == 200
    received = events(text)
    assert received[-1] == "[DONE]"
    error = received[-2]["error"]
    assert (error["status"], error["code"]) == (422, "constraint_failed")


def test_a_client_that_leaves_mid_stream_cancels_the_request(server):
    engine = server.api.engine
    engine.token_delay_s = 0.01
    engine.script = lambda r: "x" * 2000
    with socket.create_connection(server._http.server_address[:2], timeout=10) as sock:
        body = json.dumps(chat(stream=True, max_tokens=2000)).encode()
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     b"application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        received = b""
        while b"data:" not in received:
            chunk = sock.recv(4096)
            assert chunk, received
            received += chunk
    deadline = time.monotonic() + 10
    while not engine.cancelled and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(engine.cancelled) == 1


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path, body, status, code", [
    ("POST", "/v1/chat/completions", chat("robot9"), 404, "model_not_found"),
    ("POST", "/v1/chat/completions", b'{"model": "bt", "messages": [', 400, "invalid_json"),
    ("POST", "/v1/chat/completions", [1, 2], 400, "invalid_request"),
    ("POST", "/v1/chat/completions", {"messages": []}, 400, "invalid_request"),
    ("POST", "/v1/chat/completions", chat(messages=[]), 400, "invalid_request"),
    ("POST", "/v1/chat/completions", chat(messages=[{"role": "robot", "content": "hi"}]),
     400, "invalid_request"),
    ("POST", "/v1/chat/completions", chat(messages=[{"role": "user", "content": 3}]),
     400, "invalid_request"),
    ("POST", "/v1/chat/completions", chat(temperature=5), 400, "invalid_request"),
    ("POST", "/v1/chat/completions", chat(temperature="hot"), 400, "invalid_request"),
    ("POST", "/v1/chat/completions", chat(top_p=0), 400, "invalid_request"),
    ("POST", "/v1/chat/completions", chat(max_tokens=0), 400, "invalid_request"),
    ("POST", "/v1/chat/completions", chat(max_tokens=True), 400, "invalid_request"),
    ("POST", "/v1/chat/completions", chat(seed=1.5), 400, "invalid_request"),
    ("POST", "/v1/chat/completions", chat(stop=["a", "b", "c", "d", "e"]), 400,
     "invalid_request"),
    ("POST", "/v1/chat/completions", chat(stream="yes"), 400, "invalid_request"),
    ("POST", "/v1/chat/completions", chat(stream_options={"include_usage": True}), 400,
     "invalid_request"),
    ("POST", "/v1/chat/completions", chat(seed=2**64, temperature=1), 400, "invalid_request"),
    ("POST", "/v1/chat/completions", chat(seed=-2**63 - 1, temperature=1), 400,
     "invalid_request"),
    ("POST", "/v1/chat/completions", chat(n=2), 400, "unsupported_parameter"),
    ("POST", "/v1/chat/completions", chat(logprobs=True), 400, "unsupported_parameter"),
    ("POST", "/v1/chat/completions", chat(presence_penalty=0.5), 400, "unsupported_parameter"),
    ("POST", "/v1/chat/completions", chat(tools=[{"type": "function"}]), 400,
     "unsupported_parameter"),
    ("POST", "/v1/chat/completions", chat(response_format={"type": "json_object"}), 400,
     "unsupported_parameter"),
    ("POST", "/v1/completions", {"model": "bt", "prompt": [1, 2, 3]}, 400, "invalid_request"),
    ("POST", "/v1/completions", {"model": "bt", "prompt": "x", "echo": True}, 400,
     "unsupported_parameter"),
    ("POST", "/v1/chat/completions", chat(content="x" * 100_001), 413, "prompt_too_long"),
    ("POST", "/v1/embeddings", chat(), 404, "not_found"),
    ("GET", "/", None, 404, "not_found"),
    ("GET", "/v1/chat/completions", None, 405, "method_not_allowed"),
    ("DELETE", "/v1/models", None, 405, "method_not_allowed"),
])
def test_bad_requests_get_an_openai_error_and_the_server_goes_on(
        server, engine, method, path, body, status, code):
    raw = body if isinstance(body, bytes) else None
    got, answer, _ = call(server, method, path, None if raw else body, raw=raw)
    assert got == status
    assert set(answer["error"]) == {"message", "type", "param", "code"}
    assert answer["error"]["code"] == code and answer["error"]["message"]
    assert not engine.requests
    assert_serving(server)


def test_an_oversized_body_is_refused_before_it_is_parsed(engine):
    with OpenAIServer(engine, BASE, port=0, max_body_bytes=1000).start() as small:
        status, answer, _ = call(small, "POST", "/v1/chat/completions",
                                 chat(content="x" * 5000))
        assert (status, answer["error"]["code"]) == (413, "request_too_large")
        assert_serving(small)


def test_a_body_without_length_is_refused(server):
    with socket.create_connection(server._http.server_address[:2], timeout=10) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 411 ")
    assert_serving(server)


def test_one_connection_carries_requests_after_an_error(server):
    conn = http.client.HTTPConnection(*server._http.server_address[:2], timeout=10)
    try:
        assert call(server, "POST", "/v1/nothing", chat(), conn=conn)[0] == 404
        assert call(server, "POST", "/v1/chat/completions", chat("nobody"), conn=conn)[0] == 404
        status, body, _ = call(server, "POST", "/v1/chat/completions", chat(), conn=conn)
        assert status == 200 and body["choices"][0]["message"]["content"].startswith("[bt]")
    finally:
        conn.close()


@pytest.mark.parametrize("error, status, code", [
    (ConstraintError("no plan"), 422, "constraint_failed"),
    (PlanValidationError([Problem("unknown tag EatCake", code="unknown_tag")]), 422,
     "invalid_plan"),
    (GenerationTimeout("late"), 504, "timeout"),
    (BackendError("step failed"), 500, "engine_error"),
    (RuntimeError("a bug"), 500, "internal_error"),
])
def test_engine_failures_map_to_http_errors(engine, server, error, status, code):
    engine.script = lambda r: error
    got, answer, _ = call(server, "POST", "/v1/chat/completions", chat())
    assert (got, answer["error"]["code"]) == (status, code)
    engine.script = echo
    assert_serving(server)


@pytest.mark.parametrize("error, status, code", [
    (EngineClosedError("closed"), 503, "engine_closed"),
    (PromptTooLongError("3000 tokens"), 413, "prompt_too_long"),
    (RequestError("unknown constraint"), 400, "invalid_request"),
    (UnknownAdapterError("bt", ("qa",)), 404, "model_not_found"),
])
def test_engine_refusals_map_to_http_errors(engine, server, error, status, code):
    engine.submit_errors.append(error)
    got, answer, _ = call(server, "POST", "/v1/chat/completions", chat())
    assert (got, answer["error"]["code"]) == (status, code)
    assert_serving(server)


def test_health_and_models_say_when_the_engine_does_not_serve(engine, server):
    assert call(server, "GET", "/health")[:2] == (200, {"status": "ok"})
    engine.alive = False
    for path in ("/health", "/v1/models"):
        status, answer, _ = call(server, "GET", path)
        assert (status, answer["error"]["code"]) == (503, "engine_unavailable")


def test_the_extreme_seeds_of_the_generator_are_served(server, engine):
    for seed in (2**64 - 1, -2**63):
        assert call(server, "POST", "/v1/chat/completions", chat(seed=seed, temperature=1))[0] \
            == 200
    assert [r.sampling.seed for r in engine.requests] == [2**64 - 1, -2**63]


def test_a_request_the_engine_does_not_finish_in_time_gets_504():
    slow = FakeEngine(lambda r: "x" * 1000, token_delay_s=0.01)
    with OpenAIServer(slow, BASE, port=0, request_timeout_s=0.3).start() as server:
        start = time.monotonic()
        status, answer, _ = call(server, "POST", "/v1/chat/completions", chat(max_tokens=1000))
        assert (status, answer["error"]["code"]) == (504, "timeout")
        assert time.monotonic() - start < 3


# --- API key and concurrency ----------------------------------------------------------------


def test_api_key(engine):
    with OpenAIServer(engine, BASE, port=0, api_key="s3cret").start() as server:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
            status, answer, response_headers = call(server, "POST", "/v1/chat/completions",
                                                    chat(), headers=headers)
            assert (status, answer["error"]["code"]) == (401, "invalid_api_key")
            assert response_headers["WWW-Authenticate"] == "Bearer"
            assert call(server, "GET", "/v1/models", headers=headers)[0] == 401
        assert not engine.requests
        ok = {"Authorization": "Bearer s3cret"}
        assert call(server, "GET", "/v1/models", headers=ok)[0] == 200
        assert call(server, "POST", "/v1/chat/completions", chat(), headers=ok)[0] == 200


def test_requests_are_served_concurrently():
    with OpenAIServer(FakeEngine(all_at_once(8)), BASE, port=0).start() as server:
        bodies = [chat(["bt", "qa"][i % 2], f"command {i}") for i in range(8)]
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(
                lambda b: call(server, "POST", "/v1/chat/completions", b), bodies))
    assert [a[1]["choices"][0]["message"]["content"] for a in answers] == [
        f"[{b['model']}] command {i}" for i, b in enumerate(bodies)]


def test_close_stops_listening(engine):
    server = OpenAIServer(engine, BASE, port=0).start()
    address = server._http.server_address[:2]
    server.close()
    with pytest.raises(OSError):
        socket.create_connection(address, timeout=2).close()


def test_a_busy_port_is_a_backend_error(server, engine):
    with pytest.raises(BackendError):
        OpenAIServer(engine, BASE, port=server._http.server_address[1])


def test_serving_from_many_threads_keeps_each_answer_with_its_request(server, engine):
    engine.token_delay_s = 0.001
    results: dict[int, str] = {}

    def ask(i: int) -> None:
        _, text, _ = call(server, "POST", "/v1/chat/completions",
                          chat("qa", f"question {i}", stream=True))
        results[i] = "".join(c["choices"][0]["delta"].get("content", "")
                             for c in events(text)[:-1])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert results == {i: f"[qa] question {i}" for i in range(6)}


# --- over the real engine (the tiny model) --------------------------------------------------


@pytest.fixture
def real_server(tiny_llama, tiny_tokenizer, adapter_dirs):
    from llm_mars.llm.engine import Engine
    from llm_mars.llm.llama import CompactLlama

    engine = Engine(CompactLlama.from_hf(tiny_llama, torch.float32), tiny_tokenizer,
                    adapters=adapter_dirs, max_batch=4, max_seq_len=128, chunk_tokens=64)
    with engine, OpenAIServer(engine, BASE, port=0, request_timeout_s=10).start() as server:
        yield server


def test_no_request_stops_the_real_engine_and_health_tells_when_it_stopped(real_server):
    """A seed out of the generator's range once killed the engine thread (every later request
    then answered 504) while /v1/models still answered 200."""
    bad = chat("bt", "go home", seed=2**64, temperature=1, max_tokens=4)
    status, answer, _ = call(real_server, "POST", "/v1/chat/completions", bad)
    assert (status, answer["error"]["param"]) == (400, "seed")
    status, answer, _ = call(real_server, "POST", "/v1/chat/completions",
                             chat("bt", "go home", seed=7, temperature=1, max_tokens=4))
    assert status == 200 and answer["usage"]["completion_tokens"] >= 1
    assert call(real_server, "GET", "/health")[0] == 200
    real_server.api.engine.close()
    assert call(real_server, "GET", "/health")[0] == 503
    assert call(real_server, "GET", "/v1/models")[0] == 503


# --- load limits ----------------------------------------------------------------------------


def _connect(server: OpenAIServer) -> socket.socket:
    return socket.create_connection(server._http.server_address[:2], timeout=5)


def test_connections_past_the_cap_get_503_and_no_thread(engine):
    """300 half-open connections made 303 threads."""
    with OpenAIServer(engine, BASE, port=0, max_connections=4, read_timeout_s=1.5).start() \
            as server:
        threads = threading.active_count()
        held = []
        for _ in range(12):
            sock = _connect(server)
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")  # half a request
            held.append(sock)
            time.sleep(0.02)
        time.sleep(0.3)
        assert threading.active_count() - threads <= 4
        refused = []
        for sock in held[4:]:
            answer = sock.recv(4096)
            refused.append(answer.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 1" in answer)
        assert all(refused)
        for sock in held[:4]:  # the read deadline frees the held ones
            assert sock.recv(4096) == b""
            sock.close()
        deadline = time.monotonic() + 5  # their threads end a moment after the sockets do
        while threading.active_count() > threads and time.monotonic() < deadline:
            time.sleep(0.05)
        assert_serving(server)


def test_a_request_trickling_in_is_cut_at_the_read_deadline(engine):
    """The socket timeout restarted with every byte: one byte a second held a thread for ever."""
    with OpenAIServer(engine, BASE, port=0, read_timeout_s=1.0).start() as server:
        sock = _connect(server)
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\n")
        start, closed = time.monotonic(), False
        while time.monotonic() - start < 5 and not closed:
            try:
                sock.sendall(b"X")
                time.sleep(0.2)
            except OSError:
                closed = True
        sock.close()
        assert closed and time.monotonic() - start < 3
        assert_serving(server)


def test_requests_past_the_queue_get_429_with_retry_after(engine):
    slow = FakeEngine(token_delay_s=0.05)
    with OpenAIServer(slow, BASE, port=0, max_queued=2).start() as server:
        with ThreadPoolExecutor(5) as pool:
            answers = list(pool.map(lambda i: call(server, "POST", "/v1/chat/completions",
                                                   chat(content=f"command {i}")), range(5)))
        statuses = sorted(a[0] for a in answers)
        assert statuses.count(200) >= 2 and statuses.count(429) >= 1, statuses
        assert all(a[2]["Retry-After"] == "1" and a[1]["error"]["code"] == "too_many_requests"
                   for a in answers if a[0] == 429)
        assert_serving(server)


def test_a_client_without_the_key_is_refused_before_its_body_is_read(engine):
    with OpenAIServer(engine, BASE, port=0, api_key="s3cret").start() as server:
        sock = _connect(server)
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Length: 10000000\r\n\r\n")  # and no body
        assert sock.recv(4096).startswith(b"HTTP/1.1 401 ")
        sock.close()
