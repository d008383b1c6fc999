"""A quick look at what an adapter learnt: plain Hugging Face ``generate`` (greedy, no
grammar) with the PEFT adapter on held-out generated examples.

This is a training-time check, independent of the serving engine: it reports how often the
raw output parses (bt) and how often it equals the target exactly (bt and qa). The real
evaluation is ``llm-mars eval`` on the hand-written development set.

    python -m llm_mars.training.selfcheck bt models/adapters/bt --n 20
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

from llm_mars.llm.requests import ADAPTERS


@dataclass
class SelfCheck:
    n: int = 0
    exact: int = 0
    parsed: int = 0  # bt: outputs that parse as a plan or reply
    seconds: float = 0.0
    misses: list[tuple[str, str, str]] | None = None  # (input, expected, got)


def held_out_pairs(adapter: str, n: int, seed: int, exclude_seed: int, exclude_count: int):
    """(user text, expected answer) pairs from a different seed, minus any training input."""
    from llm_mars.llm.prompts import bt_messages

    if adapter == "bt":
        from llm_mars.training.plan_data import generate_plan_examples

        train = {e.command.lower() for e in generate_plan_examples(exclude_count, exclude_seed)}
        examples = generate_plan_examples(n, seed, exclude=train)
        return [(bt_messages(e.command)[-1]["content"], e.output) for e in examples]
    from llm_mars.training.query_data import held_out_examples, query_user_text

    examples = held_out_examples(n, seed)
    return [(query_user_text(e.question, e.previous), e.query) for e in examples]


def run_self_check(adapter: str, adapter_dir: Path, pairs, max_new_tokens: int = 384,
                   threads: int = 1) -> SelfCheck:
    import torch
    from peft import PeftModel

    from llm_mars.llm.model_store import load_model
    from llm_mars.llm.adapter_meta import adapter_messages

    torch.set_num_threads(threads)
    loaded = load_model(dtype="float32")
    tok = loaded.tokenizer
    model = PeftModel.from_pretrained(loaded.model, str(adapter_dir)).eval()
    result = SelfCheck(misses=[])
    start = time.perf_counter()
    for user, expected in pairs:
        prompt = tok.apply_chat_template(adapter_messages(adapter_dir, user), tokenize=False,
                                         add_generation_prompt=True)
        ids = tok(prompt, return_tensors="pt", add_special_tokens=False)
        with torch.no_grad():
            out = model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False,
                                 eos_token_id=tok.eos_token_id, pad_token_id=tok.eos_token_id)
        got = tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
        result.n += 1
        if adapter == "bt":
            from llm_mars.bt.parser import parse_bt_output
            from llm_mars.errors import PlanValidationError

            try:
                parse_bt_output(got)
                result.parsed += 1
            except PlanValidationError:
                pass
        if got.strip() == expected.strip():
            result.exact += 1
        else:
            result.misses.append((user, expected, got))
    result.seconds = time.perf_counter() - start
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("adapter", choices=ADAPTERS)
    parser.add_argument("adapter_dir", type=Path)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--seed", type=int, default=999)
    parser.add_argument("--show", type=int, default=5, help="misses to print")
    args = parser.parse_args(argv)
    import yaml

    train = yaml.safe_load((args.adapter_dir / "train.yaml").read_text())
    pairs = held_out_pairs(args.adapter, args.n, args.seed, int(train["data"]["seed"]),
                           int(train["data"]["examples"]))
    result = run_self_check(args.adapter, args.adapter_dir, pairs)
    print(f"{args.adapter}: {result.exact}/{result.n} exact"
          + (f", {result.parsed}/{result.n} parse" if args.adapter == "bt" else "")
          + f", {result.seconds / max(1, result.n):.1f} s per example")
    for user, expected, got in (result.misses or [])[:args.show]:
        print(f"--- input:\n{user}\n--- expected:\n{expected}\n--- got:\n{got}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
