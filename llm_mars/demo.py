"""``llm-mars demo``: the whole system on the simulated field, driven by the bundled model.

Starts the simulator, an executor per robot, the commander and the LLM server (with the
shipped bt and qa adapters) in one process and in a ROS domain of its own, then plays a
scripted operator session in the style of recognised speech: commands for one robot and for
both, with questions in between. It prints each plan as a tree, the robots' progress and the
answers, writes a picture of the field and records the session as a rosbag2 (MCAP) bag that
``llm-mars replay`` can reproduce.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

SESSION: tuple[str, ...] = (
    "robot one take the brown yellow and pink cakes from quadrant one and put them sorted on plate one",
    "where is robot one",
    "robot two collect cherries from holder two and drop them in the basket",
    "how many cherries are in the basket",
    "robot 1 put a cherry on plate one",
    "both robots go home and do the funny action",
    "what is the score",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="run the two-robot system on a scripted session")
    parser.add_argument("--out", type=Path, default=Path("out/demo"),
                        help="folder for the bag and the field picture (default: out/demo)")
    parser.add_argument("--time-scale", type=float, default=4.0,
                        help="simulated seconds per wall second (default 4)")
    parser.add_argument("--model", help="Hugging Face model folder (default: the bundled model)")
    parser.add_argument("--adapters", type=Path, help="folder with bt/ and qa/ adapters")
    parser.set_defaults(handler=_demo)


def _print_response(text: str, response) -> None:
    print(f"\noperator> {text}")
    label = {"plan": "plan", "answer": "answer", "reply": "reply", "stopped": "stopped",
             "error": "ERROR"}[response.kind]
    body = response.text.replace("\n", "\n    ")
    print(f"  [{label}] {body}")


def _demo(args: argparse.Namespace) -> int:
    from llm_mars.nodes.system import isolate_ros_domain

    isolate_ros_domain()
    from llm_mars.assistant import Assistant
    from llm_mars.nodes.system import Operator, System, SystemConfig
    from llm_mars.world.commands import summary
    from llm_mars.world.picture import save_png

    args.out.mkdir(parents=True, exist_ok=True)
    bag = args.out / f"session_{time.strftime('%Y%m%d_%H%M%S')}"
    start = time.perf_counter()
    assistant = Assistant.load(args.model, args.adapters)
    print(f"model and adapters loaded in {time.perf_counter() - start:.1f} s "
          f"(adapters: {', '.join(assistant.engine.adapters) or 'none'})")
    system = System(assistant, SystemConfig(time_scale=args.time_scale))
    operator = Operator(system, bag)
    try:
        operator.wait_ready()
        seen = 0
        for i, text in enumerate(SESSION):
            operator.play([(f"demo{i + 1}", text)], _print_response)
            for response in operator.responses[seen:]:
                if response.kind == "progress":
                    print(f"  [robots] {response.text}")
            seen = len(operator.responses)
        state = operator.state
        paths = system.simulator.world.paths()
    finally:
        operator.close_bag()
        system.close()
        assistant.close()
    picture = save_png(state, args.out / "field.png", paths, title="llm-mars demo")
    print("\nfinal state:")
    print(summary(state))
    print(f"field picture: {picture}")
    print(f"session bag:   {bag}  (replay: llm-mars replay {bag})")
    return 0
