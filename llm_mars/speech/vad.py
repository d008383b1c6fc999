"""Energy-based voice activity detection: a stream of 16 kHz mono samples in, utterances out.

The stream is cut into frames; a frame is *voiced* when its level is ``threshold_db`` above
the running noise floor and above ``min_level_dbfs``. The floor follows quiet frames at once
and rises slowly (``floor_rise_db_per_s``), so a fan or a motor that starts is learned as
noise within seconds while speech (tens of dB above it) is not. An utterance opens after
``start_ms`` of voiced frames (a click is not speech), keeps ``pre_roll_ms`` of audio from
before (soft onsets such as "f" or "h"), and closes after ``hangover_ms`` without voice (the
pauses between words are shorter). Utterances with less than ``min_voiced_ms`` of voice are
dropped; one longer than ``max_utterance_s`` is cut there.

Whisper decides what the audio says; this only decides which audio it has to look at, so
silence never reaches it and the end of an utterance is known ``hangover_ms`` after the
operator stops talking.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from llm_mars.speech.audio import SAMPLE_RATE, rms_dbfs

SILENCE_DBFS = -100.0  # level given to frames of exact digital silence


@dataclass(frozen=True)
class VadConfig:
    frame_ms: int = 20
    threshold_db: float = 12.0
    min_level_dbfs: float = -50.0
    floor_rise_db_per_s: float = 3.0
    start_ms: int = 60
    hangover_ms: int = 500
    pre_roll_ms: int = 200
    min_voiced_ms: int = 200
    max_utterance_s: float = 20.0

    def __post_init__(self) -> None:
        if self.frame_ms <= 0 or self.start_ms < 0 or self.hangover_ms < self.frame_ms:
            raise ValueError("frame_ms > 0, start_ms >= 0 and hangover_ms >= frame_ms needed")
        if self.max_utterance_s * 1000 <= self.start_ms + self.hangover_ms:
            raise ValueError("max_utterance_s must leave room for start_ms and hangover_ms")


@dataclass(frozen=True)
class SpeechSegment:
    """One utterance: its audio (pre-roll to end of hangover) and stream times in seconds."""

    samples: np.ndarray
    start_s: float  # first sample of ``samples`` (pre-roll included)
    voice_start_s: float  # first voiced frame
    voice_end_s: float  # end of the last voiced frame: the end of speech
    detected_s: float  # when the detector knew the utterance was over

    @property
    def duration_s(self) -> float:
        return self.samples.size / SAMPLE_RATE


def frame_level_dbfs(frame: np.ndarray) -> float:
    return max(rms_dbfs(frame), SILENCE_DBFS)


class VoiceActivityDetector:
    """Streaming detector: :meth:`feed` chunks of any size, :meth:`flush` at the end."""

    def __init__(self, config: VadConfig = VadConfig(), sample_rate: int = SAMPLE_RATE):
        self.config = config
        self.sample_rate = sample_rate
        self.frame_len = sample_rate * config.frame_ms // 1000
        self._frames_to_start = max(1, -(-config.start_ms // config.frame_ms))
        self._frames_to_end = -(-config.hangover_ms // config.frame_ms)
        self._rise_per_frame = config.floor_rise_db_per_s * config.frame_ms / 1000
        self._max_frames = int(config.max_utterance_s * 1000 / config.frame_ms)
        self._min_voiced_frames = config.min_voiced_ms / config.frame_ms
        self._pending = np.zeros(0, dtype=np.float32)
        self._pre_roll: deque[np.ndarray] = deque(
            maxlen=config.pre_roll_ms // config.frame_ms + self._frames_to_start)
        self._frame_index = 0
        self.noise_floor_dbfs: float | None = None
        self._run = 0  # consecutive voiced frames while closed, unvoiced frames while open
        self._utterance: list[np.ndarray] | None = None
        self._start_frame = 0  # frame index of the utterance's first kept frame
        self._voice_start = 0
        self._last_voiced = 0  # frame index just after the last voiced frame
        self._voiced_frames = 0

    @property
    def in_speech(self) -> bool:
        return self._utterance is not None

    def _seconds(self, frame_index: int) -> float:
        return frame_index * self.frame_len / self.sample_rate

    def _is_voiced(self, frame: np.ndarray) -> bool:
        level = frame_level_dbfs(frame)
        floor = self.noise_floor_dbfs
        if floor is None or level < floor:
            self.noise_floor_dbfs = level
        else:
            self.noise_floor_dbfs = min(level, floor + self._rise_per_frame)
        reference = level if floor is None else floor
        return level > max(reference + self.config.threshold_db, self.config.min_level_dbfs)

    def feed(self, samples: np.ndarray) -> list[SpeechSegment]:
        """Add samples; return the utterances that ended within them."""
        data = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32).ravel()])
        n_frames = data.size // self.frame_len
        self._pending = data[n_frames * self.frame_len:]
        finished = []
        for i in range(n_frames):
            segment = self._step(data[i * self.frame_len:(i + 1) * self.frame_len])
            if segment is not None:
                finished.append(segment)
        return finished

    def flush(self) -> list[SpeechSegment]:
        """End of stream: close an open utterance (its end is detected now)."""
        segment = self._close(self._frame_index) if self._utterance is not None else None
        self._pending = np.zeros(0, dtype=np.float32)
        self._run = 0
        return [segment] if segment is not None else []

    def _step(self, frame: np.ndarray) -> SpeechSegment | None:
        voiced = self._is_voiced(frame)
        self._frame_index += 1
        if self._utterance is None:
            self._pre_roll.append(frame)
            self._run = self._run + 1 if voiced else 0
            if self._run >= self._frames_to_start:
                self._utterance = list(self._pre_roll)
                self._pre_roll.clear()
                self._start_frame = self._frame_index - len(self._utterance)
                self._voice_start = self._frame_index - self._run
                self._voiced_frames = self._run
                self._last_voiced = self._frame_index
                self._run = 0
            return None
        self._utterance.append(frame)
        if voiced:
            self._run = 0
            self._voiced_frames += 1
            self._last_voiced = self._frame_index
        else:
            self._run += 1
        if self._run >= self._frames_to_end:
            return self._close(self._frame_index)
        if len(self._utterance) >= self._max_frames:
            segment = self._close(self._frame_index)
            self._utterance, self._start_frame = [], self._frame_index  # still talking
            self._voice_start = self._last_voiced = self._frame_index
            self._voiced_frames = 0
            return segment
        return None

    def _close(self, now_frame: int) -> SpeechSegment | None:
        frames, self._utterance = self._utterance, None
        self._run = 0
        if not frames or self._voiced_frames < self._min_voiced_frames:
            return None
        return SpeechSegment(
            samples=np.concatenate(frames),
            start_s=self._seconds(self._start_frame),
            voice_start_s=self._seconds(self._voice_start),
            voice_end_s=self._seconds(self._last_voiced),
            detected_s=self._seconds(now_frame),
        )


def split_utterances(samples: np.ndarray, config: VadConfig = VadConfig()) -> list[SpeechSegment]:
    """All utterances of a finished recording."""
    detector = VoiceActivityDetector(config)
    return detector.feed(samples) + detector.flush()
