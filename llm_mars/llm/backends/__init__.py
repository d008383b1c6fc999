"""Serving backends, chosen by configuration alone: ``hf`` (the in-process engine, default),
``openai`` (a remote OpenAI-compatible server) and ``vllm`` (vLLM in this process on a GPU).

Every backend has the engine's contract, which :class:`llm_mars.assistant.Assistant` relies on:
``adapters`` (the adapter names it serves) and ``submit(request, on_token=None)`` returning a
Future of :class:`~llm_mars.llm.requests.GenerationResult`; plans (``constraint="plan"``) come
back parsed and validated in this process, whichever backend decoded them.

Environment (read by :meth:`BackendConfig.from_env`; explicit arguments win)::

    LLM_MARS_BACKEND          hf | openai | vllm                       (default hf)
    LLM_MARS_MODEL            hf/vllm: model folder (default: the bundled model)
    LLM_MARS_DTYPE            hf: int4 | bfloat16 | float32 | float16; vllm: bfloat16 | float32 | float16
    LLM_MARS_OPENAI_URL       openai: http(s)://host:port of the server (required)
    LLM_MARS_API_KEY          openai: sent as "Authorization: Bearer KEY"
    LLM_MARS_OPENAI_ADAPTERS  openai: adapter names the server must serve (default bt,qa)
    LLM_MARS_OPENAI_GRAMMAR   openai: structured_outputs | guided_grammar |
                              llm_mars_constraint | none   (default structured_outputs)
    LLM_MARS_OPENAI_TIMEOUT   openai: seconds to wait for an answer without a deadline (60)
    LLM_MARS_OPENAI_RETRIES   openai: retries on connection errors and 5xx (3)
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from llm_mars.errors import BackendConfigError
from llm_mars.llm.requests import ADAPTERS

BACKENDS = ("hf", "openai", "vllm")
ENV_BACKEND = "LLM_MARS_BACKEND"
ENV_OPENAI_URL = "LLM_MARS_OPENAI_URL"
ENV_API_KEY = "LLM_MARS_API_KEY"
ENV_OPENAI_ADAPTERS = "LLM_MARS_OPENAI_ADAPTERS"
ENV_OPENAI_GRAMMAR = "LLM_MARS_OPENAI_GRAMMAR"
ENV_OPENAI_TIMEOUT = "LLM_MARS_OPENAI_TIMEOUT"
ENV_OPENAI_RETRIES = "LLM_MARS_OPENAI_RETRIES"


@dataclass(frozen=True)
class BackendConfig:
    """Which backend serves generation requests, and what it needs.

    ``adapter_dirs`` are the adapter folders ``hf`` and ``vllm`` load (name -> folder);
    ``adapters`` are the names an ``openai`` server must serve. ``options`` go to the backend's
    constructor as keyword arguments (``hf``: Engine options such as ``max_batch``; ``vllm``:
    VllmBackend/EngineArgs options; ``openai``: e.g. ``backoff_s``).
    """

    kind: str = "hf"
    model: str | None = None
    dtype: str | None = None
    adapter_dirs: Mapping[str, Path] = field(default_factory=dict)
    url: str | None = None
    api_key: str | None = None
    adapters: tuple[str, ...] = ADAPTERS
    grammar_field: str = "structured_outputs"
    timeout_s: float = 60.0
    retries: int = 3
    options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> BackendConfig:
        """The configuration in the environment (see the module docstring); keyword arguments
        that are not None override it."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {"kind": env.get(ENV_BACKEND) or "hf",
                                  "url": env.get(ENV_OPENAI_URL) or None,
                                  "api_key": env.get(ENV_API_KEY) or None}
        if env.get(ENV_OPENAI_ADAPTERS):
            values["adapters"] = tuple(n.strip() for n in env[ENV_OPENAI_ADAPTERS].split(",")
                                       if n.strip())
        if env.get(ENV_OPENAI_GRAMMAR):
            values["grammar_field"] = env[ENV_OPENAI_GRAMMAR]
        for name, key, convert in (("timeout_s", ENV_OPENAI_TIMEOUT, float),
                                   ("retries", ENV_OPENAI_RETRIES, int)):
            if env.get(key):
                try:
                    values[name] = convert(env[key])
                except ValueError:
                    raise BackendConfigError(f"{key}={env[key]!r} is not a number") from None
        config = replace(cls(**values), **{k: v for k, v in overrides.items() if v is not None})
        config.check()
        return config

    def check(self) -> None:
        """BackendConfigError for an unknown backend or a missing setting."""
        if self.kind not in BACKENDS:
            raise BackendConfigError(f"unknown backend {self.kind!r} ({ENV_BACKEND}); use one "
                                     f"of {', '.join(BACKENDS)}")
        if self.kind == "vllm" and self.dtype == "int4":
            raise BackendConfigError("int4 is the in-process engine's CPU precision; the vllm "
                                     "backend takes bfloat16, float32 or float16")
        if self.kind == "openai" and not self.url:
            raise BackendConfigError(f"the openai backend needs the server URL ({ENV_OPENAI_URL}"
                                     ", e.g. http://gpu-host:8000)")


def make_backend(config: BackendConfig | None = None) -> Any:
    """The backend ``config`` (default: the environment's) describes, ready for requests.

    Returns an object with ``adapters``, ``submit(request, on_token=None)`` and ``close()``.
    """
    config = BackendConfig.from_env() if config is None else config
    config.check()
    if config.kind == "openai":
        from llm_mars.llm.backends.openai import OpenAIBackend

        return OpenAIBackend(config.url, adapters=config.adapters, api_key=config.api_key,
                             timeout_s=config.timeout_s, retries=config.retries,
                             grammar_field=config.grammar_field, **config.options)
    if config.kind == "vllm":
        from llm_mars.llm.backends.vllm import VllmBackend, import_vllm
        from llm_mars.llm.model_store import resolve_model_dir

        import_vllm()  # fail fast, before resolving (and maybe converting) the model
        options = {**({"dtype": config.dtype} if config.dtype else {}), **config.options}
        return VllmBackend(resolve_model_dir(config.model), dict(config.adapter_dirs), **options)
    from llm_mars.llm.engine import Engine

    return Engine.load(config.model, config.dtype, adapters=dict(config.adapter_dirs),
                       **config.options)
