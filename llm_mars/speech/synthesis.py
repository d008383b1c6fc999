"""Text to speech with espeak-ng (a Debian package, run as a program; no network, no model).

:func:`synthesize` writes 16 kHz mono WAV files: spoken answers saved for the operator, and
the spoken commands the tests, the benchmark and ``llm-mars demo --speech`` feed to the
recogniser. espeak-ng output has exact digital silence, which no microphone gives: as test
input it gets ``noise_dbfs`` of white noise and a little padded noise before and after.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from llm_mars.errors import SynthesisError
from llm_mars.speech.audio import SAMPLE_RATE, add_noise, read_wav, write_wav

ESPEAK = "espeak-ng"
DEFAULT_VOICE = "en-us"
DEFAULT_RATE = 160  # words per minute
PAD_S = 0.4  # noise before and after the speech when noise is added
TIMEOUT_S = 60.0


def espeak_path() -> str:
    path = shutil.which(ESPEAK)
    if path is None:
        raise SynthesisError("espeak-ng is not installed; install it with "
                             "'sudo apt-get install espeak-ng' (scripts/bootstrap.sh does this)")
    return path


def _run_espeak(text: str, voice: str, rate: int, *output: str) -> None:
    """Run espeak-ng on ``text`` (given on stdin, so text starting with '-' is not an option)."""
    command = [espeak_path(), "-v", voice, "-s", str(int(rate)), *output]
    try:
        done = subprocess.run(command, input=text.encode(), capture_output=True,
                              timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise SynthesisError(f"espeak-ng did not finish within {TIMEOUT_S:g} s") from None
    if done.returncode != 0:
        raise SynthesisError(f"espeak-ng failed (exit {done.returncode}): "
                             f"{done.stderr.decode(errors='replace').strip()[-300:]}")


def synthesize(text: str, path: str | Path, voice: str = DEFAULT_VOICE,
               rate: int = DEFAULT_RATE, noise_dbfs: float | None = None,
               seed: int = 0) -> Path:
    """Speak ``text`` into a 16 kHz mono 16-bit WAV file at ``path``.

    With ``noise_dbfs`` (e.g. -55), :data:`PAD_S` of silence is added on both sides and white
    noise of that level over all of it, as a microphone would record it.
    """
    if not text.strip():
        raise SynthesisError("nothing to say: the text is empty")
    with tempfile.TemporaryDirectory(prefix="llm_mars_tts_") as tmp:
        raw = Path(tmp) / "espeak.wav"
        _run_espeak(text, voice, rate, "-w", str(raw))
        samples = read_wav(raw)
    if samples.size == 0:
        raise SynthesisError(f"espeak-ng produced no audio for voice {voice!r}")
    if noise_dbfs is not None:
        pad = np.zeros(int(PAD_S * SAMPLE_RATE), dtype=np.float32)
        samples = add_noise(np.concatenate([pad, samples, pad]), noise_dbfs, seed)
    return write_wav(path, samples)


def speak(text: str, voice: str = DEFAULT_VOICE, rate: int = DEFAULT_RATE) -> None:
    """Say ``text`` through the default sound output (blocks until it is said)."""
    if text.strip():
        _run_espeak(text, voice, rate)
