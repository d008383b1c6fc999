"""A compact Llama forward pass over ragged batches, with per-row LoRA adapters and slot KV caches.

Why not transformers' model: on a 135M model a decode step is a little memory-bound
matrix-vector work, and HF's per-step Python (cache objects, masks, generation loop) adds as much
again (docs/benchmarks.md, "LLM engine"); it also
cannot mix prefill chunks and decode rows of different sequences, positions and adapters in one
pass. This module computes the same function (tested against HF logits) with:

* one ragged batch of tokens per step: ``n_decode`` single-token decode rows (one per running
  sequence) followed by prefill chunks (new prompts, jump-forward runs), each token with its own
  position, cache slot and adapter;
* q/k/v and gate/up fused into one matrix each, LoRA via :class:`MultiLoraLinear`;
* a preallocated KV cache with one slot per sequence (:class:`KVCache`); decode rows whose slots
  are ``0..n-1`` attend over a view of the cache without copying.

SmolLM2 and any ``model_type == "llama"`` config are supported (RMSNorm, RoPE incl. HF's scaled
variants, grouped-query attention, SiLU MLP, optional biases, tied or separate LM head).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from llm_mars.errors import AdapterLoadError, ModelError
from llm_mars.llm.adapters import LoraAdapter
from llm_mars.llm.multilora import LoraWeights, MultiLoraLinear, RowAdapters
from llm_mars.llm.weights import (QUANTIZED, BaseWeight, CpuKernels, DenseWeight, cpu_kernels,
                                  read_quantized, write_quantized)

log = logging.getLogger(__name__)

SUPPORTED_MODEL_TYPES = ("llama",)
_ATTN_PARTS = ("q_proj", "k_proj", "v_proj")
_MLP_PARTS = ("gate_proj", "up_proj")


@dataclass(frozen=True)
class LlamaShape:
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    layers: int
    vocab: int
    eps: float

    @classmethod
    def from_config(cls, config) -> "LlamaShape":
        if getattr(config, "model_type", None) not in SUPPORTED_MODEL_TYPES:
            raise ModelError(f"the compact engine supports {', '.join(SUPPORTED_MODEL_TYPES)} "
                             f"models, not {getattr(config, 'model_type', None)!r}")
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        return cls(config.hidden_size, config.num_attention_heads,
                   config.num_key_value_heads or config.num_attention_heads, head_dim,
                   config.intermediate_size, config.num_hidden_layers, config.vocab_size,
                   float(config.rms_norm_eps))


class KVCache:
    """Keys and values of up to ``slots`` sequences of up to ``capacity`` tokens each.

    One tensor ``(layers, 2, slots, kv_heads, capacity, head_dim)``, zeroed (masked positions
    must hold finite numbers). On the CPU it is zeroed by the kernel as pages are first touched
    (calloc), not written at start-up: untouched pages cost neither memory nor time.
    """

    def __init__(self, shape: LlamaShape, slots: int, capacity: int, dtype: torch.dtype,
                 device: torch.device | str = "cpu"):
        self.slots, self.capacity = slots, capacity
        size = (shape.layers, 2, slots, shape.kv_heads, capacity, shape.head_dim)
        if torch.device(device).type == "cpu" and dtype == torch.float32:
            import numpy as np

            self.data = torch.from_numpy(np.zeros(size, dtype=np.float32))
        else:
            self.data = torch.zeros(size, dtype=dtype, device=device)

    def move(self, src: int, dst: int, length: int) -> None:
        self.data[:, :, dst, :, :length] = self.data[:, :, src, :, :length]


@dataclass(frozen=True)
class RowSpec:
    """One sequence's tokens in a step.

    ``prefix_slot``/``prefix_len``: the sequence's first ``prefix_len`` positions equal those of
    the shared prefix held in ``prefix_slot`` (decode rows sharing a prefix read it once).
    """

    tokens: list[int]
    position: int  # position of the first token
    slot: int
    adapter: int = -1
    prefix_slot: int = -1
    prefix_len: int = 0
    logits: int = 1  # return the next-token logits of this many final tokens (True = 1)


@dataclass(frozen=True)
class Chunk:
    """A run of ``length`` consecutive tokens of one sequence, starting at batch row ``start``."""

    start: int
    length: int
    slot: int
    position: int  # position of the first token


@dataclass
class _DecodePlan:
    """How the decode rows attend, prepared once per step and shared by every layer.

    Rows that share a prefix (held in a prefix slot) form a group: the group's queries meet the
    prefix keys in one matrix product, so the prefix is read once per step, not once per row.
    Each row then attends to its own keys after its prefix: the window ``[start, start + width)``
    of its own slot (one common slice when all rows start alike, else gathered per row), masked
    to the positions it has. A row without a shared prefix starts at 0 (plain attention).
    """

    n: int
    own_slots: torch.Tensor | slice  # slice when the rows' slots are consecutive
    own_positions: slice | torch.Tensor  # common slice, or (n, width) positions to gather
    own_bias: torch.Tensor | None  # (n, 1, 1, width) additive mask, fp32; None: nothing masked
    groups: list[tuple[slice | torch.Tensor, int, int, int]]  # (rows, n_rows, prefix slot, prefix len)
    prefix_width: int  # longest group prefix


@dataclass
class StepInput:
    """One forward pass: ``n_decode`` single-token decode rows first, then prefill chunks."""

    tokens: torch.Tensor  # (N,) long
    positions: torch.Tensor  # (N,) long
    slots: torch.Tensor  # (N,) long, cache slot of every token
    adapters: RowAdapters  # per token
    logit_rows: torch.Tensor  # (M,) long: rows whose next-token logits are returned
    n_decode: int = 0
    chunks: list[Chunk] = field(default_factory=list)
    decode: _DecodePlan | None = None

    @classmethod
    def build(cls, rows: list[RowSpec], n_decode: int, device: torch.device | str = "cpu",
              share_prefixes: bool = True) -> "StepInput":
        """The first ``n_decode`` rows carry exactly one token each; logits come back, in row
        order, for the last ``logits`` tokens of every row (in token order)."""
        tokens, positions, slots, adapter_ids, logit_rows, chunks = [], [], [], [], [], []
        for i, row in enumerate(rows):
            start = len(tokens)
            if i < n_decode and len(row.tokens) != 1:
                raise ValueError("decode rows carry exactly one token")
            if i >= n_decode:
                chunks.append(Chunk(start, len(row.tokens), row.slot, row.position))
            tokens.extend(row.tokens)
            positions.extend(range(row.position, row.position + len(row.tokens)))
            slots.extend([row.slot] * len(row.tokens))
            adapter_ids.extend([row.adapter] * len(row.tokens))
            logit_rows.extend(range(len(tokens) - int(row.logits), len(tokens)))

        def as_long(values):
            return torch.tensor(values, dtype=torch.long, device=device)

        decode = _plan_decode(rows[:n_decode], device, share_prefixes) if n_decode else None
        return cls(as_long(tokens), as_long(positions), as_long(slots),
                   RowAdapters(adapter_ids, device, n_decode), as_long(logit_rows), n_decode,
                   chunks, decode)


def _rows_index(rows: list[int], device) -> slice | torch.Tensor:
    if rows == list(range(rows[0], rows[0] + len(rows))):
        return slice(rows[0], rows[0] + len(rows))
    return torch.tensor(rows, dtype=torch.long, device=device)


def _plan_decode(rows: list[RowSpec], device, share_prefixes: bool) -> _DecodePlan:
    by_prefix: dict[tuple[int, int], list[int]] = {}
    if share_prefixes and len(rows) > 1:
        for i, row in enumerate(rows):
            if row.prefix_slot >= 0 and row.prefix_len > 0:
                by_prefix.setdefault((row.prefix_slot, row.prefix_len), []).append(i)
    groups, starts = [], [0] * len(rows)
    for (pslot, plen), members in by_prefix.items():
        groups.append((_rows_index(members, device), len(members), pslot, plen))
        for i in members:
            starts[i] = plen
    lengths = [row.position + 1 for row in rows]
    width = max(end - start for start, end in zip(starts, lengths))
    offsets = torch.tensor(starts)[:, None] + torch.arange(width)[None, :]  # (n, width)
    allowed = offsets < torch.tensor(lengths)[:, None]
    own_bias = torch.zeros(allowed.shape, dtype=torch.float32).masked_fill_(~allowed, float("-inf"))
    if len(set(starts)) == 1:
        positions: slice | torch.Tensor = slice(starts[0], starts[0] + width)
    else:  # padded positions point at the row's last real one (masked anyway)
        positions = torch.minimum(offsets, torch.tensor(lengths)[:, None] - 1).to(device)
    return _DecodePlan(len(rows), _rows_index([row.slot for row in rows], device), positions,
                       None if bool(allowed.all()) else own_bias[:, None, None, :].to(device),
                       groups, max((g[3] for g in groups), default=0))


_LLAMA_DEFAULTS = {"num_key_value_heads": None, "head_dim": None, "rms_norm_eps": 1e-6,
                   "tie_word_embeddings": False, "max_position_embeddings": 2048,
                   "eos_token_id": None}


def read_config(folder: Path):
    """A Llama ``config.json`` with plain RoPE, read directly (transformers' LlamaConfig costs
    seconds of imports); anything else (scaled RoPE, other keys) through transformers."""
    from types import SimpleNamespace

    data = json.loads((Path(folder) / "config.json").read_text())
    rope = data.get("rope_parameters") or {"rope_type": "default",
                                           "rope_theta": data.get("rope_theta", 10000.0)}
    if data.get("model_type") == "llama" and not data.get("rope_scaling") and \
            rope.get("rope_type", "default") == "default":
        values = {**_LLAMA_DEFAULTS, **data,
                  "rope_parameters": {"rope_type": "default", "rope_theta": rope.get("rope_theta", 10000.0)}}
        return SimpleNamespace(**values)
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(folder, local_files_only=True)


_PARTS = {"qkv": [f"self_attn.{n}" for n in _ATTN_PARTS], "o": ["self_attn.o_proj"],
          "gate_up": [f"mlp.{n}" for n in _MLP_PARTS], "down": ["mlp.down_proj"]}
"""The engine's fused matrices and the transformers modules each one concatenates."""


def matrix_layout(config) -> dict[str, tuple[list[str], tuple[int, int], str]]:
    """Every matrix the engine multiplies by: name -> (the checkpoint tensors it is made of,
    its shape, the format :meth:`CompactLlama.quantize` gives it)."""
    s = LlamaShape.from_config(config)
    q, kv = s.heads * s.head_dim, s.kv_heads * s.head_dim
    shapes = {"qkv": (q + 2 * kv, s.hidden), "o": (s.hidden, q),
              "gate_up": (2 * s.intermediate, s.hidden), "down": (s.hidden, s.intermediate)}
    layout = {f"layers.{i}.{part}": ([f"model.layers.{i}.{m}.weight" for m in modules],
                                     shapes[part], "int4")
              for i in range(s.layers) for part, modules in _PARTS.items()}
    tied = getattr(config, "tie_word_embeddings", False)
    layout["lm_head"] = ([] if tied else ["lm_head.weight"], (s.vocab, s.hidden), "int8")
    return layout


@dataclass
class _Layer:
    input_norm: torch.Tensor
    post_norm: torch.Tensor
    qkv: MultiLoraLinear
    o: MultiLoraLinear
    gate_up: MultiLoraLinear
    down: MultiLoraLinear


class CompactLlama:
    """Llama weights plus a forward over :class:`StepInput` batches (no autograd, no HF modules)."""

    def __init__(self, config, state_dict: dict[str, torch.Tensor], dtype: torch.dtype,
                 device: torch.device | str = "cpu", bases: dict[str, BaseWeight] | None = None):
        """``bases``: ready base weights by matrix name (:func:`matrix_layout`), used instead of
        the checkpoint tensors they are made of (which ``state_dict`` may then lack)."""
        self.config = config
        bases = bases or {}
        self.shape = s = LlamaShape.from_config(config)
        self.dtype, self.device = dtype, torch.device(device)

        def take(name: str, required: bool = True) -> torch.Tensor | None:
            tensor = state_dict.get(name)
            if tensor is None:
                if required:
                    raise ModelError(f"weights are missing {name}")
                return None
            return tensor.to(device=self.device, dtype=dtype).contiguous()

        def cat(names: list[str], required: bool = True) -> torch.Tensor | None:
            parts = [take(n, required) for n in names]
            return None if any(p is None for p in parts) else torch.cat(parts).contiguous()

        def matrix(name: str, modules: list[str]) -> torch.Tensor | BaseWeight:
            return bases[name] if name in bases else cat([f"{m}.weight" for m in modules])

        self.embed = take("model.embed_tokens.weight")
        self.norm = take("model.norm.weight")
        tied = getattr(config, "tie_word_embeddings", False) or "lm_head.weight" not in state_dict
        self._lm_head = MultiLoraLinear(
            bases["lm_head"] if "lm_head" in bases else self.embed if tied else take("lm_head.weight"))
        self._softmax_scale = s.head_dim ** -0.5
        self.q_size, self.kv_size = s.heads * s.head_dim, s.kv_heads * s.head_dim
        self.layers: list[_Layer] = []
        parts = {"qkv": (self.q_size, self.kv_size, self.kv_size),
                 "gate_up": (s.intermediate, s.intermediate)}
        for i in range(s.layers):
            p = f"model.layers.{i}."
            linears = {}
            for part, modules in _PARTS.items():
                modules = [p + m for m in modules]
                linears[part] = MultiLoraLinear(
                    matrix(f"layers.{i}.{part}", modules),
                    cat([f"{m}.bias" for m in modules], required=False), parts.get(part))
            self.layers.append(_Layer(
                take(f"{p}input_layernorm.weight"), take(f"{p}post_attention_layernorm.weight"),
                **linears))
        self._init_rope(config)
        self.adapter_names: tuple[str, ...] = ()
        self.narrow_head_steps = 0  # steps whose LM head multiplied by some rows only
        self.quantized = any(not isinstance(lin.base, DenseWeight) for lin in self._linears())

    # --- construction ----------------------------------------------------------------------

    @classmethod
    def from_hf(cls, model, dtype: torch.dtype | None = None) -> "CompactLlama":
        """From a loaded transformers Llama (shares nothing with it: weights are fused copies)."""
        return cls(model.config, model.state_dict(), dtype or model.dtype, model.device)

    @classmethod
    def from_folder(cls, folder: str | Path, dtype: torch.dtype, device: torch.device | str = "cpu",
                    quantized_cache: Path | None = None,
                    kernels: CpuKernels | None = None) -> "CompactLlama":
        """Straight from a model folder's safetensors (no transformers model is built).

        With ``quantized_cache`` (fp32 on the CPU only) the model is quantized (:meth:`quantize`):
        the file holds what quantizing computes, written on first use and read afterwards, when
        the checkpoint tensors it replaces are not read at all."""
        from safetensors import safe_open

        folder = Path(folder)
        config = read_config(folder)
        index = folder / "model.safetensors.index.json"
        if index.is_file():
            files = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        else:
            files = ["model.safetensors"]
        if not all((folder / f).is_file() for f in files):
            raise ModelError(f"{folder}: no safetensors weights (the compact engine reads "
                             "model.safetensors or a sharded safetensors index)")
        if quantized_cache is not None and (dtype != torch.float32 or torch.device(device).type != "cpu"):
            raise ModelError("quantized weights need the fp32 weights on the CPU")
        kernels = cpu_kernels() if kernels is None else kernels
        layout = matrix_layout(config)
        bases = _read_bases(quantized_cache, layout, kernels) if quantized_cache else {}
        skip = {t for name in bases for t in layout[name][0]}
        state: dict[str, torch.Tensor] = {}
        for name in files:
            with safe_open(str(folder / name), framework="pt") as f:
                state.update({key: f.get_tensor(key) for key in f.keys() if key not in skip})
        model = cls(config, state, dtype, device, bases)
        if quantized_cache is not None and not bases:
            model.quantize(kernels)
            write_quantized(quantized_cache, model.quantized_states())
        return model

    def _init_rope(self, config) -> None:
        """Inverse frequencies as transformers' LlamaRotaryEmbedding computes them (the default
        RoPE here; scaled variants from transformers' table), without importing the model code
        (seconds of start-up)."""
        rope_type = config.rope_parameters["rope_type"]
        if rope_type == "default":
            dim = self.shape.head_dim
            inv_freq = 1.0 / (config.rope_parameters["rope_theta"]
                              ** (torch.arange(0, dim, 2, dtype=torch.float) / dim))
            scale = 1.0
        else:  # importing transformers' table costs start-up time: only when needed
            from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

            inv_freq, scale = ROPE_INIT_FUNCTIONS[rope_type](config)
        self._inv_freq = inv_freq.float().cpu()
        self._rope_scale = float(scale)
        self._cos = self._sin = torch.empty(0, self.shape.head_dim)
        self._ensure_rope(2048)

    def _ensure_rope(self, length: int) -> None:
        """cos and sign-folded sin tables: rope(x) = x*cos + roll(x, d/2)*sin_signed (= HF's
        x*cos + rotate_half(x)*sin)."""
        if length <= self._cos.shape[0]:
            return
        length = max(length, 2 * self._cos.shape[0])
        freqs = torch.arange(length, dtype=torch.float32)[:, None] * self._inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        half = self.shape.head_dim // 2
        sign = torch.cat((-torch.ones(half), torch.ones(half)))
        self._cos = (emb.cos() * self._rope_scale).to(self.dtype).to(self.device)
        self._sin = (emb.sin() * self._rope_scale * sign).to(self.dtype).to(self.device)

    def new_cache(self, slots: int, capacity: int, dtype: torch.dtype | None = None) -> KVCache:
        """A KV cache; on CPU its default dtype is fp32 whatever the weights' (CPU bf16 batched
        products copy strided operands, such as a cache slot's first T positions, first; fp32
        ones read them in place, which is cheaper than the bf16 copies)."""
        self._ensure_rope(capacity)
        if dtype is None:
            dtype = torch.float32 if self.device.type == "cpu" else self.dtype
        return KVCache(self.shape, slots, capacity, dtype, self.device)

    # --- adapters --------------------------------------------------------------------------

    def set_adapters(self, adapters: list[tuple[str, LoraAdapter]]) -> None:
        """Serve exactly these adapters; adapter index k in a step is ``adapters[k]``."""
        s = self.shape
        expected = {}
        for i in range(s.layers):
            p = f"model.layers.{i}."
            for n, (fan_in, fan_out) in {
                "self_attn.q_proj": (s.hidden, self.q_size), "self_attn.k_proj": (s.hidden, self.kv_size),
                "self_attn.v_proj": (s.hidden, self.kv_size), "self_attn.o_proj": (self.q_size, s.hidden),
                "mlp.gate_proj": (s.hidden, s.intermediate), "mlp.up_proj": (s.hidden, s.intermediate),
                "mlp.down_proj": (s.intermediate, s.hidden),
            }.items():
                expected[p + n] = (fan_in, fan_out)
        for name, adapter in adapters:
            for module, lw in adapter.modules.items():
                if module not in expected:
                    raise AdapterLoadError(f"adapter {name!r} ({adapter.path}) targets {module}, "
                                           "which this model does not have as a LoRA-able linear layer")
                fan_in, fan_out = expected[module]
                if lw.a.shape[1] != fan_in or lw.b.shape[0] != fan_out:
                    raise AdapterLoadError(
                        f"adapter {name!r} ({adapter.path}): {module} is {lw.a.shape[1]}->{lw.b.shape[0]}, "
                        f"the model's is {fan_in}->{fan_out} (made for another base model?)")

        def per_adapter(prefix: str, parts: tuple[str, ...]) -> list[list[LoraWeights | None]]:
            return [[adapter.modules.get(prefix + part) for part in parts] for _, adapter in adapters]

        for i, layer in enumerate(self.layers):
            p = f"model.layers.{i}."
            layer.qkv.set_adapters(per_adapter(p + "self_attn.", _ATTN_PARTS))
            layer.o.set_adapters(per_adapter(p + "self_attn.", ("o_proj",)))
            layer.gate_up.set_adapters(per_adapter(p + "mlp.", _MLP_PARTS))
            layer.down.set_adapters(per_adapter(p + "mlp.", ("down_proj",)))
        self.adapter_names = tuple(name for name, _ in adapters)

    # --- forward ---------------------------------------------------------------------------

    def _linears(self) -> list[MultiLoraLinear]:
        return [lin for layer in self.layers for lin in (layer.qkv, layer.o, layer.gate_up, layer.down)]

    def pack_for_cpu(self, kernels: CpuKernels | None = None) -> None:
        """Put every dense matrix (and the LM head) in oneDNN's layout where this CPU supports it
        for the weights' dtype; see llm_mars.llm.weights.DenseWeight."""
        kernels = cpu_kernels() if kernels is None else kernels
        for lin in [*self._linears(), self._lm_head]:
            lin.pack_for_cpu(kernels)

    def _quantizable(self) -> list[tuple[str, MultiLoraLinear, str]]:
        """(name, layer, format) of every matrix, as :func:`matrix_layout` names them."""
        layout = matrix_layout(self.config)
        linears = {f"layers.{i}.{part}": getattr(layer, part)
                   for i, layer in enumerate(self.layers) for part in _PARTS}
        linears["lm_head"] = self._lm_head
        return [(name, linears[name], fmt) for name, (_, _, fmt) in layout.items()]

    def quantize(self, kernels: CpuKernels | None = None) -> None:
        """Base weights to int4 (groups of 32) and the LM head to int8, activations staying fp32
        (see llm_mars.llm.weights); a matrix whose shape the format cannot take stays dense
        fp32. The embedding table stays fp32 for lookups. Needs the fp32 weights on the CPU."""
        if self.dtype != torch.float32 or self.device.type != "cpu":
            raise ModelError("quantize() needs the fp32 weights on the CPU")
        kernels = cpu_kernels() if kernels is None else kernels
        for _, lin, fmt in self._quantizable():
            lin.quantize(fmt, kernels)
        self.quantized = True

    def quantized_states(self) -> dict[str, dict[str, torch.Tensor]]:
        """Every quantized matrix's state (what :func:`_read_bases` restores)."""
        return {name: lin.base.state() for name, lin, _ in self._quantizable()
                if not isinstance(lin.base, DenseWeight)}

    @property
    def weight_bytes(self) -> int:
        """Bytes of weights one decode step reads: every matrix once, the LM head, the norms."""
        total = self._lm_head.weight_bytes + self.norm.numel() * self.norm.element_size()
        total += sum(lin.weight_bytes for lin in self._linears())
        for layer in self.layers:
            total += (layer.input_norm.numel() + layer.post_norm.numel()) * layer.input_norm.element_size()
        return total

    def lora_bytes(self, adapter: int) -> int:
        """Bytes of one adapter's stacked LoRA weights (what a step using only it reads extra)."""
        return sum(lin.block_rows(adapter) * (lin.in_features + sum(lin.out_features))
                   * lin.a.element_size() for lin in self._linears() if lin.a is not None)

    def _attend_decode(self, q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor,
                       plan: _DecodePlan) -> torch.Tensor:
        """Attention of the decode rows' queries ``(n, heads, head_dim)``; see :class:`_DecodePlan`."""
        s = self.shape
        n, group = plan.n, s.heads // s.kv_heads
        qg = q.reshape(n, s.kv_heads, group, s.head_dim).to(k_cache.dtype) * self._softmax_scale
        if isinstance(plan.own_positions, slice):
            own_k = k_cache[plan.own_slots, :, plan.own_positions]
            own_v = v_cache[plan.own_slots, :, plan.own_positions]
        else:  # per-row windows: gather (n, width, kv, d) and put heads first
            slots = torch.arange(k_cache.shape[0], device=q.device)[plan.own_slots][:, None]
            own_k = k_cache[slots, :, plan.own_positions].transpose(1, 2)
            own_v = v_cache[slots, :, plan.own_positions].transpose(1, 2)
        own_scores = torch.matmul(qg, own_k.transpose(-1, -2)).float()
        if plan.own_bias is not None:
            own_scores.add_(plan.own_bias)
        if not plan.groups:
            probs = torch.softmax(own_scores, dim=-1).to(own_v.dtype)
            return torch.matmul(probs, own_v).view(n, s.heads, s.head_dim)
        width = plan.prefix_width
        scores = torch.full((n, s.kv_heads, group, width + own_scores.shape[-1]), float("-inf"),
                            dtype=torch.float32, device=q.device)
        scores[..., width:] = own_scores
        shared = []
        for rows, count, pslot, plen in plan.groups:
            # (count, kv, group, d) -> (kv, count * group, d): one product per prefix for all rows
            qs = qg[rows].transpose(0, 1).reshape(s.kv_heads, count * group, s.head_dim)
            prefix_scores = torch.matmul(qs, k_cache[pslot, :, :plen].transpose(-1, -2))
            scores[rows, :, :, :plen] = (prefix_scores.float()
                                         .view(s.kv_heads, count, group, plen).transpose(0, 1))
            shared.append((rows, count, pslot, plen))
        probs = torch.softmax(scores, dim=-1).to(own_v.dtype)
        out = torch.matmul(probs[..., width:], own_v)
        for rows, count, pslot, plen in shared:
            ps = probs[rows, :, :, :plen].transpose(0, 1).reshape(s.kv_heads, count * group, plen)
            out[rows] += torch.matmul(ps, v_cache[pslot, :, :plen]).view(
                s.kv_heads, count, group, s.head_dim).transpose(0, 1)
        return out.view(n, s.heads, s.head_dim)

    @torch.inference_mode()
    def forward(self, step: StepInput, cache: KVCache,
                only_tokens: torch.Tensor | None = None) -> torch.Tensor:
        """Run one ragged batch, writing its keys/values into ``cache``; fp32 logits of
        ``step.logit_rows``. ``only_tokens`` (sorted token ids): the caller reads no other
        token's logit (a grammar allows only these), so the LM head may multiply by their rows
        alone and leave the other logits at minus infinity; the ones it computes are the same,
        bit for bit, as without it (``rows_product`` of llm_mars.llm.weights)."""
        s = self.shape
        n, nd = step.tokens.shape[0], step.n_decode
        x = F.embedding(step.tokens, self.embed)
        cos = self._cos[step.positions][:, None, :]
        sin = self._sin[step.positions][:, None, :]
        half = s.head_dim // 2
        chunk_masks = []
        for c in step.chunks:
            keys = torch.arange(c.position + c.length, device=self.device)
            queries = torch.arange(c.position, c.position + c.length, device=self.device)
            chunk_masks.append(keys[None, :] <= queries[:, None])
        rows = step.adapters
        for li, layer in enumerate(self.layers):
            h = F.rms_norm(x, (s.hidden,), layer.input_norm, s.eps)
            qkv = layer.qkv(h, rows)
            qk = qkv[:, : self.q_size + self.kv_size].reshape(n, s.heads + s.kv_heads, s.head_dim)
            qk = torch.addcmul(qk * cos, qk.roll(half, dims=-1), sin)
            q, k = qk[:, : s.heads], qk[:, s.heads:]
            v = qkv[:, self.q_size + self.kv_size:].view(n, s.kv_heads, s.head_dim)
            k_cache, v_cache = cache.data[li]
            k_cache[step.slots, :, step.positions] = k.to(k_cache.dtype)
            v_cache[step.slots, :, step.positions] = v.to(v_cache.dtype)
            if nd and not step.chunks:
                out = self._attend_decode(q, k_cache, v_cache, step.decode).to(x.dtype)
            else:
                out = torch.empty(n, s.heads, s.head_dim, dtype=x.dtype, device=x.device)
                if nd:
                    out[:nd] = self._attend_decode(q[:nd], k_cache, v_cache, step.decode)
                for c, mask in zip(step.chunks, chunk_masks):
                    end = c.position + c.length
                    qc = q[c.start: c.start + c.length].transpose(0, 1)[None].to(k_cache.dtype)
                    oc = F.scaled_dot_product_attention(
                        qc, k_cache[c.slot: c.slot + 1, :, :end], v_cache[c.slot: c.slot + 1, :, :end],
                        attn_mask=mask, enable_gqa=True)
                    out[c.start: c.start + c.length] = oc[0].transpose(0, 1)
            x = x + layer.o(out.view(n, self.q_size), rows)
            h = F.rms_norm(x, (s.hidden,), layer.post_norm, s.eps)
            gate_up = layer.gate_up(h, rows)
            act = F.silu(gate_up[:, : s.intermediate]).mul_(gate_up[:, s.intermediate:])
            x = x + layer.down(act, rows)
        h = F.rms_norm(x[step.logit_rows], (s.hidden,), self.norm, s.eps)
        if only_tokens is not None:  # a grammar's ids past the model's vocabulary: no logits
            only_tokens = only_tokens[only_tokens < self._lm_head.out_features[0]]
            narrow = self._lm_head.base.rows_product(h, only_tokens)
            if narrow is not None:
                self.narrow_head_steps += 1
                if self._lm_head.bias is not None:
                    narrow = narrow + self._lm_head.bias[only_tokens]
                logits = torch.full((h.shape[0], self._lm_head.out_features[0]), float("-inf"))
                logits[:, only_tokens] = narrow.float()
                return logits
        decode_logits = int((step.logit_rows < step.n_decode).sum()) if step.n_decode else 0
        return self._lm_head(h, RowAdapters([], decode_rows=decode_logits)).float()


def _read_bases(cache: Path, layout: dict, kernels: CpuKernels) -> dict[str, BaseWeight]:
    """The quantized matrices stored in ``cache``, or {} if it is missing or does not hold
    exactly the matrices of ``layout`` that their formats can take, in their shapes."""
    stored = read_quantized(cache)
    if stored is None:
        return {}
    expected = {name: (shape, fmt) for name, (_, shape, fmt) in layout.items()
                if QUANTIZED[fmt].fits(shape)}
    if set(stored) != set(expected) or not all(
            QUANTIZED[fmt].state_fits(stored[name], shape) for name, (shape, fmt) in expected.items()):
        log.warning("%s holds another model's weights; quantizing again", cache)
        return {}
    return {name: QUANTIZED[fmt].from_state(stored[name], fmt in kernels)
            for name, (_, fmt) in expected.items()}
