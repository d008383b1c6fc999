"""``vllm`` backend: vLLM in this process on a CUDA GPU, both adapters in one batch.

The same contract as the in-process engine (``adapters``, ``submit(request, on_token=None)``
-> Future[GenerationResult]) over vLLM's ``LLMEngine``: LoRA enabled with room for every
adapter at once (``max_loras >= 2``), one ``LoRARequest`` per request naming its adapter, and
``constraint="plan"`` (or ``"query"``) decoded under its grammar through vLLM's structured outputs
(xgrammar reads the same EBNF). The plan is parsed and validated here again. Prompts are the
chat template of the model's tokenizer, exactly as the in-process engine builds them.

A background thread feeds vLLM's continuous batching (``add_request`` / ``step``) and resolves
futures; cancelled requests and requests past their deadline are aborted. vLLM is imported
only when this backend is built: without it (or without a GPU) building one raises
BackendError, and everything else in llm_mars works.
"""
from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm_mars.errors import (AdapterLoadError, BackendError, EngineClosedError,
                             GenerationTimeout, LlmMarsError, PromptTooLongError, RequestError,
                             UnknownAdapterError)
from llm_mars.llm.outputs import checked_output, grammar_for
from llm_mars.llm.requests import GenerationRequest, GenerationResult, SamplingParams, TokenEvent

LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)
"""The ``max_lora_rank`` values vLLM accepts."""


def lora_rank(adapter_dirs: Iterable[str | Path]) -> int:
    """The smallest ``max_lora_rank`` vLLM accepts that fits every adapter (rank_pattern too)."""
    largest = 1
    for folder in adapter_dirs:
        path = Path(folder) / "adapter_config.json"
        try:
            config = json.loads(path.read_text())
            ranks = [int(config["r"]), *map(int, (config.get("rank_pattern") or {}).values())]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AdapterLoadError(f"{path}: no readable LoRA rank ({exc!r})") from None
        largest = max(largest, *ranks)
    for rank in LORA_RANKS:
        if rank >= largest:
            return rank
    raise AdapterLoadError(f"LoRA rank {largest} is above vLLM's largest ({LORA_RANKS[-1]})")


def sampling_kwargs(sampling: SamplingParams) -> dict[str, Any]:
    """vLLM ``SamplingParams`` arguments equal to ours (temperature 0 is greedy in both)."""
    kwargs: dict[str, Any] = {"temperature": sampling.temperature, "top_p": sampling.top_p,
                              "max_tokens": sampling.max_new_tokens, "stop": list(sampling.stop)}
    if sampling.seed is not None:
        kwargs["seed"] = sampling.seed
    return kwargs


def import_vllm() -> Any:
    try:
        import vllm
    except ImportError as exc:
        raise BackendError("the vllm backend needs vLLM and a CUDA GPU (pip install vllm on "
                           f"the GPU machine); it cannot be imported here: {exc}") from exc
    return vllm


def _grammar_kwargs(grammar: str) -> dict[str, Any]:
    """Structured-output arguments of this vLLM version (``structured_outputs`` from 0.11,
    ``guided_decoding`` before)."""
    try:
        from vllm.sampling_params import StructuredOutputsParams
    except ImportError:
        from vllm.sampling_params import GuidedDecodingParams

        return {"guided_decoding": GuidedDecodingParams(grammar=grammar)}
    return {"structured_outputs": StructuredOutputsParams(grammar=grammar)}


@dataclass(eq=False)
class _Job:
    request: GenerationRequest
    on_token: Callable[[TokenEvent], None] | None
    future: Future
    id: str
    submitted: float
    prompt_tokens: int = 0
    first_token_at: float | None = None
    seen_tokens: int = 0
    emitted_text: str = ""


class VllmBackend:
    """Generation requests served by vLLM in this process."""

    def __init__(self, model: str | Path, adapters: Mapping[str, str | Path] | None = None, *,
                 max_num_seqs: int = 64, max_model_len: int = 4096,
                 gpu_memory_utilization: float = 0.5, dtype: str = "auto", seed: int = 0,
                 **engine_args: Any):
        """Start vLLM on ``model`` (a Hugging Face folder or hub id) with the PEFT LoRA
        ``adapters`` (name -> folder); ``engine_args`` go to ``vllm.EngineArgs``."""
        vllm = import_vllm()
        from transformers import AutoTokenizer
        from vllm.lora.request import LoRARequest

        adapters = {name: Path(folder).resolve() for name, folder in (adapters or {}).items()}
        args = vllm.EngineArgs(
            model=str(model), enable_lora=True, max_loras=max(2, len(adapters)),
            max_lora_rank=lora_rank(adapters.values()), max_num_seqs=max_num_seqs,
            max_model_len=max_model_len, gpu_memory_utilization=gpu_memory_utilization,
            dtype=dtype, seed=seed, **engine_args)
        try:
            self._engine = vllm.LLMEngine.from_engine_args(args)
        except Exception as exc:  # vLLM raises many kinds (no GPU, out of memory, bad model)
            raise BackendError(f"vLLM could not start on {model}: {exc!r}") from exc
        self.tokenizer = AutoTokenizer.from_pretrained(str(model))
        self.max_model_len = max_model_len
        self._loras = {name: LoRARequest(name, i + 1, str(folder))
                       for i, (name, folder) in enumerate(adapters.items())}
        self.adapters: tuple[str, ...] = tuple(sorted(self._loras))
        self._ids = itertools.count()
        self._cond = threading.Condition()
        self._incoming: list[_Job] = []
        self._live: dict[str, _Job] = {}
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="llm-vllm", daemon=True)
        self._thread.start()

    def submit(self, request: GenerationRequest,
               on_token: Callable[[TokenEvent], None] | None = None) -> Future:
        if request.adapter is not None and request.adapter not in self._loras:
            raise UnknownAdapterError(request.adapter, self.adapters)
        if request.constraint is not None:
            grammar_for(request.constraint)  # an unknown or malformed one: RequestError
        job = _Job(request, on_token, Future(), str(next(self._ids)), time.monotonic())
        with self._cond:
            if self._closing:
                raise EngineClosedError("the vllm backend is closed")
            self._incoming.append(job)
            self._cond.notify()
        return job.future

    def close(self, timeout: float | None = 10.0) -> None:
        """Stop the thread; queued and running requests fail with EngineClosedError."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout)

    def __enter__(self) -> VllmBackend:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not (self._incoming or self._live or self._closing):
                    self._cond.wait()
                incoming, self._incoming = self._incoming, []
                if self._closing:
                    self._abort([*incoming, *self._live.values()],
                                EngineClosedError("the vllm backend was closed"))
                    return
            for job in incoming:
                self._add(job)
            self._expire()
            if not self._live:
                continue
            try:
                outputs = self._engine.step()
            except Exception as exc:  # noqa: BLE001 - fail what is in flight, go on
                error = BackendError(f"vLLM step failed: {exc!r}")
                error.__cause__ = exc
                self._abort(list(self._live.values()), error)
                continue
            for output in outputs:
                self._progress(output)

    def _add(self, job: _Job) -> None:
        from vllm import SamplingParams as VllmSampling

        from llm_mars.llm.scheduler import chat_token_ids

        request = job.request
        try:
            prompt = chat_token_ids(self.tokenizer, request.message_dicts(), True)
            if len(prompt) >= self.max_model_len:
                raise PromptTooLongError(f"the prompt has {len(prompt)} tokens; the context "
                                         f"holds {self.max_model_len}")
            kwargs = sampling_kwargs(request.sampling)
            if request.constraint is not None:
                kwargs.update(_grammar_kwargs(grammar_for(request.constraint)))
            self._engine.add_request(job.id, {"prompt_token_ids": prompt},
                                     VllmSampling(**kwargs),
                                     lora_request=self._loras.get(request.adapter))
        except LlmMarsError as exc:
            job.future.set_exception(exc)
            return
        except Exception as exc:  # noqa: BLE001 - vLLM refuses a request with ValueError etc.
            job.future.set_exception(RequestError(f"vLLM refused the request: {exc!r}"))
            return
        job.prompt_tokens = len(prompt)
        self._live[job.id] = job

    def _expire(self) -> None:
        now = time.monotonic()
        for job in list(self._live.values()):
            deadline = job.request.deadline
            if job.future.cancelled():
                self._abort([job], None)
            elif deadline is not None and now >= deadline:
                self._abort([job], GenerationTimeout(
                    f"the request passed its deadline after {now - job.submitted:.1f} s"))

    def _abort(self, jobs: list[_Job], error: BaseException | None) -> None:
        ids = [job.id for job in jobs if job.id in self._live]
        if ids:
            self._engine.abort_request(ids)
        for job in jobs:
            self._live.pop(job.id, None)
            if error is not None and job.future.set_running_or_notify_cancel():
                job.future.set_exception(error)

    def _progress(self, output: Any) -> None:
        job = self._live.get(output.request_id)
        if job is None:
            return
        completion = output.outputs[0]
        token_ids = list(completion.token_ids)
        if token_ids and job.first_token_at is None:
            job.first_token_at = time.monotonic()
        if job.on_token is not None and len(token_ids) > job.seen_tokens:
            delta = completion.text[len(job.emitted_text):]
            event = TokenEvent(tuple(token_ids[job.seen_tokens:]), delta)
            job.seen_tokens, job.emitted_text = len(token_ids), completion.text
            try:
                job.on_token(event)
            except Exception as exc:  # noqa: BLE001 - the caller's callback
                self._abort([job], RequestError(f"the on_token callback failed: {exc!r}"))
                return
        if output.finished:
            del self._live[job.id]
            if job.future.set_running_or_notify_cancel():
                self._finish(job, output, completion, token_ids)

    def _finish(self, job: _Job, output: Any, completion: Any, token_ids: list[int]) -> None:
        now = time.monotonic()
        reason = "length" if completion.finish_reason == "length" else "stop"
        parsed = None
        if job.request.constraint is not None:
            try:
                parsed = checked_output(job.request.constraint, completion.text, "vLLM")
            except LlmMarsError as exc:
                job.future.set_exception(exc)
                return
            reason = "constraint"
        job.future.set_result(GenerationResult(
            text=completion.text, token_ids=tuple(token_ids), finish_reason=reason,
            prompt_tokens=job.prompt_tokens,
            cached_prompt_tokens=int(getattr(output, "num_cached_tokens", 0) or 0),
            jump_forward_tokens=0, queued_s=0.0,
            first_token_s=(job.first_token_at or now) - job.submitted,
            total_s=now - job.submitted, parsed=parsed))
