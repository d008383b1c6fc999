"""espeak-ng speech into 16 kHz WAV files."""
import numpy as np
import pytest

from llm_mars.errors import SynthesisError
from llm_mars.speech import synthesis
from llm_mars.speech.audio import SAMPLE_RATE, read_wav, rms_dbfs
from llm_mars.speech.synthesis import PAD_S, synthesize
from llm_mars.speech.vad import split_utterances


def test_writes_16_khz_speech(tmp_path):
    path = synthesize("robot one go home", tmp_path / "a.wav")
    samples = read_wav(path)
    assert 0.8 < samples.size / SAMPLE_RATE < 3.0
    assert rms_dbfs(samples) > -35.0
    assert len(split_utterances(samples)) == 1


def test_voice_and_rate_change_the_audio(tmp_path):
    slow = read_wav(synthesize("robot one go home", tmp_path / "s.wav", rate=120))
    fast = read_wav(synthesize("robot one go home", tmp_path / "f.wav", rate=220))
    other = read_wav(synthesize("robot one go home", tmp_path / "o.wav", voice="en-gb", rate=120))
    assert slow.size > 1.4 * fast.size
    assert other.size != slow.size or not np.array_equal(other, slow)


def longest_zero_run(samples: np.ndarray) -> int:
    run = longest = 0
    for zero in samples == 0:
        run = run + 1 if zero else 0
        longest = max(longest, run)
    return longest


def test_noise_pads_and_fills_the_digital_silence(tmp_path):
    clean = read_wav(synthesize("stop", tmp_path / "c.wav"))
    noisy = read_wav(synthesize("stop", tmp_path / "n.wav", noise_dbfs=-55.0, seed=1))
    assert longest_zero_run(clean) > 100  # espeak-ng's exact silence
    assert longest_zero_run(noisy) < 5  # a noise sample may round to 0, not a stretch of them
    assert noisy.size == clean.size + 2 * int(PAD_S * SAMPLE_RATE)
    assert rms_dbfs(noisy[: int(0.3 * SAMPLE_RATE)]) == pytest.approx(-55.0, abs=1.0)


def test_text_starting_with_a_dash_is_spoken_not_an_option(tmp_path):
    assert read_wav(synthesize("-v is not an option here", tmp_path / "d.wav")).size > SAMPLE_RATE


def test_errors(tmp_path, monkeypatch):
    with pytest.raises(SynthesisError):
        synthesize("   ", tmp_path / "e.wav")
    monkeypatch.setattr(synthesis.shutil, "which", lambda name: None)
    with pytest.raises(SynthesisError, match="apt-get install espeak-ng"):
        synthesize("hello", tmp_path / "m.wav")
