"""The LLM engine: one base model, switchable LoRA adapters, a background thread, futures.

Callers (ROS node callbacks, the CLI, benchmarks) never run model code themselves: ``submit``
queues a :class:`~llm_mars.llm.requests.GenerationRequest` and returns a
``concurrent.futures.Future``; the engine thread runs the continuous-batching
:class:`~llm_mars.llm.scheduler.Scheduler` and resolves futures as requests finish. Tokens can
be streamed with a callback (``on_token``) or by iterating :meth:`Engine.stream`.

Adapters are PEFT LoRA folders, loaded and unloaded at run time; the swap happens on the engine
thread between steps, after the running requests of that adapter have finished (new ones wait).
"""
from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from llm_mars.errors import (BackendError, EngineClosedError, LlmMarsError, ModelError,
                             PromptTooLongError, RequestError, UnknownAdapterError)
from llm_mars.llm.adapters import LoraAdapter, load_lora_adapter
from llm_mars.llm.llama import CompactLlama
from llm_mars.llm.requests import (PLAN_CONSTRAINT, GenerationRequest, GenerationResult,
                                   TokenEvent, split_constraint)
from llm_mars.llm.scheduler import RowConstraintLike, Scheduler, Sequence, tokenize_request
from llm_mars.llm.threads import StepThreads
from llm_mars.qa.query import QUERY_CONSTRAINT


@dataclass(frozen=True)
class OutputConstraint:
    """One kind of constrained output: a fresh grammar state per row, and the final check
    (its return value becomes ``GenerationResult.parsed``; an LlmMarsError fails the request)."""

    new_row: Callable[[], RowConstraintLike]
    check: Callable[[str], Any] | None = None


def plan_constraint(tokenizer: Any, vocab_size: int,
                    grounding_key: str | None = None) -> OutputConstraint:
    """``constraint="plan"``: the registry-generated plan grammar, then parse and validate;
    ``"plan:KEY"`` narrows the grammar to a command's grounding (llm_mars.language.grounding)."""
    from llm_mars.bt.parser import parse_bt_output
    from llm_mars.llm.constraint import RowConstraint, vocab_of
    from llm_mars.llm.grammar import compiled_plan_grammar, grounding_of_key

    grounding = grounding_of_key(grounding_key)
    padded = vocab_size if vocab_size > len(tokenizer) else None
    default = compiled_plan_grammar(tokenizer, vocab_size=padded)
    compiled = compiled_plan_grammar(tokenizer, vocab_size=padded, grounding=grounding)
    vocab = vocab_of(default)  # the same tokenizer: decode its vocabulary once
    return OutputConstraint(lambda: RowConstraint(compiled, vocab), parse_bt_output)


def query_constraint(tokenizer: Any, vocab_size: int) -> OutputConstraint:
    """``constraint="query"``: the state query grammar of the qa adapter
    (:mod:`llm_mars.qa.query`), then parse the query."""
    from llm_mars.llm.constraint import RowConstraint
    from llm_mars.llm.grammar import compiled_grammar
    from llm_mars.qa.query import parse_query, query_grammar_ebnf

    padded = vocab_size if vocab_size > len(tokenizer) else None
    compiled = compiled_grammar(tokenizer, query_grammar_ebnf(), vocab_size=padded)
    return OutputConstraint(lambda: RowConstraint(compiled), parse_query)


ConstraintFactory = Callable[..., OutputConstraint]
"""(tokenizer, model vocabulary size[, argument]) -> the constraint; built once on first use
when the name has no argument, per request when it has one (``"plan:KEY"``)."""

DEFAULT_CONSTRAINTS: dict[str, ConstraintFactory] = {PLAN_CONSTRAINT: plan_constraint,
                                                     QUERY_CONSTRAINT: query_constraint}


class TokenStream:
    """Iterate the :class:`TokenEvent` of one request as they are generated; ``result()`` at the end.

    Iteration ends when the request does; if it failed, the error is raised then.
    """

    _END = object()

    def __init__(self):
        self._queue: queue.Queue = queue.Queue()
        self.future: Future | None = None

    def _put(self, event: TokenEvent) -> None:
        self._queue.put(event)

    def _end(self, _future: Future) -> None:
        self._queue.put(self._END)

    def __iter__(self) -> Iterator[TokenEvent]:
        while (item := self._queue.get()) is not self._END:
            yield item
        if self.future.exception() is not None:
            raise self.future.exception()

    def result(self, timeout: float | None = None) -> GenerationResult:
        return self.future.result(timeout)


class Engine:
    """Serves generation requests for the base model and its adapters from a background thread."""

    def __init__(self, model: CompactLlama, tokenizer: Any, *,
                 adapters: Mapping[str, str | Path] | None = None,
                 constraints: Mapping[str, ConstraintFactory] | None = None,
                 max_batch: int = 16, max_seq_len: int = 2048, prefix_slots: int = 4,
                 chunk_tokens: int = 256, eos_token_ids: tuple[int, ...] | None = None,
                 share_prefixes: bool = True, threads: int | str | None = None):
        """``threads``: CPU threads of the model steps: a number, ``"auto"`` (measure and pick,
        see llm_mars.llm.threads) or ``"torch"`` (leave torch's setting alone); None means
        ``$LLM_MARS_THREADS``, else ``"auto"`` on CPU and ``"torch"`` elsewhere."""
        self.model, self.tokenizer = model, tokenizer
        if eos_token_ids is None:
            eos_token_ids = _eos_ids(model, tokenizer)
        self.eos_token_ids = tuple(eos_token_ids)  # a sampled one of these ends a free output
        threads = _thread_setting(threads, model)
        self._threads = threads
        step_threads = None
        if threads == "auto":
            most = torch.get_num_threads()
            step_threads = StepThreads({1, max(1, most // 2), most},
                                       set_threads=torch.set_num_threads)
        self._scheduler = Scheduler(model, tokenizer, max_batch=max_batch, max_seq_len=max_seq_len,
                                    prefix_slots=prefix_slots, chunk_tokens=chunk_tokens,
                                    eos_token_ids=eos_token_ids, share_prefixes=share_prefixes,
                                    step_threads=step_threads)
        self._constraint_factories = dict(DEFAULT_CONSTRAINTS if constraints is None else constraints)
        self._constraints: dict[str, OutputConstraint] = {}
        self._adapters: dict[str, LoraAdapter] = {}
        for name, folder in (adapters or {}).items():
            self._adapters[name] = load_lora_adapter(folder)
        self.model.set_adapters(list(self._adapters.items()))
        self._served = frozenset(self._adapters)  # what submit() accepts
        self._cond = threading.Condition()
        self._incoming: list[Sequence] = []
        # adapter swaps waiting for the adapter's running requests: (action, future, adapter)
        self._commands: list[tuple[Callable[[], bool], Future, str]] = []
        self._closing = False
        # grammar compiles: off the engine thread, and one at a time on this thread, as they
        # were on the engine thread (not spread over every caller's thread)
        self._builder = ThreadPoolExecutor(1, thread_name_prefix="llm-constraints")
        self._thread = threading.Thread(target=self._run, name="llm-engine", daemon=True)
        self._thread.start()

    @classmethod
    def load(cls, model: str | Path | None = None, dtype: str | None = None,
             device: str | None = None, **kwargs) -> "Engine":
        """The engine over a model folder (default: the bundled model, converted on first use),
        on ``device`` (default: the GPU if there is one, else the CPU), in precision ``dtype``
        (llm_mars.llm.model_store.default_precision; int4 on the CPU, bf16 on a GPU)."""
        from llm_mars.llm.model_store import (check_precision, load_tokenizer,
                                              quantized_cache_file, resolve_model_dir)

        folder = resolve_model_dir(model)
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        precision = check_precision(dtype)
        if precision == "int4" and device != "cpu":
            raise ModelError(f"int4 weights run on the CPU only; on {device} use bfloat16")
        if precision == "int4":
            compact = CompactLlama.from_folder(folder, torch.float32, device,
                                               quantized_cache=quantized_cache_file(folder))
        else:
            compact = CompactLlama.from_folder(folder, getattr(torch, precision), device)
            compact.pack_for_cpu()  # no-op off the CPU
        return cls(compact, load_tokenizer(folder), **kwargs)

    # --- requests --------------------------------------------------------------------------

    @property
    def adapters(self) -> tuple[str, ...]:
        """Names of the adapters requests may use now."""
        return tuple(sorted(self._served))

    def _constraint(self, name: str) -> OutputConstraint:
        base, arg = split_constraint(name)
        factory = self._constraint_factories[base]
        if arg is not None:
            return factory(self.tokenizer, self.model.shape.vocab, arg)
        if name not in self._constraints:
            self._constraints[name] = factory(self.tokenizer, self.model.shape.vocab)
        return self._constraints[name]

    def submit(self, request: GenerationRequest,
               on_token: Callable[[TokenEvent], None] | None = None) -> Future:
        """Queue ``request``; the future resolves to a GenerationResult (or its error).

        ``on_token`` is called on the engine thread for every new token: keep it short.
        Cancelling the future drops the request at the next step. The output constraint (a
        grammar compile for a new grounding) is built before the request is queued, on the
        engine's one constraint thread: the engine thread goes on meanwhile.
        """
        if request.adapter is not None and request.adapter not in self._served:
            raise UnknownAdapterError(request.adapter, self.adapters)
        if request.score_target is not None and request.constraint is not None:
            raise RequestError("a scoring request takes no output constraint")
        if (request.constraint is not None
                and split_constraint(request.constraint)[0] not in self._constraint_factories):
            raise RequestError(f"unknown output constraint {request.constraint!r}; known: "
                               f"{', '.join(sorted(self._constraint_factories)) or '(none)'}")
        future: Future = Future()
        seq = Sequence(request, prompt=[], prefix_len=0, submitted=time.monotonic(),
                       on_token=on_token, cancelled=future.cancelled)
        if request.constraint is not None:  # built before queueing, on the constraint thread:
            # a grammar compile (a new grounding each request) must not stall the engine thread
            if self._closing:
                raise EngineClosedError("the engine is closed")
            try:
                constraint = self._builder.submit(self._constraint, request.constraint).result()
            except LlmMarsError:
                raise
            except Exception as exc:
                raise RequestError(f"cannot build the output constraint "
                                   f"{request.constraint!r}: {exc}") from exc
            seq.constraint, seq.check = constraint.new_row(), constraint.check
        seq.on_done = lambda s: _resolve(future, s)
        with self._cond:
            if self._closing:
                raise EngineClosedError("the engine is closed")
            self._incoming.append(seq)
            self._cond.notify()
        return future

    def stream(self, request: GenerationRequest) -> TokenStream:
        stream = TokenStream()
        stream.future = self.submit(request, on_token=stream._put)
        stream.future.add_done_callback(stream._end)
        return stream

    def generate(self, request: GenerationRequest, timeout: float | None = None) -> GenerationResult:
        """Blocking convenience: submit and wait."""
        return self.submit(request).result(timeout)

    # --- adapters --------------------------------------------------------------------------

    def load_adapter(self, name: str, folder: str | Path, timeout: float | None = None) -> None:
        """Serve the PEFT adapter in ``folder`` as ``name`` (replacing one of that name once its
        running requests finish). Raises AdapterLoadError if the folder does not fit the model."""
        adapter = load_lora_adapter(folder)

        def install() -> bool:
            if self._scheduler.adapter_running(name):
                return False
            adapters = dict(self._adapters)
            adapters[name] = adapter
            self.model.set_adapters(list(adapters.items()))
            self._adapters = adapters
            self._scheduler.forget_prefixes(name)
            self._served = frozenset(adapters)
            return True

        self._command(install, name).result(timeout)

    def unload_adapter(self, name: str, timeout: float | None = None) -> None:
        """Stop serving ``name`` once its running requests finish; new requests for it are refused."""
        if name not in self._served:
            raise UnknownAdapterError(name, self.adapters)
        self._served = self._served - {name}

        def remove() -> bool:
            if self._scheduler.adapter_running(name):
                return False
            adapters = {k: v for k, v in self._adapters.items() if k != name}
            self.model.set_adapters(list(adapters.items()))
            self._adapters = adapters
            self._scheduler.forget_prefixes(name)
            for seq in self._scheduler.drop_waiting(name, UnknownAdapterError(name, self.adapters)):
                seq.on_done(seq)
            return True

        self._command(remove, name).result(timeout)

    def _command(self, action: Callable[[], bool], adapter: str) -> Future:
        future: Future = Future()
        with self._cond:
            if self._closing:
                raise EngineClosedError("the engine is closed")
            self._commands.append((action, future, adapter))
            self._cond.notify()
        return future

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def jump_forward(self) -> bool:
        """Whether tokens the grammar forces are appended without sampling (on by default)."""
        return self._scheduler.jump_forward

    @jump_forward.setter
    def jump_forward(self, on: bool) -> None:
        self._scheduler.jump_forward = bool(on)

    @property
    def stats(self) -> dict[str, float]:
        scheduler = self._scheduler
        stats = {"steps": scheduler.steps, "forward_seconds": scheduler.forward_seconds,
                 "narrow_head_steps": scheduler.model.narrow_head_steps}
        if scheduler.step_threads is not None:
            stats["threads"] = scheduler.step_threads.decode.current
            stats["prefill_threads"] = scheduler.step_threads.prefill.current
        return stats

    @property
    def alive(self) -> bool:
        """Whether the engine thread is serving (not closed, not dead): a health check."""
        return self._thread.is_alive() and not self._closing

    def close(self, timeout: float | None = 10.0) -> None:
        """Stop the engine thread; queued and running requests fail with EngineClosedError."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout)
        self._builder.shutdown(wait=False)

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- the engine thread -----------------------------------------------------------------

    def _run(self) -> None:
        scheduler = self._scheduler
        if isinstance(self._threads, int):
            torch.set_num_threads(self._threads)  # OpenMP's setting is per calling thread
        while True:
            with self._cond:
                while not (self._incoming or self._commands or self._closing or not scheduler.idle):
                    self._cond.wait()
                incoming, self._incoming = self._incoming, []
                if self._closing:
                    self._fail_all(incoming, EngineClosedError("the engine was closed"))
                    for _, future, _ in self._commands:
                        future.set_exception(EngineClosedError("the engine was closed"))
                    return
                self._commands = [c for c in self._commands if not self._try(c)]
                scheduler.held_adapters = {adapter for _, _, adapter in self._commands}
            for seq in incoming:
                self._prepare(seq)
            try:
                finished = scheduler.step()
            except Exception as exc:  # a bug or an out-of-memory: fail what is in flight, go on
                error = BackendError(f"engine step failed: {exc!r}")
                error.__cause__ = exc
                for seq in scheduler.finished:  # finished before the failure: answered as such
                    seq.on_done(seq)
                self._fail_all([], error)
                continue
            for seq in finished:
                seq.on_done(seq)
            if not scheduler.last_step_ran and not finished:
                with self._cond:  # only held or waiting requests: do not spin
                    self._cond.wait(0.01)

    @staticmethod
    def _try(command) -> bool:
        action, future, _ = command
        try:
            done = action()
        except Exception as exc:
            future.set_exception(exc)
            return True
        if done:
            future.set_result(None)
        return done

    def _prepare(self, seq: Sequence) -> None:
        """Tokenise (on this thread: the tokenizer is not shared across threads) and queue."""
        request = seq.request
        try:
            if request.adapter is not None and request.adapter not in self._adapters:
                raise UnknownAdapterError(request.adapter, self.adapters)  # unloaded meanwhile
            seq.prompt, seq.prefix_len = tokenize_request(self.tokenizer, request)
            if request.score_target is not None:  # the reply to score, then the end of turn
                end = self.tokenizer.eos_token_id
                seq.score_from = len(seq.prompt)
                seq.prompt = [*seq.prompt, *self.tokenizer.encode(
                    request.score_target, add_special_tokens=False),
                    self.eos_token_ids[0] if end is None else int(end)]
            if len(seq.prompt) >= self._scheduler.max_seq_len:
                raise PromptTooLongError(f"the prompt has {len(seq.prompt)} tokens; the context holds "
                                   f"{self._scheduler.max_seq_len}")
            if not request.sampling.greedy and request.sampling.seed is not None:
                seq.generator = torch.Generator().manual_seed(request.sampling.seed)
        except Exception as exc:  # fail this request only: the engine thread must live on
            seq.error = exc
            if not isinstance(exc, LlmMarsError):
                seq.error = BackendError(f"the request could not be prepared: {exc!r}")
                seq.error.__cause__ = exc
            seq.on_done(seq)
            return
        self._scheduler.add(seq)

    def _fail_all(self, extra: list[Sequence], error: BaseException) -> None:
        scheduler = self._scheduler
        for seq in [*extra, *scheduler.waiting, *scheduler.running]:
            seq.error = error
            seq.on_done(seq)
        scheduler.reset()


def _thread_setting(threads: int | str | None, model: CompactLlama) -> int | str:
    if threads is None:
        threads = os.environ.get("LLM_MARS_THREADS") or (
            "auto" if model.device.type == "cpu" else "torch")
    if threads == "auto" and torch.get_num_threads() == 1:
        return "torch"  # nothing to choose from
    if threads in ("auto", "torch"):
        return threads
    try:
        count = int(threads)
    except ValueError:
        raise RequestError(f"threads must be a number, 'auto' or 'torch', not {threads!r}") from None
    if count < 1:
        raise RequestError(f"threads must be at least 1, not {count}")
    return count


def _resolve(future: Future, seq: Sequence) -> None:
    if not future.set_running_or_notify_cancel():
        return  # cancelled by the caller
    if seq.error is not None:
        future.set_exception(seq.error)
    elif seq.result is not None:
        future.set_result(seq.result)
    else:
        future.set_exception(RequestError("the request was dropped"))


def _eos_ids(model: CompactLlama, tokenizer: Any) -> tuple[int, ...]:
    """End-of-turn tokens: the tokenizer's EOS plus the model config's eos_token_id(s)."""
    ids = set()
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    configured = getattr(model.config, "eos_token_id", None)
    if isinstance(configured, int):
        ids.add(configured)
    elif configured:
        ids.update(int(i) for i in configured)
    return tuple(sorted(ids))
