"""``openai`` backend: a remote OpenAI-compatible server that serves the adapters by model name.

Any such server works: ``llm-mars serve`` on another computer, or vLLM started with
``--enable-lora --lora-modules bt=DIR qa=DIR``. The backend is a drop-in for the in-process
engine (``adapters`` and ``submit(request, on_token=None) -> Future[GenerationResult]``), so
:class:`llm_mars.assistant.Assistant` uses it unchanged.

* Each request is one chat completion with the adapter's name as ``model`` (the server's base
  model when the request names no adapter), sent from a small thread pool.
* ``constraint="plan"`` sends the registry-generated plan grammar (``"query"``: the state
  query grammar, :mod:`llm_mars.llm.outputs`) as the server's structured-output request
  (``grammar_field``: vLLM >= 0.12 reads ``structured_outputs``, older vLLM
  ``guided_grammar``; ``llm_mars_constraint`` names it without sending it; ``none`` sends no
  grammar), and the returned text is parsed (and a plan validated) here again: an output
  that is not a valid plan or reply, or not a query, is a ConstraintError, never passed on.
* ``on_token`` streams the answer (server-sent events) as :class:`TokenEvent` with the text
  (and the token ids, where the server returns them).
* Connection failures, 429 and 5xx answers are retried with exponential backoff
  (``backoff_s``, doubling) up to ``retries`` times, but never past the request's deadline nor
  after streamed text was delivered; then :class:`~llm_mars.errors.ServerUnavailableError`
  (a BackendError) says the server is unreachable. The wait for an answer (or for the next
  streamed chunk) ends at the request's deadline (GenerationTimeout) or, without one, after
  ``timeout_s`` (BackendError).

A remote server reports no queueing time: ``queued_s`` is 0 and ``first_token_s`` is measured
here (the whole answer's time when not streaming).
"""
from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from llm_mars.errors import (BackendConfigError, BackendError, ConstraintError,
                             EngineClosedError, GenerationTimeout, PromptTooLongError,
                             RequestError, ServerUnavailableError, UnknownAdapterError)
from llm_mars.llm.outputs import checked_output, grammar_for
from llm_mars.llm.requests import (ADAPTERS, FinishReason, GenerationRequest, GenerationResult,
                                   TokenEvent)

GRAMMAR_FIELDS = ("structured_outputs", "guided_grammar", "llm_mars_constraint", "none")
_RETRY_STATUSES = {429, 500, 502, 503}


@dataclass
class _Attempt:
    """What one request delivered so far (a stream that delivered text is not retried)."""

    started: float
    delivered: bool = False
    first_token_at: float | None = None
    text: list[str] = field(default_factory=list)
    token_ids: list[int] = field(default_factory=list)


class OpenAIBackend:
    """Generation requests served by a remote OpenAI-compatible server."""

    def __init__(self, url: str, *, adapters: Sequence[str] = ADAPTERS,
                 api_key: str | None = None, timeout_s: float = 60.0, retries: int = 3,
                 backoff_s: float = 0.25, connect_timeout_s: float = 5.0,
                 grammar_field: str = "structured_outputs", max_workers: int = 16):
        """Contact the server (``url``: ``http(s)://host:port``, with or without ``/v1``) and
        check that it serves every name in ``adapters``: UnknownAdapterError if not,
        ServerUnavailableError if it cannot be reached."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BackendConfigError(f"the server URL {url!r} is not http(s)://host[:port]")
        if grammar_field not in GRAMMAR_FIELDS:
            raise BackendConfigError(f"grammar_field {grammar_field!r}: use one of "
                                     f"{', '.join(GRAMMAR_FIELDS)}")
        if timeout_s <= 0 or connect_timeout_s <= 0 or retries < 0 or backoff_s < 0:
            raise BackendConfigError("timeouts must be positive, retries and backoff not negative")
        self.url = url
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port or (443 if self._https else 80)
        self._path = parts.path.rstrip("/").removesuffix("/v1")
        self.api_key = api_key or None
        self.timeout_s, self.connect_timeout_s = timeout_s, connect_timeout_s
        self.retries, self.backoff_s = retries, backoff_s
        self.grammar_field = grammar_field
        self.base_model, served = self._served_models()
        missing = [name for name in adapters if name not in served]
        if missing:
            raise UnknownAdapterError(missing[0], tuple(n for n in served if n != self.base_model))
        self.adapters: tuple[str, ...] = tuple(adapters)
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="llm-openai")
        self._closed = False

    # --- the Submitter protocol ------------------------------------------------------------

    def submit(self, request: GenerationRequest,
               on_token: Callable[[TokenEvent], None] | None = None) -> Future:
        """Queue ``request``; the future resolves to a GenerationResult or fails with
        UnknownAdapterError, ConstraintError, GenerationTimeout, RequestError or BackendError."""
        if self._closed:
            raise EngineClosedError("the openai backend is closed")
        if request.adapter is not None and request.adapter not in self.adapters:
            raise UnknownAdapterError(request.adapter, self.adapters)
        if request.adapter is None and self.base_model is None:
            raise RequestError(f"{self.url} lists no base model; name an adapter")
        if request.constraint is not None:
            grammar_for(request.constraint)  # an unknown or malformed one: RequestError
        return self._pool.submit(self._generate, request, on_token)

    def close(self) -> None:
        """Refuse new requests and drop queued ones; requests on the wire finish."""
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> OpenAIBackend:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- one request -----------------------------------------------------------------------

    def _generate(self, request: GenerationRequest,
                  on_token: Callable[[TokenEvent], None] | None) -> GenerationResult:
        payload = self._body(request, stream=on_token is not None)
        body, model = json.dumps(payload).encode(), payload["model"]
        attempt = _Attempt(time.monotonic())
        data = self._retrying(lambda: self._exchange(
            "POST", "/v1/chat/completions", body, model, request.deadline, on_token, attempt),
            request.deadline, attempt)
        return self._result(request, data, attempt)

    def _retrying(self, exchange: Callable[[], Any], deadline: float | None,
                  attempt: _Attempt) -> Any:
        tries = 0
        while True:
            try:
                return exchange()
            except ServerUnavailableError as exc:
                if attempt.delivered or tries == self.retries:
                    raise ServerUnavailableError(
                        f"{self.url}: {exc} (gave up after {tries + 1} attempts)") from exc
                self._back_off(tries, deadline)
                tries += 1

    def _body(self, request: GenerationRequest, stream: bool) -> dict[str, Any]:
        sampling = request.sampling
        body: dict[str, Any] = {
            "model": request.adapter if request.adapter is not None else self.base_model,
            "messages": request.message_dicts(), "max_tokens": sampling.max_new_tokens,
            "temperature": sampling.temperature, "top_p": sampling.top_p,
            "return_token_ids": True}
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        if sampling.stop:
            body["stop"] = list(sampling.stop)
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        if request.constraint is not None:
            if self.grammar_field == "llm_mars_constraint":
                body["llm_mars_constraint"] = request.constraint
            elif self.grammar_field == "guided_grammar":
                body["guided_grammar"] = grammar_for(request.constraint)
            elif self.grammar_field == "structured_outputs":
                body["structured_outputs"] = {"grammar": grammar_for(request.constraint)}
        return body

    def _back_off(self, tries: int, deadline: float | None) -> None:
        delay = self.backoff_s * 2 ** tries
        if deadline is not None and time.monotonic() + delay >= deadline:
            raise GenerationTimeout(f"{self.url}: the deadline passed while retrying")
        time.sleep(delay)

    def _result(self, request: GenerationRequest, data: Any,
                attempt: _Attempt) -> GenerationResult:
        now = time.monotonic()
        if isinstance(data, _StreamEnd):
            text, finish, usage = "".join(attempt.text), data.finish_reason, data.usage
            token_ids = tuple(attempt.token_ids)
        else:
            try:
                choice = data["choices"][0]
                text = choice["message"]["content"] or ""
                finish, usage = choice.get("finish_reason"), data.get("usage") or {}
                token_ids = tuple(int(t) for t in choice.get("token_ids") or ())
            except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
                raise BackendError(f"{self.url}: malformed chat completion ({exc!r})") from None
        reason: FinishReason = "length" if finish == "length" else "stop"
        parsed = None
        if request.constraint is not None:
            if reason == "length":
                raise ConstraintError(f"{self.url}: the constrained output ended unfinished "
                                      f"after {request.sampling.max_new_tokens} tokens: "
                                      f"{text[-200:]!r}")
            parsed = checked_output(request.constraint, text, self.url)
            reason = "constraint"
        total = now - attempt.started
        return GenerationResult(
            text=text, token_ids=token_ids, finish_reason=reason,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            cached_prompt_tokens=int((usage.get("prompt_tokens_details") or {})
                                     .get("cached_tokens") or 0),
            jump_forward_tokens=0, queued_s=0.0,
            first_token_s=(attempt.first_token_at or now) - attempt.started, total_s=total,
            parsed=parsed)

    # --- HTTP ------------------------------------------------------------------------------

    def _served_models(self) -> tuple[str | None, tuple[str, ...]]:
        """The server's base model (the first model without a parent) and all model ids."""
        attempt = _Attempt(time.monotonic())
        listing = self._retrying(lambda: self._exchange(
            "GET", "/v1/models", None, None, None, None, attempt), None, attempt)
        try:
            cards = [(str(c["id"]), c.get("parent")) for c in listing["data"]]
        except (KeyError, TypeError) as exc:
            raise BackendError(f"{self.url}/v1/models: not an OpenAI model list ({exc!r})") from None
        ids = tuple(name for name, _ in cards)
        bases = [name for name, parent in cards if parent is None]
        return (bases[0] if bases else None), ids

    def _connection(self, deadline: float | None) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = kind(self._host, self._port, timeout=min(self.connect_timeout_s,
                                                        self._wait_s(deadline)))
        try:
            conn.connect()
        except OSError as exc:  # refused, unreachable, connect timeout
            conn.close()
            raise ServerUnavailableError(f"cannot connect ({exc})") from None
        return conn

    def _wait_s(self, deadline: float | None) -> float:
        """How long the next socket operation may block."""
        if deadline is None:
            return self.timeout_s
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise GenerationTimeout(f"{self.url}: the request passed its deadline")
        return remaining

    def _exchange(self, method: str, path: str, body: bytes | None, model: str | None,
                  deadline: float | None, on_token: Callable[[TokenEvent], None] | None,
                  attempt: _Attempt) -> Any:
        """One HTTP exchange: the decoded JSON answer, or a _StreamEnd after streaming."""
        headers = {"Accept": "text/event-stream" if on_token else "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        conn = self._connection(deadline)
        sock = conn.sock  # http.client lets go of it once a closing answer starts
        try:
            sock.settimeout(self._wait_s(deadline))
            try:
                conn.request(method, self._path + path, body=body, headers=headers)
                response = conn.getresponse()
                if response.status != 200:
                    raise self._http_error(response.status, response.read(), model)
                if on_token is not None:
                    return self._read_stream(sock, response, deadline, on_token, attempt)
                raw = response.read()
            except (TimeoutError, socket.timeout):
                if deadline is not None and time.monotonic() >= deadline:
                    raise GenerationTimeout(f"{self.url}: no answer before the deadline") from None
                raise BackendError(f"{self.url}: no answer within {self.timeout_s} s") from None
            except (OSError, http.client.HTTPException) as exc:
                if attempt.delivered:
                    raise BackendError(f"{self.url}: the connection was lost mid-answer "
                                       f"({exc!r})") from None
                raise ServerUnavailableError(f"the connection failed ({exc!r})") from None
        finally:
            conn.close()
        try:
            return json.loads(raw)
        except ValueError:
            raise BackendError(f"{self.url}{path}: the answer is not JSON") from None

    def _read_stream(self, sock: socket.socket, response: http.client.HTTPResponse,
                     deadline: float | None, on_token: Callable[[TokenEvent], None],
                     attempt: _Attempt) -> _StreamEnd:
        end = _StreamEnd()
        while True:
            sock.settimeout(self._wait_s(deadline))
            line = response.readline()
            if not line:
                if attempt.delivered:
                    raise BackendError(f"{self.url}: the stream ended before [DONE] (the "
                                       "server stopped mid-answer)")
                raise ServerUnavailableError("the stream ended before [DONE]")
            text = line.decode("utf-8", "replace").strip()
            if not text.startswith("data:"):
                continue  # blank separators, comments, event names
            payload = text[5:].strip()
            if payload == "[DONE]":
                return end
            try:
                chunk = json.loads(payload)
            except ValueError:
                raise BackendError(f"{self.url}: a streamed event is not JSON") from None
            if isinstance(chunk.get("error"), dict):
                error = chunk["error"]
                status = error.get("status", error.get("code"))
                raise self._mapped_error(status if isinstance(status, int) else 500,
                                         str(error.get("message", "")))
            self._take_chunk(chunk, on_token, attempt, end)

    def _take_chunk(self, chunk: dict[str, Any], on_token: Callable[[TokenEvent], None],
                    attempt: _Attempt, end: _StreamEnd) -> None:
        try:
            for choice in chunk.get("choices") or ():
                piece = (choice.get("delta") or {}).get("content") or ""
                ids = tuple(int(t) for t in choice.get("token_ids") or ())
                if choice.get("finish_reason"):
                    end.finish_reason = choice["finish_reason"]
                if not (piece or ids):
                    continue
                if attempt.first_token_at is None:
                    attempt.first_token_at = time.monotonic()
                attempt.text.append(piece)
                attempt.token_ids.extend(ids)
                attempt.delivered = True
                try:
                    on_token(TokenEvent(ids, piece))
                except Exception as exc:
                    raise RequestError(f"the on_token callback failed: {exc!r}") from exc
            if chunk.get("usage"):
                end.usage = chunk["usage"]
        except (AttributeError, TypeError, ValueError) as exc:
            raise BackendError(f"{self.url}: malformed stream chunk ({exc!r})") from None

    def _http_error(self, status: int, raw: bytes, model: str | None) -> Exception:
        try:
            answer = json.loads(raw)
            error = answer.get("error", answer)
            message = str(error.get("message", "")) if isinstance(error, dict) else str(error)
        except (ValueError, AttributeError):
            message = raw[:200].decode("utf-8", "replace")
        if status == 404 and model is not None:
            return UnknownAdapterError(model, self.adapters)
        return self._mapped_error(status, message)

    def _mapped_error(self, status: int, message: str) -> Exception:
        where = f"{self.url} answered {status}: {message}"
        if status in _RETRY_STATUSES:
            return ServerUnavailableError(where)
        if status in (401, 403):
            return BackendError(f"{where} (check the API key: LLM_MARS_API_KEY)")
        if status == 413:
            return PromptTooLongError(where)
        if status == 422:
            return ConstraintError(where)
        if status == 504:
            return GenerationTimeout(where)
        if status == 400:
            return RequestError(where)
        return BackendError(where)


@dataclass
class _StreamEnd:
    """What the last events of a stream said."""

    finish_reason: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
