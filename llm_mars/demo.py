"""``llm-mars demo``: the bundled model answers a sample operator command, with timings.

This is the first stage of the demo (issue 2): it proves the model store, the offline load and
generation on this machine. The full two-robot ROS demo replaces it once the nodes exist.
"""
from __future__ import annotations

import argparse

SAMPLE_COMMAND = ("Robot 1, bring the brown cake from quadrant 2 to plate 3; "
                  "robot 2, fill the basket with cherries.")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="run the bundled model on a sample operator command")
    parser.add_argument("--command", default=SAMPLE_COMMAND, help="operator command to send")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--model", default=None, help="Hugging Face model folder (default: bundled)")
    parser.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    import time

    import torch

    from llm_mars.llm.model_store import load_model

    loaded = load_model(args.model)
    print(f"model: {loaded.path}")
    print(f"  {loaded.num_parameters / 1e6:.1f} M parameters, {loaded.dtype}, "
          f"loaded in {loaded.load_seconds:.2f} s")
    messages = [
        {"role": "system", "content": "You coordinate two Eurobot robots. Reply briefly."},
        {"role": "user", "content": args.command},
    ]
    tokenizer = loaded.tokenizer
    input_ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                              return_tensors="pt", return_dict=True)["input_ids"]
    print(f"operator: {args.command}")
    start = time.perf_counter()
    with torch.inference_mode():
        output = loaded.model.generate(input_ids, max_new_tokens=args.max_new_tokens,
                                       do_sample=False, pad_token_id=tokenizer.eos_token_id)
    seconds = time.perf_counter() - start
    new_tokens = output[0, input_ids.shape[1]:]
    print(f"model: {tokenizer.decode(new_tokens, skip_special_tokens=True).strip()}")
    print(f"  generated {len(new_tokens)} tokens in {seconds:.2f} s "
          f"({len(new_tokens) / seconds:.1f} tokens/s, prompt {input_ids.shape[1]} tokens)")
    return 0
