"""The batched multi-LoRA linear: fast path == row-by-row reference == PEFT with each adapter alone."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from llm_mars.llm.multilora import (BASE, LoraWeights, MultiLoraLinear, RowAdapters,
                                    lora_scaling, multi_lora_linear_reference)

IN, OUT = 48, 40


def random_lora(rank: int, fan_in: int, fan_out: int, scaling: float, seed: int) -> LoraWeights:
    g = torch.Generator().manual_seed(seed)
    return LoraWeights(0.2 * torch.randn(rank, fan_in, generator=g),
                       0.2 * torch.randn(fan_out, rank, generator=g), scaling)


@pytest.fixture
def layer_and_adapters():
    torch.manual_seed(0)
    weight, bias = torch.randn(OUT, IN), torch.randn(OUT)
    adapters = [random_lora(4, IN, OUT, 2.0, 1), None, random_lora(8, IN, OUT, 0.5, 2),
                random_lora(2, IN, OUT, lora_scaling(16, 2, use_rslora=True), 3)]
    layer = MultiLoraLinear(weight, bias)
    layer.set_adapters([[a] for a in adapters])
    return layer, weight, bias, adapters


# A mixed batch: base rows, each adapter, an adapter without weights here (1), repeats.
MIXED = [0, BASE, 2, 3, 0, 1, 2, BASE, 3, 3]


@pytest.mark.parametrize("ids", [MIXED, [2] * 5, [BASE] * 3, [3, 2], [1, 1]])
def test_fast_path_equals_reference(layer_and_adapters, ids):
    layer, weight, bias, adapters = layer_and_adapters
    x = torch.randn(len(ids), IN)
    expected = multi_lora_linear_reference(x, weight, bias, ids, adapters)
    got = layer(x, RowAdapters(ids))
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_each_row_gets_only_its_own_adapter(layer_and_adapters):
    layer, weight, bias, adapters = layer_and_adapters
    x = torch.randn(1, IN).repeat(4, 1)
    y = layer(x, RowAdapters([BASE, 0, 1, 2]))
    base = x[0] @ weight.T + bias
    torch.testing.assert_close(y[0], base)
    torch.testing.assert_close(y[2], base)  # adapter 1 has no LoRA on this layer
    assert not torch.allclose(y[1], base) and not torch.allclose(y[3], base)
    assert not torch.allclose(y[1], y[3])


def test_row_adapters_mask_only_when_rows_differ():
    assert RowAdapters([2, 2, 2]).mask((8, 12)) is None
    assert not RowAdapters([BASE, BASE]).active
    rows = RowAdapters([1, BASE, 3])
    assert rows.span == (1, 4)
    mask = rows.mask((4, 6, 8, 10))
    assert mask.shape == (3, 6)
    assert mask.tolist() == [[1, 1, 0, 0, 0, 0], [0] * 6, [0, 0, 0, 0, 1, 1]]
    # blocks of their own widths (adapter 2 has none on this layer)
    assert rows.mask((0, 2, 2, 5)).tolist() == [[1, 1, 0, 0, 0], [0] * 5, [0, 0, 1, 1, 1]]


def test_each_adapter_block_has_its_own_rank(layer_and_adapters):
    """Ranks 4, none, 8 and 2: blocks of 4, 0, 8 and 2 rows, not four blocks of 8."""
    layer = layer_and_adapters[0]
    assert layer.offsets == (0, 4, 4, 12, 14) and layer.a.shape[0] == 14
    assert [layer.block_rows(k) for k in range(4)] == [4, 0, 8, 2]


def test_fused_parts_equal_separate_layers():
    """q/k/v fused into one weight with per-part LoRA == three separate reference layers."""
    torch.manual_seed(1)
    sizes = (32, 16, 16)
    weights = [torch.randn(n, IN) for n in sizes]
    per_adapter = [
        [random_lora(4, IN, sizes[0], 1.5, 10), None, random_lora(4, IN, sizes[2], 1.5, 11)],
        [random_lora(6, IN, n, 0.25, 20 + p) for p, n in enumerate(sizes)],
    ]
    fused = MultiLoraLinear(torch.cat(weights), None, sizes)
    fused.set_adapters(per_adapter)
    ids = [1, BASE, 0, 0, 1]
    x = torch.randn(len(ids), IN)
    expected = torch.cat([
        multi_lora_linear_reference(x, w, None, ids, [per_adapter[k][p] for k in range(2)])
        for p, w in enumerate(weights)], dim=1)
    torch.testing.assert_close(fused(x, RowAdapters(ids)), expected,
                               atol=1e-5, rtol=1e-5)


def test_packed_weights_compute_the_same(layer_and_adapters):
    layer, weight, bias, adapters = layer_and_adapters
    x = torch.randn(len(MIXED), IN)
    rows = RowAdapters(MIXED)
    before = layer(x, rows)
    layer.pack_for_cpu()
    torch.testing.assert_close(layer(x, rows), before, atol=1e-4, rtol=1e-5)


class _OneLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(IN, OUT)

    def forward(self, x):
        return self.lin(x)


def test_mixed_batch_rows_equal_peft_with_each_adapter_alone():
    """Like PEFT's TestMixedAdapterBatches: each row of one mixed batch equals PEFT run with only
    that row's adapter active (or adapters disabled for base rows)."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(5)
    peft = get_peft_model(_OneLinear(), LoraConfig(r=4, lora_alpha=8, target_modules=["lin"],
                                                   init_lora_weights=False), adapter_name="a")
    peft.add_adapter("b", LoraConfig(r=8, lora_alpha=4, target_modules=["lin"],
                                     init_lora_weights=False, use_rslora=True))
    peft.add_adapter("c", LoraConfig(r=2, lora_alpha=2, target_modules=["lin"],
                                     init_lora_weights=False))
    peft.eval()
    lora_layer = peft.base_model.model.lin
    names = ["a", "b", "c"]
    ours = MultiLoraLinear(lora_layer.base_layer.weight.detach(), lora_layer.base_layer.bias.detach())
    ours.set_adapters([[LoraWeights(lora_layer.lora_A[n].weight.detach(),
                                    lora_layer.lora_B[n].weight.detach(),
                                    lora_layer.scaling[n])] for n in names])
    ids = [0, 2, BASE, 1, 1, 0, BASE, 2]
    x = torch.randn(len(ids), IN)
    got = ours(x, RowAdapters(ids))
    with torch.no_grad():
        for i, a in enumerate(ids):
            if a == BASE:
                with peft.disable_adapter():
                    expected = peft(x[i: i + 1])
            else:
                peft.set_adapter(names[a])
                expected = peft(x[i: i + 1])
            torch.testing.assert_close(got[i: i + 1], expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("fmt", ["int4", "int8"])
@pytest.mark.parametrize("ids", [MIXED, [2] * 12, [BASE, 3]])
def test_quantized_base_keeps_lora_exact(fmt, ids):
    """With an int4/int8 base weight the LoRA part stays fp32: the layer equals the reference
    over the de-quantised weight (activations rounded to bf16 for the base product only), in
    few-row steps (weight-only kernel) and many-row steps (dense copy) alike."""
    torch.manual_seed(3)
    fan_in, fan_out = 64, 48
    weight, bias = torch.randn(fan_out, fan_in), torch.randn(fan_out)
    adapters = [random_lora(4, fan_in, fan_out, 2.0, 1), None, random_lora(8, fan_in, fan_out, 0.5, 2),
                random_lora(2, fan_in, fan_out, 1.0, 3)]
    layer = MultiLoraLinear(weight, bias)
    assert layer.quantize(fmt)
    layer.set_adapters([[a] for a in adapters])
    x = torch.randn(len(ids), fan_in)
    base = layer.base.dequantized()
    expected = (multi_lora_linear_reference(x, base, bias, ids, adapters)
                - x @ base.T + x.bfloat16().float() @ base.T)
    torch.testing.assert_close(layer(x, RowAdapters(ids)), expected, atol=0.05, rtol=0.02)
    lora_only = layer(x, RowAdapters(ids)) - layer(x, RowAdapters([BASE] * len(ids)))
    torch.testing.assert_close(lora_only, multi_lora_linear_reference(x, base, None, ids, adapters)
                               - x @ base.T, atol=1e-4, rtol=1e-4)


def test_a_shape_the_format_cannot_take_stays_dense():
    layer = MultiLoraLinear(torch.randn(40, 48))  # int4 needs rows % 16 and columns % 32
    assert not layer.quantize("int4")
    assert layer.weight_bytes == 40 * 48 * 4
