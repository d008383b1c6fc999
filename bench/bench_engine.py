"""Mixed bt/qa requests for both robots, arriving over time, served three ways in one run.

  (a) PEFT, one request at a time, ``set_adapter`` switching between requests;
  (b) PEFT mixed-adapter batches: ``generate(adapter_names=...)`` on whatever has arrived
      whenever the previous batch is done (static batching, left padding);
  (c) llm_mars.llm.engine: continuous batching, per-row multi-LoRA, per-adapter prefix cache.

All greedy, all on the same weights and adapters; the outputs are compared token by token.
Also measured: the engine's single-request decode step against the memory-bandwidth bound
(weight bytes read per step / measured copy bandwidth), the same step when a grammar allows a
few tokens (the LM head narrowed to them), and how many tokens jump-forward appends without
sampling on a ~100-token constrained plan.

    .venv/bin/python bench/bench_engine.py                 # default run (int4 engine, ~5 min)
    .venv/bin/python bench/bench_engine.py --dtype float32 --requests 8   # exact-equality run

With ``--dtype int4`` (the engine's default on the CPU) PEFT runs the same de-quantised weights
in fp32 (transformers has no int4 CPU path), so outputs may differ where fp32 and the int4
kernels' bf16 activations round differently.

Adapters: ``models/adapters/bt`` and ``models/adapters/qa`` where they exist (with the system
prompt each was trained with), otherwise random LoRA adapters (rank 16 on every linear layer),
made reproducibly with PEFT.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llm_mars.llm.engine import Engine  # noqa: E402
from llm_mars.llm.llama import CompactLlama, RowSpec, StepInput  # noqa: E402
from llm_mars.llm.model_store import load_model, quantized_cache_file  # noqa: E402
from llm_mars.llm.prompts import bt_messages, qa_messages  # noqa: E402
from llm_mars.llm.requests import GenerationRequest, SamplingParams  # noqa: E402
from llm_mars.llm.scheduler import tokenize_request  # noqa: E402
from llm_mars.llm.weights import ENV_DISABLE  # noqa: E402

COMMANDS = [
    "Robot 1, bring the brown cake from quadrant 2 to plate 3.",
    "Robot 2, fill the basket with cherries from holder 1.",
    "Robot 1, take the pink stack from quadrant 4 and put it on plate 5; robot 2, go home.",
    "Robot 2, build legendary cakes from quadrant 1 on plate 2.",
    "Both robots go home and do the funny action.",
    "Robot 1, put a cherry on every cake on plate 3.",
]
QUESTIONS = [
    ("Where is robot 2 and what is it doing?",
     "robot1: at plate_3, carrying brown stack, tree RUNNING (PlaceCakes 3).\n"
     "robot2: at holder_4, carrying 6 cherries, tree RUNNING (CollectCherries 4).\nscore 18"),
    ("How many cherries are in the basket?",
     "robot1: at home, carrying nothing, tree IDLE.\nrobot2: at basket, carrying 0 cherries, "
     "tree SUCCESS.\nbasket: 10 cherries. score 46"),
    ("What is robot 1 carrying?",
     "robot1: between quadrant_2 and plate_3, carrying yellow and pink stacks, tree RUNNING.\n"
     "robot2: at home, tree IDLE.\nscore 3"),
]


GRAMMAR_TOKENS = torch.tensor([13, 28, 198, 309, 1011, 2036, 4480, 30001])
"""What a plan grammar typically allows at a sampled step (median 6 tokens, never more than
100 on dev commands): the LM head multiplies by those rows only."""


@dataclass(frozen=True)
class Item:
    arrival_s: float
    adapter: str
    messages: list
    max_new_tokens: int


def workload(n: int, mean_gap_s: float, seed: int, bt_tokens: int, qa_tokens: int) -> list[Item]:
    rng = random.Random(seed)
    items, t = [], 0.0
    for i in range(n):
        if i % 2 == 0:
            items.append(Item(t, "bt", bt_messages(COMMANDS[(i // 2) % len(COMMANDS)]), bt_tokens))
        else:
            question, state = QUESTIONS[(i // 2) % len(QUESTIONS)]
            items.append(Item(t, "qa", qa_messages(question, state), qa_tokens))
        t += rng.expovariate(1.0 / mean_gap_s)
    return items


@dataclass
class Run:
    name: str
    outputs: list[list[int]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    makespan_s: float = 0.0

    @property
    def tokens(self) -> int:
        return sum(len(o) for o in self.outputs)

    def row(self, baseline: "Run | None") -> str:
        tps = self.tokens / self.makespan_s
        lat = sorted(self.latencies)
        p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
        ratio = f"{tps / (baseline.tokens / baseline.makespan_s):6.2f}x" if baseline else "      "
        return (f"{self.name:<34} {self.tokens:6d} {self.makespan_s:8.1f} {tps:8.1f} {ratio} "
                f"{statistics.median(lat):7.2f} {p95:7.2f}")


# --- adapters ---------------------------------------------------------------------------------


def adapter_folders(hf_model, workdir: Path, rank: int, use_trained: bool = True
                    ) -> tuple[dict[str, Path], str]:
    """``models/adapters/<name>`` where trained (and ``use_trained``), else a random rank-``rank``
    LoRA on every linear layer (reproducible: seeded), made with PEFT."""
    from peft import LoraConfig, get_peft_model

    folders, kinds = {}, []
    for seed, name in enumerate(("bt", "qa")):
        trained = ROOT / "models" / "adapters" / name
        if use_trained and (trained / "adapter_model.safetensors").is_file():
            folders[name] = trained
            kinds.append(f"{name} trained")
            continue
        torch.manual_seed(1000 + seed)
        peft = get_peft_model(copy.deepcopy(hf_model).float(), LoraConfig(
            r=rank, lora_alpha=2 * rank, target_modules="all-linear", init_lora_weights="gaussian"))
        with torch.no_grad():  # gaussian init leaves B = 0: give each adapter a real effect
            for pname, param in peft.named_parameters():
                if "lora_B" in pname:
                    param.normal_(0, 0.01)
        folders[name] = workdir / name
        peft.save_pretrained(folders[name])
        kinds.append(f"{name} random rank-{rank} LoRA on all linear layers")
    return folders, ", ".join(kinds)


def with_adapter_system_prompt(messages: list, folder: Path) -> list:
    """Use the system prompt an adapter was trained with (``llm_mars_adapter.json``), if any."""
    meta = folder / "llm_mars_adapter.json"
    if meta.is_file():
        prompt = json.loads(meta.read_text()).get("system_prompt")
        if prompt:
            return [{"role": "system", "content": prompt}, *messages[1:]]
    return messages


def peft_with(hf_model, folders):
    from peft import PeftModel

    model = PeftModel.from_pretrained(hf_model, folders["bt"], adapter_name="bt")
    model.load_adapter(folders["qa"], adapter_name="qa")
    return model.eval()


# --- the three systems ------------------------------------------------------------------------


def _strip(ids: list[int], eos: set[int], limit: int) -> list[int]:
    ids = ids[:limit]
    for i, t in enumerate(ids):
        if t in eos:
            return ids[:i]
    return ids


def run_sequential(peft, prompts, items, eos) -> Run:
    run = Run("(a) PEFT one at a time, set_adapter")
    start = time.monotonic()
    for prompt, item in zip(prompts, items):
        wait = start + item.arrival_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        peft.set_adapter(item.adapter)
        ids = torch.tensor([prompt])
        with torch.inference_mode():
            out = peft.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                max_new_tokens=item.max_new_tokens, do_sample=False,
                                eos_token_id=sorted(eos), pad_token_id=min(eos))
        run.outputs.append(_strip(out[0, len(prompt):].tolist(), eos, item.max_new_tokens))
        run.latencies.append(time.monotonic() - start - item.arrival_s)
    run.makespan_s = time.monotonic() - start
    return run


def run_peft_batches(peft, prompts, items, eos) -> Run:
    run = Run("(b) PEFT mixed batches, adapter_names")
    outputs: dict[int, list[int]] = {}
    latencies: dict[int, float] = {}
    start, next_i = time.monotonic(), 0
    pad = min(eos)
    while next_i < len(items):
        now = time.monotonic() - start
        if items[next_i].arrival_s > now:
            time.sleep(items[next_i].arrival_s - now)
            now = time.monotonic() - start
        batch = [i for i in range(next_i, len(items)) if items[i].arrival_s <= now]
        next_i = batch[-1] + 1
        width = max(len(prompts[i]) for i in batch)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, i in enumerate(batch):  # left padding
            ids[row, width - len(prompts[i]):] = torch.tensor(prompts[i])
            mask[row, width - len(prompts[i]):] = 1
        with torch.inference_mode():
            out = peft.generate(input_ids=ids, attention_mask=mask,
                                adapter_names=[items[i].adapter for i in batch],
                                max_new_tokens=max(items[i].max_new_tokens for i in batch),
                                do_sample=False, eos_token_id=sorted(eos), pad_token_id=pad)
        done = time.monotonic() - start
        for row, i in enumerate(batch):
            outputs[i] = _strip(out[row, width:].tolist(), eos, items[i].max_new_tokens)
            latencies[i] = done - items[i].arrival_s
    run.outputs = [outputs[i] for i in range(len(items))]
    run.latencies = [latencies[i] for i in range(len(items))]
    run.makespan_s = time.monotonic() - start
    return run


def run_engine(engine, items, constraints: list[str | None] | None = None) -> Run:
    """``items`` submitted as they arrive; ``constraints``: each item's output constraint
    (default: free text)."""
    run = Run("(c) llm_mars engine")
    futures, start = [], time.monotonic()
    for item, constraint in zip(items, constraints or [None] * len(items)):
        wait = start + item.arrival_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        futures.append(engine.submit(GenerationRequest.chat(
            item.messages, item.adapter, SamplingParams(max_new_tokens=item.max_new_tokens),
            constraint=constraint)))
    results = [f.result() for f in futures]
    run.makespan_s = max(item.arrival_s + r.total_s for item, r in zip(items, results))
    run.outputs = [list(r.token_ids) for r in results]
    run.latencies = [r.total_s for r in results]
    return run


# --- decode step vs bandwidth, jump-forward --------------------------------------------------


def copy_bandwidth(trials: int = 15) -> float:
    """Bytes copied per second by a large tensor copy (best of ``trials``; 512 MiB, beyond caches)."""
    src = torch.randn(128 * 1024 * 1024)
    dst = torch.empty_like(src).fill_(1.0)
    best = float("inf")
    for _ in range(trials):
        t = time.perf_counter()
        dst.copy_(src)
        best = min(best, time.perf_counter() - t)
    return src.numel() * src.element_size() / best


def decode_step_ms(model: CompactLlama, context: int, adapter: int, steps: int = 40,
                   only_tokens: torch.Tensor | None = None) -> tuple[float, float]:
    """Median and fastest time of a single-request decode step at ``context`` tokens (the
    fastest is what the step costs when no other process takes the CPU away); with
    ``only_tokens``, as a grammar that allows only those tokens has the step run."""
    cache = model.new_cache(1, context + steps + 1)
    model.forward(StepInput.build([RowSpec(list(range(100, 100 + context)), 0, 0, adapter,
                                           logits=False)], 0), cache)
    times = []
    for i in range(steps):
        step = StepInput.build([RowSpec([500 + i], context + i, 0, adapter)], 1)
        t = time.perf_counter()
        model.forward(step, cache, only_tokens)
        times.append(time.perf_counter() - t)
    return statistics.median(times[5:]) * 1e3, min(times) * 1e3


def jump_forward_figures(engine, command: str, bt_folder: Path) -> list[str]:
    lines = []
    request = GenerationRequest.chat(with_adapter_system_prompt(bt_messages(command), bt_folder), "bt",
                                     SamplingParams(max_new_tokens=300), constraint="plan")
    engine.generate(request)  # compile the grammar and warm the prefix cache
    for jump in (True, False):
        engine.jump_forward = jump
        steps0 = engine.stats["steps"]
        result = engine.generate(request)
        steps = engine.stats["steps"] - steps0
        lines.append(f"  jump-forward {'on ' if jump else 'off'}: {result.output_tokens} plan tokens, "
                     f"{result.jump_forward_tokens} appended without sampling, {steps} model steps, "
                     f"{result.total_s:.2f} s, valid plan: {type(result.parsed).__name__}")
        if jump:
            plan_text = result.text
    engine.jump_forward = True
    for narrow in (True, False):  # the LM head narrowed to the grammar's tokens, or whole
        with whole_lm_head(not narrow):
            engine.generate(request)  # untimed: the kernel probes run again under the switch
            before = engine.stats["narrow_head_steps"]
            times = [engine.generate(request).total_s for _ in range(5)]
            narrowed = engine.stats["narrow_head_steps"] > before
        lines.append(f"  jump-forward on, LM head {'narrowed' if narrowed else 'whole   '}: median "
                     f"{statistics.median(times):.2f} s of 5 (best {min(times):.2f} s)")
    lines.append(f"  command: {command}\n  plan:\n" + "\n".join("    " + l for l in plan_text.splitlines()))
    return lines


@contextlib.contextmanager
def whole_lm_head(whole: bool = True):
    """Turn the narrowed LM head off (through its kernel probe's switch) while inside."""
    before = os.environ.get(ENV_DISABLE)
    if whole:
        os.environ[ENV_DISABLE] = ",".join(filter(None, [before, "int8_rows"]))
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV_DISABLE, None)
        else:
            os.environ[ENV_DISABLE] = before


# --- main -------------------------------------------------------------------------------------


def compare(runs: list[Run], items: list[Item], tokenizer) -> list[str]:
    """Every pair of systems, request by request; where outputs differ, where and how."""
    lines = []
    for j, run in enumerate(runs):
        for reference in runs[:j]:
            differ = [i for i, (a, b) in enumerate(zip(reference.outputs, run.outputs)) if a != b]
            lines.append(f"  {run.name[:3]} vs {reference.name[:3]}: "
                         f"{len(items) - len(differ)}/{len(items)} outputs identical")
            for i in differ:
                a, b = reference.outputs[i], run.outputs[i]
                at = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
                lines.append(f"    request {i} ({items[i].adapter}): first difference at output token "
                             f"{at} of {len(a)}: {tokenizer.decode(a[at:at + 4])!r} vs "
                             f"{tokenizer.decode(b[at:at + 4])!r}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dtype", default="int4", choices=("int4", "bfloat16", "float32"))
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--mean-gap", type=float, default=0.25, help="mean seconds between arrivals")
    parser.add_argument("--bt-tokens", type=int, default=64)
    parser.add_argument("--qa-tokens", type=int, default=32)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--random-adapters", action="store_true",
                        help="random adapters even where trained ones exist")
    parser.add_argument("--skip", default="", help="comma-separated systems to skip: a,b")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for all three systems (default: torch's for PEFT, "
                             "'auto' for the engine)")
    args = parser.parse_args(argv)
    from llm_mars.llm.machine import this_machine

    print(f"machine: {this_machine().describe()}", flush=True)
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)

    loaded = load_model(dtype=args.dtype)
    tokenizer, dtype = loaded.tokenizer, loaded.dtype
    workdir = Path(tempfile.mkdtemp(prefix="bench_engine_"))
    folders, adapter_kind = adapter_folders(loaded.model, workdir, args.rank,
                                            use_trained=not args.random_adapters)
    peft = peft_with(loaded.model, folders)
    items = [Item(it.arrival_s, it.adapter, with_adapter_system_prompt(it.messages, folders[it.adapter]),
                  it.max_new_tokens)
             for it in workload(args.requests, args.mean_gap, args.seed, args.bt_tokens, args.qa_tokens)]
    requests = [GenerationRequest.chat(it.messages, it.adapter) for it in items]
    prompts = [tokenize_request(tokenizer, r)[0] for r in requests]

    if args.dtype == "int4":
        compact = CompactLlama.from_folder(loaded.path, torch.float32,
                                           quantized_cache=quantized_cache_file(loaded.path))
    else:
        compact = CompactLlama.from_folder(loaded.path, dtype)
        compact.pack_for_cpu()
    engine = Engine(compact, tokenizer, adapters=folders, max_batch=16, max_seq_len=1024,
                    threads=args.threads or "auto")
    eos = set(engine.eos_token_ids)

    load = open("/proc/loadavg").read().split()[0] if Path("/proc/loadavg").exists() else "?"
    print(f"model {loaded.path.name}, engine {args.dtype} (PEFT {dtype}), torch threads {torch.get_num_threads()}, "
          f"load average {load} at start; adapters: {adapter_kind}")
    print(f"workload: {len(items)} requests (bt {sum(i.adapter == 'bt' for i in items)}, "
          f"qa {sum(i.adapter == 'qa' for i in items)}), arrivals over {items[-1].arrival_s:.1f} s, "
          f"prompt tokens bt {len(prompts[0])} / qa {len(prompts[1])}, "
          f"max new tokens bt {args.bt_tokens} / qa {args.qa_tokens}")
    warm = Item(0.0, "qa", items[1].messages, 4)  # one short request each, untimed
    run_sequential(peft, [prompts[1]], [warm], eos)
    engine.generate(GenerationRequest.chat(warm.messages, "qa", SamplingParams(max_new_tokens=4)))

    skip = set(args.skip.split(","))
    runs = []
    if "a" not in skip:
        runs.append(run_sequential(peft, prompts, items, eos))
    if "b" not in skip:
        runs.append(run_peft_batches(peft, prompts, items, eos))
    runs.append(run_engine(engine, items))

    print()
    print(f"{'system':<34} {'tokens':>6} {'time s':>8} {'tok/s':>8} {'vs (a)':>7} {'p50 s':>7} {'p95 s':>7}")
    for run in runs:
        print(run.row(runs[0] if run is not runs[0] else None))
    if len(runs) > 1:
        print(*compare(runs, items, tokenizer), sep="\n")
    if len(runs) == 3:
        c = runs[2].tokens / runs[2].makespan_s
        print(f"  engine throughput: {c / (runs[0].tokens / runs[0].makespan_s):.2f}x (a), "
              f"{c / (runs[1].tokens / runs[1].makespan_s):.2f}x (b)")

    stats, fixed = engine.stats, torch.get_num_threads()  # the keys are there when auto
    print(f"  engine threads at the end: {stats.get('threads', fixed)} for decode steps, "
          f"{stats.get('prefill_threads', fixed)} for big prefill steps "
          f"({'fixed' if args.threads else 'auto: chosen from measured step times'})")

    print("\nsingle-request decode step (engine model, context = bt prompt), per thread count:")
    context = len(prompts[0])
    default_threads = torch.get_num_threads()
    for threads in sorted({1, default_threads} if not args.threads else {args.threads}):
        torch.set_num_threads(threads)
        bandwidth = copy_bandwidth()
        for label, adapter in (("base", -1), ("bt adapter", 0)):
            median_ms, best_ms = decode_step_ms(compact, context, adapter)
            nbytes = compact.weight_bytes + (compact.lora_bytes(adapter) if adapter >= 0 else 0)
            bound_ms = nbytes / bandwidth * 1e3
            print(f"  {threads} thread{'s' if threads > 1 else ' '} {label:<10}: median {median_ms:6.2f} / "
                  f"best {best_ms:6.2f} ms per step; {nbytes / 1e6:.1f} MB weights / "
                  f"{bandwidth / 1e9:.1f} GB/s copy bandwidth = {bound_ms:.2f} ms bound; "
                  f"ratio median {median_ms / bound_ms:.2f}, best {best_ms / bound_ms:.2f}")
        narrowed = compact.narrow_head_steps
        median_ms, best_ms = decode_step_ms(compact, context, 0, only_tokens=GRAMMAR_TOKENS)
        how = "head narrowed" if compact.narrow_head_steps > narrowed else \
            "whole head: no exact narrow product for this head's format on this CPU"
        print(f"  {threads} thread{'s' if threads > 1 else ' '} bt adapter, a grammar allowing "
              f"{GRAMMAR_TOKENS.numel()} tokens ({how}): median {median_ms:6.2f} / best "
              f"{best_ms:6.2f} ms per step")
    torch.set_num_threads(default_threads)

    print("\njump-forward on a constrained plan (bt adapter, greedy):")
    print(*jump_forward_figures(engine, COMMANDS[2], folders["bt"]), sep="\n")
    engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
