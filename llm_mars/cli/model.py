"""``llm-mars model ...``: inspect (and if needed rebuild) the base model."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    from llm_mars.llm.model_store import PRECISIONS

    model = subparsers.add_parser("model", help="the base language model")
    model_sub = model.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    info = model_sub.add_parser(
        "info", help="print the model path, parameter count, dtype and load time")
    info.add_argument("--rebuild", action="store_true",
                      help="convert the bundled GGUF again (repairs a corrupt cache)")
    info.add_argument("--model", metavar="PATH", default=None,
                      help="a Hugging Face model folder (default: $LLM_MARS_MODEL or the bundled "
                           "SmolLM2-135M-Instruct)")
    info.add_argument("--dtype", choices=PRECISIONS, default=None,
                      help="the engine's precision (default: $LLM_MARS_DTYPE, else int4 on the "
                           "CPU and bfloat16 on a GPU)")
    info.set_defaults(handler=_info)


def _info(args: argparse.Namespace) -> int:
    from transformers.utils import logging as hf_logging

    from llm_mars.llm.machine import this_machine
    from llm_mars.llm.model_store import check_precision, load_model
    from llm_mars.llm.weights import cpu_kernels

    hf_logging.disable_progress_bar()  # one line per fact; a bar per load is noise here

    precision = check_precision(args.dtype)
    loaded = load_model(args.model, dtype=precision, rebuild=args.rebuild)
    print(f"path:        {loaded.path}")
    print(f"parameters:  {loaded.num_parameters:,}")
    print(f"precision:   {precision}" + (" (base weights int4 in groups of 32, LM head int8, "
                                         "activations fp32)" if precision == "int4" else ""))
    print(f"cpu:         {this_machine().describe()}")
    print(f"cpu kernels: {cpu_kernels().describe()}")
    print(f"load time:   {loaded.load_seconds:.2f} s (transformers, {str(loaded.dtype).removeprefix('torch.')})")
    return 0
