"""Fixtures of the engine tests (built from tiny_models)."""
from __future__ import annotations

import copy

import pytest
import torch

from tiny_models import ADAPTER_CONFIGS, build_tiny_tokenizer, make_peft_adapter, tiny_llama_config


@pytest.fixture(scope="session")
def tiny_tokenizer():
    return build_tiny_tokenizer()


@pytest.fixture(scope="session")
def tiny_llama(tiny_tokenizer):
    """A random fp32 HF Llama over the tiny tokenizer's vocabulary (do not wrap it with PEFT:
    use ``peft_model``)."""
    from transformers import LlamaForCausalLM

    torch.manual_seed(1234)
    model = LlamaForCausalLM(tiny_llama_config(len(tiny_tokenizer))).eval()
    # A random init this small is nearly uniform; sharpen it so greedy decoding is decisive.
    with torch.no_grad():
        model.model.embed_tokens.weight.mul_(30)
    return model


@pytest.fixture(scope="session")
def adapter_dirs(tiny_llama, tmp_path_factory):
    root = tmp_path_factory.mktemp("adapters")
    return {name: make_peft_adapter(tiny_llama, root / name, seed=i, **config)
            for i, (name, config) in enumerate(ADAPTER_CONFIGS.items())}


@pytest.fixture(scope="session")
def peft_model(tiny_llama, adapter_dirs):
    """The tiny Llama with both adapters loaded through PEFT (the reference implementation)."""
    from peft import PeftModel

    names = list(adapter_dirs)
    model = PeftModel.from_pretrained(copy.deepcopy(tiny_llama), adapter_dirs[names[0]],
                                      adapter_name=names[0])
    for name in names[1:]:
        model.load_adapter(adapter_dirs[name], adapter_name=name)
    return model.eval()
