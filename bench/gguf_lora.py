"""A PEFT LoRA adapter of a Llama model as a GGUF LoRA file, for the llama.cpp baseline.

llama.cpp loads LoRA adapters in its own GGUF format (``general.type = adapter``,
``adapter.type = lora``, ``adapter.lora.alpha``; per target matrix ``blk.N.<tensor>.weight.lora_a``
(rank x in) and ``.lora_b`` (out x rank), fp32). Its converter (``convert_lora_to_gguf.py``)
needs the llama.cpp source tree; this does the same for the Llama projections the project's
adapters target, with the ``gguf`` package the project already installs. Like llama.cpp's own
Llama conversion, the rows of q and k are permuted into GGUF's rotary layout (the bundled GGUF
was converted that way), so ``lora_b`` of q/k is permuted the same way.

    .venv/bin/python bench/gguf_lora.py models/adapters/bt out/bt.gguf
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GGUF_NAMES = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
              "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
              "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}


def rotary_permute(rows: torch.Tensor, heads: int) -> torch.Tensor:
    """llama.cpp's ``permute`` of q/k rows (HF's rotate-half layout -> GGUF's interleaved)."""
    return (rows.reshape(heads, 2, rows.shape[0] // heads // 2, *rows.shape[1:])
            .swapaxes(1, 2).reshape(rows.shape))


def convert(adapter_dir: Path, out: Path, model_config: dict) -> Path:
    import gguf

    from llm_mars.llm.adapters import load_lora_adapter

    config = json.loads((adapter_dir / "adapter_config.json").read_text())
    if config.get("use_rslora") or config.get("alpha_pattern") or config.get("rank_pattern"):
        raise SystemExit(f"{adapter_dir}: rsLoRA and per-module ranks or alphas have no GGUF form")
    adapter = load_lora_adapter(adapter_dir)
    heads, kv_heads = model_config["num_attention_heads"], model_config["num_key_value_heads"]
    writer = gguf.GGUFWriter(str(out), "llama")
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(config["lora_alpha"]))
    for module, lora in sorted(adapter.modules.items()):
        prefix, _, layer_part = module.partition("model.layers.")
        index, _, part = layer_part.partition(".")
        if prefix or part not in GGUF_NAMES:
            raise SystemExit(f"{adapter_dir}: {module} has no GGUF tensor name here")
        a, b = lora.a.float(), lora.b.float()
        if part == "self_attn.q_proj":
            b = rotary_permute(b, heads)
        elif part == "self_attn.k_proj":
            b = rotary_permute(b, kv_heads)
        name = f"blk.{index}.{GGUF_NAMES[part]}.weight"
        writer.add_tensor(f"{name}.lora_a", np.ascontiguousarray(a.numpy()))
        writer.add_tensor(f"{name}.lora_b", np.ascontiguousarray(b.numpy()))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out


def main() -> int:
    from llm_mars.llm.model_store import resolve_model_dir

    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    model_config = json.loads((resolve_model_dir() / "config.json").read_text())
    print(convert(Path(sys.argv[1]), Path(sys.argv[2]), model_config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
