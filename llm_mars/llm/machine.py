"""The machine a figure was measured on: speed and even accuracy depend on the CPU (its vector
instructions pick the kernels, see :mod:`llm_mars.llm.weights`), so every report and benchmark
names it beside its figures."""
from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx_ne_convert", "amx_bf16", "amx_int8", "asimd",
         "sve", "bf16", "i8mm")
"""The CPU flags that change which kernels run (x86: AVX2 / AVX-512 / bf16 / AMX; ARM: NEON
(``asimd``), SVE, bf16 and int8 matrix multiply)."""


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    flags: tuple[str, ...]
    torch_capability: str | None

    def describe(self) -> str:
        flags = ", ".join(self.flags) or "none of " + "/".join(FLAGS)
        capability = f"; torch {self.torch_capability}" if self.torch_capability else ""
        return f"{self.cpu}, {self.cores} cores ({flags}{capability})"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "flags": list(self.flags)}


def _cpuinfo(text: str) -> tuple[str, set[str]]:
    """Model name and flags from /proc/cpuinfo (x86 ``model name``/``flags``, ARM
    ``Features``)."""
    model, flags = "", set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "hardware", "cpu model") and not model:
            model = value.strip()
        elif key in ("flags", "features") and not flags:
            flags = set(value.split())
    return model, flags


def this_machine(cpuinfo: Path = Path("/proc/cpuinfo")) -> Machine:
    """This machine's CPU as figures should name it (the cores this process may use)."""
    try:
        model, flags = _cpuinfo(cpuinfo.read_text(errors="replace"))
    except OSError:
        model, flags = "", set()
    try:
        import torch

        capability = torch.backends.cpu.get_cpu_capability()
    except ImportError:
        capability = None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return Machine(model or platform.processor() or platform.machine(), cores or 1,
                   tuple(f for f in FLAGS if f in flags), capability)
