"""Energy voice activity detection on synthetic 16 kHz audio: voiced bursts in a noise floor."""
import numpy as np
import pytest

from llm_mars.speech.audio import SAMPLE_RATE, add_noise
from llm_mars.speech.vad import (VadConfig, VoiceActivityDetector, frame_level_dbfs,
                                 split_utterances)

NOISE_DBFS = -55.0
FRAME_S = 0.02


def voiced(seconds: float, dbfs: float = -20.0) -> np.ndarray:
    """Speech-like sound: harmonics of 140 Hz under a syllable-rate (4 Hz) envelope."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    wave = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 8))
    wave *= 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)
    wave *= 10 ** (dbfs / 20) / np.sqrt(np.mean(wave ** 2))
    return wave.astype(np.float32)


def quiet(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)


def recording(*parts: np.ndarray, noise_dbfs: float | None = NOISE_DBFS) -> np.ndarray:
    audio = np.concatenate(parts)
    return audio if noise_dbfs is None else add_noise(audio, noise_dbfs, seed=3)


def test_two_utterances_with_their_times():
    audio = recording(quiet(1.0), voiced(1.5), quiet(1.0), voiced(0.8), quiet(1.0))
    config = VadConfig()
    segments = split_utterances(audio, config)
    assert len(segments) == 2
    first, second = segments
    assert first.voice_start_s == pytest.approx(1.0, abs=0.05)
    assert first.voice_end_s == pytest.approx(2.5, abs=0.05)
    assert second.voice_start_s == pytest.approx(3.5, abs=0.05)
    assert second.voice_end_s == pytest.approx(4.3, abs=0.05)
    for segment in segments:
        assert segment.detected_s - segment.voice_end_s == pytest.approx(
            config.hangover_ms / 1000, abs=FRAME_S)
        assert segment.voice_start_s - segment.start_s == pytest.approx(
            config.pre_roll_ms / 1000, abs=FRAME_S)
        expected = int(round((segment.detected_s - segment.start_s) * SAMPLE_RATE))
        assert segment.samples.size == expected


def test_a_pause_shorter_than_the_hangover_stays_inside_the_utterance():
    audio = recording(quiet(0.5), voiced(0.7), quiet(0.3), voiced(0.7), quiet(1.0))
    segments = split_utterances(audio)
    assert len(segments) == 1
    assert segments[0].voice_end_s == pytest.approx(2.2, abs=0.05)


def test_a_pause_longer_than_the_hangover_splits():
    audio = recording(quiet(0.5), voiced(0.7), quiet(0.3), voiced(0.7), quiet(1.0))
    assert len(split_utterances(audio, VadConfig(hangover_ms=200))) == 2


@pytest.mark.parametrize("seconds", [0.04, 0.12])
def test_clicks_and_blips_are_not_utterances(seconds):
    # 40 ms never opens an utterance (start_ms 60); 120 ms opens one with too little voice.
    assert split_utterances(recording(quiet(0.5), voiced(seconds, -10.0), quiet(1.0))) == []


@pytest.mark.parametrize("noise_dbfs", [None, -70.0, -55.0, -35.0])
def test_silence_and_steady_noise_are_not_utterances(noise_dbfs):
    assert split_utterances(recording(quiet(4.0), noise_dbfs=noise_dbfs)) == []


def test_a_noise_that_starts_is_learned_as_the_floor():
    """A motor starting (noise 25 dB up) may open one utterance, then becomes the floor."""
    audio = np.concatenate([add_noise(quiet(2.0), -60.0, 1), add_noise(quiet(10.0), -35.0, 2)])
    segments = split_utterances(audio)
    assert len(segments) <= 1
    if segments:
        assert segments[0].detected_s < 2.0 + 6.0
    detector = VoiceActivityDetector()
    detector.feed(audio)
    assert not detector.in_speech
    assert detector.noise_floor_dbfs == pytest.approx(-35.0, abs=1.5)
    # speech over the new floor is still heard
    louder = add_noise(np.concatenate([voiced(1.0, -15.0), quiet(1.0)]), -35.0, 4)
    assert len(detector.feed(louder)) == 1


def test_speech_in_exact_digital_silence():
    segments = split_utterances(recording(quiet(0.5), voiced(1.0), quiet(1.0), noise_dbfs=None))
    assert len(segments) == 1
    assert segments[0].voice_start_s == pytest.approx(0.5, abs=0.05)


def test_chunk_size_does_not_change_the_result():
    audio = recording(quiet(0.7), voiced(1.2), quiet(0.9), voiced(0.6), quiet(0.8))
    whole = split_utterances(audio)
    detector = VoiceActivityDetector()
    rng = np.random.default_rng(0)
    pieces, start = [], 0
    while start < audio.size:
        size = int(rng.integers(1, 2000))
        pieces += detector.feed(audio[start:start + size])
        start += size
    pieces += detector.flush()
    assert [(s.start_s, s.voice_start_s, s.voice_end_s, s.detected_s) for s in pieces] == \
           [(s.start_s, s.voice_start_s, s.voice_end_s, s.detected_s) for s in whole]
    for a, b in zip(pieces, whole):
        np.testing.assert_array_equal(a.samples, b.samples)


def test_flush_closes_an_utterance_still_open():
    detector = VoiceActivityDetector()
    assert detector.feed(recording(quiet(0.5), voiced(1.0))) == []
    assert detector.in_speech
    [segment] = detector.flush()
    assert not detector.in_speech
    assert segment.detected_s == pytest.approx(1.5, abs=FRAME_S)
    assert segment.voice_end_s == pytest.approx(1.5, abs=0.05)


def test_a_long_utterance_is_cut_at_the_maximum():
    config = VadConfig(max_utterance_s=2.0)
    segments = split_utterances(recording(quiet(0.5), voiced(5.0), quiet(1.0)), config)
    assert len(segments) == 3
    assert all(s.duration_s <= 2.0 + FRAME_S for s in segments)
    assert segments[-1].voice_end_s == pytest.approx(5.5, abs=0.05)


def test_frame_level():
    assert frame_level_dbfs(np.zeros(320, dtype=np.float32)) == -100.0
    assert frame_level_dbfs(np.full(320, 0.1, dtype=np.float32)) == pytest.approx(-20.0)


@pytest.mark.parametrize("bad", [dict(frame_ms=0), dict(hangover_ms=10),
                                 dict(max_utterance_s=0.5)])
def test_inconsistent_settings_are_refused(bad):
    with pytest.raises(ValueError):
        VadConfig(**bad)
