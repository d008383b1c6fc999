"""Backends chosen by configuration alone: BackendConfig.from_env and make_backend."""
from __future__ import annotations

import importlib.util

import pytest
from test_server import BASE, FakeEngine

from llm_mars.errors import BackendConfigError, BackendError
from llm_mars.llm.backends import BackendConfig, make_backend
from llm_mars.llm.backends.openai import OpenAIBackend
from llm_mars.llm.server import OpenAIServer


def test_the_default_is_the_in_process_engine():
    config = BackendConfig.from_env({})
    assert config.kind == "hf" and config.url is None and config.adapters == ("bt", "qa")


def test_the_environment_configures_the_openai_backend():
    config = BackendConfig.from_env({
        "LLM_MARS_BACKEND": "openai", "LLM_MARS_OPENAI_URL": "http://gpu:8000",
        "LLM_MARS_API_KEY": "k", "LLM_MARS_OPENAI_ADAPTERS": "bt, qa ,extra",
        "LLM_MARS_OPENAI_GRAMMAR": "guided_grammar", "LLM_MARS_OPENAI_TIMEOUT": "12.5",
        "LLM_MARS_OPENAI_RETRIES": "5"})
    assert (config.kind, config.url, config.api_key, config.adapters, config.grammar_field,
            config.timeout_s, config.retries) == (
        "openai", "http://gpu:8000", "k", ("bt", "qa", "extra"), "guided_grammar", 12.5, 5)


def test_arguments_override_the_environment():
    config = BackendConfig.from_env({"LLM_MARS_BACKEND": "openai"}, kind="hf", model=None,
                                    dtype="float32")
    assert config.kind == "hf" and config.dtype == "float32" and config.model is None


@pytest.mark.parametrize("env", [
    {"LLM_MARS_BACKEND": "tensorrt"},
    {"LLM_MARS_BACKEND": "openai"},
    {"LLM_MARS_BACKEND": "openai", "LLM_MARS_OPENAI_URL": "http://x", "LLM_MARS_OPENAI_TIMEOUT": "soon"},
    {"LLM_MARS_BACKEND": "openai", "LLM_MARS_OPENAI_URL": "http://x", "LLM_MARS_OPENAI_RETRIES": "2.5"},
])
def test_incomplete_or_unknown_configurations_are_refused(env):
    with pytest.raises(BackendConfigError):
        BackendConfig.from_env(env)


def test_int4_is_refused_for_vllm():
    with pytest.raises(BackendConfigError, match="int4"):
        BackendConfig.from_env({"LLM_MARS_BACKEND": "vllm"}, dtype="int4")


def test_make_backend_refuses_an_unknown_kind_without_the_environment():
    with pytest.raises(BackendConfigError):
        make_backend(BackendConfig(kind="onnx"))


def test_make_backend_connects_the_openai_backend():
    engine = FakeEngine()
    with OpenAIServer(engine, BASE, port=0, api_key="k").start() as server:
        backend = make_backend(BackendConfig.from_env(
            {"LLM_MARS_BACKEND": "openai", "LLM_MARS_OPENAI_URL": server.url,
             "LLM_MARS_API_KEY": "k", "LLM_MARS_OPENAI_GRAMMAR": "llm_mars_constraint"}))
        try:
            assert isinstance(backend, OpenAIBackend)
            assert backend.adapters == ("bt", "qa") and backend.base_model == BASE
            assert backend.grammar_field == "llm_mars_constraint"
        finally:
            backend.close()


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed")
def test_make_backend_vllm_without_vllm_is_a_backend_error():
    with pytest.raises(BackendError) as caught:
        make_backend(BackendConfig(kind="vllm"))
    assert "vLLM" in str(caught.value)
