"""``llm-mars listen``: WAV files in, recognised utterances printed (or published)."""
from __future__ import annotations

import argparse
import json
import threading
import time

import numpy as np
import pytest

from llm_mars.cli import speech as commands
from llm_mars.errors import AudioFormatError
from llm_mars.speech.audio import SAMPLE_RATE, add_noise, read_wav, write_wav


def listen(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers())
    args = parser.parse_args(["listen", *argv])
    return args.handler(args)


def test_a_missing_file_fails_before_the_model_loads(tmp_path, monkeypatch):
    monkeypatch.setattr("llm_mars.speech.recogniser.Recogniser",
                        lambda *a: pytest.fail("the model was loaded"))
    with pytest.raises(AudioFormatError):
        listen(str(tmp_path / "missing.wav"))


@pytest.fixture
def shared_model(recogniser, monkeypatch):
    """The session's loaded model instead of a new one per command."""
    monkeypatch.setattr("llm_mars.speech.recogniser.Recogniser", lambda *args: recogniser)


@pytest.mark.slow
def test_prints_each_utterance(shared_model, spoken_subset, spoken_out_of_domain, tmp_path,
                               capsys):
    quiet = write_wav(tmp_path / "quiet.wav", add_noise(np.zeros(SAMPLE_RATE), -55.0))
    two = write_wav(tmp_path / "two.wav", np.concatenate([
        read_wav(spoken_subset[1].path), read_wav(spoken_out_of_domain[1].path)]))
    assert listen(str(two), str(quiet)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"{two}: [") and lines[0].endswith("] robot 1 go home")
    assert "not sent: I did not catch a command for the robots" in lines[1]
    assert lines[2] == f"{quiet}: (no speech)"

    assert listen("--json", str(two)) == 0
    entries = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert entries[0]["utterance"]["source"] == "speech"
    assert entries[0]["utterance"]["text"] == entries[0]["text"] == "robot 1 go home"
    assert entries[1]["rejected"].startswith("I did not catch")
    assert all(e["recognition_s"] > 0 for e in entries)


@pytest.mark.ros
@pytest.mark.slow
def test_publish_sends_to_the_commander_topic(shared_model, spoken_subset):
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from std_msgs.msg import String

    context = rclpy.Context()
    rclpy.init(context=context)
    node = Node("commander_stand_in", context=context)
    received = []
    node.create_subscription(String, "/operator/command", lambda m: received.append(m.data), 10)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        assert listen("--publish", str(spoken_subset[1].path)) == 0
        deadline = time.monotonic() + 10
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
        [data] = received
        assert json.loads(data)["text"] == "robot 1 go home"
    finally:
        executor.shutdown()
        spinner.join(5)
        node.destroy_node()
        rclpy.shutdown(context=context)
