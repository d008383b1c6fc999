"""Start llm_mars nodes as separate processes (their installed entry points) for tests."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def start_node(executable: str, *ros_args: str, namespace: str | None = None,
               log_dir: Path | None = None) -> subprocess.Popen:
    args = [str(BIN / executable), "--ros-args"]
    if namespace:
        args += ["-r", f"__ns:=/{namespace}"]
    for item in ros_args:
        args += ["-p", item]
    out = open(log_dir / f"{namespace or ''}{executable}.log", "w") if log_dir else subprocess.DEVNULL
    return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))


def stop(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def kill(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait()
