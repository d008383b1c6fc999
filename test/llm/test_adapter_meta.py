import json

import pytest

from llm_mars.errors import AdapterLoadError
from llm_mars.llm.adapter_meta import (AdapterMeta, adapter_messages, default_adapters_dir,
                                       read_adapter_meta, system_prompt, write_adapter_meta)


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
