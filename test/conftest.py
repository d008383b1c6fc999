"""Test harness: every test process gets its own ROS 2 domain, localhost-only discovery and
a temporary log directory, set before anything imports rclpy."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from llm_mars.ros_domain import claim_domain_id

_DOMAIN = claim_domain_id()
os.environ["ROS_DOMAIN_ID"] = str(_DOMAIN.domain_id)
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ["ROS_LOG_DIR"] = tempfile.mkdtemp(prefix="llm_mars_roslog_")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


import pytest  # noqa: E402


# --- speech (the speech tests and those of ``llm-mars listen``) ------------------------------

SPEECH = Path(__file__).resolve().parent / "speech"
SPOKEN_COMMANDS = SPEECH / "spoken_commands.txt"
OUT_OF_DOMAIN = SPEECH / "out_of_domain.txt"
SUBSET = range(0, 64, 4)  # 16 of the 64: 11 commands, 4 questions, 1 stop; all voices and rates


@pytest.fixture(scope="session")
def recogniser():
    """The offline Whisper model, loaded once per test session."""
    from llm_mars.speech.recogniser import Recogniser

    return Recogniser()


@pytest.fixture(scope="session")
def spoken_subset(tmp_path_factory):
    from llm_mars.speech.corpus import read_texts, synthesize_all

    return synthesize_all(read_texts(SPOKEN_COMMANDS), tmp_path_factory.mktemp("spoken"),
                          only=SUBSET)


@pytest.fixture(scope="session")
def spoken_out_of_domain(tmp_path_factory):
    from llm_mars.speech.corpus import read_texts, synthesize_all

    return synthesize_all(read_texts(OUT_OF_DOMAIN), tmp_path_factory.mktemp("out_of_domain"))


@pytest.fixture(scope="session")
def assistant():
    """The real model with the shipped adapters, loaded once per test session."""
    from llm_mars.assistant import Assistant

    loaded = Assistant.load()
    yield loaded
    loaded.close()
