"""An OpenAI-compatible HTTP server over the engine (``llm-mars serve``).

In the field the model often runs on one computer that both robots share. This server lets any
OpenAI client, and our own ``openai`` backend, use the engine there: the adapter is chosen by
the ``model`` field, requests of every client share the engine's batches, and plans are decoded
under the same registry-generated grammar as in-process. Only the standard library is used
(``http.server.ThreadingHTTPServer``: one thread per connection; the engine does the batching).

Load limits: at most ``max_connections`` connections are served at once (one more is answered
503 ``too_many_connections`` and closed, without a thread); at most ``max_queued`` requests wait
for or run on the engine (one more is answered 429 ``too_many_requests``; both carry
``Retry-After``); a request (its line, headers and body) must arrive within ``read_timeout_s``
of the connection becoming ready for it, however slowly its bytes trickle in, else the
connection is closed; the API key is checked before a body is read.

Endpoints::

    GET  /health                200 while the engine serves, 503 when it does not (no key)
    GET  /v1/models             the base model, then the adapters (``parent``: the base model);
                                503 ``engine_unavailable`` when the engine does not serve
    POST /v1/chat/completions   chat messages; ``model``: the base model id or an adapter name
    POST /v1/completions        ``prompt`` is sent as one user turn: the engine serves chat
                                prompts only (the adapters are trained on chat prompts)

Request fields: ``max_tokens`` (or ``max_completion_tokens``), ``temperature`` (default 1, as
OpenAI; 0 is greedy), ``top_p``, ``seed`` (an integer of the generator's range,
:data:`~llm_mars.llm.requests.SEED_RANGE`), ``stop``, ``stream`` (server-sent events
``data: {...}`` ending with ``data: [DONE]``; ``stream_options.include_usage``), and vLLM's
``return_token_ids``. Structured output is the plan grammar or the state query grammar only,
asked for in any of vLLM's forms with exactly the text of
:func:`llm_mars.llm.grammar.plan_grammar_ebnf` (with or without a command's grounding) or of
:func:`llm_mars.qa.query.query_grammar_ebnf` (``"guided_grammar": EBNF``,
``"structured_outputs": {"grammar": EBNF}``), or as ``"llm_mars_constraint": "plan"`` /
``"plan:GROUNDING"`` / ``"query"``; the engine then parses (and validates) the output. Fields the engine cannot honour (penalties,
logprobs, tools, ``n > 1``, JSON/regex outputs) are refused with 400, never ignored.

Errors carry an OpenAI-style body ``{"error": {"message", "type", "param", "code"}}``:

=====  ==================================================================================
400    malformed JSON, bad or unsupported fields, another grammar (``unsupported_grammar``)
401    missing or wrong API key (``Authorization: Bearer KEY``) on ``/v1/...``
404    unknown model (``model_not_found``) or route; 405 wrong method
413    body over ``max_body_bytes`` (``request_too_large``) or prompt too long (``prompt_too_long``)
422    the constrained output failed (``constraint_failed``) or did not validate (``invalid_plan``,
       ``invalid_query``)
429    more requests queued than ``max_queued`` (``too_many_requests``, with ``Retry-After``)
500    engine failure; 503 engine closed (``engine_closed``), not serving
       (``engine_unavailable``) or too many connections (``too_many_connections``);
       504 deadline passed (``timeout``)
=====  ==================================================================================

An error after a stream has started is sent as one ``data: {"error": {..., "status": N}}``
event before ``data: [DONE]``. The server keeps serving after every error.
"""
from __future__ import annotations

import hmac
import json
import logging
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import urlsplit

from llm_mars.errors import (ApiError, BackendError, ConstraintError, EngineClosedError,
                             GenerationTimeout, LlmMarsError, PlanValidationError,
                             PromptTooLongError, QueryError, RequestError, UnknownAdapterError)
from llm_mars.llm.outputs import constraint_of_grammar, grammar_for
from llm_mars.llm.requests import (SEED_RANGE, GenerationRequest, GenerationResult,
                                   SamplingParams, TokenEvent)

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
MAX_BODY_BYTES = 1 << 20
DRAIN_BODY_BYTES = 16 << 20  # an oversized body up to this size is read and dropped, so the
# client sees the 413 instead of a reset connection; a larger one closes the connection
MAX_PROMPT_CHARS = 100_000
MAX_TOKENS_LIMIT = 4096
MAX_STOP_STRINGS = 4
DEFAULT_MAX_TOKENS = {"chat": 256, "completion": 16}  # as vLLM: completions default to 16
REQUEST_TIMEOUT_S = 300.0
RESULT_GRACE_S = 5.0
"""Past a request's deadline the engine fails it; the server stops waiting this much later."""
SOCKET_TIMEOUT_S = 60.0
"""An idle or stalled client connection is closed after this long."""
READ_TIMEOUT_S = 30.0
"""A whole request (line, headers, body) must arrive within this long."""
MAX_CONNECTIONS = 64
MAX_QUEUED = 64
RETRY_AFTER_S = 1

_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
_ERROR_TYPES = {401: "authentication_error", 404: "not_found_error"}
# Fields whose non-default values the engine cannot honour: refused rather than ignored.
_UNSUPPORTED = {
    "frequency_penalty": (0, 0.0, None), "presence_penalty": (0, 0.0, None),
    "logprobs": (False, None), "top_logprobs": (0, None), "logit_bias": (None, {}),
    "tools": (None, []), "tool_choice": (None, "none"), "functions": (None, []),
    "function_call": (None, "none"), "echo": (False, None), "suffix": (None,),
    "best_of": (1, None), "guided_json": (None,), "guided_regex": (None,),
    "guided_choice": (None,),
}


class GenerationService(Protocol):
    """What the server needs of an engine: the engine's ``adapters``, whether it is ``alive``
    and streaming ``submit``."""

    adapters: tuple[str, ...]
    alive: bool

    def submit(self, request: GenerationRequest,
               on_token: Callable[[TokenEvent], None] | None = None) -> Future: ...


@dataclass(frozen=True)
class Call:
    """One validated API request, ready for the engine."""

    kind: str  # "chat" | "completion"
    model: str  # as the client named it; echoed in the response
    request: GenerationRequest
    stream: bool
    include_usage: bool
    return_token_ids: bool
    id: str
    created: int


def api_error_for(exc: BaseException) -> ApiError:
    """The HTTP error for an exception of the engine (by type, never by message)."""
    if isinstance(exc, ApiError):
        return exc
    table: tuple[tuple[type[BaseException], int, str], ...] = (
        (UnknownAdapterError, 404, "model_not_found"),
        (PromptTooLongError, 413, "prompt_too_long"),
        (EngineClosedError, 503, "engine_closed"),
        (RequestError, 400, "invalid_request"),
        (GenerationTimeout, 504, "timeout"),
        (ConstraintError, 422, "constraint_failed"),
        (PlanValidationError, 422, "invalid_plan"),
        (QueryError, 422, "invalid_query"),
        (BackendError, 500, "engine_error"),
    )
    for kind, status, code in table:
        if isinstance(exc, kind):
            return ApiError(status, code, str(exc))
    return ApiError(500, "internal_error", "internal server error")


def error_body(error: ApiError) -> dict[str, Any]:
    kind = _ERROR_TYPES.get(error.status, "server_error" if error.status >= 500
                            else "invalid_request_error")
    return {"error": {"message": error.message, "type": kind, "param": error.param,
                      "code": error.code}}


class StreamText:
    """The streamed text a client may see so far: never past a stop string, and never a tail
    that a stop string may still turn out to start (the final text is cut at the stop)."""

    def __init__(self, stops: tuple[str, ...]):
        self.stops = stops
        self.raw = ""
        self.emitted = ""

    def feed(self, delta: str) -> str:
        """Add generated text; return the new text that is safe to send."""
        self.raw += delta
        return self._advance(self._safe(self.raw))

    def finish(self, final_text: str) -> str:
        """The rest of the engine's final text (already cut at any stop string)."""
        return self._advance(final_text)

    def _advance(self, safe: str) -> str:
        if not safe.startswith(self.emitted):
            return ""
        new, self.emitted = safe[len(self.emitted):], safe
        return new

    def _safe(self, text: str) -> str:
        cuts = [i for i in (text.find(s) for s in self.stops) if i >= 0]
        if cuts:
            return text[:min(cuts)]
        hold = 0
        for stop in self.stops:
            for k in range(min(len(stop) - 1, len(text)), hold, -1):
                if text.endswith(stop[:k]):
                    hold = k
                    break
        return text[:len(text) - hold]


class OpenAIApi:
    """The OpenAI API over an engine, without HTTP: validate, submit, shape the responses."""

    def __init__(self, engine: GenerationService, base_model: str, *,
                 max_prompt_chars: int = MAX_PROMPT_CHARS,
                 request_timeout_s: float = REQUEST_TIMEOUT_S, max_queued: int = MAX_QUEUED):
        self.engine = engine
        self.base_model = base_model
        self.max_prompt_chars = max_prompt_chars
        self.request_timeout_s = request_timeout_s
        self.max_queued = max_queued
        self._created = int(time.time())
        self._lock = threading.Lock()
        self._queued = 0  # requests submitted to the engine and not yet done

    # --- models ----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``{"status": "ok"}``; ApiError 503 when the engine thread does not serve."""
        if not self.engine.alive:
            raise ApiError(503, "engine_unavailable", "the engine is not serving requests")
        return {"status": "ok"}

    def models(self) -> dict[str, Any]:
        self.health()

        def card(name: str, parent: str | None) -> dict[str, Any]:
            return {"id": name, "object": "model", "created": self._created,
                    "owned_by": "llm_mars", "root": self.base_model, "parent": parent}

        cards = [card(self.base_model, None)]
        cards += [card(name, self.base_model) for name in self.engine.adapters]
        return {"object": "list", "data": cards}

    def adapter_for(self, model: str) -> str | None:
        """The adapter a ``model`` field names (None: the base model)."""
        if model == self.base_model:
            return None
        if model in self.engine.adapters:
            return model
        served = ", ".join([self.base_model, *self.engine.adapters])
        raise ApiError(404, "model_not_found",
                       f"the model {model!r} does not exist; served: {served}", "model")

    # --- requests --------------------------------------------------------------------------

    def prepare(self, kind: str, body: Any) -> Call:
        """Validate a request body; raise ApiError (400/404/413) for what cannot be served."""
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_request", "the request body must be a JSON object")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise ApiError(400, "invalid_request", "'model' must be a non-empty string", "model")
        adapter = self.adapter_for(model)
        messages = _chat_messages(body) if kind == "chat" else _prompt_messages(body)
        size = sum(len(m["content"]) for m in messages)
        if size > self.max_prompt_chars:
            raise ApiError(413, "prompt_too_long", f"the prompt has {size} characters; this "
                           f"server takes at most {self.max_prompt_chars}",
                           "messages" if kind == "chat" else "prompt")
        for name, defaults in _UNSUPPORTED.items():
            if name in body and body[name] not in defaults:
                raise ApiError(400, "unsupported_parameter",
                               f"'{name}' is not supported by this server", name)
        _check_response_format(body.get("response_format"))
        if body.get("n", 1) != 1:
            raise ApiError(400, "unsupported_parameter", "only n=1 is supported", "n")
        stream = _optional(body, "stream", bool, False)
        options = _optional(body, "stream_options", dict, None)
        if options is not None and not stream:
            raise ApiError(400, "invalid_request", "'stream_options' needs \"stream\": true",
                           "stream_options")
        include_usage = bool(options and options.get("include_usage") is True)
        request = GenerationRequest.chat(messages, adapter, _sampling(body, kind),
                                         self._constraint(body), self.request_timeout_s)
        prefix = "chatcmpl" if kind == "chat" else "cmpl"
        return Call(kind, model, request, stream, include_usage,
                    _optional(body, "return_token_ids", bool, False),
                    f"{prefix}-{uuid.uuid4().hex}", int(time.time()))

    def _constraint(self, body: dict[str, Any]) -> str | None:
        """``"plan"`` (or ``"plan:KEY"``, narrowed to a command's grounding) or ``"query"`` if
        the request asks for the plan grammar or the state query grammar in any accepted
        form."""
        asked: list[tuple[str, str]] = []  # (field, constraint name)
        own = body.get("llm_mars_constraint")
        if own is not None:
            try:
                grammar_for(own if isinstance(own, str) else repr(own))
            except RequestError as exc:
                raise ApiError(400, "unsupported_grammar", "'llm_mars_constraint' must be "
                               f"\"plan\", \"plan:GROUNDING\" or \"query\" ({exc})",
                               "llm_mars_constraint") from None
            asked.append(("llm_mars_constraint", own))
        grammars: list[tuple[str, Any]] = []
        if body.get("guided_grammar") is not None:
            grammars.append(("guided_grammar", body["guided_grammar"]))
        structured = body.get("structured_outputs")
        if structured is not None:
            if not isinstance(structured, dict):
                raise ApiError(400, "invalid_request", "'structured_outputs' must be an object",
                               "structured_outputs")
            for key, value in structured.items():
                if key == "grammar":
                    grammars.append(("structured_outputs.grammar", value))
                elif value not in (None, False):
                    raise ApiError(400, "unsupported_grammar", f"structured_outputs.{key} is "
                                   "not supported: only the plan and query grammars are served",
                                   f"structured_outputs.{key}")
        for field, grammar in grammars:
            name = constraint_of_grammar(grammar) if isinstance(grammar, str) else None
            if name is None:
                raise ApiError(400, "unsupported_grammar", f"'{field}' is not a grammar of "
                               "this server: only the plan grammar "
                               "(llm_mars.llm.grammar.plan_grammar_ebnf() of the same "
                               "llm_mars version, with or without a grounding) and the query "
                               "grammar (llm_mars.qa.query.query_grammar_ebnf()) are served, or "
                               "send \"llm_mars_constraint\": \"plan\" or \"query\"", field)
            asked.append((field, name))
        names = {name for _, name in asked}
        if len(names) > 1:
            raise ApiError(400, "unsupported_grammar", "the request names different "
                           "grammars: " + ", ".join(sorted(names)), asked[-1][0])
        return asked[0][1] if asked else None

    # --- engine ----------------------------------------------------------------------------

    def submit(self, call: Call, on_token: Callable[[TokenEvent], None] | None = None) -> Future:
        """Submit to the engine; ApiError 429 when ``max_queued`` requests are already there."""
        with self._lock:
            if self._queued >= self.max_queued:
                raise ApiError(429, "too_many_requests", f"{self._queued} requests are queued, "
                               f"the most this server takes; try again shortly")
            self._queued += 1
        try:
            future = self.engine.submit(call.request, on_token=on_token)
        except LlmMarsError as exc:
            self._done()
            raise api_error_for(exc) from exc
        except BaseException:
            self._done()
            raise
        future.add_done_callback(lambda _: self._done())
        return future

    def _done(self) -> None:
        with self._lock:
            self._queued -= 1

    def wait(self, call: Call, future: Future) -> GenerationResult:
        """The result, or the ApiError for its failure; gives up a little after the deadline."""
        try:
            return future.result(timeout=self.remaining_s(call) + RESULT_GRACE_S)
        except FutureTimeout:
            future.cancel()
            raise ApiError(504, "timeout", "the request passed its deadline") from None
        except CancelledError:  # only the server cancels, when the engine missed the deadline
            raise ApiError(504, "timeout", "the request passed its deadline") from None
        except LlmMarsError as exc:
            raise api_error_for(exc) from exc

    @staticmethod
    def remaining_s(call: Call) -> float:
        deadline = call.request.deadline
        return REQUEST_TIMEOUT_S if deadline is None else max(deadline - time.monotonic(), 0.0)

    # --- responses -------------------------------------------------------------------------

    def response(self, call: Call, result: GenerationResult) -> dict[str, Any]:
        choice: dict[str, Any] = {"index": 0, "logprobs": None,
                                  "finish_reason": _finish_reason(result)}
        if call.kind == "chat":
            choice["message"] = {"role": "assistant", "content": result.text}
        else:
            choice["text"] = result.text
        if call.return_token_ids:
            choice["token_ids"] = list(result.token_ids)
        return {**self._head(call, "chat.completion" if call.kind == "chat"
                             else "text_completion"),
                "choices": [choice], "usage": usage(result)}

    def chunk(self, call: Call, text: str = "", finish: str | None = None, *, role: bool = False,
              token_ids: tuple[int, ...] | None = None) -> dict[str, Any]:
        choice: dict[str, Any] = {"index": 0, "logprobs": None, "finish_reason": finish}
        if call.kind == "chat":
            choice["delta"] = ({"role": "assistant", "content": text} if role
                               else {"content": text} if text or finish is None else {})
        else:
            choice["text"] = text
        if token_ids is not None:
            choice["token_ids"] = list(token_ids)
        return {**self._head(call, "chat.completion.chunk" if call.kind == "chat"
                             else "text_completion"), "choices": [choice]}

    def usage_chunk(self, call: Call, result: GenerationResult) -> dict[str, Any]:
        return {**self._head(call, "chat.completion.chunk" if call.kind == "chat"
                             else "text_completion"), "choices": [], "usage": usage(result)}

    @staticmethod
    def _head(call: Call, obj: str) -> dict[str, Any]:
        return {"id": call.id, "object": obj, "created": call.created, "model": call.model}


def usage(result: GenerationResult) -> dict[str, Any]:
    return {"prompt_tokens": result.prompt_tokens, "completion_tokens": result.output_tokens,
            "total_tokens": result.prompt_tokens + result.output_tokens,
            "prompt_tokens_details": {"cached_tokens": result.cached_prompt_tokens}}


def _finish_reason(result: GenerationResult) -> str:
    # "constraint": the grammar was complete, which for a client is an ordinary stop
    return "length" if result.finish_reason == "length" else "stop"


# --- field readers ----------------------------------------------------------------------------


def _optional(body: dict[str, Any], name: str, kind: type, default: Any) -> Any:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ApiError(400, "invalid_request", f"'{name}' must be of type {kind.__name__}", name)
    return value


def _number(body: dict[str, Any], name: str, default: float, lo: float, hi: float,
            low_open: bool = False) -> float:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            (lo < value if low_open else lo <= value) and value <= hi):
        bound = f"{'(' if low_open else '['}{lo}, {hi}]"
        raise ApiError(400, "invalid_request", f"'{name}' must be a number in {bound}", name)
    return float(value)


def _sampling(body: dict[str, Any], kind: str) -> SamplingParams:
    name = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    max_tokens = _optional(body, name, int, DEFAULT_MAX_TOKENS[kind])
    if not 1 <= max_tokens <= MAX_TOKENS_LIMIT:
        raise ApiError(400, "invalid_request",
                       f"'{name}' must be between 1 and {MAX_TOKENS_LIMIT}", name)
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else stop if stop is not None else []
    if (not isinstance(stops, list) or len(stops) > MAX_STOP_STRINGS
            or not all(isinstance(s, str) and s for s in stops)):
        raise ApiError(400, "invalid_request", f"'stop' must be a non-empty string or a list of "
                       f"at most {MAX_STOP_STRINGS} of them", "stop")
    return SamplingParams(temperature=_number(body, "temperature", 1.0, 0.0, 2.0),
                          top_p=_number(body, "top_p", 1.0, 0.0, 1.0, low_open=True),
                          seed=_seed(body), max_new_tokens=max_tokens,
                          stop=tuple(stops))


def _seed(body: dict[str, Any]) -> int | None:
    seed = _optional(body, "seed", int, None)
    if seed is not None and not SEED_RANGE[0] <= seed <= SEED_RANGE[1]:
        raise ApiError(400, "invalid_request", f"'seed' must be an integer in "
                       f"[{SEED_RANGE[0]}, {SEED_RANGE[1]}]", "seed")
    return seed


def _chat_messages(body: dict[str, Any]) -> list[dict[str, str]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "invalid_request", "'messages' must be a non-empty list", "messages")
    out = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise ApiError(400, "invalid_request", f"{where} needs a 'role' of "
                           f"{', '.join(sorted(_ROLES))}", where)
        out.append({"role": _ROLES[message["role"]], "content": _content(message, where)})
    return out


def _content(message: dict[str, Any], where: str) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text"
                                         and isinstance(p.get("text"), str) for p in content):
        return "".join(p["text"] for p in content)
    raise ApiError(400, "invalid_request", f"{where}.content must be a string or a list of "
                   "text parts", f"{where}.content")


def _prompt_messages(body: dict[str, Any]) -> list[dict[str, str]]:
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise ApiError(400, "invalid_request", "'prompt' must be one string", "prompt")
    return [{"role": "user", "content": prompt}]


def _check_response_format(value: Any) -> None:
    if value is None or (isinstance(value, dict) and value.get("type") == "text"):
        return
    raise ApiError(400, "unsupported_parameter", "only response_format {\"type\": \"text\"} is "
                   "supported; ask for plans with the plan grammar", "response_format")


# --- HTTP ------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    """One client connection; requests are answered by ``api`` (set on a per-server subclass)."""

    protocol_version = "HTTP/1.1"
    server_version = "llm-mars"
    timeout = SOCKET_TIMEOUT_S
    api: OpenAIApi
    api_key: str | None
    max_body_bytes: int

    ROUTES = {"/health": ("GET", "health"), "/v1/models": ("GET", "models"),
              "/v1/chat/completions": ("POST", "chat"), "/v1/completions": ("POST", "completion")}

    def handle_one_request(self) -> None:
        self.server.reading(self.connection)  # the request must arrive in read_timeout_s
        try:
            super().handle_one_request()
        finally:
            self.server.read(self.connection)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        path = urlsplit(self.path).path.rstrip("/") or "/"
        self._body_read = False
        try:
            if path == "/v1" or path.startswith("/v1/"):
                self._authorize()
            if path not in self.ROUTES:
                raise ApiError(404, "not_found", f"no route {path}; routes: "
                               f"{', '.join(self.ROUTES)}")
            allowed, kind = self.ROUTES[path]
            if method != allowed:
                raise ApiError(405, "method_not_allowed", f"{path} takes {allowed}")
            if kind in ("health", "models"):
                self._send_json(200, getattr(self.api, kind)())
                return
            call = self.api.prepare(kind, self._read_json())
            if call.stream:
                self._stream(call)
            else:
                self._send_json(200, self.api.response(call, self.api.wait(
                    call, self.api.submit(call))))
        except ApiError as exc:
            if exc.status == 401:  # nothing more is read from a client without the key
                self.close_connection = True
            elif not self._body_read:
                self._drop_body()
            self._send_error(exc)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True
        except Exception:  # a bug: answer 500, log it, keep serving
            log.exception("internal error on %s %s", method, path)
            self._send_error(ApiError(500, "internal_error", "internal server error"))

    def _authorize(self) -> None:
        if self.api_key is None:
            return
        given = self.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(),
                                                                 self.api_key.encode()):
            raise ApiError(401, "invalid_api_key", "missing or wrong API key (send "
                           "'Authorization: Bearer KEY')")

    def _body_length(self) -> int:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise ApiError(411, "length_required", "send the body with a Content-Length")
        text = self.headers.get("Content-Length")
        try:
            length = int(text) if text is not None else -1
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise ApiError(411, "length_required", "send the body with a Content-Length")
        return length

    def _drop_body(self) -> None:
        """Read and drop the body of a request refused before reading it, so that the
        connection can carry the next request (or close it, if that is not possible)."""
        self._body_read = True
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= DRAIN_BODY_BYTES:
            self.close_connection = True
            return
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 16))
            if not chunk:
                break
            length -= len(chunk)

    def _read_json(self) -> Any:
        length = self._body_length()
        if length > self.max_body_bytes:
            raise ApiError(413, "request_too_large", f"the body has {length} bytes; this "
                           f"server takes at most {self.max_body_bytes}")
        self._body_read = True
        raw = self.rfile.read(length)
        self.server.read(self.connection)
        try:
            return json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self.server.read(self.connection)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, error: ApiError) -> None:
        headers = {}
        if error.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        elif error.status in (429, 503):
            headers["Retry-After"] = str(RETRY_AFTER_S)
        elif error.status == 405:
            headers["Allow"] = self.ROUTES[urlsplit(self.path).path.rstrip("/")][0]
        try:
            self._send_json(error.status, error_body(error), headers)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True

    def _event(self, payload: Any) -> None:
        self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")

    def _stream(self, call: Call) -> None:
        """Server-sent events; the connection closes at the end (no Content-Length)."""
        events: queue.Queue = queue.Queue()
        future = self.api.submit(call, on_token=events.put)  # refusals: a plain HTTP error
        future.add_done_callback(lambda _: events.put(None))
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        text = StreamText(call.request.sampling.stop)
        try:
            if call.kind == "chat":
                self._event(self.api.chunk(call, role=True))
            while (event := self._next_event(call, events, future)) is not None:
                delta = text.feed(event.text)
                ids = event.token_ids if call.return_token_ids else None
                if delta or ids:
                    self._event(self.api.chunk(call, delta, token_ids=ids))
            try:
                result = self.api.wait(call, future)
            except ApiError as exc:
                self._event({"error": {**error_body(exc)["error"], "status": exc.status}})
            else:
                self._event(self.api.chunk(call, text.finish(result.text),
                                           _finish_reason(result)))
                if call.include_usage:
                    self._event(self.api.usage_chunk(call, result))
            self.wfile.write(b"data: [DONE]\n\n")
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            future.cancel()  # the client went away: the engine drops the request
            log.info("client of %s went away; request cancelled", call.id)
        except Exception:  # a bug, after the headers: end the stream, keep serving
            future.cancel()
            log.exception("internal error while streaming %s", call.id)

    def _next_event(self, call: Call, events: queue.Queue, future: Future) -> TokenEvent | None:
        try:
            return events.get(timeout=self.api.remaining_s(call) + RESULT_GRACE_S)
        except queue.Empty:  # the engine missed the deadline: wait() reports the 504
            future.cancel()
            return None

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        log.info("%s %s", self.address_string(), format % args)


class OpenAIServer:
    """The HTTP server: ``start()`` in a thread (tests) or ``serve_forever()``; ``close()``."""

    def __init__(self, engine: GenerationService, base_model: str, *, host: str = DEFAULT_HOST,
                 port: int = DEFAULT_PORT, api_key: str | None = None,
                 max_body_bytes: int = MAX_BODY_BYTES, max_connections: int = MAX_CONNECTIONS,
                 read_timeout_s: float = READ_TIMEOUT_S, **api_options: Any):
        self.api = OpenAIApi(engine, base_model, **api_options)
        handler = type("Handler", (_Handler,), {"api": self.api, "api_key": api_key or None,
                                                "max_body_bytes": max_body_bytes})
        server_class = _LimitedServerV6 if ":" in host else _LimitedServer
        try:
            self._http = server_class((host, port), handler, max_connections, read_timeout_s)
        except OSError as exc:
            raise BackendError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}"

    def serve_forever(self) -> None:
        self._http.serve_forever(poll_interval=0.2)

    def start(self) -> OpenAIServer:
        self._thread = threading.Thread(target=self.serve_forever, name="openai-server",
                                        daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop accepting connections (requests in flight finish on their threads)."""
        if self._thread is not None:
            self._http.shutdown()
            self._thread.join()
            self._thread = None
        self._http.server_close()

    def __enter__(self) -> OpenAIServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _LimitedServer(ThreadingHTTPServer):
    """One thread per connection, at most ``max_connections`` of them; a connection whose
    request has not arrived whole within ``read_timeout_s`` is shut down (checked between
    polls of ``serve_forever``), so neither many idle nor trickling clients hold threads."""

    daemon_threads = True

    def __init__(self, address: Any, handler: type, max_connections: int,
                 read_timeout_s: float):
        self.max_connections, self.read_timeout_s = max_connections, read_timeout_s
        self._lock = threading.Lock()
        self._active = 0
        self._deadlines: dict[socket.socket, float] = {}  # connections reading a request
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            full = self._active >= self.max_connections
            self._active += not full
        if full:
            _refuse_connection(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._release(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release(request)

    def _release(self, request: Any) -> None:
        with self._lock:
            self._active -= 1
            self._deadlines.pop(request, None)

    def reading(self, connection: socket.socket) -> None:
        """``connection`` starts reading a request: it has ``read_timeout_s`` for all of it."""
        with self._lock:
            self._deadlines[connection] = time.monotonic() + self.read_timeout_s

    def read(self, connection: socket.socket) -> None:
        """``connection`` has read its request (or is answering it)."""
        with self._lock:
            self._deadlines.pop(connection, None)

    def service_actions(self) -> None:
        now = time.monotonic()
        with self._lock:
            late = [c for c, deadline in self._deadlines.items() if deadline < now]
            for connection in late:
                del self._deadlines[connection]
        for connection in late:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _LimitedServerV6(_LimitedServer):
    address_family = socket.AF_INET6


def _refuse_connection(connection: socket.socket) -> None:
    """Answer 503 on a connection over the limit without waiting for the client."""
    body = json.dumps(error_body(ApiError(
        503, "too_many_connections", "the server has as many connections as it serves; try "
        "again shortly"))).encode()
    head = (f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            f"Retry-After: {RETRY_AFTER_S}\r\nConnection: close\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    try:
        connection.setblocking(False)
        connection.send(head + body)
    except OSError:
        pass
