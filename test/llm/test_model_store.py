"""Model store: finding, verifying, converting and loading the base model."""
from __future__ import annotations

import argparse
import os
import shutil
import sys

import pytest

from llm_mars.errors import ModelFileError
from llm_mars.llm import model_store as ms


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


# --- the bundled GGUF ---------------------------------------------------------------------


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    """A package whose __init__ fails on import, holding a small 'model file'."""
    pkg = tmp_path / "site" / "fake_smol_pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise ImportError('the model store must not import me')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return pkg


def test_bundled_gguf_found_without_importing_its_package(fake_package):
    _write(fake_package / "m.gguf", b"GGUF....")
    assert ms.find_bundled_gguf("fake_smol_pkg", "m.gguf") == fake_package / "m.gguf"
    assert "fake_smol_pkg" not in sys.modules


def test_missing_package_names_the_install_fix():
    with pytest.raises(ModelFileError) as err:
        ms.find_bundled_gguf("no_such_pkg_for_llm_mars", "m.gguf")
    assert "no_such_pkg_for_llm_mars" in err.value.path
    assert ms.BUNDLED_PIP_PIN in err.value.fix


def test_missing_file_in_package_is_named(fake_package):
    with pytest.raises(ModelFileError) as err:
        ms.find_bundled_gguf("fake_smol_pkg", "m.gguf")
    assert err.value.path.endswith("m.gguf")
    assert "missing" in err.value.problem


def test_installed_bundled_gguf_matches_the_pin():
    path = ms.find_bundled_gguf()
    assert path.name == ms.BUNDLED_GGUF
    assert path.stat().st_size == ms.BUNDLED_GGUF_SIZE


# --- verify_file -----------------------------------------------------------------------------

GOOD = b"0123456789" * 100


@pytest.fixture
def good_file(tmp_path):
    return _write(tmp_path / "weights.bin", GOOD)


def _verify(path):
    ms.verify_file(path, len(GOOD), __import__("hashlib").sha256(GOOD).hexdigest(), "the fix")


def test_verify_file_accepts_the_right_file(good_file):
    _verify(good_file)


@pytest.mark.parametrize("damage, problem", [
    ("delete", "missing"),
    ("truncate", "truncated"),
    ("append", "wrong size"),
    ("flip", "SHA-256"),
])
def test_verify_file_names_each_kind_of_damage(good_file, damage, problem):
    if damage == "delete":
        good_file.unlink()
    elif damage == "truncate":
        _write(good_file, GOOD[:500])
    elif damage == "append":
        _write(good_file, GOOD + b"x")
    else:
        _write(good_file, GOOD[:10] + b"X" + GOOD[11:])
    with pytest.raises(ModelFileError) as err:
        _verify(good_file)
    assert err.value.path == str(good_file)
    assert problem in err.value.problem
    assert err.value.fix == "the fix"
    assert str(good_file) in str(err.value) and "the fix" in str(err.value)


# --- manifests and cached folders ------------------------------------------------------------


@pytest.fixture
def model_folder(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    _write(folder / "model.safetensors", GOOD)
    _write(folder / "config.json", b'{"model_type": "llama"}')
    ms.write_manifest(folder, {"gguf": "x"})
    return folder


def test_manifest_lists_every_file(model_folder):
    manifest = ms.read_manifest(model_folder)
    assert set(manifest["files"]) == {"model.safetensors", "config.json"}
    assert manifest["files"]["model.safetensors"]["size"] == len(GOOD)
    ms.verify_manifest(model_folder)


def test_truncated_cached_file_names_the_file_and_the_rebuild_fix(model_folder):
    ms.verify_manifest(model_folder)  # leaves a verified stamp behind
    with open(model_folder / "model.safetensors", "r+b") as handle:
        handle.truncate(100)
    with pytest.raises(ModelFileError) as err:
        ms.verify_manifest(model_folder)
    assert err.value.path == str(model_folder / "model.safetensors")
    assert "truncated" in err.value.problem
    assert "llm-mars model info --rebuild" in err.value.fix


def test_same_size_tampering_is_caught_after_a_verified_stamp(model_folder):
    ms.verify_manifest(model_folder)
    assert (model_folder / ms.VERIFIED_STAMP).exists()
    with open(model_folder / "model.safetensors", "r+b") as handle:
        handle.seek(7)
        handle.write(b"#")
    with pytest.raises(ModelFileError) as err:
        ms.verify_manifest(model_folder)
    assert "SHA-256" in err.value.problem


def test_missing_manifest_and_garbage_manifest(model_folder):
    (model_folder / ms.MANIFEST).write_text("{not json")
    with pytest.raises(ModelFileError) as err:
        ms.verify_manifest(model_folder)
    assert err.value.path.endswith(ms.MANIFEST)
    (model_folder / ms.MANIFEST).unlink()
    with pytest.raises(ModelFileError):
        ms.verify_manifest(model_folder)


# --- conversion ----------------------------------------------------------------------------


class FakeConverter:
    """Writes a two-file 'model'; counts calls; can fail half-way."""

    def __init__(self, fail: bool = False):
        self.calls, self.fail = 0, fail

    def __call__(self, gguf, out_dir):
        self.calls += 1
        _write(out_dir / "config.json", b'{"model_type": "llama"}')
        if self.fail:
            raise RuntimeError("disk full")
        _write(out_dir / "model.safetensors", gguf.read_bytes() * 2)


@pytest.fixture
def gguf(tmp_path):
    return _write(tmp_path / "m.gguf", GOOD)


def test_conversion_happens_once(tmp_path, gguf):
    convert, target = FakeConverter(), tmp_path / "cache" / "models" / "m"
    assert ms.ensure_converted(gguf, target, {"gguf": "m"}, convert=convert) == target
    assert ms.ensure_converted(gguf, target, {"gguf": "m"}, convert=convert) == target
    assert convert.calls == 1
    assert (target / "model.safetensors").read_bytes() == GOOD * 2


def test_interrupted_conversion_leaves_nothing_behind(tmp_path, gguf):
    target = tmp_path / "cache" / "models" / "m"
    with pytest.raises(RuntimeError):
        ms.ensure_converted(gguf, target, {"gguf": "m"}, convert=FakeConverter(fail=True))
    assert not target.exists()
    assert os.listdir(target.parent) == [".lock"]


def test_leftover_temp_folders_are_removed(tmp_path, gguf):
    target = tmp_path / "cache" / "models" / "m"
    (target.parent / f".tmp-{target.name}-crashed").mkdir(parents=True)
    ms.ensure_converted(gguf, target, {"gguf": "m"}, convert=FakeConverter())
    assert sorted(os.listdir(target.parent)) == [".lock", "m"]


def test_rebuild_recovers_a_corrupt_conversion(tmp_path, gguf):
    convert, target = FakeConverter(), tmp_path / "cache" / "models" / "m"
    ms.ensure_converted(gguf, target, {"gguf": "m"}, convert=convert)
    _write(target / "model.safetensors", b"garbage")
    with pytest.raises(ModelFileError) as err:
        ms.ensure_converted(gguf, target, {"gguf": "m"}, convert=convert)
    assert err.value.path == str(target / "model.safetensors")
    ms.ensure_converted(gguf, target, {"gguf": "m"}, convert=convert, rebuild=True)
    assert convert.calls == 2
    ms.verify_manifest(target)


def test_conversion_of_another_model_file_is_not_reused(tmp_path, gguf):
    target = tmp_path / "cache" / "models" / "m"
    ms.ensure_converted(gguf, target, {"gguf": "m", "sha256": "a"}, convert=FakeConverter())
    with pytest.raises(ModelFileError):
        ms.ensure_converted(gguf, target, {"gguf": "m", "sha256": "b"}, convert=FakeConverter())


# --- configured folders ----------------------------------------------------------------------


def test_configured_folder_from_env_and_argument(tmp_path, monkeypatch, model_folder):
    monkeypatch.setenv(ms.ENV_MODEL, str(model_folder))
    assert ms.resolve_model_dir() == model_folder
    assert ms.resolve_model_dir(str(model_folder)) == model_folder
    with pytest.raises(ModelFileError) as err:
        ms.resolve_model_dir(tmp_path / "nowhere")
    assert ms.ENV_MODEL in err.value.fix
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelFileError) as err:
        ms.resolve_model_dir(empty)
    assert err.value.path.endswith("config.json")


def test_cache_root_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv(ms.ENV_CACHE, str(tmp_path))
    assert ms.bundled_model_dir().parent == tmp_path / "models"


def test_dtype_override(monkeypatch):
    import torch

    monkeypatch.setenv(ms.ENV_DTYPE, "float32")
    assert ms.torch_dtype(None) is torch.float32
    monkeypatch.setenv(ms.ENV_DTYPE, "int3")
    with pytest.raises(ms.ModelError):
        ms.torch_dtype(None)


def test_the_default_precision_is_int4_on_the_cpu_whatever_its_instructions(monkeypatch):
    """One numeric path on every CPU (the shipped figures are measured with it); transformers
    loads that path's de-quantised weights in fp32."""
    import torch

    monkeypatch.delenv(ms.ENV_DTYPE, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert ms.default_precision() == "int4"
    assert ms.torch_dtype(None) is torch.float32 and ms.torch_dtype("bfloat16") is torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert ms.default_precision() == "bfloat16"


def test_the_quantized_cache_file_follows_the_weight_files(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    weights = folder / "model.safetensors"
    weights.write_bytes(b"one")
    first = ms.quantized_cache_file(folder, root=tmp_path / "cache")
    assert first.parent == tmp_path / "cache" / "quantized" and first.name.startswith("model-")
    assert ms.quantized_cache_file(folder, root=tmp_path / "cache") == first
    weights.write_bytes(b"other weights")
    assert ms.quantized_cache_file(folder, root=tmp_path / "cache") != first


# --- the real bundled model (slow) -------------------------------------------------------------


def _model_info(argv):
    from llm_mars.cli import model as commands

    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers())
    args = parser.parse_args(["model", "info", *argv])
    return args.handler(args)


@pytest.mark.slow
def test_the_fast_tokenizer_tokenizes_as_autotokenizer_does():
    from transformers import AutoTokenizer

    folder = ms.resolve_model_dir()
    ours, theirs = ms.load_tokenizer(folder), AutoTokenizer.from_pretrained(folder)
    conversations = [
        [{"role": "user", "content": "Robot 1, bring the brown cake from quadrant 2 to plate 3."}],
        [{"role": "system", "content": "Eurobot command to BehaviorTree plan or <reply>."},
         {"role": "user", "content": "robot two  go to holder four, then ça va? 🍒"}],
    ]
    for messages in conversations:
        for prompt in (True, False):
            assert ours.apply_chat_template(messages, add_generation_prompt=prompt) == \
                theirs.apply_chat_template(messages, add_generation_prompt=prompt)
    assert ours.eos_token_id == theirs.eos_token_id and len(ours) == len(theirs)
    text = "<root BTCPP_format=\"4\">\n  <Wait seconds=\"2\"/>"
    assert ours.encode(text) == theirs.encode(text)


@pytest.mark.slow
def test_bundled_model_loads_offline_and_generates(monkeypatch):
    import torch

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loaded = ms.load_model(dtype="float32")
    assert loaded.num_parameters == 134_515_008
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    inputs = loaded.tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.inference_mode():
        out = loaded.model.generate(**inputs, max_new_tokens=8, do_sample=False)
    reply = loaded.tokenizer.decode(out[0, inputs["input_ids"].shape[1]:])
    assert "Paris" in reply


@pytest.mark.slow
def test_model_info_reports_corruption_and_rebuild_recovers(tmp_path, monkeypatch, capsys):
    real = ms.resolve_model_dir()
    monkeypatch.setenv(ms.ENV_CACHE, str(tmp_path))
    monkeypatch.delenv(ms.ENV_MODEL, raising=False)
    shutil.copytree(real, ms.bundled_model_dir())
    weights = ms.bundled_model_dir() / "model.safetensors"
    with open(weights, "r+b") as handle:
        handle.truncate(1000)
    with pytest.raises(ModelFileError) as err:
        _model_info([])
    assert err.value.path == str(weights) and "--rebuild" in err.value.fix
    assert _model_info(["--rebuild"]) == 0
    out = capsys.readouterr().out
    assert "134,515,008" in out and "cpu:" in out and "cpu kernels:" in out
    ms.verify_manifest(ms.bundled_model_dir(), rehash=True)
