"""``llm-mars command``: commands naming what the world lacks, as an operator types them."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("llm-mars")

pytestmark = pytest.mark.slow  # loads the model


def test_numbers_the_world_lacks_in_any_spelling_get_a_reply_and_move_nothing(tmp_path):
    """These passed the world check (and "robot one hundred" was read as robot 1)."""
    commands = {
        "robot 1 go to quadrant -1": "There is no quadrant -1",
        "robot 1 take -3 cherries from holder 2": "-3 is not a number of cherries",
        "robot 1 go to quadrant 4.5": "There is no quadrant 4.5",
        "robot 1 go to \uff51\uff55\uff41\uff44\uff52\uff41\uff4e\uff54 \uff17":
            "There is no quadrant 7",
        "robot one hundred go home": "There is no robot 100",
    }
    batch = tmp_path / "sessions.txt"
    batch.write_text("\n".join(commands) + "\n", encoding="utf-8")
    done = subprocess.run([str(CLI), "command", "--batch", str(batch), "--json"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    states = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(states) == len(commands)
    for state, expected in zip(states, commands.values()):
        assert len(state["replies"]) == 1 and state["replies"][0].startswith(expected), state
        assert all(r["history"] == [] for r in state["robots"].values())
