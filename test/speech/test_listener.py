"""Audio -> utterances or "I did not catch that", with a stand-in recogniser."""
import numpy as np
import pytest

from llm_mars.language.normaliser import normalise
from llm_mars.speech.audio import SAMPLE_RATE
from llm_mars.speech.listener import LOW_CONFIDENCE, NOT_CAUGHT, Listener, decide
from llm_mars.speech.recogniser import Transcript

from .test_vad import quiet, recording, voiced


def transcript(raw: str, confidence: float = 0.8) -> Transcript:
    return Transcript(normalise(raw), raw, confidence, 1.0, 0.25)


@pytest.mark.parametrize("raw", ["", "...", "?"])
def test_nothing_recognised_is_not_caught(raw):
    utterance, rejection = decide(transcript(raw, 0.0), "u1")
    assert utterance is None
    assert (rejection.id, rejection.kind, rejection.code, rejection.text, rejection.final) == \
           ("u1", "error", LOW_CONFIDENCE, NOT_CAUGHT, True)


def test_a_command_for_nobody_here_is_not_caught():
    utterance, rejection = decide(transcript("Order a pizza for lunch."), "u2")
    assert utterance is None
    assert rejection.code == LOW_CONFIDENCE
    assert '"order a pizza for lunch"' in rejection.text


@pytest.mark.parametrize("raw,text", [
    ("Robot to, go to holder for.", "robot 2 go to holder 4"),
    ("What's the weather like today?", "what's the weather like today?"),  # a question: no plan
    ("Halt!", "halt"),  # a stop always goes through
    ("Where is robot won?", "where is robot 1?"),
])
def test_utterances_go_to_the_commander(raw, text):
    utterance, rejection = decide(transcript(raw, 0.8134), "u3")
    assert rejection is None
    assert (utterance.text, utterance.id, utterance.confidence, utterance.source) == \
           (text, "u3", 0.813, "speech")


def test_low_confidence_is_passed_on_for_the_commander_to_refuse():
    utterance, _ = decide(transcript("robot one go home", 0.2))
    assert utterance.confidence == 0.2
    assert utterance.id  # a fresh id when none is given


class FakeRecogniser:
    """Says what it is told, in order, and remembers the audio it was given."""

    def __init__(self, *texts: str):
        self.texts = list(texts)
        self.heard_audio: list[np.ndarray] = []

    def __call__(self, samples: np.ndarray) -> Transcript:
        self.heard_audio.append(samples)
        return transcript(self.texts.pop(0))


def test_each_utterance_in_a_stream_is_recognised_and_reported():
    fake = FakeRecogniser("Robot one, go home.", "uh")
    reported = []
    listener = Listener(fake, reported.append)
    audio = recording(quiet(0.5), voiced(1.0), quiet(1.0), voiced(0.6), quiet(0.2))
    heard = []
    for start in range(0, audio.size, 1600):
        heard += listener.feed(audio[start:start + 1600])
    assert len(heard) == 1  # the second is still open: no hangover yet
    heard += listener.flush()
    assert reported == heard
    assert heard[0].utterance.text == "robot 1 go home"
    assert heard[1].rejection.text.startswith("I did not catch a command")
    assert [a.size / SAMPLE_RATE for a in fake.heard_audio] == pytest.approx([1.7, 1.0],
                                                                              abs=0.05)
    first = heard[0]
    assert first.latency_s == pytest.approx(0.5 + 0.25, abs=0.03)  # hangover + recognition


def test_hear_one_utterance_without_the_detector():
    heard = Listener(FakeRecogniser("stop")).hear(np.zeros(100, dtype=np.float32))
    assert heard.utterance.text == "stop"
    assert heard.segment is None and heard.latency_s == 0.25
