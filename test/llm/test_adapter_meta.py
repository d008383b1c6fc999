import json

import pytest

import shutil

from llm_mars.errors import AdapterLoadError, AdapterMismatchError, AdapterMissingError
from llm_mars.llm.adapter_meta import (AdapterMeta, adapter_messages, default_adapters_dir,
                                       read_adapter_meta, required_adapter_dirs, system_prompt,
                                       write_adapter_meta)
from llm_mars.llm.model_store import BUNDLED_GGUF_SHA256, base_model_sha256


def test_round_trip_and_messages(tmp_path):
    write_adapter_meta(tmp_path, AdapterMeta("qa", "Answer briefly.", "abc", {"steps": 3}))
    meta = read_adapter_meta(tmp_path)
    assert meta == AdapterMeta("qa", "Answer briefly.", "abc", {"steps": 3})
    assert adapter_messages(tmp_path, " where is robot 1? ") == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "where is robot 1?"}]


@pytest.mark.parametrize("content", ["not json", json.dumps({"adapter": "zz", "system_prompt": "x"}),
                                     json.dumps({"adapter": "bt", "system_prompt": ""})])
def test_malformed_metadata_is_an_adapter_load_error(tmp_path, content):
    (tmp_path / "llm_mars_adapter.json").write_text(content)
    with pytest.raises(AdapterLoadError):
        read_adapter_meta(tmp_path)


def test_missing_metadata(tmp_path):
    with pytest.raises(AdapterLoadError):
        adapter_messages(tmp_path, "x")


def test_a_folder_without_metadata_has_no_system_prompt_and_a_bad_one_is_an_error(tmp_path):
    assert system_prompt(None) is None and system_prompt(tmp_path) is None
    (tmp_path / "llm_mars_adapter.json").write_text(json.dumps({"adapter": "bt"}))
    with pytest.raises(AdapterLoadError):
        system_prompt(tmp_path)


def test_the_shipped_adapters_carry_their_training_prompts():
    assert system_prompt(default_adapters_dir() / "bt") == \
        read_adapter_meta(default_adapters_dir() / "bt").system_prompt


def shipped_copy(tmp_path):
    root = tmp_path / "adapters"
    for name in ("bt", "qa"):
        shutil.copytree(default_adapters_dir() / name, root / name)
    return root


def test_the_shipped_adapters_are_required_and_fit_the_bundled_model(tmp_path):
    root = shipped_copy(tmp_path)
    assert required_adapter_dirs(root, base_model_sha256()) == {"bt": root / "bt", "qa": root / "qa"}
    assert base_model_sha256() == BUNDLED_GGUF_SHA256


def test_the_describe_adapter_is_served_when_its_folder_is_there(tmp_path):
    root = shipped_copy(tmp_path)
    write_adapter_meta(root / "describe", AdapterMeta("describe", "plan to command"))
    assert required_adapter_dirs(root)["describe"] == root / "describe"
    shutil.rmtree(root / "describe")
    shutil.copytree(root / "bt", root / "describe")
    with pytest.raises(AdapterMismatchError) as caught:
        required_adapter_dirs(root)
    assert caught.value.path == str(root / "describe")


def test_a_missing_adapter_is_an_error_naming_its_folder(tmp_path):
    root = shipped_copy(tmp_path)
    shutil.rmtree(root / "qa")
    with pytest.raises(AdapterMissingError) as caught:
        required_adapter_dirs(root)
    assert caught.value.path == str(root / "qa")


def test_an_adapter_in_the_wrong_folder_is_a_mismatch(tmp_path):
    root = shipped_copy(tmp_path)
    shutil.rmtree(root / "qa")
    shutil.copytree(root / "bt", root / "qa")
    with pytest.raises(AdapterMismatchError) as caught:
        required_adapter_dirs(root)
    assert caught.value.path == str(root / "qa")


def test_an_adapter_trained_on_another_base_model_is_a_mismatch(tmp_path):
    root = shipped_copy(tmp_path)
    with pytest.raises(AdapterMismatchError) as caught:
        required_adapter_dirs(root, "0" * 64)
    assert caught.value.path == str(root / "bt")
    assert required_adapter_dirs(root, None)  # an unknown base model is not checked
