"""Base weights of the engine's linear layers, and the CPU kernels that multiply by them.

A decode step reads every base weight once, so its time is set by how many bytes the weights
take. Three formats, each computing ``y = x W^T`` for a ``(rows, in)`` activation ``x``:

* :class:`DenseWeight`: the weight as it is (fp32, bf16 or fp16), optionally in oneDNN's packed
  layout where the CPU supports that layout for the dtype.
* :class:`Int4Weight`: 4-bit codes in groups of 32 along the input, each group with its own scale
  and zero, ``w = (q - 8) * scale + zero`` (torch's int4 CPU format). The bundled model is a Q4_1
  GGUF (groups of 32, ``w = q * d + m``, every group using codes 0 and 15), so quantizing its
  de-quantised weights to the nearest code recovers its own grid; only the scales are rounded to
  bf16, which the kernel requires.
* :class:`Int8Weight`: 8-bit codes with one scale per output row (used for the LM head, whose
  GGUF tensor is Q8_0).

The quantized formats multiply with the activations rounded to bf16 and accumulate in fp32; the
result is rounded to bf16 and returned as fp32, so everything outside the matrix products (norms,
attention, LoRA, the residual stream) stays fp32. Few rows (decode steps) go through torch's
weight-only kernels, which exist for AVX2, AVX-512 and NEON; many rows (prefill chunks) are
compute-bound and those kernels do not reuse a weight across rows, so they multiply a dense fp32
copy of the same de-quantised values instead (``KERNEL_ROWS`` is the switch-over, measured in
``bench/bench_kernels.py``); so do empty products (torch's int8 kernel crashes on zero rows with
two threads). Both paths compute the same function up to summation order, on every CPU. A
step's decode rows are one block and its prefill rows another, so which path a decode row takes
never depends on the prefill that happens to share its step.

:func:`cpu_kernels` finds out once which of these kernels work here; anything that does not is
replaced by the dense fp32 path, never a crash. ``$LLM_MARS_DISABLE_KERNELS`` (comma-separated
names from :data:`KERNELS`) turns kernels off, to test the fallbacks on a CPU that has them.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from llm_mars.errors import ModelError

log = logging.getLogger(__name__)

ENV_DISABLE = "LLM_MARS_DISABLE_KERNELS"
KERNELS = ("int4", "int8", "int8_rows", "mkldnn_fp32", "mkldnn_bf16", "mkldnn_fp16")
"""Kernels :func:`cpu_kernels` probes: torch's int4 and int8 weight-only products, the int8
product over a subset of the weight's rows giving exactly those columns of the whole product
(:meth:`Int8Weight.rows_product`), and oneDNN's packed-weight linear per dtype."""

GROUP = 32
"""Input columns per int4 scale/zero group (Q4_1's block size)."""

KERNEL_ROWS = 8
"""Products with at most this many rows use the weight-only kernels; more rows use the dense copy."""


@dataclass(frozen=True)
class CpuKernels:
    """Which kernels run correctly on this CPU (and were not disabled)."""

    capability: str  # torch's dispatch level: DEFAULT, AVX2, AVX512, ...
    available: frozenset[str]

    def __contains__(self, name: str) -> bool:
        return name in self.available

    def describe(self) -> str:
        names = [k for k in KERNELS if k in self.available]
        return f"{self.capability}: {', '.join(names) or 'dense fp32 only'}"


def _disabled() -> frozenset[str]:
    names = {n.strip() for n in os.environ.get(ENV_DISABLE, "").split(",") if n.strip()}
    unknown = names - set(KERNELS)
    if unknown:
        raise ModelError(f"{ENV_DISABLE} names unknown kernels {sorted(unknown)}; known: "
                         f"{', '.join(KERNELS)}")
    return frozenset(names)


def _probe(name: str) -> bool:
    """Run kernel ``name`` once on a small random matrix and compare it with fp32 arithmetic."""
    g = torch.Generator().manual_seed(0)
    weight = torch.randn(32, 64, generator=g) * 0.1
    x = torch.randn(3, 64, generator=g)
    try:
        if name == "int8_rows":
            return _probe_int8_rows(g)
        if name in QUANTIZED:
            quantized = QUANTIZED[name].quantize(weight, use_kernel=True)
            got = quantized.kernel_product(x)
            want = _round_bf16(F.linear(_round_bf16(x), quantized.dense))  # its dense fp32 path
        else:
            dtype = {"mkldnn_fp32": torch.float32, "mkldnn_bf16": torch.bfloat16,
                     "mkldnn_fp16": torch.float16}[name]
            if not torch.backends.mkldnn.is_available():
                return False
            supported = {torch.bfloat16: torch.ops.mkldnn._is_mkldnn_bf16_supported,
                         torch.float16: torch.ops.mkldnn._is_mkldnn_fp16_supported}.get(dtype)
            if supported is not None and not supported():
                return False  # oneDNN would refuse (or emulate) this dtype on this CPU
            w = weight.to(dtype)
            packed = torch.ops.mkldnn._reorder_linear_weight(w, 1)
            got = torch.ops.mkldnn._linear_pointwise(x.to(dtype), packed, None, "none", [], "").float()
            want = F.linear(x.to(dtype).float(), w.float())
    except RuntimeError as exc:  # the op is missing or refuses this CPU
        log.info("kernel %s unavailable: %s", name, exc)
        return False
    return bool(torch.allclose(got, want, rtol=2e-2, atol=2e-2))


def _probe_int8_rows(g: torch.Generator) -> bool:
    """The int8 kernel over some rows of a weight equals those columns of its whole product,
    bit for bit (the narrowed LM head must not change a greedy token), for one and eight
    activation rows and subsets that are not whole blocks of the kernel's tiles."""
    int8 = Int8Weight.quantize(torch.randn(256, 64, generator=g) * 0.1, use_kernel=True)
    for x_rows in (1, KERNEL_ROWS):  # few calls: each waits for the thread pool at start-up
        x = torch.randn(x_rows, 64, generator=g)
        whole = int8.kernel_product(x)
        for count in (5, 37):
            rows = torch.randperm(256, generator=g)[:count].sort().values
            if not torch.equal(int8.kernel_product(x, rows), whole[:, rows]):
                return False
    return True


_NEEDS = {"int8_rows": "int8"}
"""A kernel probed only where the one it builds on is available (disabling ``int8`` must keep
torch's int8 kernel from running at all)."""


@functools.lru_cache(maxsize=None)
def _cached_kernels(disabled: frozenset[str]) -> CpuKernels:
    available: set[str] = set()
    for name in KERNELS:
        needs = _NEEDS.get(name)
        if name in disabled or (needs is not None and needs not in available):
            continue
        if _probe(name):
            available.add(name)
    return CpuKernels(torch.backends.cpu.get_cpu_capability(), frozenset(available))


def cpu_kernels() -> CpuKernels:
    """The kernels that work on this CPU, probed once per process (and per ``$LLM_MARS_DISABLE_KERNELS``)."""
    return _cached_kernels(_disabled())


def _round_bf16(x: torch.Tensor) -> torch.Tensor:
    return x.to(torch.bfloat16).float()


class _QuantizedWeight:
    """What the quantized formats share: the product by the kernel for blocks of up to
    KERNEL_ROWS rows where the kernel works here, else by the dense copy (``self.dense``)."""

    dense: torch.Tensor
    uses_kernel: bool

    def kernel_product(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def dense_product(self, x: torch.Tensor) -> torch.Tensor:
        return _round_bf16(F.linear(_round_bf16(x), self.dense))

    def rows_product(self, x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor | None:
        """The columns ``rows`` of ``self(x)``, bit for bit, computed from those rows of the
        weight only; None where this format cannot promise that (the caller multiplies by the
        whole weight)."""
        return None

    def __call__(self, x: torch.Tensor, bias: torch.Tensor | None = None,
                 decode_rows: int = 0) -> torch.Tensor:
        """The leading ``decode_rows`` (a step's decode rows) are one block and the rest
        another, so a decode row takes the same path whatever prefill shares its step: the two
        paths differ in summation order, and a greedy decode must not change with the other
        requests' timing."""
        if not self.uses_kernel:
            y = self.dense_product(x)
        else:
            blocks = (x[:decode_rows], x[decode_rows:]) if 0 < decode_rows < x.shape[0] else (x,)
            out = [self.kernel_product(b) if 0 < b.shape[0] <= KERNEL_ROWS
                   else self.dense_product(b) for b in blocks]
            y = out[0] if len(out) == 1 else torch.cat(out)
        return y if bias is None else y.add_(bias)


class DenseWeight:
    """A weight kept as it is; on CPU optionally in oneDNN's packed layout (faster products)."""

    def __init__(self, weight: torch.Tensor):
        self.weight: torch.Tensor | None = weight
        self.shape = tuple(weight.shape)
        self.dtype, self.device = weight.dtype, weight.device
        self._packed: torch.Tensor | None = None

    @property
    def nbytes(self) -> int:
        return self.shape[0] * self.shape[1] * self.dtype.itemsize

    def pack_for_cpu(self, kernels: CpuKernels) -> bool:
        """Switch to oneDNN's blocked layout where this CPU supports it for the dtype (its
        matrix-vector products stream the weights faster than ``F.linear``); True if packed."""
        name = {torch.float32: "mkldnn_fp32", torch.bfloat16: "mkldnn_bf16",
                torch.float16: "mkldnn_fp16"}.get(self.dtype)
        if self.device.type != "cpu" or self._packed is not None or name not in kernels:
            return self._packed is not None
        self._packed = torch.ops.mkldnn._reorder_linear_weight(self.weight, 1)
        self.weight = None
        return True

    def rows_product(self, x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor | None:
        """None: a BLAS product over fewer rows may sum in another order."""
        return None

    def dequantized(self) -> torch.Tensor:
        if self.weight is not None:
            return self.weight.float()
        eye = torch.eye(self.shape[1], dtype=self.dtype)
        return self(eye, None).float().T.contiguous()

    def __call__(self, x: torch.Tensor, bias: torch.Tensor | None,
                 decode_rows: int = 0) -> torch.Tensor:
        if self._packed is not None:
            return torch.ops.mkldnn._linear_pointwise(x, self._packed, bias, "none", [], "")
        return F.linear(x, self.weight, bias)


class Int4Weight(_QuantizedWeight):
    """4-bit codes in groups of ``GROUP`` input columns with bf16 scales and zeros; see the module
    docstring. ``use_kernel=False`` keeps only the dense fp32 copy (every product goes there).
    ``dense`` and ``packed`` may be given (from :meth:`state`) to skip computing them."""

    def __init__(self, pairs: torch.Tensor, scale_zero: torch.Tensor, use_kernel: bool = True,
                 dense: torch.Tensor | None = None, packed: torch.Tensor | None = None):
        """``pairs``: (n, k / 2) uint8, two codes 0..15 a byte (the even column's in the low
        half); ``scale_zero``: (n, k / GROUP, 2) bf16."""
        n, k = pairs.shape[0], 2 * pairs.shape[1]
        self.shape = (n, k)
        self.pairs, self.scale_zero = pairs, scale_zero
        if dense is None:
            s, z = scale_zero.float().unbind(-1)
            dense = ((self.codes.reshape(n, k // GROUP, GROUP) - 8.0) * s[..., None]
                     + z[..., None]).reshape(n, k)
        self.dense = dense
        self._packed = self._scale_zero = None
        if use_kernel:
            self._packed = packed if packed is not None else \
                torch.ops.aten._convert_weight_to_int4pack_for_cpu(self.codes.to(torch.int32), 1)
            self._scale_zero = scale_zero.transpose(0, 1).contiguous()  # (k/G, n, 2)

    @property
    def codes(self) -> torch.Tensor:
        """(n, k) uint8 codes 0..15."""
        return torch.stack([self.pairs & 15, self.pairs >> 4], -1).reshape(self.shape)

    @staticmethod
    def fits(shape: tuple[int, int]) -> bool:
        """torch's int4 packing needs rows in multiples of 16 and whole groups of columns."""
        n, k = shape
        return n % 16 == 0 and k % GROUP == 0

    @classmethod
    def quantize(cls, weight: torch.Tensor, use_kernel: bool = True) -> "Int4Weight":
        """Each group's codes span its minimum to its maximum in 15 equal steps (nearest code)."""
        n, k = weight.shape
        groups = weight.detach().float().reshape(n, k // GROUP, GROUP)
        low, high = groups.amin(-1), groups.amax(-1)
        scale = (high - low) / 15
        codes = torch.round((groups - low[..., None]) / torch.where(scale > 0, scale, 1)[..., None])
        scale_zero = torch.stack([scale, low + 8 * scale], -1).to(torch.bfloat16)
        codes = codes.clamp_(0, 15).to(torch.uint8).reshape(n, k)
        return cls(codes[:, 0::2] | (codes[:, 1::2] << 4), scale_zero, use_kernel)

    @staticmethod
    def state_fits(state: dict[str, torch.Tensor], shape: tuple[int, int]) -> bool:
        n, k = shape
        return ({"codes", "scale_zero", "dense"} <= set(state) <= {"codes", "scale_zero", "dense", "packed"}
                and state["codes"].shape == (n, k // 2) and state["dense"].shape == (n, k)
                and state["scale_zero"].shape == (n, k // GROUP, 2))

    def state(self) -> dict[str, torch.Tensor]:
        """What :meth:`from_state` needs: two codes a byte, the scales and zeros, and the dense
        copy and kernel layout (this CPU's) so that loading computes nothing."""
        state = {"codes": self.pairs, "scale_zero": self.scale_zero, "dense": self.dense}
        if self._packed is not None:
            state["packed"] = self._packed
        return state

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor], use_kernel: bool = True) -> "Int4Weight":
        return cls(state["codes"], state["scale_zero"], use_kernel, state["dense"], state.get("packed"))

    @property
    def nbytes(self) -> int:
        """Bytes a few-row product reads: half a byte a weight plus a bf16 scale and zero a group."""
        n, k = self.shape
        return n * k // 2 + n * (k // GROUP) * 4

    def dequantized(self) -> torch.Tensor:
        return self.dense

    def kernel_product(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.aten._weight_int4pack_mm_for_cpu(
            x.to(torch.bfloat16).contiguous(), self._packed, GROUP, self._scale_zero).float()

    @property
    def uses_kernel(self) -> bool:
        return self._packed is not None


class Int8Weight(_QuantizedWeight):
    """8-bit codes with one bf16 scale per output row (symmetric); same two paths as :class:`Int4Weight`."""

    def __init__(self, codes: torch.Tensor, scale: torch.Tensor, use_kernel: bool = True,
                 dense: torch.Tensor | None = None):
        """``codes``: (n, k) int8 in -127..127; ``scale``: (n,) bf16."""
        self.shape = tuple(codes.shape)
        self.codes, self.scale = codes.to(torch.int8), scale
        self.dense = self.codes.float() * scale.float()[:, None] if dense is None else dense
        self._use_kernel = use_kernel

    @staticmethod
    def fits(shape: tuple[int, int]) -> bool:
        """torch's AVX-512 int8 kernel walks the input in steps of 16 columns: with any other
        width it returns garbage or crashes (seen with torch 2.13), so only multiples of 16."""
        return shape[1] % 16 == 0

    @classmethod
    def quantize(cls, weight: torch.Tensor, use_kernel: bool = True) -> "Int8Weight":
        w = weight.detach().float()
        scale = (w.abs().amax(1) / 127).to(torch.bfloat16)
        codes = torch.round(w / torch.where(scale > 0, scale.float(), 1)[:, None]).clamp_(-127, 127)
        return cls(codes, scale, use_kernel)

    @staticmethod
    def state_fits(state: dict[str, torch.Tensor], shape: tuple[int, int]) -> bool:
        return (set(state) == {"codes", "scale", "dense"} and state["codes"].shape == tuple(shape)
                and state["dense"].shape == tuple(shape) and state["scale"].shape == (shape[0],))

    def state(self) -> dict[str, torch.Tensor]:
        return {"codes": self.codes, "scale": self.scale, "dense": self.dense}

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor], use_kernel: bool = True) -> "Int8Weight":
        return cls(state["codes"], state["scale"], use_kernel, state["dense"])

    @property
    def nbytes(self) -> int:
        return self.shape[0] * self.shape[1] + self.shape[0] * 2

    def dequantized(self) -> torch.Tensor:
        return self.dense

    def kernel_product(self, x: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        codes, scale = (self.codes, self.scale) if rows is None else (self.codes[rows], self.scale[rows])
        return torch.ops.aten._weight_int8pack_mm(
            x.to(torch.bfloat16).contiguous(), codes, scale).float()

    def rows_product(self, x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor | None:
        """Only where ``self(x)`` takes the kernel for all of ``x`` and the kernel gives the
        same columns over fewer rows on this CPU (probed as ``int8_rows``)."""
        if not (self._use_kernel and 0 < x.shape[0] <= KERNEL_ROWS and rows.numel() > 0
                and "int8_rows" in cpu_kernels()):
            return None
        return self.kernel_product(x, rows)

    @property
    def uses_kernel(self) -> bool:
        return self._use_kernel


QUANTIZED = {"int4": Int4Weight, "int8": Int8Weight}
"""Quantized formats by name."""

QUANTIZED_FILE_FORMAT = "llm_mars quantized weights 2"


def read_quantized(path: Path) -> dict[str, dict[str, torch.Tensor]] | None:
    """The per-matrix states :func:`write_quantized` wrote to ``path``; None if the file is
    missing, unreadable or of another format (the caller quantizes again)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            if (f.metadata() or {}).get("format") != QUANTIZED_FILE_FORMAT:
                return None
            states: dict[str, dict[str, torch.Tensor]] = {}
            for key in f.keys():
                matrix, _, part = key.rpartition(".")
                tensor = f.get_tensor(key)
                if tensor.dtype == torch.int8 and tensor.data_ptr() % 64:
                    tensor = tensor.clone()  # torch's AVX-512 int8 kernel crashes on unaligned codes
                states.setdefault(matrix, {})[part] = tensor
            return states
    except (OSError, SafetensorError) as exc:
        if not isinstance(exc, FileNotFoundError):
            log.warning("cannot read quantized weights %s (%s); quantizing again", path, exc)
        return None


def write_quantized(path: Path, states: dict[str, dict[str, torch.Tensor]]) -> None:
    """Write the states atomically (temporary file, then rename); a read-only cache is skipped."""
    from safetensors import SafetensorError
    from safetensors.torch import save_file

    flat = {f"{matrix}.{part}": t.contiguous() for matrix, state in states.items()
            for part, t in state.items()}
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file(flat, str(tmp), metadata={"format": QUANTIZED_FILE_FORMAT})
        os.replace(tmp, path)
    except (OSError, SafetensorError) as exc:
        log.warning("cannot cache quantized weights in %s (%s)", path, exc)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)

BaseWeight = DenseWeight | Int4Weight | Int8Weight
