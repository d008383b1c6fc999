"""Reading PEFT adapter folders without PEFT."""
from __future__ import annotations

import json
import math

import pytest
import torch

from llm_mars.errors import AdapterLoadError
from llm_mars.llm.adapters import CONFIG_FILE, WEIGHTS_FILE, load_lora_adapter
from llm_mars.llm.llama import CompactLlama


def test_weights_and_scalings_match_peft(adapter_dirs, peft_model):
    for name, folder in adapter_dirs.items():
        adapter = load_lora_adapter(folder)
        peft_layers = {n.removeprefix("base_model.model."): m for n, m in peft_model.named_modules()
                       if hasattr(m, "lora_A") and name in m.lora_A}
        assert set(adapter.modules) == set(peft_layers)
        for module, lw in adapter.modules.items():
            layer = peft_layers[module]
            torch.testing.assert_close(lw.a, layer.lora_A[name].weight)
            torch.testing.assert_close(lw.b, layer.lora_B[name].weight)
            assert math.isclose(lw.scaling, layer.scaling[name])
    qa = load_lora_adapter(adapter_dirs["qa"])
    # rsLoRA: alpha / sqrt(r); alpha_pattern gives o_proj its own alpha
    assert math.isclose(qa.modules["model.layers.0.self_attn.q_proj"].scaling, 4 / 2)
    assert math.isclose(qa.modules["model.layers.1.self_attn.o_proj"].scaling, 12 / 2)


@pytest.fixture
def copied(adapter_dirs, tmp_path):
    import shutil

    folder = tmp_path / "bt"
    shutil.copytree(adapter_dirs["bt"], folder)
    return folder


def test_missing_files(copied, tmp_path):
    with pytest.raises(AdapterLoadError, match="does not exist"):
        load_lora_adapter(tmp_path / "nothing")
    (copied / WEIGHTS_FILE).unlink()
    with pytest.raises(AdapterLoadError, match=WEIGHTS_FILE):
        load_lora_adapter(copied)


def test_corrupt_weights(copied):
    (copied / WEIGHTS_FILE).write_bytes(b"\x00" * 100)
    with pytest.raises(AdapterLoadError, match="cannot be read"):
        load_lora_adapter(copied)


@pytest.mark.parametrize("change", [{"use_dora": True}, {"bias": "all"},
                                    {"modules_to_save": ["lm_head"]}, {"peft_type": "IA3"}])
def test_unsupported_options_are_refused(copied, change):
    config = json.loads((copied / CONFIG_FILE).read_text())
    config.update(change)
    (copied / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(AdapterLoadError):
        load_lora_adapter(copied)


def test_adapter_for_another_model_is_refused(adapter_dirs, tiny_tokenizer):
    from transformers import LlamaForCausalLM

    from tiny_models import tiny_llama_config

    other = LlamaForCausalLM(tiny_llama_config(len(tiny_tokenizer), hidden_size=32,
                                               intermediate_size=64))
    compact = CompactLlama.from_hf(other, torch.float32)
    with pytest.raises(AdapterLoadError, match="another base model"):
        compact.set_adapters([("bt", load_lora_adapter(adapter_dirs["bt"]))])
    deeper = CompactLlama.from_hf(
        LlamaForCausalLM(tiny_llama_config(len(tiny_tokenizer), num_hidden_layers=1)), torch.float32)
    with pytest.raises(AdapterLoadError, match="does not have"):
        deeper.set_adapters([("bt", load_lora_adapter(adapter_dirs["bt"]))])
