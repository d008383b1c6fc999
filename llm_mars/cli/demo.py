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
    "robot one take three cherries from holder one and put one on each cake on plate one",
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
    parser.add_argument("--adapters", type=Path,
                        help="folder with bt/, qa/ (and describe/) adapters")
    parser.add_argument("--speech", action="store_true",
                        help="speak the session with espeak-ng and recognise it offline, then "
                             "speak the answers (WAV files in OUT/speech)")
    parser.set_defaults(handler=_demo)


def _print_response(text: str, response) -> None:
    print(f"\noperator> {text}")
    label = {"plan": "plan", "answer": "answer", "reply": "reply", "stopped": "stopped",
             "error": "ERROR"}[response.kind]
    body = response.text.replace("\n", "\n    ")
    print(f"  [{label}] {body}")


def _heard_session(out: Path) -> list[tuple[str, str, float | None]]:
    """The session spoken by espeak-ng (with faint noise) and recognised offline:
    (heard text, its confidence) per utterance; what was not caught is said so and skipped."""
    from llm_mars.speech.corpus import synthesize_all
    from llm_mars.speech.listener import decide
    from llm_mars.speech.recogniser import transcribe_file

    heard = []
    for i, spoken in enumerate(synthesize_all(list(SESSION), out / "speech" / "operator")):
        start = time.perf_counter()
        utterance, rejection = decide(transcribe_file(spoken.path), f"demo{i + 1}")
        took = time.perf_counter() - start
        if utterance is None:
            print(f"  [speech] {spoken.voice}: not caught ({rejection.text}), {took:.1f} s")
            continue
        print(f"  [speech] {spoken.voice} said {spoken.text!r}\n"
              f"           heard {utterance.text!r} (confidence {utterance.confidence:.2f}, "
              f"{took:.1f} s)")
        heard.append((utterance.id, utterance.text, utterance.confidence))
    return heard


def _speak_answers(responses, folder: Path) -> None:
    from llm_mars.speech.speaker import spoken_text
    from llm_mars.speech.synthesis import synthesize

    folder.mkdir(parents=True, exist_ok=True)
    for response in responses:
        text = spoken_text(response)
        if text:
            synthesize(text, folder / f"{response.id}.wav")


def _demo(args: argparse.Namespace) -> int:
    from llm_mars.system import isolate_ros_domain

    isolate_ros_domain()
    from llm_mars.assistant import Assistant
    from llm_mars.system import Operator, System, SystemConfig
    from llm_mars.cli.world import summary
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
        if args.speech:
            print("recognising the spoken session (Whisper tiny.en, offline)...")
            session = _heard_session(args.out)
        else:
            session = [(f"demo{i + 1}", text, None) for i, text in enumerate(SESSION)]
        for uid, text, confidence in session:
            source = {"source": "speech", "confidence": confidence} if args.speech else {}
            operator.play([(uid, text)], _print_response, **source)
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
    if args.speech:
        _speak_answers(operator.responses, args.out / "speech" / "answers")
        print(f"spoken answers: {args.out / 'speech' / 'answers'}")
    print(f"field picture: {picture}")
    print(f"session bag:   {bag}  (replay: llm-mars replay {bag})")
    return 0
