"""The vllm backend: what can be checked without vLLM here (rank choice, sampling mapping,
the import guard), and a GPU test that runs vLLM with both adapters (marked ``gpu``)."""
from __future__ import annotations

import importlib.util
import json

import pytest

from llm_mars.errors import AdapterLoadError, BackendError
from llm_mars.llm.backends.vllm import LORA_RANKS, VllmBackend, lora_rank, sampling_kwargs
from llm_mars.llm.requests import SamplingParams


def adapter_config(tmp_path, name, **config):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize("configs, rank", [
    ([{"r": 8}, {"r": 4}], 8),
    ([{"r": 4}], 8),
    ([{"r": 20}, {"r": 8}], 32),
    ([{"r": 8, "rank_pattern": {"o_proj": 40}}], 64),
    ([{"r": 512}], 512),
])
def test_the_lora_rank_fits_every_adapter(tmp_path, configs, rank):
    folders = [adapter_config(tmp_path, f"a{i}", **c) for i, c in enumerate(configs)]
    assert lora_rank(folders) == rank and rank in LORA_RANKS


@pytest.mark.parametrize("config", [{"r": 600}, {"rank": 8}, {"r": "eight"}])
def test_unusable_ranks_are_adapter_errors(tmp_path, config):
    with pytest.raises(AdapterLoadError):
        lora_rank([adapter_config(tmp_path, "a", **config)])


def test_a_missing_adapter_config_is_an_adapter_error(tmp_path):
    with pytest.raises(AdapterLoadError):
        lora_rank([tmp_path])


def test_sampling_maps_one_to_one():
    assert sampling_kwargs(SamplingParams()) == {
        "temperature": 0.0, "top_p": 1.0, "max_tokens": 256, "stop": []}
    assert sampling_kwargs(SamplingParams(temperature=0.7, top_p=0.9, seed=4, max_new_tokens=9,
                                          stop=("</reply>",))) == {
        "temperature": 0.7, "top_p": 0.9, "max_tokens": 9, "stop": ["</reply>"], "seed": 4}


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed")
def test_without_vllm_the_backend_is_a_clear_error(tmp_path):
    with pytest.raises(BackendError) as caught:
        VllmBackend(tmp_path)
    assert "vLLM" in str(caught.value) and "GPU" in str(caught.value)


def _vllm_on_gpu() -> bool:
    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return torch.cuda.is_available()


@pytest.mark.gpu
@pytest.mark.slow
@pytest.mark.skipif(not _vllm_on_gpu(), reason="vLLM/GPU not available")
def test_vllm_serves_both_adapters_in_one_batch_and_plans(tmp_path):
    """Rows of a mixed batch equal per-adapter runs; plans come back validated."""
    from test_backend_openai_serve import COMMAND, make_adapters

    from llm_mars.bt.model import Plan, Reply
    from llm_mars.llm.model_store import resolve_model_dir
    from llm_mars.llm.prompts import bt_messages
    from llm_mars.llm.requests import GenerationRequest

    adapters = make_adapters(tmp_path)
    backend = VllmBackend(resolve_model_dir(None), adapters, gpu_memory_utilization=0.3)
    try:
        assert backend.adapters == ("bt", "qa")
        requests = [GenerationRequest.chat([{"role": "user", "content": f"Say {w}."}], a,
                                           SamplingParams(max_new_tokens=16))
                    for w in ("hello", "goodbye") for a in ("bt", "qa", None)]
        alone = [backend.submit(r).result(120).text for r in requests]
        together = [f.result(120).text for f in [backend.submit(r) for r in requests]]
        assert together == alone
        assert len({alone[0], alone[1], alone[2]}) > 1  # the adapters change the output
        streamed = []
        result = backend.submit(requests[0], on_token=streamed.append).result(120)
        assert "".join(e.text for e in streamed) == result.text == alone[0]
        plan = backend.submit(GenerationRequest.chat(
            bt_messages(COMMAND), "bt", SamplingParams(max_new_tokens=384),
            constraint="plan")).result(300)
        assert isinstance(plan.parsed, (Plan, Reply)) and plan.finish_reason == "constraint"
    finally:
        backend.close()
