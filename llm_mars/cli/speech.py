"""``llm-mars listen FILE.wav...``: recognise spoken commands in WAV files, offline.

Each file is cut into utterances (voice activity detection) and each utterance is recognised
and normalised exactly as the ``speech`` node does it. Printed per utterance: the file, the
confidence, the text sent to the commander, or why nothing is sent. ``--publish`` sends the
utterances to ``/operator/command`` (and "I did not catch that" errors to
``/operator/response``) of the running system, in the current ROS domain.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

SUBSCRIBER_WAIT_S = 5.0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("listen", help="recognise spoken commands in WAV files")
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE.wav")
    parser.add_argument("--publish", action="store_true",
                        help="send them to /operator/command of the running system")
    parser.add_argument("--json", action="store_true", help="one JSON object per utterance")
    parser.add_argument("--model", type=Path,
                        help="CTranslate2 Whisper model folder (default: bundled tiny.en)")
    parser.add_argument("--beam", type=int, default=5, help="beam size (default 5)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    parser.set_defaults(handler=_listen)


def describe(path: Path, heard) -> dict:
    """What one utterance of a file became, as printed (``--json``)."""
    t = heard.transcript
    entry = {"file": str(path), "text": t.text, "raw_text": t.raw_text,
             "confidence": round(t.confidence, 3), "audio_s": round(t.audio_s, 2),
             "recognition_s": round(t.elapsed_s, 3)}
    if heard.utterance is not None:
        entry["utterance"] = json.loads(heard.utterance.to_json())
    else:
        entry["rejected"] = heard.rejection.text
    return entry


def _listen(args: argparse.Namespace) -> int:
    from llm_mars.speech.audio import read_wav
    from llm_mars.speech.listener import Listener
    from llm_mars.speech.recogniser import Recogniser

    recordings = [(path, read_wav(path)) for path in args.files]  # bad files fail first
    recogniser = Recogniser(args.model, args.beam, args.threads)
    send = _RosSender() if args.publish else None
    try:
        for path, samples in recordings:
            listener = Listener(recogniser.transcribe)
            heard = listener.feed(samples) + listener.flush()
            if not heard and not args.json:
                print(f"{path}: (no speech)")
            for item in heard:
                entry = describe(path, item)
                if args.json:
                    print(json.dumps(entry))
                elif item.utterance is not None:
                    print(f"{path}: [{entry['confidence']:.2f}] {item.utterance.text}")
                else:
                    print(f"{path}: [{entry['confidence']:.2f}] not sent: {item.rejection.text}")
                if send is not None:
                    send(item)
    finally:
        if send is not None:
            send.close()
    return 0


class _RosSender:
    """Publishes heard utterances like the ``speech`` node, from a short-lived node."""

    def __init__(self):
        import rclpy
        from rclpy.node import Node
        from std_msgs.msg import String

        from llm_mars.nodes.common import RELIABLE

        self._rclpy, self._String = rclpy, String
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = Node("listen", context=self.context)
        self.command = self.node.create_publisher(String, "/operator/command", RELIABLE)
        self.response = self.node.create_publisher(String, "/operator/response", RELIABLE)
        deadline = time.monotonic() + SUBSCRIBER_WAIT_S
        while self.command.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.command.get_subscription_count() == 0:
            print(f"warning: nobody subscribes to /operator/command after "
                  f"{SUBSCRIBER_WAIT_S:g} s; publishing anyway")

    def __call__(self, heard) -> None:
        if heard.utterance is not None:
            self.command.publish(self._String(data=heard.utterance.to_json()))
        else:
            self.response.publish(self._String(data=heard.rejection.to_json()))

    def close(self) -> None:
        time.sleep(0.5)  # let reliable messages leave before the node goes
        self.node.destroy_node()
        self._rclpy.try_shutdown(context=self.context)
