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


def test_the_untemplated_split_follows_the_evaluated_qa_adapters_training_data(tmp_path):
    from llm_mars.cli.evaluation import _trained_unknown_shapes
    from llm_mars.training.train import default_config_path

    assert _trained_unknown_shapes(tmp_path) is False  # no qa/train.yaml: nothing known
    (tmp_path / "qa").mkdir()
    config = default_config_path("qa").read_text()
    (tmp_path / "qa" / "train.yaml").write_text(
        config.replace("  seed: 3\n", "  seed: 3\n  unknown_shapes: true\n"))
    assert _trained_unknown_shapes(tmp_path) is True
