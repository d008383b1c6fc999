"""The compact Llama forward equals transformers' (and PEFT's, per adapter) in fp32."""
from __future__ import annotations

import pytest
import torch

from llm_mars.llm.adapters import load_lora_adapter
from llm_mars.llm.llama import CompactLlama, LlamaShape, RowSpec, StepInput
from tiny_models import peft_logits

F32 = torch.float32


@pytest.fixture
def compact(tiny_llama, adapter_dirs):
    model = CompactLlama.from_hf(tiny_llama, F32)
    model.set_adapters([(n, load_lora_adapter(d)) for n, d in adapter_dirs.items()])
    return model


def sequences(seed: int, lengths, prefix: list[int] = ()) -> list[list[int]]:
    g = torch.Generator().manual_seed(seed)
    return [list(prefix) + torch.randint(3, 300, (n,), generator=g).tolist() for n in lengths]


def hf_logits(model, ids: list[int]) -> torch.Tensor:
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0]


def test_prefill_chunks_and_decode_rows_equal_hf(compact, tiny_llama):
    seqs = sequences(0, (5, 11, 2))
    cache = compact.new_cache(4, 64)
    # all prompts as chunks of one step, in slots 3, 0, 2
    slots = [3, 0, 2]
    logits = compact.forward(StepInput.build(
        [RowSpec(s, 0, slot) for s, slot in zip(seqs, slots)], 0), cache)
    for i, s in enumerate(seqs):
        torch.testing.assert_close(logits[i], hf_logits(tiny_llama, s)[-1], atol=1e-5, rtol=1e-5)
    # two decode steps with every row at its own position
    for step in range(2):
        nxt = [7 + step, 9, 30 + step]
        logits = compact.forward(StepInput.build(
            [RowSpec([t], len(s), slot) for s, t, slot in zip(seqs, nxt, slots)], 3), cache)
        for i, (s, t) in enumerate(zip(seqs, nxt)):
            s.append(t)
            torch.testing.assert_close(logits[i], hf_logits(tiny_llama, s)[-1], atol=1e-5, rtol=1e-5)


def test_prefill_in_pieces_equals_one_piece(compact, tiny_llama):
    (seq,) = sequences(1, (20,))
    cache = compact.new_cache(1, 64)
    compact.forward(StepInput.build([RowSpec(seq[:7], 0, 0, logits=False)], 0), cache)
    compact.forward(StepInput.build([RowSpec(seq[7:12], 7, 0, logits=False)], 0), cache)
    logits = compact.forward(StepInput.build([RowSpec(seq[12:], 12, 0)], 0), cache)
    torch.testing.assert_close(logits[0], hf_logits(tiny_llama, seq)[-1], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("share", [True, False])
def test_shared_prefix_attention_equals_private_copies(compact, tiny_llama, share):
    """Two prefixes of different lengths in two prefix slots, rows of each in scattered slots,
    and a row with no shared prefix: every row still sees exactly its own sequence."""
    long_prefix, short_prefix = sequences(2, (9, 4))
    seqs = (sequences(3, (3, 6, 1), long_prefix) + sequences(4, (2, 5), short_prefix)
            + sequences(5, (7,)))
    prefixes = [long_prefix] * 3 + [short_prefix] * 2 + [[]]
    cache = compact.new_cache(8, 64)
    prefix_slots = {len(long_prefix): 6, len(short_prefix): 7}
    for p in (long_prefix, short_prefix):
        compact.forward(StepInput.build([RowSpec(p, 0, prefix_slots[len(p)], logits=False)], 0), cache)
    slots = [1, 0, 4, 3, 5, 2]
    for prefix, slot in zip(prefixes, slots):
        if prefix:
            cache.move(prefix_slots[len(prefix)], slot, len(prefix))
    compact.forward(StepInput.build(
        [RowSpec(s[len(p):], len(p), slot) for s, p, slot in zip(seqs, prefixes, slots)], 0), cache)
    rows = [RowSpec([11], len(s), slot, prefix_slot=prefix_slots.get(len(p), -1), prefix_len=len(p))
            for s, p, slot in zip(seqs, prefixes, slots)]
    step = StepInput.build(rows, len(rows), share_prefixes=share)
    assert len(step.decode.groups) == (2 if share else 0)
    logits = compact.forward(step, cache)
    for i, s in enumerate(seqs):
        torch.testing.assert_close(logits[i], hf_logits(tiny_llama, s + [11])[-1], atol=1e-5, rtol=1e-5)
    # one group only, rows in consecutive slots: the common-window (no gather) path
    rows = [RowSpec([12], len(s) + 1, slot, prefix_slot=6, prefix_len=len(long_prefix))
            for s, slot in zip(seqs[:2], slots[:2])]
    step = StepInput.build(rows, 2, share_prefixes=share)
    assert isinstance(step.decode.own_positions, slice)
    logits = compact.forward(step, cache)
    for i, s in enumerate(seqs[:2]):
        torch.testing.assert_close(logits[i], hf_logits(tiny_llama, s + [11, 12])[-1],
                                   atol=1e-5, rtol=1e-5)


def test_mixed_adapter_batch_rows_equal_peft_single_adapter_runs(compact, peft_model):
    """PEFT's TestMixedAdapterBatches, for the whole model: every row of one batch mixing both
    adapters and the base model equals PEFT run on that row alone with only its adapter."""
    names = list(compact.adapter_names)
    plan = [("bt", 6), (None, 4), ("qa", 9), ("bt", 3), ("qa", 1), (None, 7)]
    seqs = sequences(4, [n for _, n in plan])
    cache = compact.new_cache(len(plan), 64)
    index = {None: -1, **{n: i for i, n in enumerate(names)}}
    logits = compact.forward(StepInput.build(
        [RowSpec(s, 0, i, index[a]) for i, ((a, _), s) in enumerate(zip(plan, seqs))], 0), cache)
    for i, ((adapter, _), s) in enumerate(zip(plan, seqs)):
        torch.testing.assert_close(logits[i], peft_logits(peft_model, adapter, s)[-1],
                                   atol=1e-5, rtol=1e-5)
    # and one decode step of the mixed batch
    logits = compact.forward(StepInput.build(
        [RowSpec([5], len(s), i, index[a]) for i, ((a, _), s) in enumerate(zip(plan, seqs))],
        len(plan)), cache)
    for i, ((adapter, _), s) in enumerate(zip(plan, seqs)):
        torch.testing.assert_close(logits[i], peft_logits(peft_model, adapter, s + [5])[-1],
                                   atol=1e-5, rtol=1e-5)


def test_adapters_change_the_output(compact):
    (seq,) = sequences(5, (8,))
    cache = compact.new_cache(3, 16)
    logits = compact.forward(StepInput.build(
        [RowSpec(seq, 0, 0, -1), RowSpec(seq, 0, 1, 0), RowSpec(seq, 0, 2, 1)], 0), cache)
    assert (logits[0] - logits[1]).abs().max() > 1e-2
    assert (logits[1] - logits[2]).abs().max() > 1e-2


def test_packed_model_matches(compact, tiny_llama):
    (seq,) = sequences(6, (10,))
    compact.pack_for_cpu()
    logits = compact.forward(StepInput.build([RowSpec(seq, 0, 0)], 0), compact.new_cache(1, 16))
    torch.testing.assert_close(logits[0], hf_logits(tiny_llama, seq)[-1], atol=1e-4, rtol=1e-4)


def test_bf16_stays_close_to_fp32(tiny_llama):
    (seq,) = sequences(7, (12,))
    fp32 = CompactLlama.from_hf(tiny_llama, F32)
    bf16 = CompactLlama.from_hf(tiny_llama, torch.bfloat16)
    a = fp32.forward(StepInput.build([RowSpec(seq, 0, 0)], 0), fp32.new_cache(1, 16))
    b = bf16.forward(StepInput.build([RowSpec(seq, 0, 0)], 0), bf16.new_cache(1, 16))
    assert b.dtype == torch.float32
    assert (a - b).abs().max() / a.abs().max() < 0.05
    assert a.argmax() == b.argmax()


def test_int4_model_stays_close_to_fp32_and_keeps_rows_to_their_adapters(tiny_llama, adapter_dirs):
    """Quantized base weights (int4, LM head int8) with exact fp32 LoRA: close to the fp32 model,
    and a mixed batch's rows equal the same rows run alone, in decode rows (the int4 kernel)
    and in prefill chunks (the dense path) alike."""
    adapters = [(n, load_lora_adapter(d)) for n, d in adapter_dirs.items()]
    fp32 = CompactLlama.from_hf(tiny_llama, F32)
    int4 = CompactLlama.from_hf(tiny_llama, F32)
    for model in (fp32, int4):
        model.set_adapters(adapters)
    int4.quantize()
    assert int4.quantized and int4.weight_bytes < fp32.weight_bytes / 3
    seqs = sequences(8, (9, 12, 5))
    ids = [0, -1, 1]

    def run(model, rows):
        cache = model.new_cache(len(rows), 32)
        prefill = model.forward(StepInput.build(
            [RowSpec(seqs[i], 0, k, ids[i]) for k, i in enumerate(rows)], 0), cache)
        decode = model.forward(StepInput.build(
            [RowSpec([4], len(seqs[i]), k, ids[i]) for k, i in enumerate(rows)], len(rows)), cache)
        return prefill, decode

    a_pre, a_dec = run(fp32, [0, 1, 2])
    b_pre, b_dec = run(int4, [0, 1, 2])
    for a, b in ((a_pre, b_pre), (a_dec, b_dec)):
        assert ((a - b).abs().amax(1) / a.abs().amax(1)).max() < 0.05
        assert torch.equal(a.argmax(1), b.argmax(1))
    for i in range(3):
        alone_pre, alone_dec = run(int4, [i])
        torch.testing.assert_close(alone_pre[0], b_pre[i], atol=1e-3, rtol=1e-3)
        torch.testing.assert_close(alone_dec[0], b_dec[i], atol=1e-3, rtol=1e-3)


def test_a_narrowed_lm_head_gives_the_same_logits_for_the_tokens_asked(tiny_llama, adapter_dirs):
    """``only_tokens``: those logits equal the whole head's bit for bit, every other one is
    minus infinity, and ids a grammar knows past the model's vocabulary are left out (they had
    no logit before either); without an exact narrow product the whole head runs."""
    from llm_mars.llm.weights import cpu_kernels

    model = CompactLlama.from_hf(tiny_llama, F32)
    model.set_adapters([(n, load_lora_adapter(d)) for n, d in adapter_dirs.items()])
    model.quantize()
    vocab = model.shape.vocab
    seq = sequences(9, (11,))[0]

    def logits(only):
        cache = model.new_cache(1, 32)
        model.forward(StepInput.build([RowSpec(seq, 0, 0, 0, logits=False)], 0), cache)
        return model.forward(StepInput.build([RowSpec([4], len(seq), 0, 0)], 1), cache, only)

    whole = logits(None)
    asked = torch.tensor([3, 17, 200, vocab - 1, vocab, vocab + 40])
    narrow = logits(asked)
    kept = asked[asked < vocab]
    if "int8_rows" not in cpu_kernels():
        assert torch.equal(narrow, whole) and model.narrow_head_steps == 0
        return
    assert model.narrow_head_steps == 1 and narrow.shape == whole.shape
    assert torch.equal(narrow[:, kept], whole[:, kept])
    others = torch.ones(vocab, dtype=torch.bool)
    others[kept] = False
    assert torch.isneginf(narrow[:, others]).all()


def test_a_quantized_load_reads_back_its_cache_and_requantizes_a_foreign_one(tiny_llama, tmp_path,
                                                                           caplog):
    folder = tmp_path / "model"
    tiny_llama.save_pretrained(folder)
    cache = tmp_path / "q.safetensors"
    first = CompactLlama.from_folder(folder, F32, quantized_cache=cache)
    assert cache.is_file() and first.quantized
    second = CompactLlama.from_folder(folder, F32, quantized_cache=cache)
    assert second.quantized
    (seq,) = sequences(9, (10,))
    a, b = (m.forward(StepInput.build([RowSpec(seq, 0, 0)], 0), m.new_cache(1, 16))
            for m in (first, second))
    assert torch.equal(a, b)
    from tiny_models import tiny_llama_config
    from transformers import LlamaForCausalLM

    other = tmp_path / "other"
    LlamaForCausalLM(tiny_llama_config(tiny_llama.config.vocab_size, hidden_size=96,
                                       intermediate_size=192)).save_pretrained(other)
    third = CompactLlama.from_folder(other, F32, quantized_cache=cache)  # another model's file
    assert "holds another model's weights" in caplog.text
    assert third.quantized
    assert third.forward(StepInput.build([RowSpec(seq, 0, 0)], 0), third.new_cache(1, 16)).isfinite().all()


def test_weight_bytes_counts_every_matrix_once(tiny_llama):
    model = CompactLlama.from_hf(tiny_llama, torch.bfloat16)
    params = sum(p.numel() for p in tiny_llama.parameters())  # embedding tied: counted once
    assert model.weight_bytes == 2 * params


@pytest.mark.slow
def test_bundled_model_logits_equal_hf_in_fp32():
    from llm_mars.llm.model_store import load_model

    loaded = load_model(dtype="float32")
    ids = loaded.tokenizer.apply_chat_template(
        [{"role": "user", "content": "Robot 1, bring the brown cake to plate 3."}],
        add_generation_prompt=True, tokenize=True, return_dict=False)
    compact = CompactLlama.from_folder(loaded.path, F32)
    cache = compact.new_cache(1, 128)
    logits = compact.forward(StepInput.build([RowSpec(list(ids[:-3]), 0, 0, logits=False)], 0),
                             cache)
    logits = compact.forward(StepInput.build([RowSpec(list(ids[-3:]), len(ids) - 3, 0)], 0), cache)
    reference = hf_logits(loaded.model, list(ids))[-1]
    torch.testing.assert_close(logits[0], reference, atol=2e-4, rtol=1e-4)
    step = StepInput.build([RowSpec([int(reference.argmax())], len(ids), 0)], 1)
    decoded = compact.forward(step, cache)[0]
    torch.testing.assert_close(
        decoded, hf_logits(loaded.model, list(ids) + [int(reference.argmax())])[-1],
        atol=2e-4, rtol=1e-4)


@pytest.mark.slow
def test_bundled_model_matrices_are_q4_1_grids_that_int4_keeps():
    """The bundled GGUF stores every layer matrix as Q4_1: per group of 32, codes 0..15 that
    reach 0 and 15. Quantizing the de-quantised weights to the nearest of 16 levels from the
    group's minimum to its maximum therefore gives back the same values (fp32 rounding aside)."""
    from safetensors import safe_open

    from llm_mars.llm.model_store import resolve_model_dir
    from llm_mars.llm.weights import GROUP, Int4Weight

    with safe_open(str(resolve_model_dir() / "model.safetensors"), framework="pt") as f:
        names = [n for n in f.keys() if n.startswith("model.layers.") and n.endswith("proj.weight")]
        assert len(names) == 30 * 7
        for name in names[::11]:
            w = f.get_tensor(name).float()
            codes = Int4Weight.quantize(w, use_kernel=False).codes.float()
            groups = w.reshape(w.shape[0], -1, GROUP)
            low, high = groups.amin(-1, keepdim=True), groups.amax(-1, keepdim=True)
            regrid = codes.reshape(groups.shape) * (high - low) / 15 + low
            assert (regrid - groups).abs().max() <= 1e-6 * w.abs().max(), name


@pytest.mark.parametrize("rope", [{"rope_type": "linear", "factor": 2.0, "rope_theta": 5000.0},
                                  {"rope_type": "default", "rope_theta": 500.0}])
def test_scaled_and_plain_rope_equal_hf(tiny_llama, rope):
    from transformers import LlamaForCausalLM

    from tiny_models import tiny_llama_config

    torch.manual_seed(7)
    model = LlamaForCausalLM(tiny_llama_config(tiny_llama.config.vocab_size,
                                               rope_parameters=rope)).eval()
    assert model.config.rope_parameters["rope_type"] == rope["rope_type"]
    (seq,) = sequences(11, (40,))
    compact = CompactLlama.from_hf(model, F32)
    logits = compact.forward(StepInput.build([RowSpec(seq, 0, 0)], 0), compact.new_cache(1, 64))
    torch.testing.assert_close(logits[0], hf_logits(model, seq)[-1], atol=1e-5, rtol=1e-5)


def test_a_plain_config_is_read_as_transformers_reads_it(tiny_llama, tmp_path):
    from transformers import AutoConfig

    from llm_mars.llm.llama import read_config

    tiny_llama.config.save_pretrained(tmp_path)
    ours, theirs = read_config(tmp_path), AutoConfig.from_pretrained(tmp_path)
    assert LlamaShape.from_config(ours) == LlamaShape.from_config(theirs)
    for key in ("tie_word_embeddings", "eos_token_id", "rope_parameters"):
        assert getattr(ours, key) == getattr(theirs, key), key
