"""Tiny stand-ins for the engine tests: a byte-level BPE tokenizer with a ChatML template,
a tiny random Llama config (hidden 64, 2 layers, GQA), random PEFT LoRA adapters, and PEFT
reference runs to compare against."""
from __future__ import annotations

import copy

import torch

TINY_CORPUS = [
    '<root BTCPP_format="4">\n  <BehaviorTree ID="robot1">\n    <Sequence>\n'
    '      <PickCake color="pink" quadrant="2"/>\n    </Sequence>\n  </BehaviorTree>\n</root>',
    "You are a robot planner. What is the capital of France? Paris. Robot 2 is at home "
    "carrying 6 cherries; robot 1 builds cakes on plate 3.",
]
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def build_tiny_tokenizer():
    """A byte-level BPE tokenizer (~360 tokens) with a ChatML chat template, trained in ~0.1 s."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(TINY_CORPUS * 20, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|im_start|>",
                                   eos_token="<|im_end|>", pad_token="<|im_end|>")
    fast.chat_template = CHATML
    return fast


def tiny_llama_config(vocab_size: int, **overrides):
    from transformers import LlamaConfig

    settings = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, vocab_size=vocab_size,
                    max_position_embeddings=1024, tie_word_embeddings=True,
                    bos_token_id=1, eos_token_id=2, pad_token_id=2)
    settings.update(overrides)
    return LlamaConfig(**settings)


ADAPTER_CONFIGS = {
    # every linear layer, rank 8
    "bt": dict(r=8, lora_alpha=16, target_modules="all-linear"),
    # some layers, another rank, rsLoRA scaling, a per-module alpha
    "qa": dict(r=4, lora_alpha=4, target_modules=["q_proj", "v_proj", "o_proj", "down_proj"],
               use_rslora=True, alpha_pattern={"o_proj": 12}),
}


def make_peft_adapter(model, folder, seed: int, **config):
    """Save a PEFT LoRA adapter with random (non-zero) A and B for ``model`` into ``folder``."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    peft = get_peft_model(copy.deepcopy(model), LoraConfig(init_lora_weights=False, **config))
    with torch.no_grad():  # PEFT's random B is small; make each adapter change the output
        for name, param in peft.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.2)
    peft.save_pretrained(folder)
    return folder


def peft_logits(peft_model, adapter: str | None, token_ids: list[int]) -> torch.Tensor:
    """Logits of one sequence through PEFT with only ``adapter`` active (None: base model)."""
    ids = torch.tensor([token_ids])
    with torch.no_grad():
        if adapter is None:
            with peft_model.disable_adapter():
                return peft_model(input_ids=ids).logits[0]
        peft_model.set_adapter(adapter)
        return peft_model(input_ids=ids).logits[0]


def peft_greedy(peft_model, adapter: str | None, prompt: list[int], max_new_tokens: int,
                eos: int = 2) -> list[int]:
    """Greedy continuation through PEFT's own generate (stops after eos, which is not returned)."""
    ids = torch.tensor([prompt])
    kwargs = dict(max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=eos,
                  pad_token_id=eos, attention_mask=torch.ones_like(ids))
    with torch.no_grad():
        if adapter is None:
            with peft_model.disable_adapter():
                out = peft_model.generate(input_ids=ids, **kwargs)
        else:
            peft_model.set_adapter(adapter)
            out = peft_model.generate(input_ids=ids, **kwargs)
    new = out[0, len(prompt):].tolist()
    return new[: new.index(eos)] if eos in new else new
