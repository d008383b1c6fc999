"""``python -m llm_mars.cli`` is the ``llm-mars`` command."""
from __future__ import annotations

import json
import subprocess
import sys


def test_the_package_runs_as_the_command():
    done = subprocess.run([sys.executable, "-m", "llm_mars.cli", "skills", "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "MoveTo" in {node["tag"] for node in json.loads(done.stdout)["nodes"]}
