"""Spoken test sets: texts said by several espeak-ng voices at several rates, with faint noise.

The tests, ``bench/bench_speech.py`` and ``llm-mars demo --speech`` all make their audio here,
so they hear the same kind of speech. Utterance ``i`` is said by ``VOICES[i % 6]`` at
``RATES[i % 3]`` words per minute, which spreads the 18 voice/rate pairs over any list. Files
are named by a hash of text, voice, rate and noise, so a folder can be reused as a cache.
"""
from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from llm_mars.speech.synthesis import synthesize

# American (male, female, a second male), British, Received Pronunciation and Caribbean
# English. espeak-ng's Scottish voice is left out: Whisper tiny.en mishears far more of its
# words than of the others' (docs/benchmarks.md), which measures espeak-ng more than the
# recogniser.
VOICES: tuple[str, ...] = ("en-us", "en-gb", "en-us+f3", "en-gb-x-rp", "en-us+m3", "en-029")
RATES: tuple[int, ...] = (140, 165, 190)
NOISE_DBFS = -55.0  # a quiet room through a cheap microphone


@dataclass(frozen=True)
class SpokenText:
    text: str
    voice: str
    rate: int
    path: Path


def read_texts(path: str | Path) -> list[str]:
    """One text per line; blank lines and lines starting with '#' are skipped."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def voice_for(index: int) -> tuple[str, int]:
    return VOICES[index % len(VOICES)], RATES[index % len(RATES)]


def synthesize_all(texts: list[str], folder: str | Path, noise_dbfs: float | None = NOISE_DBFS,
                   only: Collection[int] | None = None) -> list[SpokenText]:
    """Say every text (or those at the positions in ``only``) into ``folder``; files already
    there are reused. A text keeps the voice and rate of its position in ``texts``."""
    folder = Path(folder)
    spoken = []
    for index, text in enumerate(texts):
        if only is not None and index not in only:
            continue
        voice, rate = voice_for(index)
        key = hashlib.sha256(f"{text}|{voice}|{rate}|{noise_dbfs}".encode()).hexdigest()[:16]
        path = folder / f"{index:03d}_{key}.wav"
        if not path.is_file():
            synthesize(text, path, voice=voice, rate=rate, noise_dbfs=noise_dbfs, seed=index)
        spoken.append(SpokenText(text, voice, rate, path))
    return spoken
