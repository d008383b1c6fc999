"""``llm-mars command`` and ``llm-mars ask``: the full pipeline from the command line.

``command`` runs operator commands through the bt adapter (constrained decoding, validation)
and the simulator, each to completion, from the initial field, and prints the final state
JSON. A command answered with a reply leaves the world as it was; the reply goes under
``"replies"``. ``--batch FILE`` reads one session per line (commands separated by `` || ``)
and prints one state JSON per line.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

SESSION_SEPARATOR = " || "


def register(subparsers: argparse._SubParsersAction) -> None:
    command = subparsers.add_parser("command", help="run operator commands on the simulated field")
    command.add_argument("texts", nargs="*", metavar="TEXT", help="commands, run in turn")
    command.add_argument("--batch", type=Path, help="one session per line, commands joined by ' || '")
    command.add_argument("--json", action="store_true", help="print the state JSON only")
    command.add_argument("--seed", type=int, default=0)
    _model_options(command)
    command.set_defaults(handler=_command)

    ask = subparsers.add_parser("ask", help="answer a question about a state with the qa adapter")
    ask.add_argument("question")
    ask.add_argument("--state", type=Path, required=True, help="state JSON file")
    _model_options(ask)
    ask.set_defaults(handler=_ask)


def _model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="Hugging Face model folder (default: the bundled model)")
    parser.add_argument("--adapters", type=Path,
                        help="folder with bt/, qa/ (and describe/) adapters")


def _assistant(args: argparse.Namespace):
    from llm_mars.assistant import Assistant

    return Assistant.load(args.model, args.adapters)


def _command(args: argparse.Namespace) -> int:
    from llm_mars.errors import LlmMarsError

    if bool(args.texts) == bool(args.batch):
        raise SystemExit("llm-mars command: give either TEXT... or --batch FILE")
    if args.batch:
        try:
            lines = args.batch.read_text().splitlines()
        except OSError as exc:
            raise LlmMarsError(f"{args.batch}: {exc.strerror}") from None
        sessions = [[c.strip() for c in line.split(SESSION_SEPARATOR.strip()) if c.strip()]
                    for line in lines if line.strip()]
    else:
        sessions = [args.texts]
    from llm_mars.session.match import run_session

    assistant = _assistant(args)
    try:
        for session in sessions:
            state = run_session(assistant, session, args.seed)
            if args.json or args.batch:
                print(json.dumps(state), flush=True)
            else:
                _print_summary(session, state)
    finally:
        assistant.close()
    return 0


def _print_summary(commands: list[str], state: dict) -> None:
    from llm_mars.cli.world import summary

    for text in commands:
        print(f"> {text}")
    for reply in state["replies"]:
        print(f"reply: {reply}")
    for error in state.get("errors", []):
        print(f"error: {error['error']}")
    print(summary(state))


def _ask(args: argparse.Namespace) -> int:
    from llm_mars.errors import LlmMarsError

    try:
        state = json.loads(args.state.read_text())
    except OSError as exc:
        raise LlmMarsError(f"{args.state}: {exc.strerror}") from None
    except ValueError as exc:
        raise LlmMarsError(f"{args.state}: not a state JSON ({exc})") from None
    if not isinstance(state, dict) or not isinstance(state.get("robots"), dict):
        raise LlmMarsError(f"{args.state}: not a state JSON (no robots)")
    assistant = _assistant(args)
    try:
        print(assistant.answer(args.question, state).text)
    finally:
        assistant.close()
    return 0
