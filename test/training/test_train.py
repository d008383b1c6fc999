import random
from pathlib import Path

import pytest
import yaml

from llm_mars.errors import TrainingConfigError
from llm_mars.llm.requests import ADAPTER_NAMES
from llm_mars.training.train import (Encoded, _lr_at, answer_loss, collate,
                                     decision_offset, default_config_path, encode_pair,
                                     length_batches, load_config, training_pairs)


@pytest.mark.parametrize("adapter", ADAPTER_NAMES)
def test_committed_configs_load(adapter):
    config = load_config(default_config_path(adapter))
    assert config.adapter == adapter
    # at most 3 h on the 2 cores, every seed's training together
    assert config.system_prompt and config.train.max_minutes * len(config.seeds) <= 180
    assert int(config.data["examples"]) > 0


def _write(tmp_path: Path, data) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("change, where", [
    ({"adapter": "xx"}, "adapter"),
    ({"seed": "one"}, "seed"),
    ({"system_prompt": " "}, "system_prompt"),
    ({"train": {"batch_size": "8"}}, "train.batch_size"),
    ({"train": {"dtype": "float16"}}, "train.dtype"),
    ({"lora": {"rank": 8}}, "lora"),
    ({"extra": 1}, "c.yaml"),
])
def test_bad_configs_name_the_key(tmp_path, change, where):
    data = {"adapter": "bt", "seed": 1, "system_prompt": "p", "data": {"examples": 1, "seed": 1}}
    data.update(change)
    with pytest.raises(TrainingConfigError) as info:
        load_config(_write(tmp_path, data))
    assert where in info.value.where


@pytest.mark.parametrize("seeds, problem", [
    ({"seeds": [1]}, "at least two"),
    ({"seeds": [1, 1]}, "at least two different"),
    ({"seeds": [1, "2"]}, "integers"),
    ({"seeds": [[1], [2]]}, "integers"),
    ({"seeds": [True, 2]}, "integers"),
    ({"seeds": 3}, "list"),
    ({"seed": 1, "seeds": [1, 2]}, "either seed"),
    ({}, "either seed"),
])
def test_seeds_are_one_seed_or_several_different_ones(tmp_path, seeds, problem):
    data = {"adapter": "qa", "system_prompt": "p", "data": {"examples": 1, "seed": 1}, **seeds}
    with pytest.raises(TrainingConfigError, match=problem):
        load_config(_write(tmp_path, data))


def test_a_config_of_several_seeds_writes_back_as_it_was_read(tmp_path):
    data = {"adapter": "qa", "seeds": [5, 3], "system_prompt": "p",
            "data": {"examples": 1, "seed": 1}}
    config = load_config(_write(tmp_path, data))
    assert config.seeds == (5, 3)
    import dataclasses

    reread = load_config(_write(tmp_path, config.to_json()))
    assert dataclasses.replace(reread, source="") == dataclasses.replace(config, source="")
    assert config.to_json()["seeds"] == [5, 3] and "seed" not in config.to_json()
    with pytest.raises(ValueError):
        config.seed  # noqa: B018 - a single seed is asked of a config of several


def test_missing_config_file(tmp_path):
    with pytest.raises(TrainingConfigError):
        load_config(tmp_path / "nope.yaml")


def test_integer_accepted_for_float_settings(tmp_path):
    data = {"adapter": "qa", "seed": 1, "system_prompt": "p", "data": {"examples": 1, "seed": 1},
            "train": {"epochs": 2, "learning_rate": 1}}
    config = load_config(_write(tmp_path, data))
    assert config.train.epochs == 2 and config.train.learning_rate == 1


@pytest.fixture(scope="module")
def tokenizer():
    from llm_mars.llm.model_store import load_tokenizer, resolve_model_dir

    return load_tokenizer(resolve_model_dir())


@pytest.mark.slow  # loads the tokenizer (a few seconds on two busy cores)
def test_encode_pair_puts_the_answer_and_end_of_turn_last(tokenizer):
    encoded = encode_pair(tokenizer, "Be brief.", "robot 1 go home", "<reply>ok</reply>")
    prompt = tokenizer.decode(encoded.ids[:encoded.prompt_len])
    answer = tokenizer.decode(encoded.ids[encoded.prompt_len:])
    assert prompt.endswith("<|im_start|>assistant\n") and "Be brief." in prompt
    assert "robot 1 go home" in prompt
    assert answer == "<reply>ok</reply><|im_end|>"
    # the prompt is exactly what inference renders for these messages
    from llm_mars.llm.adapter_meta import chat_messages

    rendered = tokenizer.apply_chat_template(chat_messages("Be brief.", "robot 1 go home"),
                                             tokenize=False, add_generation_prompt=True)
    assert prompt == rendered


@pytest.mark.slow
def test_encode_pair_keeps_only_the_first_answer_tokens_for_decision_examples(tokenizer):
    full = encode_pair(tokenizer, "p", "robot 3 go home", "<reply>no</reply>")
    cut = encode_pair(tokenizer, "p", "robot 3 go home", "<reply>no</reply>", keep=2)
    assert cut.prompt_len == full.prompt_len
    assert cut.ids == full.ids[:full.prompt_len + 2]
    assert tokenizer.decode(cut.ids[cut.prompt_len:]) == "<reply"


def test_bt_pairs_add_decision_examples_for_other_commands():
    import dataclasses

    config = load_config(default_config_path("bt"))
    config = dataclasses.replace(config, data={"examples": 30, "seed": 1, "reply_share": 0.5,
                                               "decision_examples": 20, "decision_seed": 2})
    pairs = training_pairs(config, decision_tokens=2)
    full, cut = pairs[:30], pairs[30:]
    assert len(cut) == 20 and all(p.keep == 0 for p in full) and all(p.keep == 2 for p in cut)
    assert not {p.user for p in full} & {p.user for p in cut}
    assert any(p.answer.startswith("<reply>") for p in cut)


def test_bt_pairs_take_words_back_at_the_configured_share():
    import dataclasses

    from llm_mars.language.lexicon import CORRECTION
    from llm_mars.language.normaliser import normalise

    config = load_config(default_config_path("bt"))
    data = {"examples": 200, "seed": 1, "reply_share": 0.2}

    def corrected(share: float) -> int:
        pairs = training_pairs(dataclasses.replace(
            config, data={**data, "correction_share": share}))
        return sum(bool(CORRECTION.search(normalise(p.user))) for p in pairs)

    assert corrected(0.0) < 5 < 40 < corrected(0.5)


def test_bt_pairs_say_steps_in_the_later_forms_at_the_configured_share():
    import dataclasses

    config = load_config(default_config_path("bt"))
    data = {"examples": 400, "seed": 1, "reply_share": 0.2}

    def said(share: float) -> int:
        pairs = training_pairs(dataclasses.replace(config, data={**data, "step_forms": share}))
        return sum(" sorted on " in p.user or " them in the basket" in p.user for p in pairs)

    assert said(0.0) < said(1.0)


def test_describe_pairs_are_the_bt_plans_reversed():
    import dataclasses

    from llm_mars.bt.parser import parse_bt_output
    from llm_mars.llm.prompts import describe_messages
    from llm_mars.training.plan_data import generate_plan_examples

    config = load_config(default_config_path("describe"))
    config = dataclasses.replace(config, data={"examples": 40, "seed": 3})
    pairs = training_pairs(config)
    plans = {e.command: e.output for e in generate_plan_examples(40, 3, 0.0)}
    assert len(pairs) == 40 and all(p.keep == 0 for p in pairs)
    for pair in pairs:  # the user text is a plan document, the answer its command
        assert pair.user == describe_messages(plans[pair.answer])[-1]["content"]
        parse_bt_output(pair.user)


@pytest.mark.slow
def test_decision_offset_is_where_plan_and_reply_part(tokenizer):
    offset = decision_offset(tokenizer)
    plan = tokenizer("<root BTCPP_format", add_special_tokens=False)["input_ids"]
    reply = tokenizer("<reply>x", add_special_tokens=False)["input_ids"]
    assert plan[:offset] == reply[:offset] and plan[offset] != reply[offset]


def test_collate_masks_prompt_and_padding_and_weights_the_decision():
    batch = [Encoded([5, 6, 7, 8], 2), Encoded([5, 6, 9], 1)]
    ids, mask, labels, weights = collate(batch, pad_id=0, decision=1, decision_weight=4.0)
    assert ids.tolist() == [[5, 6, 7, 8], [5, 6, 9, 0]]
    assert mask.tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]
    assert labels.tolist() == [[-100, -100, 7, 8], [-100, 6, 9, -100]]
    assert weights.tolist() == [[0, 0, 1, 4], [0, 1, 4, 0]]


def test_answer_loss_is_the_weighted_cross_entropy_of_the_answer_tokens():
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)

    class Body(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(12, 4)

        def forward(self, input_ids, attention_mask):
            from types import SimpleNamespace

            return SimpleNamespace(last_hidden_state=self.embed(input_ids))

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model, self.lm_head = Body(), torch.nn.Linear(4, 12)

    lm = Tiny()
    batch = [Encoded([1, 2, 3, 4], 2), Encoded([1, 5, 6], 1)]
    ids, mask, labels, weights = collate(batch, 0, decision=0, decision_weight=3.0)
    got = answer_loss(lm, ids, mask, labels, weights)
    logits = lm.lm_head(lm.model.embed(ids))
    # by hand: token t is predicted at t-1; answer tokens 3 (w3), 4, 5 (w3), 6
    terms = [(0, 1, 3, 3.0), (0, 2, 4, 1.0), (1, 0, 5, 3.0), (1, 1, 6, 1.0)]
    want = sum(w * F.cross_entropy(logits[r, p][None], torch.tensor([t])) for r, p, t, w in terms)
    assert torch.allclose(got, want / 8.0)


def test_length_batches_cover_every_example_once_with_similar_lengths():
    rng = random.Random(0)
    lengths = [rng.randint(20, 300) for _ in range(1000)]
    batches = length_batches(lengths, 8, random.Random(1))
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(1000))
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches)
    assert spread / len(batches) < 20  # random batches would spread ~200
    assert batches == length_batches(lengths, 8, random.Random(1))


def test_learning_rate_warms_up_then_decays():
    rates = [_lr_at(s, 100, 10, 1.0) for s in range(100)]
    assert rates[0] == pytest.approx(0.1) and rates[9] == pytest.approx(1.0)
    assert rates[10] > rates[50] > rates[99] >= 0.1


def test_a_run_the_time_budget_stops_ends_with_the_rate_decayed():
    """A run that gets through a quarter of its steps in its whole budget ends at 10 % of the
    peak, as the full run would; while the steps are further on than the time, they decide."""
    assert _lr_at(30, 100, 10, 1.0, time_spent=1.0) == pytest.approx(0.1)
    assert _lr_at(30, 100, 10, 1.0, time_spent=0.5) == pytest.approx(0.55)
    assert _lr_at(90, 100, 10, 1.0, time_spent=0.1) == _lr_at(90, 100, 10, 1.0)
    assert _lr_at(5, 100, 10, 1.0, time_spent=0.9) == pytest.approx(0.6)  # warm-up first


def test_bt_pairs_leave_verbs_out_at_the_configured_share():
    import dataclasses

    config = load_config(default_config_path("bt"))
    data = {"examples": 400, "seed": 1, "reply_share": 0.2}

    def plans(share: float) -> list[str]:
        return [p.user for p in training_pairs(
            dataclasses.replace(config, data={**data, "ellipsis": share}))]

    # "the same on plate 3 from quadrant 2" is said only by the gapped two-robot commands
    assert not any("the same on " in u for u in plans(0.0))
    assert plans(0.0) != plans(1.0)
    assert sum(" the same on " in u or " likewise from " in u for u in plans(1.0)) >= 1


def test_qa_pairs_ask_unanswerable_questions_in_answerable_shapes_when_configured():
    import dataclasses

    config = load_config(default_config_path("qa"))
    data = {"examples": 600, "seed": 1}

    def unknown_questions(shapes: bool) -> set[str]:
        pairs = training_pairs(dataclasses.replace(config, data={**data, "unknown_shapes": shapes}))
        return {p.user for p in pairs if p.answer == "unknown"}

    plain, shaped = unknown_questions(False), unknown_questions(True)
    assert len(shaped) > len(plain)
    new_words = ("tyre", "odometer", "firmware", "wifi", "serial number", "rival", "opposing",
                 "other side", "in thirty seconds", "in ten seconds", "tomorrow",
                 "final whistle", "when time runs out")
    assert not any(w in q.lower() for q in plain for w in new_words)
    assert sum(any(w in q.lower() for w in new_words) for q in shaped) >= 5
