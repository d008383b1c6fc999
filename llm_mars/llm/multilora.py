"""Batched multi-LoRA linear layers: every row of a batch carries its own adapter.

Semantics (for every row ``i`` of ``x`` with adapter index ``a_i``)::

    y_i = W x_i + b                                  if a_i == -1 (the base model)
    y_i = W x_i + b + s_a * B_a (A_a x_i)            otherwise

where ``A_a`` (``r_a x in``), ``B_a`` (``out x r_a``) and ``s_a`` (``lora_alpha / r_a``, or
``lora_alpha / sqrt(r_a)`` with rsLoRA) are adapter ``a``'s LoRA weights for this layer; an
adapter that does not target the layer contributes nothing. This is PEFT's LoRA forward, applied
per row, so one batch can mix rows of any adapters and of the base model.

:func:`multi_lora_linear_reference` states it literally, one row at a time. :class:`MultiLoraLinear`
is the fast path used by the engine: every adapter's ``A`` is stacked into one matrix (padded to a
common rank, scaling folded into ``B``), so a batch costs two extra matrix products whatever its mix
of adapters; a 0/1 mask per row keeps each row to its own adapter's block. Layers whose inputs are
the same (q/k/v, gate/up) are fused into one weight with a block-diagonal ``B``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

BASE = -1
"""Adapter index of a row that uses the base model only."""


@dataclass(frozen=True)
class LoraWeights:
    """One adapter's LoRA on one linear layer: delta(x) = scaling * B (A x)."""

    a: torch.Tensor  # (r, in_features)
    b: torch.Tensor  # (out_features, r)
    scaling: float

    @property
    def rank(self) -> int:
        return self.a.shape[0]


def lora_scaling(alpha: float, rank: int, use_rslora: bool = False) -> float:
    """PEFT's scaling: ``alpha / r``, or ``alpha / sqrt(r)`` for rank-stabilised LoRA."""
    return alpha / math.sqrt(rank) if use_rslora else alpha / rank


def multi_lora_linear_reference(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    adapter_ids: Sequence[int],
    adapters: Sequence[LoraWeights | None],
) -> torch.Tensor:
    """The module docstring's formula, one row at a time (the ground truth for the fast path)."""
    rows = []
    for i, a in enumerate(adapter_ids):
        y = x[i] @ weight.T
        if bias is not None:
            y = y + bias
        lora = adapters[a] if a != BASE else None
        if lora is not None:
            y = y + lora.scaling * ((x[i] @ lora.a.T) @ lora.b.T)
        rows.append(y)
    return torch.stack(rows)


class RowAdapters:
    """Which adapter each row of one batch uses, prepared once and shared by every layer.

    Only the contiguous range of adapter indices present in the batch (``span``) is touched, and
    when every row uses the same adapter no mask is needed at all.
    """

    def __init__(self, adapter_ids: Sequence[int] | torch.Tensor,
                 device: torch.device | str = "cpu"):
        ids = torch.as_tensor(adapter_ids, dtype=torch.long, device="cpu")
        self.ids = ids
        used = ids[ids != BASE]
        self.active = used.numel() > 0
        self._masks: dict[int, torch.Tensor | None] = {}
        if not self.active:
            self.span = (0, 0)
            self._onehot = None
            return
        lo, hi = int(used.min()), int(used.max()) + 1
        self.span = (lo, hi)
        if hi - lo == 1 and used.numel() == ids.numel():
            self._onehot = None  # every row uses adapter lo
        else:
            onehot = torch.zeros(ids.numel(), hi - lo, dtype=torch.float32)
            rows = torch.nonzero(ids != BASE).flatten()
            onehot[rows, ids[rows] - lo] = 1
            self._onehot = onehot.to(device)

    def mask(self, block: int) -> torch.Tensor | None:
        """(rows, span * block) 0/1 mask selecting each row's adapter block, or None if not needed."""
        if self._onehot is None:
            return None
        if block not in self._masks:
            n, k = self._onehot.shape
            self._masks[block] = self._onehot[:, :, None].expand(n, k, block).reshape(n, k * block)
        return self._masks[block]


class MultiLoraLinear:
    """A (possibly fused) linear layer with any number of stacked LoRA adapters.

    ``weight`` is ``(sum(out_features), in)``: the parts (e.g. q, k, v) concatenated along the
    output. ``set_adapters`` takes, per adapter index, one :class:`LoraWeights` (or None) per part.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None = None,
                 out_features: Sequence[int] | None = None):
        self.weight: torch.Tensor | None = weight  # None once packed (see pack_for_cpu)
        self.bias = bias
        self.in_features = weight.shape[1]
        self.out_features = tuple(out_features or (weight.shape[0],))
        if sum(self.out_features) != weight.shape[0]:
            raise ValueError(f"parts {self.out_features} do not add up to {weight.shape[0]} rows")
        self.dtype, self.device = weight.dtype, weight.device
        self.block = 0  # rows of the stacked A per adapter: parts * padded rank
        self.a: torch.Tensor | None = None  # (n_adapters * block, in)
        self.bt: torch.Tensor | None = None  # (n_adapters * block, out), scaling folded in
        self.n_adapters = 0
        self._packed: torch.Tensor | None = None

    @property
    def weight_bytes(self) -> int:
        return self.in_features * sum(self.out_features) * self.dtype.itemsize

    def pack_for_cpu(self) -> None:
        """Switch to oneDNN's blocked weight layout (and drop the plain copy): on CPU its
        matrix-vector products stream the weights ~30 % faster than ``F.linear``, and a decode
        step is bound by exactly that."""
        if self.device.type == "cpu" and torch.backends.mkldnn.is_available() and self._packed is None:
            self._packed = torch.ops.mkldnn._reorder_linear_weight(self.weight, 1)
            self.weight = None

    def set_adapters(self, adapters: Sequence[Sequence[LoraWeights | None]]) -> None:
        """Replace all adapters; ``adapters[k][p]`` is adapter k's LoRA on part p (or None)."""
        self.n_adapters = len(adapters)
        present = [lw for per in adapters for lw in per if lw is not None]
        if not present:
            self.a = self.bt = None
            self.block = 0
            return
        parts = len(self.out_features)
        if any(len(per) != parts for per in adapters):
            raise ValueError(f"expected {parts} parts per adapter")
        rank = max(lw.rank for lw in present)
        self.block = parts * rank
        a = torch.zeros(len(adapters) * self.block, self.in_features, dtype=torch.float32)
        bt = torch.zeros(len(adapters) * self.block, sum(self.out_features), dtype=torch.float32)
        offsets = [0]
        for size in self.out_features:
            offsets.append(offsets[-1] + size)
        for k, per in enumerate(adapters):
            for p, lw in enumerate(per):
                if lw is None:
                    continue
                row = k * self.block + p * rank
                a[row: row + lw.rank] = lw.a.float()
                bt[row: row + lw.rank, offsets[p]: offsets[p + 1]] = (lw.b.float() * lw.scaling).T
        # LoRA runs in fp32 whatever the base dtype: the products are tiny, and on CPU bf16
        # matrix products this small cost ~6x more than fp32 ones (per-call overhead).
        self.a = a.to(self.device)
        self.bt = bt.to(self.device)

    def __call__(self, x: torch.Tensor, rows: RowAdapters) -> torch.Tensor:
        if self._packed is not None:
            y = torch.ops.mkldnn._linear_pointwise(x, self._packed, self.bias, "none", [], "")
        else:
            y = F.linear(x, self.weight, self.bias)
        if self.a is None or not rows.active:
            return y
        lo, hi = rows.span
        xa = F.linear(x.float(), self.a[lo * self.block: hi * self.block])
        mask = rows.mask(self.block)
        if mask is not None:
            xa.mul_(mask)
        if y.dtype == torch.float32:
            return y.addmm_(xa, self.bt[lo * self.block: hi * self.block])
        return y.add_(torch.mm(xa, self.bt[lo * self.block: hi * self.block]))
