"""Adapter folders: where the shipped ones are, and what each says about how it was trained
(``llm_mars_adapter.json``).

The shipped adapters are trained with short system prompts of their own (the adapter learns
the output format; constrained decoding guarantees validity), not the full catalogue prompt
of :mod:`llm_mars.llm.prompts`. Inference must use exactly the training prompt, so the prompt
is stored beside the weights and read back here. The user message is the same text
:mod:`llm_mars.llm.prompts` builds (the command; or the state summary and the question).
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm_mars.errors import AdapterLoadError, AdapterMismatchError, AdapterMissingError
from llm_mars.llm.requests import ADAPTER_NAMES, ADAPTERS

META_FILE = "llm_mars_adapter.json"


def default_adapters_dir() -> Path:
    """``models/adapters`` of the checkout, else of the installed package's share folder."""
    here = Path(__file__).resolve().parents[2] / "models" / "adapters"
    if here.is_dir():
        return here
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory("llm_mars")) / "models" / "adapters"
    except (ImportError, LookupError, ValueError, OSError):  # not an installed ROS package
        return here


@dataclass(frozen=True)
class AdapterMeta:
    adapter: str  # one of ADAPTER_NAMES
    system_prompt: str
    base_model_sha256: str | None = None
    extra: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        data = {"adapter": self.adapter, "system_prompt": self.system_prompt,
                "base_model_sha256": self.base_model_sha256}
        data.update(self.extra or {})
        return data


def write_adapter_meta(adapter_dir: str | Path, meta: AdapterMeta) -> Path:
    path = Path(adapter_dir) / META_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(meta.to_json(), indent=2) + "\n", encoding="utf-8")
    return path


def replace_folder(new: Path, folder: Path) -> None:
    """Put the finished folder ``new`` in the place of ``folder`` (which may not exist): the
    old one is renamed aside first, so a reader never sees half an adapter."""
    old = folder.parent / f".old-{folder.name}"
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    new.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def read_adapter_meta(adapter_dir: str | Path) -> AdapterMeta:
    """The folder's metadata; :class:`AdapterLoadError` if it is missing or malformed."""
    path = Path(adapter_dir) / META_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AdapterLoadError(f"{path}: cannot be read ({exc.strerror})") from None
    except ValueError as exc:
        raise AdapterLoadError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("adapter") not in ADAPTER_NAMES \
            or not isinstance(data.get("system_prompt"), str) or not data["system_prompt"]:
        raise AdapterLoadError(f"{path}: needs 'adapter' (one of {ADAPTER_NAMES}) and a "
                               "non-empty 'system_prompt'")
    extra = {k: v for k, v in data.items()
             if k not in ("adapter", "system_prompt", "base_model_sha256")}
    return AdapterMeta(data["adapter"], data["system_prompt"], data.get("base_model_sha256"),
                       extra or None)


def required_adapter_dirs(root: str | Path, base_sha256: str | None = None) -> dict[str, Path]:
    """The ``bt`` and ``qa`` folders under ``root`` (and ``describe`` when it is there),
    checked before anything loads: a missing ``bt`` or ``qa`` folder is an
    :class:`AdapterMissingError`, a folder whose metadata names another adapter
    or (when ``base_sha256`` is known) another base model an :class:`AdapterMismatchError`,
    each naming the folder. Without this a server would quietly run the base model."""
    folders = {}
    for name in ADAPTER_NAMES:
        folder = Path(root) / name
        if name not in ADAPTERS and not folder.is_dir():
            continue  # an optional adapter (describe) is served when its folder is there
        if not folder.is_dir():
            raise AdapterMissingError(folder, "install the package with its adapters (colcon "
                                      "build installs models/adapters into share/llm_mars) or "
                                      "point adapters_dir / --adapters at a folder with bt/ and qa/")
        meta = read_adapter_meta(folder)
        if meta.adapter != name:
            raise AdapterMismatchError(folder, f"holds the {meta.adapter!r} adapter, not {name!r}")
        if base_sha256 and meta.base_model_sha256 and meta.base_model_sha256 != base_sha256:
            raise AdapterMismatchError(folder, f"was trained on base model sha256 "
                                       f"{meta.base_model_sha256[:16]}..., not on this model "
                                       f"({base_sha256[:16]}...); pass adapters trained for it")
        folders[name] = folder
    return folders


def system_prompt(adapter_dir: str | Path | None) -> str | None:
    """The system prompt an adapter folder was trained with; ``None`` when there is no folder
    or it carries no metadata (requests then use :mod:`llm_mars.llm.prompts`)."""
    if adapter_dir is None or not (Path(adapter_dir) / META_FILE).is_file():
        return None
    return read_adapter_meta(adapter_dir).system_prompt


def adapter_messages(adapter_dir: str | Path, user_text: str) -> list[dict[str, str]]:
    """Chat messages for the adapter in ``adapter_dir``: its training system prompt and
    ``user_text`` (as :func:`llm_mars.llm.prompts.bt_messages` / ``qa_messages`` build it)."""
    meta = read_adapter_meta(adapter_dir)
    return chat_messages(meta.system_prompt, user_text)


def chat_messages(system_prompt: str, user_text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system_prompt},
            {"role": "user", "content": user_text.strip()}]
