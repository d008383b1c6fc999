"""Base weight formats: int4/int8 kernels == their dense paths, Q4_1 grids survive quantizing,
the cache file round-trips, and every fast path falls back instead of crashing."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from llm_mars.errors import ModelError
from llm_mars.llm import weights
from llm_mars.llm.weights import (GROUP, KERNEL_ROWS, CpuKernels, DenseWeight, Int4Weight,
                                  Int8Weight, cpu_kernels, read_quantized, write_quantized)

ROOT = Path(__file__).resolve().parents[2]
NO_KERNELS = CpuKernels("TEST", frozenset())


def q4_1_matrix(rows: int, cols: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A matrix as llama.cpp's Q4_1 stores one: per group of 32, ``q * d + m`` with fp16 ``d``
    and ``m`` and codes that reach 0 and 15 (its scale is (max - min) / 15). Returns (W, q)."""
    g = torch.Generator().manual_seed(seed)
    q = torch.randint(0, 16, (rows, cols // GROUP, GROUP), generator=g)
    q[..., 0], q[..., 1] = 0, 15
    d = (torch.rand(rows, cols // GROUP, 1, generator=g) * 0.01 + 1e-3).half().float()
    m = (-torch.rand(rows, cols // GROUP, 1, generator=g) * 0.05).half().float()
    return (q * d + m).reshape(rows, cols), q.reshape(rows, cols)


def test_quantizing_a_q4_1_matrix_recovers_its_codes():
    w, q = q4_1_matrix(48, 96)
    int4 = Int4Weight.quantize(w, use_kernel=False)
    assert torch.equal(int4.codes.long(), q)
    # only the scales are rounded (to bf16, as the kernel takes them)
    assert (int4.dense - w).abs().max() <= 2 ** -8 * w.abs().max()


@pytest.mark.parametrize("rows", [0, 1, 3, KERNEL_ROWS, KERNEL_ROWS + 5])
def test_int4_kernel_equals_its_dense_path(rows):
    w, _ = q4_1_matrix(64, 128, seed=1)
    x = torch.randn(rows, 128)
    with_kernel = Int4Weight.quantize(w, use_kernel=True)
    dense_only = Int4Weight.quantize(w, use_kernel=False)
    expected = F.linear(x.bfloat16().float(), dense_only.dense)
    for layer in (with_kernel, dense_only):
        torch.testing.assert_close(layer(x), expected, atol=2e-2, rtol=1e-2)
    assert with_kernel(x).dtype == torch.float32


@pytest.mark.parametrize("fmt", ["int4", "int8"])
def test_a_decode_row_is_computed_the_same_whatever_prefill_shares_its_step(fmt):
    """Greedy decoding must not depend on the other requests' timing: the decode rows of a
    step take the kernel however many prefill rows follow them (the dense path sums in another
    order, and a near-tie can flip a token)."""
    if fmt not in cpu_kernels():
        pytest.skip(f"no {fmt} kernel on this CPU: every row takes the dense path anyway")
    w, _ = q4_1_matrix(64, 128, seed=2)
    layer = Int4Weight.quantize(w, use_kernel=True) if fmt == "int4" else Int8Weight.quantize(w)
    decode = torch.randn(3, 128)
    alone = layer(decode, decode_rows=3)
    for prefill in (1, KERNEL_ROWS, 40):
        step = torch.cat([decode, torch.randn(prefill, 128)])
        assert torch.equal(layer(step, decode_rows=3)[:3], alone)
        torch.testing.assert_close(layer(step, decode_rows=3)[3:], layer.dense_product(step[3:]),
                                   atol=2e-2, rtol=1e-2)
    assert torch.equal(layer(decode), layer.kernel_product(decode))  # a block that fits


def test_int8_kernel_equals_its_dense_path_and_keeps_rows_apart():
    w = torch.randn(40, 80) * 0.1
    assert Int8Weight.fits((40, 80)) and not Int8Weight.fits((40, 72))
    int8 = Int8Weight.quantize(w)
    x = torch.randn(3, 80)
    torch.testing.assert_close(int8(x), F.linear(x.bfloat16().float(), int8.dense), atol=1e-2, rtol=1e-2)
    assert (int8.dense - w).abs().max() <= w.abs().amax(1).max() / 127
    bias = torch.randn(40)
    torch.testing.assert_close(int8(x, bias), int8(x) + bias)
    torch.set_num_threads(2)  # torch's int8 kernel crashed on zero rows with two threads
    assert int8(x[:0]).shape == (0, 40)


@pytest.mark.parametrize("x_rows", [1, 3, KERNEL_ROWS])
def test_int8_over_some_rows_is_bitwise_those_columns_of_the_whole_product(x_rows):
    """The narrowed LM head: where the probe found it exact, the product by some rows of the
    weight equals those columns of the whole product bit for bit, so no greedy token moves."""
    if "int8_rows" not in cpu_kernels():
        pytest.skip("the int8 product over some rows is not exact on this CPU: never used")
    int8 = Int8Weight.quantize(torch.randn(512, 96) * 0.1)
    x = torch.randn(x_rows, 96) * 3
    whole = int8(x, decode_rows=x_rows)
    g = torch.Generator().manual_seed(x_rows)
    for count in (1, 2, 7, 33, 200, 512):
        rows = torch.randperm(512, generator=g)[:count].sort().values
        assert torch.equal(int8.rows_product(x, rows), whole[:, rows])


def test_a_product_over_some_rows_is_refused_where_it_could_differ(monkeypatch):
    """Where the whole product would not take the int8 kernel (too many rows, no kernel), for
    the other formats, and with the probe turned off, there is no narrow product: the caller
    multiplies by the whole weight."""
    w, _ = q4_1_matrix(64, 128, seed=3)
    rows = torch.tensor([1, 5, 9])
    assert Int8Weight.quantize(w).rows_product(torch.randn(KERNEL_ROWS + 1, 128), rows) is None
    assert Int8Weight.quantize(w, use_kernel=False).rows_product(torch.randn(1, 128), rows) is None
    assert Int4Weight.quantize(w).rows_product(torch.randn(1, 128), rows) is None
    assert DenseWeight(w).rows_product(torch.randn(1, 128), rows) is None
    monkeypatch.setenv(weights.ENV_DISABLE, "int8_rows")
    assert "int8_rows" not in cpu_kernels() and "int8" in cpu_kernels()
    assert Int8Weight.quantize(w).rows_product(torch.randn(1, 128), rows) is None


@pytest.mark.parametrize("fmt", ["int4", "int8"])
def test_state_round_trips_through_the_cache_file(fmt, tmp_path):
    w, _ = q4_1_matrix(32, 64, seed=2)
    layer = weights.QUANTIZED[fmt].quantize(w)
    path = tmp_path / "q.safetensors"
    write_quantized(path, {"m": layer.state()})
    state = read_quantized(path)["m"]
    assert weights.QUANTIZED[fmt].state_fits(state, (32, 64))
    assert not weights.QUANTIZED[fmt].state_fits(state, (32, 128))
    # what torch's AVX-512 int8 kernel needs
    assert all(t.data_ptr() % 64 == 0 for t in state.values() if t.dtype == torch.int8)
    restored = weights.QUANTIZED[fmt].from_state(state)
    assert torch.equal(restored.dense, layer.dense)
    x = torch.randn(2, 64)
    assert torch.equal(restored(x), layer(x))


def test_a_damaged_or_foreign_cache_file_reads_as_missing(tmp_path, caplog):
    assert read_quantized(tmp_path / "absent.safetensors") is None
    damaged = tmp_path / "damaged.safetensors"
    damaged.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{not json")
    assert read_quantized(damaged) is None
    assert "cannot read quantized weights" in caplog.text
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"m.codes": torch.zeros(2, 2)}, str(foreign))
    assert read_quantized(foreign) is None


def test_an_unwritable_cache_is_skipped(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    write_quantized(blocker / "q.safetensors", {"m": Int8Weight.quantize(torch.ones(2, 2)).state()})
    assert "cannot cache quantized weights" in caplog.text


def test_dense_weights_are_packed_only_where_the_cpu_supports_their_dtype():
    w = torch.randn(16, 32)
    for dtype in (torch.float32, torch.bfloat16, torch.float16):
        unpacked = DenseWeight(w.to(dtype))
        assert not unpacked.pack_for_cpu(NO_KERNELS)  # no kernel: the plain layout, no crash
        assert unpacked.weight is not None
    packable = DenseWeight(w)
    if "mkldnn_fp32" in cpu_kernels():
        x = torch.randn(3, 32)
        before = packable(x, None)
        assert packable.pack_for_cpu(cpu_kernels())
        torch.testing.assert_close(packable(x, None), before, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(packable.dequantized(), w, atol=1e-6, rtol=1e-6)


def test_kernels_can_be_turned_off_and_unknown_names_are_refused(monkeypatch):
    monkeypatch.setenv(weights.ENV_DISABLE, "int4, mkldnn_bf16")
    kernels = cpu_kernels()
    assert "int4" not in kernels and "mkldnn_bf16" not in kernels
    assert kernels.available <= set(weights.KERNELS)
    monkeypatch.setenv(weights.ENV_DISABLE, "int8")  # and what builds on it is not probed
    assert not {"int8", "int8_rows"} & cpu_kernels().available
    monkeypatch.setenv(weights.ENV_DISABLE, "int3")
    with pytest.raises(ModelError, match="int3"):
        cpu_kernels()


def test_weight_only_kernels_are_found_on_this_cpu():
    """torch ships the int4/int8 weight-only kernels for every CPU (vectorised for AVX2,
    AVX-512 and NEON), so the probe must find them; a failed probe means a broken install."""
    assert {"int4", "int8"} <= cpu_kernels().available


AVX2_ONLY = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
"""What a CPU with AVX2 and no AVX-512 offers: torch dispatches its AVX2 kernels and oneDNN
refuses bf16 packing ("bf16 path needs the cpu support avx_ne_convert or avx512bw, ..."), as on
the AMD EPYC where the engine crashed. On a CPU that has no more than AVX2 these are no-ops."""


@pytest.mark.slow
def test_the_engine_runs_as_on_an_avx2_only_cpu(tmp_path):
    """In a process limited to AVX2 the probe finds no bf16 packing, and the tiny model loads
    and generates in every precision (bf16 dense unpacked, int4 with its kernel, and the dense
    path with the int4 kernel turned off), all agreeing with fp32 on the greedy tokens."""
    script = tmp_path / "avx2.py"
    script.write_text(f'''
import sys, torch
sys.path.insert(0, {str(ROOT / "test" / "llm")!r})
from tiny_models import build_tiny_tokenizer, tiny_llama_config
from transformers import LlamaForCausalLM
from llm_mars.llm.llama import CompactLlama, RowSpec, StepInput
from llm_mars.llm.weights import cpu_kernels, CpuKernels
kernels = cpu_kernels()
print("capability", kernels.capability, sorted(kernels.available))
assert "mkldnn_bf16" not in kernels, kernels
tok = build_tiny_tokenizer()
torch.manual_seed(1234)
hf = LlamaForCausalLM(tiny_llama_config(len(tok))).eval()
with torch.no_grad():
    hf.model.embed_tokens.weight.mul_(30)
seq = list(range(5, 17))
def greedy(model):
    cache = model.new_cache(1, 32)
    logits = model.forward(StepInput.build([RowSpec(seq, 0, 0)], 0), cache)
    out = [int(logits[0].argmax())]
    for i in range(6):
        logits = model.forward(StepInput.build([RowSpec([out[-1]], len(seq) + i, 0)], 1), cache)
        out.append(int(logits[0].argmax()))
    return out
ref = greedy(CompactLlama.from_hf(hf, torch.float32))
bf16 = CompactLlama.from_hf(hf, torch.bfloat16)
bf16.pack_for_cpu()
int4 = CompactLlama.from_hf(hf, torch.float32)
int4.quantize()
dense = CompactLlama.from_hf(hf, torch.float32)
dense.quantize(CpuKernels(kernels.capability, kernels.available - {{"int4", "int8"}}))
for name, model in (("bf16", bf16), ("int4", int4), ("int4 dense path", dense)):
    got = greedy(model)
    print(name, got, ref)
    assert got == ref, name
print("ok")
''')
    env = {**os.environ, **AVX2_ONLY}
    run = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "capability AVX2" in run.stdout or "capability DEFAULT" in run.stdout
    assert run.stdout.strip().endswith("ok")
