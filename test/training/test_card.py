import json

import yaml

from llm_mars.evaluation.evaluate import PlanReport, report_json
from llm_mars.training.card import render_card
from llm_mars.training.train import TrainStats, default_config_path, load_config


def _folder(tmp_path):
    config = load_config(default_config_path("qa"))
    (tmp_path / "train.yaml").write_text(yaml.safe_dump(config.to_json()))
    stats = TrainStats(examples=10, dropped_too_long=0, steps_planned=4, steps_done=3,
                       seconds=120.0, tokens=2000, stopped_early=True, first_loss=2.5,
                       final_loss=0.25, mean_tokens_per_example=200.0,
                       trained_on="AMD EPYC, 2 cores (avx2)")
    data = {**stats.__dict__, "tokens_per_second": 16.7}
    (tmp_path / "train_stats.json").write_text(json.dumps(data))
    (tmp_path / "adapter_model.safetensors").write_bytes(b"x" * 1000)
    return config


def test_card_states_data_hyperparameters_time_and_scores(tmp_path):
    config = _folder(tmp_path)
    report = {"summary": {"factual_accuracy": 0.9, "questions": 111, "latency_p50_s": 0.5,
                          "latency_p95_s": 0.9}, "results": []}
    card = render_card(tmp_path, [("llm-mars eval qa q.jsonl", report)])
    assert config.system_prompt in card
    assert "3/4 steps in 2.0 min on AMD EPYC, 2 cores (avx2)" in card
    assert "stopped at the time budget" in card
    assert f"lr {config.train.learning_rate:g}" in card and f"r={config.lora.r}" in card
    assert "**90.0 %** of 111 questions" in card and "llm-mars eval qa q.jsonl" in card
    assert "factual accuracy >= 97 % **not met**" in card
    assert "contradict the state: not recorded" in card
    report["summary"].update(factual_accuracy=0.98, yes_no_contradictions=0)
    card = render_card(tmp_path, [("llm-mars eval qa q.jsonl", report)])
    assert "factual accuracy >= 97 % met; no contradicting yes/no met" in card


def test_card_without_scores_says_so(tmp_path):
    _folder(tmp_path)
    assert "Not evaluated yet" in render_card(tmp_path)
    plan_report = report_json(PlanReport())
    assert "| tasks | passed |" in render_card(tmp_path, [("x", plan_report)])


def test_latencies_measured_under_load_are_marked_and_not_judged(tmp_path):
    _folder(tmp_path)
    report = {"summary": {"factual_accuracy": 0.98, "questions": 50, "latency_p50_s": 5.0,
                          "latency_p95_s": 9.0, "concurrency": 6}, "results": []}
    card = render_card(tmp_path, [("x", report)])
    assert "p50 5.0 s, p95 9.0 s (6 cases at once: latencies under load)" in card
    assert "answer p50 <= 0.8 s not judged (6 cases at once)" in card
    report["summary"]["concurrency"] = 1
    assert "answer p50 <= 0.8 s **not met**" in render_card(tmp_path, [("x", report)])


def test_an_averaged_adapters_card_names_its_seeds_and_each_run(tmp_path):
    import dataclasses

    config = dataclasses.replace(load_config(default_config_path("qa")), seeds=(7, 8))
    (tmp_path / "train.yaml").write_text(yaml.safe_dump(config.to_json()))
    members = [{**TrainStats(examples=10, dropped_too_long=0, steps_planned=4, steps_done=4,
                             seconds=60.0 * minutes, tokens=2000, first_loss=2.5,
                             final_loss=loss, mean_tokens_per_example=20.0).__dict__,
                "tokens_per_second": 16.7, "seed": seed}
               for seed, minutes, loss in ((7, 41, 0.03), (8, 43, 0.04))]
    (tmp_path / "train_stats.json").write_text(json.dumps(
        {"examples": 10, "mean_tokens_per_example": 20.0, "members": members}))
    (tmp_path / "adapter_model.safetensors").write_bytes(b"x" * 1000)
    card = render_card(tmp_path)
    assert "seeds 7, 8: one training each" in card and "rank 2 x 16" in card
    assert "- seed 7: 4/4 steps in 41.0 min" in card and "last 10 steps 0.03" in card
    assert "- seed 8: 4/4 steps in 43.0 min" in card and "last 10 steps 0.04" in card
