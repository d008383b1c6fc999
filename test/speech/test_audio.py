"""WAV files and PCM to 16 kHz mono float samples, and back."""
import wave

import numpy as np
import pytest

from llm_mars.errors import AudioFormatError
from llm_mars.speech.audio import (SAMPLE_RATE, add_noise, float_to_pcm16, pcm16_to_float,
                                   read_wav, resample, rms_dbfs, write_wav)


def tone(hz: float, seconds: float, rate: int) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * hz * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


def dominant_hz(samples: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[np.argmax(spectrum)])


def write_raw(path, frames: bytes, rate: int, channels: int = 1, width: int = 2):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)
    return path


def test_round_trip(tmp_path):
    samples = tone(440, 0.5, SAMPLE_RATE)
    back = read_wav(write_wav(tmp_path / "a.wav", samples))
    assert back.dtype == np.float32 and back.size == samples.size
    np.testing.assert_allclose(back, samples, atol=1 / 32768)


def test_espeak_rate_is_resampled_keeping_pitch_and_length(tmp_path):
    rate = 22050
    pcm = float_to_pcm16(tone(1000, 1.0, rate)).tobytes()
    samples = read_wav(write_raw(tmp_path / "e.wav", pcm, rate))
    assert samples.size == SAMPLE_RATE
    assert dominant_hz(samples) == pytest.approx(1000, abs=2)


def test_resampling_removes_what_16_khz_cannot_hold():
    # 10 kHz is above the 8 kHz Nyquist limit: plain interpolation would fold it to 6 kHz.
    down = resample(tone(10_000, 1.0, 22050), 22050)
    assert rms_dbfs(down) < -35.0
    assert rms_dbfs(resample(tone(3000, 1.0, 22050), 22050)) > -10.0


def test_stereo_and_8_bit_files(tmp_path):
    left = float_to_pcm16(tone(500, 0.2, SAMPLE_RATE))
    stereo = np.stack([left, left], axis=1).tobytes()
    assert read_wav(write_raw(tmp_path / "s.wav", stereo, SAMPLE_RATE, 2)).size == left.size
    eight = (np.full(1600, 128, dtype=np.uint8)).tobytes()
    np.testing.assert_array_equal(read_wav(write_raw(tmp_path / "u8.wav", eight, SAMPLE_RATE,
                                                     width=1)), 0.0)


def test_bad_files(tmp_path):
    with pytest.raises(AudioFormatError) as missing:
        read_wav(tmp_path / "nope.wav")
    assert missing.value.problem == "no such file"
    (tmp_path / "text.wav").write_text("not audio")
    with pytest.raises(AudioFormatError):
        read_wav(tmp_path / "text.wav")
    with pytest.raises(AudioFormatError):
        read_wav(write_raw(tmp_path / "24.wav", b"\0" * 30, SAMPLE_RATE, width=3))


def test_pcm_conversions():
    pcm = np.array([0, 16384, -32768, 32767], dtype=np.int16)
    floats = pcm16_to_float(pcm)
    np.testing.assert_allclose(floats, [0.0, 0.5, -1.0, 32767 / 32768])
    np.testing.assert_array_equal(pcm16_to_float(pcm.astype("<i2").tobytes()), floats)
    np.testing.assert_array_equal(float_to_pcm16(floats), pcm)
    np.testing.assert_array_equal(float_to_pcm16(np.array([2.0, -2.0])), [32767, -32768])


def test_noise_level():
    noisy = add_noise(np.zeros(SAMPLE_RATE, dtype=np.float32), -55.0, seed=1)
    assert rms_dbfs(noisy) == pytest.approx(-55.0, abs=0.2)
    assert np.count_nonzero(noisy) == noisy.size
    assert rms_dbfs(np.zeros(10)) == float("-inf")
