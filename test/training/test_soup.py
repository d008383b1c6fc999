import copy
import json

import pytest
import torch

from llm_mars.errors import AdapterLoadError
from llm_mars.llm.adapter_meta import AdapterMeta, read_adapter_meta, write_adapter_meta
from llm_mars.training.soup import average_adapters

PROMPT = "Eurobot command to BehaviorTree plan or <reply>."


@pytest.fixture(scope="module")
def base():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(7)
    config = LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, vocab_size=50,
                         max_position_embeddings=64)
    return LlamaForCausalLM(config).eval()


def _member(base, folder, seed, adapter="bt", **config):
    """A PEFT LoRA with random non-zero A and B, and the project's adapter metadata."""
    from peft import LoraConfig, get_peft_model

    settings = dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"])
    settings.update(config)
    torch.manual_seed(seed)
    peft = get_peft_model(copy.deepcopy(base), LoraConfig(init_lora_weights=False, **settings))
    with torch.no_grad():
        for name, param in peft.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.3)
    peft.save_pretrained(folder)
    write_adapter_meta(folder, AdapterMeta(adapter, PROMPT, "ab" * 32, {"seed": seed}))
    return folder


def _merged_state(base, folder):
    from peft import PeftModel

    return PeftModel.from_pretrained(copy.deepcopy(base), folder).merge_and_unload().state_dict()


def _logits(model, ids):
    with torch.no_grad():
        return model(input_ids=torch.tensor([ids])).logits[0]


def test_the_average_is_the_mean_of_the_members_weight_changes(base, tmp_path):
    from peft import PeftModel

    members = [_member(base, tmp_path / f"m{i}", seed=i) for i in range(3)]
    out = average_adapters(members, tmp_path / "soup")
    # reference: each member merged into the base, the merged weights averaged
    states = [_merged_state(base, m) for m in members]
    reference = copy.deepcopy(base)
    reference.load_state_dict({k: sum(s[k] for s in states) / len(states) for k in states[0]})
    averaged = PeftModel.from_pretrained(copy.deepcopy(base), out).eval()
    ids = [3, 17, 5, 42, 8, 1, 29]
    torch.testing.assert_close(_logits(averaged, ids), _logits(reference, ids),
                               atol=1e-4, rtol=1e-4)
    # and it is not the base model or one member
    assert not torch.allclose(_logits(averaged, ids), _logits(base, ids), atol=1e-3)
    config = json.loads((out / "adapter_config.json").read_text())
    assert (config["r"], config["lora_alpha"]) == (12, 24)  # scaling stays alpha / r = 2
    meta = read_adapter_meta(out)
    assert (meta.adapter, meta.system_prompt) == ("bt", PROMPT)
    assert meta.extra["averaged_from"] == ["m0", "m1", "m2"]
    # an average of averages names its own members and no truncation of theirs
    small = average_adapters(members[:2], tmp_path / "small", rank=4)
    again = read_adapter_meta(average_adapters([small, members[2]], tmp_path / "again")).extra
    assert again["averaged_from"] == ["small", "m2"] and "largest_relative_error" not in again


def test_module_order_in_the_config_does_not_matter(base, tmp_path):
    a = _member(base, tmp_path / "a", 1, target_modules=["q_proj", "v_proj"])
    b = _member(base, tmp_path / "b", 2, target_modules=["v_proj", "q_proj"])
    assert (average_adapters([a, b], tmp_path / "soup") / "adapter_model.safetensors").is_file()


@pytest.mark.parametrize("other", [
    dict(lora_alpha=16),                           # another scaling
    dict(target_modules=["q_proj", "k_proj"]),     # other layers
    dict(adapter="qa"),                            # another adapter's metadata
    dict(use_rslora=True),                         # a scaling rule the stacking does not keep
    dict(alpha_pattern={"q_proj": 32}),            # a module's own scaling
    dict(rank_pattern={"q_proj": 2}),              # a module's own rank
    dict(lora_bias=True),                          # a bias besides A and B
])
def test_adapters_that_are_not_one_lora_together_are_refused(base, tmp_path, other):
    a = _member(base, tmp_path / "a", 1)
    b = _member(base, tmp_path / "b", 2, **other)
    with pytest.raises(AdapterLoadError, match="cannot be averaged"):
        average_adapters([a, b], tmp_path / "soup")
    with pytest.raises(AdapterLoadError, match="cannot be averaged"):
        average_adapters([b, a], tmp_path / "soup")
    assert not (tmp_path / "soup").exists()


def test_one_member_or_a_folder_without_an_adapter_is_refused(base, tmp_path):
    a = _member(base, tmp_path / "a", 1)
    with pytest.raises(AdapterLoadError, match="at least two"):
        average_adapters([a], tmp_path / "soup")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AdapterLoadError, match="not a readable LoRA adapter"):
        average_adapters([a, tmp_path / "empty"], tmp_path / "soup")
    corrupt = _member(base, tmp_path / "corrupt", 2)
    (corrupt / "adapter_model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(AdapterLoadError, match="not a readable LoRA adapter"):
        average_adapters([a, corrupt], tmp_path / "soup")
    other_kind = _member(base, tmp_path / "ia3", 3)
    config = json.loads((other_kind / "adapter_config.json").read_text())
    (other_kind / "adapter_config.json").write_text(json.dumps({**config, "peft_type": "IA3"}))
    with pytest.raises(AdapterLoadError, match="not a LoRA adapter"):
        average_adapters([a, other_kind], tmp_path / "soup")
    assert not (tmp_path / "soup").exists()


def test_the_output_replaces_an_adapter_folder_but_no_other_folder(base, tmp_path):
    from llm_mars.errors import AdapterTooLargeError

    a, b = _member(base, tmp_path / "a", 1), _member(base, tmp_path / "b", 2)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    with pytest.raises(AdapterLoadError, match="not an adapter folder"):
        average_adapters([a, b], out)
    assert (out / "notes.txt").read_text() == "keep"
    with pytest.raises(AdapterTooLargeError, match="--rank"):
        average_adapters([a, b], tmp_path / "big", max_bytes=1000)
    assert not (tmp_path / "big").exists()
    # an earlier adapter folder is replaced whole: nothing stale of it is left
    (tmp_path / "old" / "train.yaml").parent.mkdir()
    (tmp_path / "old" / "adapter_config.json").write_text("{}")
    (tmp_path / "old" / "train.yaml").write_text("seed: 1")
    average_adapters([a, b], tmp_path / "old")
    assert not (tmp_path / "old" / "train.yaml").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def _delta(folder, module="base_model.model.model.layers.1.self_attn.q_proj"):
    from safetensors.torch import load_file

    w = load_file(str(folder / "adapter_model.safetensors"))
    config = json.loads((folder / "adapter_config.json").read_text())
    scaling = config["lora_alpha"] / config["r"]
    return scaling * w[f"{module}.lora_B.weight"].double() @ w[f"{module}.lora_A.weight"].double()


def test_a_kept_rank_gives_the_best_approximation_of_that_rank(base, tmp_path):
    members = [_member(base, tmp_path / f"m{i}", seed=i) for i in range(2)]
    exact = _delta(average_adapters(members, tmp_path / "exact"))
    truncated = average_adapters(members, tmp_path / "r4", rank=4)
    config = json.loads((truncated / "adapter_config.json").read_text())
    assert (config["r"], config["lora_alpha"]) == (4, 8)
    u, s, vh = torch.linalg.svd(exact)
    best = (u[:, :4] * s[:4]) @ vh[:4]
    torch.testing.assert_close(_delta(truncated), best, atol=1e-5, rtol=1e-4)
    error = read_adapter_meta(truncated).extra["largest_relative_error"]
    assert 0.0 < error < 1.0
    assert error >= float(s[4:].norm() / s.norm()) - 1e-4  # the worst layer, this one at least


def test_an_adapter_averaged_with_itself_at_its_own_rank_is_itself(base, tmp_path):
    a = _member(base, tmp_path / "a", 1)
    same = average_adapters([a, a], tmp_path / "same", rank=4)
    torch.testing.assert_close(_delta(same), _delta(a), atol=1e-6, rtol=1e-5)
    assert read_adapter_meta(same).extra["largest_relative_error"] < 1e-6
    with pytest.raises(AdapterLoadError, match="rank at most 8"):
        average_adapters([a, a], tmp_path / "too", rank=9)


def test_a_config_of_several_seeds_trains_each_and_saves_their_average(base, tmp_path):
    """train_averaged with the real training replaced by one that writes a random member per
    seed: every seed trained once with its own seed, the average saved with the config and
    every member's stats, and the members' folders gone."""
    import dataclasses

    import yaml

    from llm_mars.training.train import (TrainStats, default_config_path, load_config,
                                         train_averaged)

    config = dataclasses.replace(load_config(default_config_path("bt")), seeds=(11, 12),
                                 system_prompt=PROMPT)
    trained = []

    def train(member_config, folder):
        trained.append((member_config.seed, folder.name))
        _member(base, folder, member_config.seed)
        return TrainStats(examples=5, dropped_too_long=0, steps_planned=2, steps_done=2,
                          seconds=60.0, tokens=100, first_loss=3.0, final_loss=0.1 * len(trained))

    out = tmp_path / "adapters" / "bt"
    stats = train_averaged(config, out, train, log=lambda _: None)
    assert trained == [(11, "11"), (12, "12")] and len(stats) == 2
    assert yaml.safe_load((out / "train.yaml").read_text()) == config.to_json()
    saved = json.loads((out / "train_stats.json").read_text())
    assert [m["seed"] for m in saved["members"]] == [11, 12]
    assert [m["final_loss"] for m in saved["members"]] == [0.1, 0.2]
    assert json.loads((out / "adapter_config.json").read_text())["r"] == 8
    assert read_adapter_meta(out).extra["averaged_from"] == ["11", "12"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["bt"]  # no member or temp folder
