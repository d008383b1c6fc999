"""PEFT LoRA adapter folders (``adapter_config.json`` + ``adapter_model.safetensors``), read
into per-module :class:`~llm_mars.llm.multilora.LoraWeights` without PEFT.

Only plain LoRA on linear layers is served (what ``LoraConfig(target_modules=...)`` trains);
anything else a folder asks for (DoRA, trained biases, modules_to_save, embedding LoRA) is an
:class:`~llm_mars.errors.AdapterLoadError`, never silently ignored.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from llm_mars.errors import AdapterLoadError
from llm_mars.llm.multilora import LoraWeights, lora_scaling

CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
_KEY = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<part>[AB])(?:\.[^.]+)?\.weight$")


def lora_weight_name(module: str, part: str) -> str:
    """The name PEFT saves ``module``'s LoRA matrix ``part`` ("A" or "B") under (what
    :func:`load_lora_adapter` reads back)."""
    return f"base_model.model.{module}.lora_{part}.weight"


@dataclass(frozen=True)
class LoraAdapter:
    """A loaded adapter: LoRA weights by module name (e.g. ``model.layers.0.self_attn.q_proj``)."""

    path: Path
    modules: dict[str, LoraWeights]
    rank: int  # largest rank over its modules


def _pattern_value(patterns: dict, module: str, default):
    """PEFT's rank_pattern/alpha_pattern lookup: a key matches a module name or its suffix."""
    for key, value in patterns.items():
        if re.fullmatch(rf"(.*\.)?(?:{key})", module):
            return value
    return default


def load_lora_adapter(folder: str | Path) -> LoraAdapter:
    """Read a PEFT LoRA adapter folder; raise AdapterLoadError naming what is wrong."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    config_path, weights_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    if not folder.is_dir():
        raise AdapterLoadError(f"{folder}: adapter folder does not exist")
    for needed in (config_path, weights_path):
        if not needed.is_file():
            raise AdapterLoadError(f"{needed}: missing (a PEFT adapter folder needs "
                                   f"{CONFIG_FILE} and {WEIGHTS_FILE})")
    try:
        config = json.loads(config_path.read_text())
    except ValueError as exc:
        raise AdapterLoadError(f"{config_path}: not valid JSON ({exc})") from None
    if config.get("peft_type") != "LORA":
        raise AdapterLoadError(f"{config_path}: peft_type {config.get('peft_type')!r} is not LORA")
    unsupported = [name for name, bad in (
        ("use_dora", bool(config.get("use_dora"))),
        ("bias", config.get("bias", "none") != "none"),
        ("lora_bias", bool(config.get("lora_bias"))),
        ("modules_to_save", bool(config.get("modules_to_save"))),
        ("fan_in_fan_out", bool(config.get("fan_in_fan_out"))),
        ("layer_replication", bool(config.get("layer_replication"))),
    ) if bad]
    if unsupported:
        raise AdapterLoadError(f"{config_path}: unsupported LoRA options: {', '.join(unsupported)}")
    try:
        tensors = load_file(str(weights_path))
    except (SafetensorError, OSError) as exc:
        raise AdapterLoadError(f"{weights_path}: cannot be read ({exc})") from None

    pairs: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in tensors.items():
        match = _KEY.match(key)
        if match is None:
            raise AdapterLoadError(f"{weights_path}: unsupported tensor {key!r} "
                                   "(only LoRA A/B weights of linear layers are served)")
        pairs.setdefault(match["module"], {})[match["part"]] = tensor
    if not pairs:
        raise AdapterLoadError(f"{weights_path}: holds no LoRA weights")

    alpha = float(config.get("lora_alpha", 8))
    rslora = bool(config.get("use_rslora"))
    modules: dict[str, LoraWeights] = {}
    for module, ab in sorted(pairs.items()):
        if set(ab) != {"A", "B"}:
            raise AdapterLoadError(f"{weights_path}: {module} has lora_{''.join(ab)} only")
        a, b = ab["A"], ab["B"]
        if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[1]:
            raise AdapterLoadError(f"{weights_path}: {module} has mismatched LoRA shapes "
                                   f"A{tuple(a.shape)} B{tuple(b.shape)}")
        rank = a.shape[0]
        module_alpha = float(_pattern_value(config.get("alpha_pattern") or {}, module, alpha))
        modules[module] = LoraWeights(a, b, lora_scaling(module_alpha, rank, rslora))
    return LoraAdapter(folder, modules, max(w.rank for w in modules.values()))
