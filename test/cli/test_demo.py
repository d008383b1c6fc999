"""`llm-mars demo` runs the whole system on its scripted session and leaves a field picture and
a bag that `llm-mars replay` reproduces."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rosbags.rosbag2 import Reader

from llm_mars.replay import load_session

pytestmark = [pytest.mark.ros, pytest.mark.slow]

CLI = str(Path(sys.executable).parent / "llm-mars")


def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "ROS_DOMAIN_ID"}  # the CLI claims its own
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=timeout, env=env)


def test_demo_then_replay(tmp_path):
    demo = run("demo", "--out", str(tmp_path))
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "final state:" in demo.stdout and "score:" in demo.stdout
    assert (tmp_path / "field.png").stat().st_size > 20_000
    [bag] = tmp_path.glob("session_*")
    session = load_session(bag)
    assert len(session.utterances) == 7 and len(session.finals) == 7
    assert {r.kind for r in session.finals.values()} >= {"answer"}
    with Reader(bag) as reader:  # what each robot was told and where it went, for a replay
        counts = {c.topic: (c.msgtype, c.msgcount) for c in reader.connections}
    for robot in ("robot1", "robot2"):
        assert counts[f"/{robot}/odom"][0] == "nav_msgs/msg/Odometry"
        assert all(counts[f"/{robot}/{t}"][1] > 0 for t in ("odom", "skill/goal", "skill/outcome"))
    replay = run("replay", str(bag))
    assert replay.returncode == 0, replay.stdout[-3000:] + replay.stderr[-2000:]
    assert "0 differences" in replay.stdout
