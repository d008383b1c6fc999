"""``llm-mars train bt|qa|describe``: the adapters' training."""
from __future__ import annotations

import argparse
from pathlib import Path

from llm_mars.llm.requests import ADAPTER_NAMES


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser("train",
                                  help="train the bt, qa or describe LoRA adapter on this CPU")
    train.add_argument("adapter", choices=ADAPTER_NAMES)
    train.add_argument("--config", metavar="FILE", default=None,
                       help="training YAML (default: llm_mars/training/configs/ADAPTER.yaml)")
    train.add_argument("--out", metavar="DIR", default=None,
                       help="adapter folder to write (default: models/adapters/ADAPTER)")
    train.add_argument("--model", metavar="PATH", default=None,
                       help="base model folder (default: $LLM_MARS_MODEL or the bundled model)")
    train.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    from llm_mars.training.train import default_config_path, load_config, train_adapter

    config = load_config(args.config or default_config_path(args.adapter))
    if config.adapter != args.adapter:
        from llm_mars.errors import TrainingConfigError

        raise TrainingConfigError(config.source, f"trains the {config.adapter!r} adapter, "
                                                 f"not {args.adapter!r}")
    out = Path(args.out) if args.out else _adapters_dir() / args.adapter
    stats = train_adapter(config, out, model=args.model, log=lambda m: print(m, flush=True))
    print(f"{args.adapter}: {stats.steps_done}/{stats.steps_planned} steps, "
          f"{stats.seconds / 60:.1f} min, {stats.tokens_per_second:.0f} tokens/s, "
          f"final loss {stats.final_loss}" + (" (stopped at the time budget)"
                                              if stats.stopped_early else ""))
    return 0


def _adapters_dir() -> Path:
    from llm_mars.llm.adapter_meta import default_adapters_dir

    return default_adapters_dir()
