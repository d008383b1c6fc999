"""Candidate CPU kernels for the engine's base weights, on the bundled model's own matrices.

For each kernel, the time of one step's base-weight products (every layer's qkv, o, gate/up and
down matrices, all 30 layers, so the weights stream from memory as in a real step; plus the LM
head) at several row counts: 1 row is a single-request decode step, 2-16 rows a batched decode
step, 32-256 rows prefill chunks. Each kernel is measured in the same run on the same weights,
interleaved, best of ``--repeats``.

    .venv/bin/python bench/bench_kernels.py                 # this CPU as it is
    .venv/bin/python bench/bench_kernels.py --as-avx2       # as on a CPU without AVX-512
                                                            # (torch's AVX2 kernels, oneDNN <= AVX2)

Kernels: fp32 ``F.linear``; oneDNN packed fp32 / bf16 (bf16 only where oneDNN supports it on
this CPU); torch's weight-only int8 (per-row scale) and int4 (groups of 32) with bf16
activations, the formats llm_mars.llm.weights uses; and, for reference only, fbgemm's dynamic
int8 linear (``torch.ao`` ``quantize_dynamic``), which also rounds the *activations* to 8 bits
and so is not what the engine may use (the LoRA and the activations stay at higher precision).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AVX2_ENV = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def model_matrices() -> tuple[list[torch.Tensor], torch.Tensor]:
    """The layer matrices of the bundled model, fused as the engine fuses them, and the LM head."""
    from safetensors.torch import load_file

    from llm_mars.llm.model_store import resolve_model_dir

    state = load_file(str(resolve_model_dir() / "model.safetensors"))
    layers = []
    i = 0
    while f"model.layers.{i}.self_attn.q_proj.weight" in state:
        p = f"model.layers.{i}."
        layers.append(torch.cat([state[p + f"self_attn.{n}_proj.weight"] for n in "qkv"]))
        layers.append(state[p + "self_attn.o_proj.weight"])
        layers.append(torch.cat([state[p + f"mlp.{n}_proj.weight"] for n in ("gate", "up")]))
        layers.append(state[p + "mlp.down_proj.weight"])
        i += 1
    return [w.float().contiguous() for w in layers], state["model.embed_tokens.weight"].float()


def kernels(kernel_set) -> dict:
    """name -> (prepare(weight) -> object, run(object, x) -> y, eligible)."""
    from llm_mars.llm.weights import Int4Weight, Int8Weight

    found = {
        "fp32 F.linear": (lambda w: w, lambda w, x: F.linear(x, w), True),
        "oneDNN fp32 packed": (lambda w: torch.ops.mkldnn._reorder_linear_weight(w, 1),
                               lambda p, x: torch.ops.mkldnn._linear_pointwise(x, p, None, "none", [], ""),
                               "mkldnn_fp32" in kernel_set),
        "oneDNN bf16 packed": (lambda w: torch.ops.mkldnn._reorder_linear_weight(w.bfloat16(), 1),
                               lambda p, x: torch.ops.mkldnn._linear_pointwise(
                                   x.bfloat16(), p, None, "none", [], ""),
                               "mkldnn_bf16" in kernel_set),
        "int8 weight-only (bf16 act)": (lambda w: Int8Weight.quantize(w), lambda q, x: q.kernel_product(x),
                                        "int8" in kernel_set),
        "int4 weight-only (bf16 act)": (lambda w: Int4Weight.quantize(w), lambda q, x: q.kernel_product(x),
                                        "int4" in kernel_set),
    }
    from torch import nn

    def dynamic(w):
        lin = nn.Linear(w.shape[1], w.shape[0], bias=False)
        lin.weight.data = w
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.ao.quantization.quantize_dynamic(nn.Sequential(lin), {nn.Linear}, dtype=torch.qint8)

    found["fbgemm dynamic int8 (int8 act; reference)"] = (dynamic, lambda m, x: m(x), True)
    return {name: entry for name, entry in found.items() if entry[2]}


def measure(args) -> None:
    from llm_mars.llm.weights import cpu_kernels

    torch.set_num_threads(args.threads)
    kernel_set = cpu_kernels()
    layers, head = model_matrices()
    rows = [int(r) for r in args.rows.split(",")]
    print(f"torch {torch.__version__}, capability {kernel_set.capability}, "
          f"threads {torch.get_num_threads()}, kernels found: {kernel_set.describe()}")
    print(f"{len(layers) // 4} layers x 4 matrices + LM head {tuple(head.shape)}; "
          f"best of {args.repeats}, ms per step (all matrices once)")
    found = kernels(kernel_set)
    prepared = {}
    for name, (prepare, run, _) in found.items():
        prepared[name] = ([prepare(w) for w in layers], prepare(head), run)
    header = f"{'kernel':<44}" + "".join(f"{r:>9}" for r in rows)
    print(header + "   (rows)")
    results: dict[str, dict[int, float]] = {name: {} for name in found}
    for r in rows:
        x_in = {k: torch.randn(r, layers[k].shape[1]) for k in range(4)}
        x_head = torch.randn(r, head.shape[1])
        for _ in range(args.repeats):
            for name, (mats, head_mat, run) in prepared.items():
                start = time.perf_counter()
                for k, m in enumerate(mats):
                    run(m, x_in[k % 4])
                run(head_mat, x_head)
                elapsed = (time.perf_counter() - start) * 1e3
                results[name][r] = min(results[name].get(r, float("inf")), elapsed)
    for name in found:
        print(f"{name:<44}" + "".join(f"{results[name][r]:9.1f}" for r in rows))
    best_dense = {r: min(results[n][r] for n in found if "weight-only" not in n and "reference" not in n)
                  for r in rows}
    if "int4 weight-only (bf16 act)" in results:
        faster = [r for r in rows if results["int4 weight-only (bf16 act)"][r] < best_dense[r]]
        print(f"int4 weight-only beats the best dense fp32/bf16 kernel at rows: {faster}")
    print(f"load average {os.getloadavg()[0]:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="1,2,4,8,16,32,64,256")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--as-avx2", action="store_true",
                        help="run in a child process limited to AVX2 (ATEN_CPU_CAPABILITY=avx2, "
                             "ONEDNN_MAX_CPU_ISA=AVX2)")
    args = parser.parse_args()
    from llm_mars.llm.machine import this_machine

    print(f"machine: {this_machine().describe()}", flush=True)
    if args.as_avx2 and os.environ.get("ATEN_CPU_CAPABILITY") != "avx2":
        argv = [a for a in sys.argv[1:] if a != "--as-avx2"]
        return subprocess.call([sys.executable, __file__, *argv], env={**os.environ, **AVX2_ENV})
    measure(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
