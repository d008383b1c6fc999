"""Batched multi-LoRA linear layers: every row of a batch carries its own adapter.

Semantics (for every row ``i`` of ``x`` with adapter index ``a_i``)::

    y_i = W x_i + b                                  if a_i == -1 (the base model)
    y_i = W x_i + b + s_a * B_a (A_a x_i)            otherwise

where ``A_a`` (``r_a x in``), ``B_a`` (``out x r_a``) and ``s_a`` (``lora_alpha / r_a``, or
``lora_alpha / sqrt(r_a)`` with rsLoRA) are adapter ``a``'s LoRA weights for this layer; an
adapter that does not target the layer contributes nothing. This is PEFT's LoRA forward, applied
per row, so one batch can mix rows of any adapters and of the base model.

:func:`multi_lora_linear_reference` states it literally, one row at a time. :class:`MultiLoraLinear`
is the fast path used by the engine: every adapter's ``A`` is stacked into one matrix (each in a
block of its own rank, scaling folded into ``B``), so a batch costs two extra matrix products
whatever its mix of adapters; a 0/1 mask per row keeps each row to its own adapter's block. Blocks
are not padded to a common rank: a step reads only the blocks of the adapters it uses, so serving
a rank-32 adapter does not make a rank-16 one's rows read twice the weights. Layers whose inputs
are the same (q/k/v, gate/up) are fused into one weight with a block-diagonal ``B``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from llm_mars.llm.weights import QUANTIZED, BaseWeight, CpuKernels, DenseWeight, cpu_kernels

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
                 device: torch.device | str = "cpu", decode_rows: int = 0):
        ids = torch.as_tensor(adapter_ids, dtype=torch.long, device="cpu")
        self.ids = ids
        self.decode_rows = decode_rows  # the leading rows that are decode steps (see weights)
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

    def mask(self, offsets: Sequence[int]) -> torch.Tensor | None:
        """0/1 mask selecting each row's adapter block, or None if not needed: ``offsets`` are
        where the blocks of the adapters of :attr:`span` start and the last one ends
        (``span`` + 1 of them); the mask has a column per row of those blocks."""
        if self._onehot is None:
            return None
        widths = tuple(b - a for a, b in zip(offsets, offsets[1:]))
        if widths not in self._masks:
            self._masks[widths] = self._onehot.repeat_interleave(
                torch.tensor(widths, device=self._onehot.device), dim=1)
        return self._masks[widths]


class MultiLoraLinear:
    """A (possibly fused) linear layer with any number of stacked LoRA adapters.

    The base weight is ``(sum(out_features), in)``: the parts (e.g. q, k, v) concatenated along
    the output, in one of the formats of :mod:`llm_mars.llm.weights` (a plain tensor means dense).
    ``set_adapters`` takes, per adapter index, one :class:`LoraWeights` (or None) per part.
    """

    def __init__(self, weight: torch.Tensor | BaseWeight, bias: torch.Tensor | None = None,
                 out_features: Sequence[int] | None = None):
        self.base: BaseWeight = DenseWeight(weight) if isinstance(weight, torch.Tensor) else weight
        self.bias = bias
        rows, self.in_features = self.base.shape
        self.out_features = tuple(out_features or (rows,))
        if sum(self.out_features) != rows:
            raise ValueError(f"parts {self.out_features} do not add up to {rows} rows")
        if isinstance(self.base, DenseWeight):
            self.dtype, self.device = self.base.dtype, self.base.device
        else:  # quantized weights take and give fp32 activations
            self.dtype, self.device = torch.float32, torch.device("cpu")
        self.offsets: tuple[int, ...] = (0,)  # adapter k's rows of the stacked A: [k] to [k + 1]
        self.a: torch.Tensor | None = None  # (sum of the blocks, in)
        self.bt: torch.Tensor | None = None  # (sum of the blocks, out), scaling folded in
        self.n_adapters = 0

    @property
    def weight_bytes(self) -> int:
        """Bytes of base weights a few-row product reads."""
        return self.base.nbytes

    def pack_for_cpu(self, kernels: CpuKernels | None = None) -> None:
        """Dense weights: oneDNN's packed layout where this CPU supports it (see DenseWeight)."""
        if isinstance(self.base, DenseWeight):
            self.base.pack_for_cpu(cpu_kernels() if kernels is None else kernels)

    def quantize(self, fmt: str, kernels: CpuKernels | None = None,
                 state: dict[str, torch.Tensor] | None = None) -> bool:
        """Replace a dense fp32 base weight by format ``fmt`` of llm_mars.llm.weights ("int4",
        "int8"), quantized now or restored from ``state`` (its ``state()``); the weight-only
        kernel is used where ``kernels`` has it. False (nothing changed) where the format cannot
        take the shape."""
        if not isinstance(self.base, DenseWeight) or self.base.weight is None:
            raise ValueError("only an unpacked dense weight can be quantized")
        weight, cls = self.base.weight, QUANTIZED[fmt]
        if weight.device.type != "cpu" or not cls.fits(tuple(weight.shape)):
            return False
        kernels = cpu_kernels() if kernels is None else kernels
        use_kernel = fmt in kernels
        self.base = cls.from_state(state, use_kernel) if state else cls.quantize(weight, use_kernel)
        if self.base.shape != tuple(weight.shape):
            raise ValueError(f"quantized state is {self.base.shape}, the weight {tuple(weight.shape)}")
        self.dtype, self.device = torch.float32, torch.device("cpu")
        if self.bias is not None:
            self.bias = self.bias.float()
        return True

    def set_adapters(self, adapters: Sequence[Sequence[LoraWeights | None]]) -> None:
        """Replace all adapters; ``adapters[k][p]`` is adapter k's LoRA on part p (or None)."""
        self.n_adapters = len(adapters)
        present = [lw for per in adapters for lw in per if lw is not None]
        if not present:
            self.a = self.bt = None
            self.offsets = (0,) * (len(adapters) + 1)
            return
        parts = len(self.out_features)
        if any(len(per) != parts for per in adapters):
            raise ValueError(f"expected {parts} parts per adapter")
        # adapter k's block: one slot per part, each as wide as its largest rank here
        ranks = [max((lw.rank for lw in per if lw is not None), default=0) for per in adapters]
        offsets = [0]
        for rank in ranks:
            offsets.append(offsets[-1] + parts * rank)
        self.offsets = tuple(offsets)
        a = _zeros(offsets[-1], self.in_features)
        bt = _zeros(offsets[-1], sum(self.out_features))
        columns = [0]
        for size in self.out_features:
            columns.append(columns[-1] + size)
        for k, per in enumerate(adapters):
            for p, lw in enumerate(per):
                if lw is None:
                    continue
                row = offsets[k] + p * ranks[k]
                a[row: row + lw.rank] = lw.a.float()
                bt[row: row + lw.rank, columns[p]: columns[p + 1]] = (lw.b.float() * lw.scaling).T
        # LoRA runs in fp32 whatever the base dtype: the products are tiny, and on CPU bf16
        # matrix products this small cost ~6x more than fp32 ones (per-call overhead).
        self.a = a.to(self.device)
        self.bt = bt.to(self.device)

    def __call__(self, x: torch.Tensor, rows: RowAdapters) -> torch.Tensor:
        y = self.base(x, self.bias, rows.decode_rows)
        if self.a is None or not rows.active:
            return y
        lo, hi = rows.span
        start, end = self.offsets[lo], self.offsets[hi]
        if start == end:  # none of these rows' adapters has a LoRA on this layer
            return y
        xa = F.linear(x.float(), self.a[start:end])
        mask = rows.mask(self.offsets[lo: hi + 1])
        if mask is not None:
            xa.mul_(mask)
        if y.dtype == torch.float32:
            return y.addmm_(xa, self.bt[start:end])
        return y.add_(torch.mm(xa, self.bt[start:end]))

    def block_rows(self, adapter: int) -> int:
        """Rows of adapter ``adapter``'s block of the stacked LoRA matrices (0: none here)."""
        return self.offsets[adapter + 1] - self.offsets[adapter] \
            if 0 <= adapter < self.n_adapters else 0


def _zeros(rows: int, cols: int) -> torch.Tensor:
    """A zeroed fp32 matrix from calloc: torch.zeros fills in an OpenMP region, which waits for
    every worker thread, and hundreds of them slow start-up on a busy CPU."""
    return torch.from_numpy(np.zeros((rows, cols), dtype=np.float32))
