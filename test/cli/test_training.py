"""``llm-mars train ADAPTER --average``: the averaged adapter is written, or a clear refusal."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ADAPTERS = Path(__file__).parents[2] / "models" / "adapters"


def _train(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "llm_mars.cli", "train", *args],
                          capture_output=True, text=True, timeout=300)


def test_a_shipped_adapter_averaged_with_itself_is_one_lora_of_twice_the_rank(tmp_path):
    out = tmp_path / "describe"  # rank 16: the averaged bt and qa adapters are 32 already
    done = _train("describe", "--average", str(ADAPTERS / "describe"),
                  str(ADAPTERS / "describe"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "average of 2 adapters" in done.stdout
    shipped = json.loads((ADAPTERS / "describe" / "adapter_config.json").read_text())
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["r"] == 2 * shipped["r"]
    assert config["lora_alpha"] / config["r"] == shipped["lora_alpha"] / shipped["r"]


def test_an_average_over_the_size_limit_is_refused_and_writes_nothing(tmp_path):
    # the shipped bt adapter is an average of rank 32: with itself, rank 64 is 39 MB
    done = _train("bt", "--average", str(ADAPTERS / "bt"), str(ADAPTERS / "bt"),
                  "--out", str(tmp_path / "bt"))
    assert done.returncode == 1 and "over 20 MB" in done.stderr and "--rank" in done.stderr
    assert not (tmp_path / "bt").exists()


def test_another_adapters_folder_is_refused_by_name(tmp_path):
    done = _train("bt", "--average", str(ADAPTERS / "bt"), str(ADAPTERS / "qa"),
                  "--out", str(tmp_path / "bt"))
    assert done.returncode == 1, done.stderr
    assert "does not hold the 'bt' adapter" in done.stderr and "qa" in done.stderr
    assert not (tmp_path / "bt").exists()


def test_averaging_takes_no_training_config(tmp_path):
    done = _train("bt", "--average", str(ADAPTERS / "bt"), str(ADAPTERS / "bt"),
                  "--config", "llm_mars/training/configs/bt.yaml", "--out", str(tmp_path / "bt"))
    assert done.returncode != 0 and "takes no --config" in done.stderr
    assert not (tmp_path / "bt").exists()


def test_a_kept_rank_makes_an_adapter_of_that_rank(tmp_path):
    done = _train("bt", "--average", str(ADAPTERS / "bt"), str(ADAPTERS / "bt"), "--rank", "16",
                  "--out", str(tmp_path / "bt"))
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "bt" / "adapter_config.json").read_text())["r"] == 16
    done = _train("bt", "--average", str(ADAPTERS / "bt"), str(ADAPTERS / "bt"), "--rank", "65",
                  "--out", str(tmp_path / "too"))
    assert done.returncode == 1 and "rank at most 64" in done.stderr


def test_one_seed_of_an_averaged_adapter_needs_its_own_folder():
    done = _train("qa", "--seed", "5")  # the committed qa config averages two seeds
    assert done.returncode != 0 and "give it its own --out" in done.stderr
