"""From audio to what the commander is told: an utterance, or "I did not catch that".

The ``speech`` node and ``llm-mars listen`` share this core (no ROS in it). Audio is cut
into utterances by the voice activity detector, each is recognised and normalised, and then:

* nothing recognised (Whisper wrote nothing, or only punctuation): an ``error`` response with
  code ``low_confidence``, "I did not catch that, please say it again.";
* a command that names no robot, place, colour, item or skill ("order a pizza"): the same
  error, quoting what was heard; talk nearby must not become a plan;
* anything else: an ``Utterance`` (source ``speech``, with its confidence). The commander
  answers it, and rejects it itself when the confidence is below its ``min_confidence``.

Questions and stops go through even without domain words: a question never moves a robot,
and "stop" must always work.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from llm_mars.language.intent import Intent, classify
from llm_mars.payloads import OperatorResponse, Utterance, new_id
from llm_mars.speech.prompt import mentions_the_domain
from llm_mars.speech.recogniser import Transcript
from llm_mars.speech.vad import SpeechSegment, VadConfig, VoiceActivityDetector

NOT_CAUGHT = "I did not catch that, please say it again."
LOW_CONFIDENCE = "low_confidence"


@dataclass(frozen=True)
class Heard:
    """One utterance of audio and what became of it: exactly one of ``utterance`` (for
    /operator/command) and ``rejection`` (for /operator/response) is set."""

    transcript: Transcript
    utterance: Utterance | None = None
    rejection: OperatorResponse | None = None
    segment: SpeechSegment | None = None

    @property
    def latency_s(self) -> float:
        """End of speech to text: the detector's hangover plus the recognition time."""
        waited = 0.0 if self.segment is None else self.segment.detected_s - self.segment.voice_end_s
        return waited + self.transcript.elapsed_s


def decide(transcript: Transcript, uid: str | None = None) -> tuple[Utterance | None,
                                                                    OperatorResponse | None]:
    """The utterance to send, or the rejection to report, for one transcript."""
    uid = uid or new_id()
    text = transcript.text.rstrip("?").strip()
    if not text:
        return None, OperatorResponse(uid, "error", NOT_CAUGHT, code=LOW_CONFIDENCE)
    if classify(transcript.text).intent is Intent.COMMAND and not mentions_the_domain(text):
        return None, OperatorResponse(
            uid, "error", f'I did not catch a command for the robots in "{transcript.text}", '
                          f"please say it again.", code=LOW_CONFIDENCE)
    return Utterance(transcript.text, uid, round(transcript.confidence, 3), "speech"), None


class Listener:
    """Streams audio through the detector and the recogniser; reports each utterance."""

    def __init__(self, recognise: Callable[[np.ndarray], Transcript],
                 on_heard: Callable[[Heard], None] | None = None,
                 vad: VadConfig = VadConfig()):
        self.recognise = recognise
        self.on_heard = on_heard
        self.detector = VoiceActivityDetector(vad)

    def hear(self, samples: np.ndarray, segment: SpeechSegment | None = None) -> Heard:
        """Recognise one utterance of audio and decide what to do with it."""
        transcript = self.recognise(samples)
        utterance, rejection = decide(transcript)
        heard = Heard(transcript, utterance, rejection, segment)
        if self.on_heard is not None:
            self.on_heard(heard)
        return heard

    def feed(self, samples: np.ndarray) -> list[Heard]:
        """Add streamed audio; recognise every utterance that ended in it."""
        return [self.hear(s.samples, s) for s in self.detector.feed(samples)]

    def flush(self) -> list[Heard]:
        """End of stream: recognise an utterance still open."""
        return [self.hear(s.samples, s) for s in self.detector.flush()]
