"""``colcon build`` of a clean copy of the package, plain and ``--symlink-install``, and a node
started from ``install/`` the way ``ros2 run`` starts it (the workspace's setup.bash sourced,
the executable in ``install/llm_mars/lib/llm_mars``): it must find the adapters there.

colcon (``colcon-common-extensions``) and ``ament_package`` come from PyPI into the project's
environment; the installed scripts run under the interpreter colcon ran under, which is how
they find rclpy (README, "Building with colcon").
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COLCON = Path(sys.executable).parent / "colcon"

pytestmark = pytest.mark.ros


def clean_copy(workspace: Path) -> None:
    """The files git would commit (tracked, and untracked but not ignored) under src/."""
    package = workspace / "src" / "llm_mars"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, check=True, capture_output=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        if (ROOT / name).is_file():
            (package / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, package / name)


def colcon_build(workspace: Path, *options: str) -> None:
    done = subprocess.run([str(COLCON), "build", *options, "--event-handlers", "console_direct-"],
                          cwd=workspace, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


class Ros2Run:
    """``ros2 run llm_mars EXECUTABLE --ros-args ...`` with only the workspace sourced, from
    another directory, so nothing of this checkout is on the path; its output is collected."""

    def __init__(self, workspace: Path, executable: str, *ros_args: str):
        script = workspace / "install" / "llm_mars" / "lib" / "llm_mars" / executable
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AMENT_PREFIX_PATH")}
        self.proc = subprocess.Popen(
            ["bash", "-c", 'source "$1/install/setup.bash" && exec "${@:2}"', "ros2_run",
             str(workspace), str(script), "--ros-args", *ros_args],
            cwd="/", env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.output: list[str] = []
        self._reader = threading.Thread(target=lambda: self.output.extend(self.proc.stdout),
                                        daemon=True)
        self._reader.start()

    def wait_for(self, pattern: str, timeout_s: float) -> re.Match:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = re.search(pattern, "".join(self.output))
            if found:
                return found
            if not self._reader.is_alive():  # the process closed its output: nothing more
                break
            time.sleep(0.2)
        self.proc.kill()
        pytest.fail(f"no {pattern!r} from {self.proc.args}:\n{''.join(self.output)}")


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.slow  # loads the model: 10-20 s each on two cores
@pytest.mark.parametrize("options", [(), ("--symlink-install",)], ids=["plain", "symlink"])
def test_the_built_llm_server_runs_with_the_installed_adapters(tmp_path, options):
    clean_copy(tmp_path)
    colcon_build(tmp_path, *options)
    script = tmp_path / "install" / "llm_mars" / "lib" / "llm_mars" / "llm_server"
    interpreter = Path(script.read_text().splitlines()[0].removeprefix("#!"))
    assert interpreter.parent == Path(sys.executable).parent  # the environment colcon ran in

    node = Ros2Run(tmp_path, "llm_server")
    found = node.wait_for(r"adapters: bt from (\S+), qa from (\S+), describe from (\S+)\n", 60)
    for folder in map(Path, found.groups()):
        assert tmp_path in folder.parents, folder  # the workspace's own, never this checkout's
        assert (folder / "adapter_model.safetensors").is_file()
    if not options:
        assert tmp_path / "install" in Path(found[1]).parents
    node.wait_for(r"model ready; adapters: bt, describe, qa; plans chosen by describe", 180)
    assert stop(node.proc) == 0


def test_an_installed_llm_server_without_its_adapters_does_not_start(tmp_path):
    clean_copy(tmp_path)
    colcon_build(tmp_path)
    missing = tmp_path / "install" / "llm_mars" / "share" / "llm_mars" / "models" / "adapters" / "qa"
    shutil.rmtree(missing)
    node = Ros2Run(tmp_path, "llm_server")
    assert node.proc.wait(timeout=60) == 1
    node.wait_for(f"cannot start: {re.escape(str(missing))}: adapter folder does not exist", 5)
