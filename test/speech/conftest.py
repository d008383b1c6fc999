"""Shared fixtures: one Whisper model per test session and the spoken command subset."""
from __future__ import annotations

from pathlib import Path

import pytest

from llm_mars.speech.corpus import read_texts, synthesize_all

HERE = Path(__file__).resolve().parent
SPOKEN_COMMANDS = HERE / "spoken_commands.txt"
OUT_OF_DOMAIN = HERE / "out_of_domain.txt"
SUBSET = range(0, 64, 4)  # 16 of the 64: 11 commands, 4 questions, 1 stop; all voices and rates


@pytest.fixture(scope="session")
def recogniser():
    from llm_mars.speech.recogniser import Recogniser

    return Recogniser()


@pytest.fixture(scope="session")
def spoken_subset(tmp_path_factory):
    return synthesize_all(read_texts(SPOKEN_COMMANDS), tmp_path_factory.mktemp("spoken"),
                          only=SUBSET)


@pytest.fixture(scope="session")
def spoken_out_of_domain(tmp_path_factory):
    return synthesize_all(read_texts(OUT_OF_DOMAIN), tmp_path_factory.mktemp("out_of_domain"))
