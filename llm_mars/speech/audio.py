"""Audio as the recogniser wants it: 16 kHz mono float32 in [-1, 1], from WAV files or PCM.

Whisper works at 16 kHz; every input (WAV files of any rate, int16 PCM from a topic or a
microphone) is brought to that form here, once.
"""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from llm_mars.errors import AudioFormatError

SAMPLE_RATE = 16_000
INT16_SCALE = 32768.0


def pcm16_to_float(pcm: np.ndarray | bytes | list[int]) -> np.ndarray:
    """int16 samples (array, list or little-endian bytes) as float32 in [-1, 1)."""
    if isinstance(pcm, (bytes, bytearray, memoryview)):
        pcm = np.frombuffer(pcm, dtype="<i2")
    return np.asarray(pcm, dtype=np.int16).astype(np.float32) / INT16_SCALE


def float_to_pcm16(samples: np.ndarray) -> np.ndarray:
    """float samples clipped to [-1, 1] as int16."""
    return np.round(np.clip(samples, -1.0, 32767 / INT16_SCALE) * INT16_SCALE).astype(np.int16)


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limited resampling (windowed-sinc low-pass, then linear interpolation).

    Good enough for speech into Whisper; it avoids the aliasing plain interpolation gives
    when going down from 22.05 kHz (espeak-ng) to 16 kHz.
    """
    samples = np.asarray(samples, dtype=np.float32)
    if rate == target or samples.size == 0:
        return samples
    if target < rate:
        cutoff = 0.5 * target / rate * 0.95  # cycles per input sample, just under Nyquist
        taps = np.arange(-32, 33)
        kernel = 2 * cutoff * np.sinc(2 * cutoff * taps) * np.hamming(taps.size)
        samples = np.convolve(samples, kernel / kernel.sum(), mode="same").astype(np.float32)
    n_out = int(round(samples.size * target / rate))
    positions = np.arange(n_out) * (rate / target)
    return np.interp(positions, np.arange(samples.size), samples).astype(np.float32)


def read_wav(path: str | Path) -> np.ndarray:
    """A PCM WAV file (8/16/32-bit, any rate, mono or multi-channel) as 16 kHz mono float32."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except FileNotFoundError:
        raise AudioFormatError(path, "no such file") from None
    except (wave.Error, EOFError) as exc:
        raise AudioFormatError(path, f"not a PCM WAV file ({exc})") from None
    if width == 2:
        samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / INT16_SCALE
    elif width == 1:
        samples = (np.frombuffer(frames, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 4:
        samples = np.frombuffer(frames, dtype="<i4").astype(np.float32) / 2.0**31
    else:
        raise AudioFormatError(path, f"{8 * width}-bit samples are not supported")
    if channels > 1:
        samples = samples[: samples.size - samples.size % channels].reshape(-1, channels).mean(1)
    return resample(samples, rate)


def write_wav(path: str | Path, samples: np.ndarray, rate: int = SAMPLE_RATE) -> Path:
    """Write float samples as a 16-bit mono WAV file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(float_to_pcm16(samples).tobytes())
    return path


def rms_dbfs(samples: np.ndarray) -> float:
    """Root-mean-square level in dB relative to full scale (-inf for digital silence)."""
    samples = np.asarray(samples, dtype=np.float64)
    if samples.size == 0:
        return float("-inf")
    power = float(np.mean(samples * samples))
    return 10.0 * np.log10(power) if power > 0 else float("-inf")


def add_noise(samples: np.ndarray, dbfs: float, seed: int = 0) -> np.ndarray:
    """Samples plus white noise at ``dbfs`` RMS, as a microphone's self-noise would add.

    espeak-ng output has exact digital silence between words, which no real input has.
    """
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, 10.0 ** (dbfs / 20.0), size=np.shape(samples))
    return (np.asarray(samples, dtype=np.float32) + noise).astype(np.float32)
