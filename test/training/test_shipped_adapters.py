"""The adapters shipped in models/adapters: complete, small, and loadable by PEFT and by the
engine's own reader, with the prompt they were trained with."""
import json

import pytest
import yaml

from llm_mars.llm.adapter_meta import default_adapters_dir, read_adapter_meta
from llm_mars.llm.adapters import CONFIG_FILE, WEIGHTS_FILE, load_lora_adapter
from llm_mars.llm.requests import ADAPTER_NAMES
from llm_mars.training.train import MAX_ADAPTER_BYTES, STATS_FILE, TRAIN_CONFIG_FILE, load_config

REPORTS = {"bt": ("eval_plans.json", "eval_plans_no_grounding.json"), "qa": ("eval_qa.json",),
           "describe": ("eval_rerank.json",)}


@pytest.mark.parametrize("name", ADAPTER_NAMES)
def test_adapter_folder_is_complete_and_small(name):
    folder = default_adapters_dir() / name
    for needed in (CONFIG_FILE, WEIGHTS_FILE, "llm_mars_adapter.json", TRAIN_CONFIG_FILE,
                   STATS_FILE, "README.md", *REPORTS[name]):
        assert (folder / needed).is_file(), needed
    assert (folder / WEIGHTS_FILE).stat().st_size <= MAX_ADAPTER_BYTES
    config = json.loads((folder / CONFIG_FILE).read_text())
    assert config["peft_type"] == "LORA"
    meta = read_adapter_meta(folder)
    assert meta.adapter == name
    trained = yaml.safe_load((folder / TRAIN_CONFIG_FILE).read_text())
    assert trained["system_prompt"] == meta.system_prompt
    # the committed config is the one the shipped adapter was trained with
    committed = load_config(f"llm_mars/training/configs/{name}.yaml").to_json()
    assert trained == committed


@pytest.mark.parametrize("name", ADAPTER_NAMES)
def test_the_card_is_the_one_its_files_write(name):
    """The card's figures come from the reports beside it (python -m llm_mars.training.card)."""
    from llm_mars.training.card import render_card

    folder = default_adapters_dir() / name
    reports = [(f"llm-mars eval ... --json {r}", json.loads((folder / r).read_text()))
               for r in REPORTS[name]]
    card = (folder / "README.md").read_text()
    for _, report in reports:
        assert render_card(folder, [("x", report)]).split("From `x`:")[1].strip() in card


@pytest.mark.parametrize("name", ADAPTER_NAMES)
def test_engine_reader_loads_every_projection(name):
    adapter = load_lora_adapter(default_adapters_dir() / name)
    assert adapter.rank == json.loads((default_adapters_dir() / name / CONFIG_FILE).read_text())["r"]
    kinds = {module.rsplit(".", 1)[-1] for module in adapter.modules}
    assert kinds == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}


@pytest.mark.slow
def test_peft_loads_the_shipped_adapters_on_the_bundled_model():
    import torch
    from peft import PeftModel

    from llm_mars.llm.model_store import load_model

    loaded = load_model(dtype="float32")
    ids = loaded.tokenizer("robot 1 go home", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        base = loaded.model(ids).logits
    model = PeftModel.from_pretrained(loaded.model, str(default_adapters_dir() / ADAPTER_NAMES[0]),
                                      adapter_name=ADAPTER_NAMES[0])
    for name in ADAPTER_NAMES[1:]:
        model.load_adapter(str(default_adapters_dir() / name), adapter_name=name)
    with torch.no_grad():
        for name in ADAPTER_NAMES:
            model.set_adapter(name)
            assert not torch.allclose(model(ids).logits, base, atol=1e-3), name
