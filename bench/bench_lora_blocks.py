"""Single-request decode step per served adapter, every adapter loaded together: what a row of
each adapter costs when adapters of different ranks are served side by side.

    .venv/bin/python bench/bench_lora_blocks.py bt=models/adapters/bt qa=models/adapters/qa \\
        describe=models/adapters/describe

The engine's int4 model, one thread, median of ``--reps`` x ``--steps`` steps per adapter
(interleaved, so a change in the machine's load falls on all of them alike).
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_engine import decode_step_ms  # noqa: E402
from llm_mars.llm.adapters import load_lora_adapter  # noqa: E402
from llm_mars.llm.llama import CompactLlama  # noqa: E402
from llm_mars.llm.machine import this_machine  # noqa: E402
from llm_mars.llm.model_store import load_model, quantized_cache_file  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("adapters", nargs="+", metavar="NAME=DIR")
    parser.add_argument("--context", type=int, default=120)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args(argv)
    named = [a.split("=", 1) for a in args.adapters]
    if any(len(pair) != 2 for pair in named):
        parser.error("adapters are given as NAME=DIR")
    torch.set_num_threads(1)
    print(f"machine: {this_machine().describe()}")
    loaded = load_model(dtype="int4")
    model = CompactLlama.from_folder(loaded.path, torch.float32,
                                     quantized_cache=quantized_cache_file(loaded.path))
    model.set_adapters([(name, load_lora_adapter(folder)) for name, folder in named])
    rows = [("base model", -1)] + [(name, k) for k, (name, _) in enumerate(named)]
    times: dict[str, list[float]] = {label: [] for label, _ in rows}
    for _ in range(args.reps):
        for label, adapter in rows:
            times[label].append(decode_step_ms(model, args.context, adapter, args.steps)[0])
    for label, adapter in rows:
        lora = f", LoRA {model.lora_bytes(adapter) / 1e6:.1f} MB" if adapter >= 0 else ""
        print(f"{label:<12} median {statistics.median(times[label]):6.2f} ms per step{lora}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
