"""``llm-mars replay BAG``: play a recorded session into a fresh system and compare
(:mod:`llm_mars.replay`)."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("replay", help="replay a recorded session and compare")
    parser.add_argument("bag", type=Path)
    parser.add_argument("--time-scale", type=float, default=4.0)
    parser.add_argument("--model", help="Hugging Face model folder (default: the bundled model)")
    parser.add_argument("--adapters", type=Path,
                        help="folder with bt/, qa/ (and describe/) adapters")
    parser.set_defaults(handler=_replay)


def _replay(args: argparse.Namespace) -> int:
    from llm_mars.system import isolate_ros_domain

    isolate_ros_domain()
    from llm_mars.assistant import Assistant
    from llm_mars.replay import load_session, replay

    load_session(args.bag)  # a damaged bag fails before the model loads
    assistant = Assistant.load(args.model, args.adapters)
    try:
        report = replay(args.bag, assistant, args.time_scale)
    finally:
        assistant.close()
    for line in report.notes + report.differences:
        print(line)
    print(f"replay of {args.bag}: {report.compared} items compared, "
          f"{len(report.differences)} differences")
    return 0 if report.ok else 1
