"""``llm-mars train bt|qa|describe``: the adapters' training (or, with ``--average``, the
average of adapters trained on several seeds)."""
from __future__ import annotations

import argparse
from dataclasses import replace
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
    train.add_argument("--seed", type=int, default=None,
                       help="train this seed alone, whatever the config's seed or seeds (to "
                            "train a config's seeds side by side, then --average them)")
    train.add_argument("--average", metavar="DIR", nargs="+", default=None,
                       help="train nothing: write to --out the average of these adapter "
                            "folders' weight changes (the same adapter trained on several "
                            "seeds; llm_mars/training/soup.py)")
    train.add_argument("--rank", metavar="N", type=int, default=None,
                       help="with --average: keep the N strongest directions of each layer's "
                            "average (default: all, the sum of the members' ranks)")
    train.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    if args.average:
        return _average(args)
    if args.rank is not None:
        raise SystemExit("llm-mars train: --rank is for --average")
    from llm_mars.training.train import default_config_path, load_config, train_adapter

    config = load_config(args.config or default_config_path(args.adapter))
    if config.adapter != args.adapter:
        from llm_mars.errors import TrainingConfigError

        raise TrainingConfigError(config.source, f"trains the {config.adapter!r} adapter, "
                                                 f"not {args.adapter!r}")
    if args.seed is not None:
        if len(config.seeds) > 1 and not args.out:
            raise SystemExit("llm-mars train: --seed trains one seed of an averaged adapter; "
                             "give it its own --out (then --average the seeds' folders)")
        config = replace(config, seeds=(args.seed,))
    out = Path(args.out) if args.out else _adapters_dir() / args.adapter
    for seed, stats in zip(config.seeds, train_adapter(config, out, model=args.model,
                                                       log=lambda m: print(m, flush=True))):
        print(f"{args.adapter} seed {seed}: {stats.steps_done}/{stats.steps_planned} steps, "
              f"{stats.seconds / 60:.1f} min, {stats.tokens_per_second:.0f} tokens/s, "
              f"final loss {stats.final_loss}" + (" (stopped at the time budget)"
                                                  if stats.stopped_early else ""))
    return 0


def _average(args: argparse.Namespace) -> int:
    from llm_mars.errors import AdapterMismatchError
    from llm_mars.llm.adapter_meta import read_adapter_meta
    from llm_mars.training.soup import average_adapters
    from llm_mars.training.train import MAX_ADAPTER_BYTES

    if args.config or args.model or args.seed is not None:
        raise SystemExit("llm-mars train: --average trains nothing; it takes no --config, "
                         "--model or --seed")
    for folder in args.average:
        if read_adapter_meta(folder).adapter != args.adapter:
            raise AdapterMismatchError(Path(folder), f"does not hold the {args.adapter!r} adapter")
    out = Path(args.out) if args.out else _adapters_dir() / args.adapter
    average_adapters(args.average, out, rank=args.rank, max_bytes=MAX_ADAPTER_BYTES)
    print(f"{args.adapter}: the average of {len(args.average)} adapters written to {out}")
    return 0


def _adapters_dir() -> Path:
    from llm_mars.llm.adapter_meta import default_adapters_dir

    return default_adapters_dir()
