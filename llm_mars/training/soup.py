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
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from llm_mars.errors import AdapterLoadError
from llm_mars.llm.adapter_meta import AdapterMeta, read_adapter_meta, write_adapter_meta
from llm_mars.llm.adapters import CONFIG_FILE, WEIGHTS_FILE

_SAME = ("peft_type", "target_modules", "use_rslora", "use_dora", "bias", "task_type",
         "modules_to_save")
"""adapter_config.json fields every member must share for the average to be one LoRA."""


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


def _read(member: Path) -> tuple[dict, dict[str, torch.Tensor], AdapterMeta]:
    try:
        config = json.loads((member / CONFIG_FILE).read_text(encoding="utf-8"))
        weights = load_file(str(member / WEIGHTS_FILE))
    except (OSError, ValueError) as exc:
        raise AdapterLoadError(f"{member}: not a readable LoRA adapter ({exc})") from None
    return config, weights, read_adapter_meta(member)


def average_adapters(members: Sequence[str | Path], out: str | Path,
                     rank: int | None = None) -> Path:
    """Write to ``out`` the adapter whose weight change is the mean of ``members``' (at
    least two folders of the same adapter, target modules, scaling and base model);
    :class:`AdapterLoadError` when they cannot be averaged into one LoRA. ``rank``: keep the
    average's ``rank`` strongest directions per layer (truncated SVD) instead of all
    ``sum(r_i)``, for an adapter the size of one member; the worst layer's relative error (in
    the Frobenius norm) is recorded in its metadata."""
    folders = [Path(m) for m in members]
    if len(folders) < 2:
        raise AdapterLoadError("averaging needs at least two adapters")
    read = [_read(f) for f in folders]
    config, _, meta = read[0]
    for folder, (other, weights, other_meta) in zip(folders[1:], read[1:]):
        differs = [k for k in _SAME if _comparable(other.get(k)) != _comparable(config.get(k))]
        if other.get("use_rslora") or config.get("use_rslora"):
            differs.append("use_rslora")
        if _scaling(other) != _scaling(config):
            differs.append("lora_alpha / r")
        if (other_meta.adapter, other_meta.system_prompt, other_meta.base_model_sha256) != \
                (meta.adapter, meta.system_prompt, meta.base_model_sha256):
            differs.append("adapter name, system prompt or base model")
        if set(weights) != set(read[0][1]):
            differs.append("weight names")
        if differs:
            raise AdapterLoadError(f"{folder} cannot be averaged with {folders[0]}: "
                                   f"{', '.join(dict.fromkeys(differs))} differ")
    k = len(read)
    stacked = sum(c["r"] for c, _, _ in read)
    rank = stacked if rank is None else rank
    if not 1 <= rank <= stacked:
        raise AdapterLoadError(f"the average of {k} adapters has rank at most {stacked}; "
                               f"{rank} was asked")
    merged: dict[str, torch.Tensor] = {}
    worst = 0.0
    for name in read[0][1]:
        if ".lora_B." in name:
            continue
        if ".lora_A." not in name:
            raise AdapterLoadError(f"{folders[0]}: {name} is neither a LoRA A nor B matrix")
        b_name = name.replace(".lora_A.", ".lora_B.")
        a = torch.cat([w[name] for _, w, _ in read], dim=0)
        b = torch.cat([w[b_name] / k for _, w, _ in read], dim=1)
        if rank < stacked:
            a, b, lost = _truncated(a, b, rank)
            worst = max(worst, lost)
        merged[name], merged[b_name] = a.contiguous(), b.contiguous()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_file(merged, str(out / WEIGHTS_FILE))
    averaged = dict(config, r=rank, lora_alpha=_number(_scaling(config) * rank), rank_pattern={},
                    alpha_pattern={})
    (out / CONFIG_FILE).write_text(json.dumps(averaged, indent=2) + "\n", encoding="utf-8")
    extra = dict(meta.extra or {}, averaged_from=[f.name for f in folders])
    if rank < stacked:  # how much of the exact average the kept rank leaves out, at worst
        extra["average_truncated_to_rank"] = rank
        extra["largest_relative_error"] = round(worst, 4)
    write_adapter_meta(out, AdapterMeta(meta.adapter, meta.system_prompt,
                                        meta.base_model_sha256, extra))
    return out

