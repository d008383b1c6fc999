import json

import pytest

from llm_mars.errors import AdapterLoadError
from llm_mars.training.adapter_meta import (AdapterMeta, adapter_messages, read_adapter_meta,
                                            write_adapter_meta)


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
