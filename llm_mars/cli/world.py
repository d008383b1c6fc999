"""CLI: ``llm-mars run-tree PLAN.xml [--json] [--png FIELD.png] [--timeline] [--seed N]``.

Runs a plan on the simulated field from the initial state until both trees finish or the
match ends, and prints the final state: a readable summary, or with ``--json`` exactly the
state JSON on stdout (anything else then goes to stderr). An invalid plan prints the
validation report on stderr and exits 1.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "run-tree", help="run a plan on the simulated Eurobot field",
        description="Run a plan (BT.CPP v4 XML, one tree per robot) on the simulated field "
                    "from the initial state until both trees finish or the 100 s match ends; "
                    "print the final state.")
    run.add_argument("plan", type=Path, metavar="PLAN.xml")
    run.add_argument("--json", action="store_true",
                     help="print exactly the state JSON on stdout, nothing else")
    run.add_argument("--png", type=Path, metavar="FIELD.png",
                     help="draw the final field with each robot's path into this PNG")
    run.add_argument("--timeline", action="store_true",
                     help="print one line per finished skill with its simulated times")
    run.add_argument("--seed", type=int, default=0,
                     help="random seed of the simulator (manipulation times, faults)")
    run.add_argument("--dt", type=float, default=0.1, help="simulation step in seconds")
    run.set_defaults(handler=_run_tree)


def _run_tree(args: argparse.Namespace) -> int:
    from llm_mars.bt.safe_xml import read_document
    from llm_mars.errors import LlmMarsError, PlanValidationError
    from llm_mars.session.match import run_plan

    try:
        result = run_plan(read_document(args.plan), seed=args.seed, dt=args.dt)
    except OSError as exc:
        raise LlmMarsError(f"cannot read {args.plan}: {exc.strerror}") from None
    except PlanValidationError as exc:
        count = len(exc.problems)
        print(f"{args.plan}: invalid plan, {count} problem{'s' if count != 1 else ''}",
              file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    notes = sys.stderr if args.json else sys.stdout
    if args.json:
        print(json.dumps(result.state, indent=2))
    else:
        print(summary(result.state))
    if args.timeline:
        print(timeline_text(result.timeline), file=notes)
    if args.png:
        from llm_mars.world.picture import save_png

        save_png(result.state, args.png, result.world.paths(), title=args.plan.name)
        print(f"field picture written to {args.png}", file=notes)
    return 0


def timeline_text(records: Iterable[Any]) -> str:
    """One line per finished skill: start and end in simulated seconds, robot, history entry."""
    lines = ["timeline (simulated seconds):"]
    for record in records:
        lines.append(f"  {record.start_s:6.1f} -> {record.end_s:6.1f}  {record.robot}  "
                     f"{record.entry}")
    return "\n".join(lines)


def summary(state: Mapping[str, Any]) -> str:
    """A readable account of a state JSON: robots, field, score."""
    score = state["score"]
    lines = [f"t = {state['time_s']:.1f} s" + ("  (match over)" if state.get("match_over") else ""),
             ""]
    for robot, info in state["robots"].items():
        carrying = info["carrying"]
        where = info["location"] or f"between places ({info['x_mm']}, {info['y_mm']})"
        lines.append(f"{robot}: tree {info['tree_status']}, at {where}, carries "
                     f"{', '.join(carrying['stacks']) or 'no stacks'} and "
                     f"{carrying['cherries']} cherries"
                     + (", did the funny action" if info["funny_action"] else ""))
        for entry in info["history"]:
            lines.append(f"    {entry}")
    lines.append("")
    for plate, cakes in state["plates"].items():
        if cakes:
            shown = "; ".join("/".join(c["layers"]) + (" + cherry" if c["cherry"] else "")
                              for c in cakes)
            lines.append(f"{plate}: {shown}")
    taken = [f"{color} {quadrant}" for quadrant, stacks in state["quadrants"].items()
             for color, left in stacks.items() if not left]
    lines.append(f"stacks taken: {', '.join(taken) or 'none'}")
    lines.append("holders: " + ", ".join(f"{h} {n}" for h, n in state["holders"].items()))
    lines.append(f"basket: {state['basket']} cherries")
    lines.append(f"score: {score['total']} (cakes {score['cakes']}, basket {score['basket']}, "
                 f"end zone {score['end_zone']}, funny {score['funny']})")
    return "\n".join(lines)
