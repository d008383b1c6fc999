"""The ``llm-mars`` command: the command-line shells, one module per sub-command family.

Like the ROS nodes (:mod:`llm_mars.nodes`), these modules only parse arguments and call the
core; each has a ``register(subparsers)`` function. Heavy imports (torch, rclpy) happen inside
the handlers, so ``llm-mars skills`` stays fast. Nothing outside this package imports it.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from llm_mars.errors import LlmMarsError

# Modules that contribute sub-commands, in help order.
COMMAND_MODULES: tuple[str, ...] = (
    "llm_mars.cli.bt",
    "llm_mars.cli.world",
    "llm_mars.cli.model",
    "llm_mars.cli.serve",
    "llm_mars.cli.session",
    "llm_mars.cli.training",
    "llm_mars.cli.evaluation",
    "llm_mars.cli.speech",
    "llm_mars.cli.demo",
    "llm_mars.cli.replay",
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

