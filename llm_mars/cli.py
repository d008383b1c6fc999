"""The ``llm-mars`` command: one sub-command family per area, each registered by its module.

Each area keeps its sub-commands in its own ``commands`` module with a
``register(subparsers)`` function; heavy imports (torch, rclpy) happen inside the handlers,
so ``llm-mars skills`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from llm_mars.errors import LlmMarsError

# Modules that contribute sub-commands, in help order.
COMMAND_MODULES: tuple[str, ...] = (
    "llm_mars.bt.commands",
    "llm_mars.world.commands",
    "llm_mars.llm.commands",
    "llm_mars.llm.serve_commands",
    "llm_mars.session.commands",
    "llm_mars.training.commands",
    "llm_mars.speech.commands",
    "llm_mars.demo",
    "llm_mars.replay",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llm-mars",
        description="LLM-driven behavior trees for a two-robot Eurobot team.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except LlmMarsError as exc:
        print(f"llm-mars: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
