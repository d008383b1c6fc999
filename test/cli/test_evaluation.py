"""``llm-mars eval``: bad arguments are refused before any model loads."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS = Path(__file__).parents[1] / "eval" / "commands.jsonl"


@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_a_concurrency_below_one_is_refused(value):
    done = subprocess.run([sys.executable, "-m", "llm_mars.cli", "eval", "plans", str(COMMANDS),
                           "--concurrency", value], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "--concurrency: a whole number of at least 1" in done.stderr, done.stderr


@pytest.mark.parametrize("flags", [("--corrections", "--trained-families"),
                                   ("--step-wordings", "--corrections"),
                                   ("--gap-wordings", "--step-wordings")])
def test_two_held_out_sets_are_not_asked_together(flags):
    done = subprocess.run([sys.executable, "-m", "llm_mars.cli", "eval", "plans-held-out",
                           *flags], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "not allowed with argument" in done.stderr, done.stderr
