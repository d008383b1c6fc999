"""Average LoRA adapters trained on the same data with different seeds into one adapter.

Two trainings of one recipe that differ only in their seed judge many held-out cases
differently; their average keeps what both learnt and lets the seeds' accidents partly cancel
(measured in docs/evaluation.md). It is exact and stays a plain LoRA: the mean of the deltas
``s B_i A_i`` of ``k`` members is ``s [B_1/k ... B_k/k] [A_1; ...; A_k]``, one LoRA of rank
``sum(r_i)`` with the members' common scaling ``s``, which PEFT and the engine load like any
other (the engine gives each adapter a block of its own rank). A smaller rank can be kept
(truncated SVD of the average), at a cost the metadata records.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors.torch import save_file

from llm_mars.errors import AdapterLoadError, AdapterTooLargeError
from llm_mars.llm.adapter_meta import (AdapterMeta, read_adapter_meta, replace_folder,
                                        write_adapter_meta)
from llm_mars.llm.adapters import (CONFIG_FILE, WEIGHTS_FILE, LoraAdapter, load_lora_adapter,
                                   lora_weight_name)

_SAME = ("target_modules", "bias", "task_type", "modules_to_save")
"""adapter_config.json fields every member must share for the average to be one LoRA."""
_UNSUPPORTED = ("use_rslora", "use_dora", "rank_pattern", "alpha_pattern", "lora_bias",
                "layer_replication")
"""Settings under which the stacked average would not be the mean (a scaling that depends on
the rank, per-module ranks or alphas, weights besides A and B): such members are refused."""
_OURS = ("averaged_from", "average_truncated_to_rank", "largest_relative_error")
"""Metadata this module writes, which a member that is itself an average must not pass on."""


def _comparable(value):
    """A config value as compared between members (the order of a module list is not)."""
    return sorted(value) if isinstance(value, list) else value


def _number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def _scaling(config: dict) -> float:
    return config["lora_alpha"] / config["r"]


def _truncated(a: torch.Tensor, b: torch.Tensor, rank: int
               ) -> tuple[torch.Tensor, torch.Tensor, float]:
    """The best rank-``rank`` factors of ``b @ a`` (an SVD of the small core of the two QR
    factors, never the full matrix), in their dtype, and the part of its norm they lose."""
    qb, rb = torch.linalg.qr(b.double())
    qa, ra = torch.linalg.qr(a.double().T)
    u, s, vh = torch.linalg.svd(rb @ ra.T)
    lost = float(s[rank:].norm() / s.norm()) if float(s.norm()) > 0 else 0.0
    new_b = qb @ (u[:, :rank] * s[:rank])
    new_a = (qa @ vh[:rank].T).T
    return new_a.to(a.dtype), new_b.to(b.dtype), lost


def _read(member: Path) -> tuple[dict, LoraAdapter, AdapterMeta]:
    """A member's config, weights (read and checked by the engine's own reader) and metadata;
    :class:`AdapterLoadError` for a folder that is not a plain LoRA this module can average
    (per-module ranks or alphas, a LoRA bias, anything but A and B matrices)."""
    try:
        config = json.loads((member / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AdapterLoadError(f"{member}: not a readable LoRA adapter ({exc})") from None
    if not isinstance(config, dict) or config.get("peft_type") != "LORA" or not all(
            isinstance(config.get(k), (int, float)) and config[k] > 0 for k in ("r", "lora_alpha")):
        raise AdapterLoadError(f"{member}: not a LoRA adapter (peft_type LORA, r, lora_alpha)")
    unsupported = [k for k in _UNSUPPORTED if config.get(k)]
    if unsupported:
        raise AdapterLoadError(f"{member} cannot be averaged: it uses {', '.join(unsupported)}")
    try:
        adapter = load_lora_adapter(member)
    except AdapterLoadError as exc:
        raise AdapterLoadError(f"{member}: not a readable LoRA adapter ({exc})") from None
    return config, adapter, read_adapter_meta(member)


def average_adapters(members: Sequence[str | Path], out: str | Path,
                     rank: int | None = None, max_bytes: int | None = None) -> Path:
    """Write to ``out`` (replacing the folder, renamed into place) the adapter whose weight
    change is the mean of ``members``' (at least two folders of the same adapter, target
    modules, scaling and base model); :class:`AdapterLoadError` when they cannot be averaged
    into one LoRA, :class:`AdapterTooLargeError` (nothing written) when its weights would
    exceed ``max_bytes``. ``rank``: keep the average's ``rank`` strongest directions per layer
    (truncated SVD) instead of all ``sum(r_i)``, for an adapter the size of one member; the
    worst layer's relative error (in the Frobenius norm) is recorded in its metadata."""
    folders = [Path(m) for m in members]
    if len(folders) < 2:
        raise AdapterLoadError("averaging needs at least two adapters")
    read = [_read(f) for f in folders]
    config, _, meta = read[0]
    for folder, (other, weights, other_meta) in zip(folders[1:], read[1:]):
        differs = [k for k in _SAME if _comparable(other.get(k)) != _comparable(config.get(k))]
        if _scaling(other) != _scaling(config):
            differs.append("lora_alpha / r")
        if (other_meta.adapter, other_meta.system_prompt, other_meta.base_model_sha256) != \
                (meta.adapter, meta.system_prompt, meta.base_model_sha256):
            differs.append("adapter name, system prompt or base model")
        if set(weights.modules) != set(read[0][1].modules):
            differs.append("adapted modules")
        if differs:
            raise AdapterLoadError(f"{folder} cannot be averaged with {folders[0]}: "
                                   f"{', '.join(differs)} differ")
    k = len(read)
    stacked = sum(c["r"] for c, _, _ in read)
    rank = stacked if rank is None else rank
    if not 1 <= rank <= stacked:
        raise AdapterLoadError(f"the average of {k} adapters has rank at most {stacked}; "
                               f"{rank} was asked")
    merged: dict[str, torch.Tensor] = {}
    worst = 0.0
    for module in read[0][1].modules:
        a = torch.cat([w.modules[module].a for _, w, _ in read], dim=0)
        b = torch.cat([w.modules[module].b / k for _, w, _ in read], dim=1)
        if rank < stacked:
            a, b, lost = _truncated(a, b, rank)
            worst = max(worst, lost)
        for part, weight in (("A", a), ("B", b)):
            merged[lora_weight_name(module, part)] = weight.contiguous()
    size = sum(t.numel() * t.element_size() for t in merged.values())
    if max_bytes is not None and size > max_bytes:
        raise AdapterTooLargeError(f"the average's weights would be {size / 1e6:.2f} MB, over "
                                   f"{max_bytes / 1e6:g} MB: keep a smaller rank (--rank)")
    out = Path(out)
    if out.exists() and not (out / CONFIG_FILE).is_file():
        raise AdapterLoadError(f"{out} exists and is not an adapter folder: not replaced")
    tmp = out.parent / f".tmp-{out.name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file(merged, str(tmp / WEIGHTS_FILE), metadata={"format": "pt"})
    averaged = dict(config, r=rank, lora_alpha=_number(_scaling(config) * rank))
    (tmp / CONFIG_FILE).write_text(json.dumps(averaged, indent=2) + "\n", encoding="utf-8")
    extra = {key: value for key, value in (meta.extra or {}).items() if key not in _OURS}
    extra["averaged_from"] = [f.name for f in folders]
    if rank < stacked:  # how much of the exact average the kept rank leaves out, at worst
        extra["average_truncated_to_rank"] = rank
        extra["largest_relative_error"] = round(worst, 4)
    write_adapter_meta(tmp, AdapterMeta(meta.adapter, meta.system_prompt,
                                        meta.base_model_sha256, extra))
    replace_folder(tmp, out)
    return out
