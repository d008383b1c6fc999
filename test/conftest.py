"""Test harness: every test process gets its own ROS 2 domain, localhost-only discovery and
a temporary log directory, set before anything imports rclpy."""
from __future__ import annotations

import os
import tempfile

from llm_mars.ros_domain import claim_domain_id

_DOMAIN = claim_domain_id()
os.environ["ROS_DOMAIN_ID"] = str(_DOMAIN.domain_id)
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ["ROS_LOG_DIR"] = tempfile.mkdtemp(prefix="llm_mars_roslog_")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def assistant():
    """The real model with the shipped adapters, loaded once per test session."""
    from llm_mars.assistant import Assistant

    loaded = Assistant.load()
    yield loaded
    loaded.close()
