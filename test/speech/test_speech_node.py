"""The ``speech`` node in-process: WAV files and the audio topic in, utterances out; final
responses saved as spoken WAV files."""
from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import rclpy
import yaml
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from std_msgs.msg import Int16MultiArray, String

from llm_mars.nodes.speech import PARAMETERS, SpeechNode, wav_inputs
from llm_mars.payloads import OperatorResponse, Utterance
from llm_mars.speech.audio import SAMPLE_RATE, add_noise, float_to_pcm16, read_wav


def in_graph(test):
    """Mark a test that starts the node (ROS; the Whisper model makes it slow)."""
    return pytest.mark.ros(pytest.mark.slow(test))


class Graph:
    """A speech node and a probe on one executor thread in a context of their own."""

    def __init__(self, recogniser, **parameters):
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.executor = MultiThreadedExecutor(num_threads=2, context=self.context)
        self.node = SpeechNode(recogniser, context=self.context, parameter_overrides=[
            Parameter(k, value=v) for k, v in parameters.items()])
        self.probe = Node("probe", context=self.context)
        self.commands: list[Utterance] = []
        self.responses: list[OperatorResponse] = []
        self.probe.create_subscription(
            String, "/operator/command",
            lambda m: self.commands.append(Utterance.from_json(m.data)), 100)
        self.probe.create_subscription(String, "/operator/response", self._on_response, 100)
        self.respond = self.probe.create_publisher(String, "/operator/response", 100)
        self.audio = self.probe.create_publisher(Int16MultiArray, "/speech/audio", 100)
        for node in (self.node, self.probe):
            self.executor.add_node(node)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def _on_response(self, msg: String) -> None:
        if '"kind"' in msg.data:  # the test's own malformed response is not collected
            self.responses.append(OperatorResponse.from_json(msg.data))

    def wait_for(self, predicate, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not predicate():
            time.sleep(0.05)
        return predicate()

    def close(self) -> None:
        self.node.close()
        self.executor.shutdown()
        self._thread.join(timeout=10)
        self.node.destroy_node()
        self.probe.destroy_node()
        rclpy.shutdown(context=self.context)


def test_wav_inputs(tmp_path):
    for name in ("b.wav", "a.wav", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert wav_inputs("") == []
    assert wav_inputs(str(tmp_path)) == [tmp_path / "a.wav", tmp_path / "b.wav"]
    assert wav_inputs(str(tmp_path / "b.wav")) == [tmp_path / "b.wav"]


def test_parameters_match_the_config_file():
    config = Path(__file__).resolve().parents[2] / "launch" / "config" / "speech.yaml"
    values = yaml.safe_load(config.read_text())["speech"]["ros__parameters"]
    assert values == {p.name: p.default for p in PARAMETERS}


@in_graph
def test_wav_files_become_utterances_or_not_caught(recogniser, spoken_subset,
                                                   spoken_out_of_domain, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(spoken_subset[1].path, folder / "1_command.wav")  # "robot one go home"
    shutil.copy(spoken_out_of_domain[1].path, folder / "2_music.wav")  # "play some music"
    graph = Graph(recogniser, wav_input=str(folder), wav_start_delay_s=0.5, speak=False)
    try:
        assert graph.wait_for(lambda: graph.commands and graph.responses)
        [utterance] = graph.commands
        assert (utterance.text, utterance.source) == ("robot 1 go home", "speech")
        assert 0.5 <= utterance.confidence <= 1.0
        [rejection] = graph.responses
        assert (rejection.kind, rejection.code) == ("error", "low_confidence")
        assert rejection.id != utterance.id
    finally:
        graph.close()


@in_graph
def test_audio_topic_in_chunks(recogniser, spoken_subset):
    graph = Graph(recogniser, speak=False)
    try:
        assert graph.wait_for(lambda: graph.audio.get_subscription_count() > 0, 10)
        audio = np.concatenate([read_wav(spoken_subset[4].path),  # "robot two go to the basket"
                                add_noise(np.zeros(SAMPLE_RATE, dtype=np.float32), -55.0)])
        pcm = float_to_pcm16(audio)
        for start in range(0, pcm.size, 1600):
            graph.audio.publish(Int16MultiArray(data=pcm[start:start + 1600].tolist()))
        assert graph.wait_for(lambda: graph.commands)
        assert graph.commands[0].text == "robot 2 go to the basket"
        assert graph.responses == []
    finally:
        graph.close()


@in_graph
def test_final_responses_are_saved_as_speech(recogniser, tmp_path):
    graph = Graph(recogniser, speak=False, answers_dir=str(tmp_path), audio_topic="")
    try:
        assert graph.wait_for(lambda: graph.respond.get_subscription_count() >= 2, 10)
        graph.respond.publish(String(data=OperatorResponse(
            "r1-status", "progress", "robot1 is moving", final=False).to_json()))
        graph.respond.publish(String(data=OperatorResponse(
            "q1", "answer", "Robot 1 is at plate 3.").to_json()))
        graph.respond.publish(String(data='{"broken": true}'))
        assert graph.wait_for(lambda: (tmp_path / "q1.wav").is_file())
        time.sleep(0.5)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["q1.wav"]
        assert read_wav(tmp_path / "q1.wav").size > SAMPLE_RATE
    finally:
        graph.close()


@in_graph
def test_microphone_without_sounddevice_is_skipped(recogniser, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_sounddevice(name, *args, **kwargs):
        if name == "sounddevice":
            raise ImportError("No module named 'sounddevice'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sounddevice)
    graph = Graph(recogniser, speak=False, microphone=True)
    try:
        assert graph.node._microphone is None
    finally:
        graph.close()
