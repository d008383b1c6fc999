"""Held-out phrasing families of the bt data (llm_mars.training.plan_data) and their cases
(llm_mars.training.plan_held_out)."""
import json
import random

import pytest

from llm_mars.evaluation.expectations import CommandCase, evaluate_case
from llm_mars.session.match import Match
from llm_mars.language.grounding import out_of_world
from llm_mars.language.normaliser import normalise
from llm_mars.training.plan_data import (HELD_OUT_CORRECTION, HELD_OUT_FAMILIES,
                                         generate_plan_examples, held_out_correction_examples,
                                         held_out_family, held_out_gap_examples,
                                         held_out_plan_examples, held_out_step_examples,
                                         make_example)
from llm_mars.training.plan_held_out import held_out_plan_cases, reference_state


def test_the_training_generator_never_says_a_held_out_family():
    """Drawn the way training data is drawn (no family): not one command in the wording of a
    held-out family, before the filter of generate_plan_examples has anything to do."""
    rng = random.Random(3)
    said = [e.command for e in (make_example(rng, 0.12) for _ in range(6000))
            if held_out_family(e.command) is not None]
    assert said == []


def test_training_data_holds_no_held_out_family_text():
    examples = generate_plan_examples(3000, seed=17)
    assert [e.command for e in examples if held_out_family(e.command)] == []


def test_every_held_out_family_is_generated_in_its_own_wording():
    examples = held_out_plan_examples(3 * len(HELD_OUT_FAMILIES), seed=4)
    by_family = {}
    for e in examples:
        (tag,) = [t for t in e.tags if t.startswith("family:")]
        family = tag.removeprefix("family:")
        assert held_out_family(e.command) == family, e.command
        by_family[family] = by_family.get(family, 0) + 1
    assert by_family == {family: 3 for family in HELD_OUT_FAMILIES}
    assert len({e.command for e in examples}) == len(examples)
    assert held_out_plan_examples(11, seed=4) == examples[:11]  # seeded


def test_training_corrections_never_take_a_word_back_in_a_held_out_way():
    examples = generate_plan_examples(1500, seed=8, reply_share=0.2, correction_share=0.3)
    corrected = [e for e in examples if "correction" in e.tags]
    assert len(corrected) > 200
    assert [e.command for e in examples if HELD_OUT_CORRECTION.search(normalise(e.command))] == []
    assert not any("correction" in e.tags for e in generate_plan_examples(1500, seed=8))


def test_held_out_corrections_are_plans_the_world_check_lets_through():
    """Each takes a word back in a held-out way, and the world check refuses none of them
    (what is taken back may be a place the field lacks: 'plate 7, my bad, plate 4')."""
    examples = held_out_correction_examples(150, seed=6)
    assert len({e.command for e in examples}) == 150
    for e in examples:
        assert e.kind == "plan" and "family:correction" in e.tags
        assert HELD_OUT_CORRECTION.search(normalise(e.command)), e.command
        assert out_of_world(e.command) is None, e.command
    assert held_out_correction_examples(10, seed=6) == examples[:10]  # seeded


def test_correction_cases_pass_their_reference():
    examples = [e for e in held_out_correction_examples(16, seed=2) if e.executable][:8]
    cases = held_out_plan_cases(8, seed=2, corrections=True)
    for case, example in zip(cases, examples, strict=True):
        assert case.commands == (example.command,)
        state = reference_state(example)
        state["replies"] = []
        assert evaluate_case(case, state) == [], case.commands


@pytest.fixture(scope="module")
def cases():
    return held_out_plan_cases(60, seed=5)


def test_cases_are_valid_case_file_lines(cases):
    assert {c.kind for c in cases} == {"plan", "reply"}
    for case in cases:
        line = json.dumps({"id": case.id, "commands": list(case.commands), "tasks": case.tasks,
                           "kind": case.kind, "expect": list(case.expect),
                           "tags": list(case.tags)})
        assert CommandCase.from_json(json.loads(line)) == case


def test_a_reference_passes_its_case_and_another_plan_fails_it(cases):
    examples = [e for e in held_out_plan_examples(120, seed=5)
                if e.kind == "reply" or e.executable][:60]
    for case, example in zip(cases, examples, strict=True):
        state = reference_state(example)
        state["replies"] = [example.output] if example.kind == "reply" else []
        assert evaluate_case(case, state) == [], case.commands
    plan_cases = [(c, e) for c, e in zip(cases, examples) if e.kind == "plan"]
    (case, _), (_, other) = plan_cases[0], plan_cases[1]
    wrong = Match(seed=0)
    wrong.execute(other.output)
    state = wrong.state_dict()
    state["replies"] = []
    assert evaluate_case(case, state)


def test_figures_are_given_per_family(cases):
    from llm_mars.evaluation.evaluate import CaseResult, PlanReport
    from llm_mars.training.plan_held_out import family_figures

    report = PlanReport([CaseResult(c.id, c.tasks, c.kind, i % 2 == 0, (), (), c.tags)
                         for i, c in enumerate(cases[:4])])
    figures = family_figures(report)
    assert sum(total for _, total in figures.values()) == 4
    assert sum(passed for passed, _ in figures.values()) == 2


class TableAssistant:
    """Plans each command with its reference output (or, where ``wrong`` says, another)."""

    def __init__(self, examples, wrong=None):
        self.outputs = {e.command: e.output for e in examples}
        self.wrong = wrong or {}

    def plan(self, command):
        from llm_mars.assistant import PlanOutcome
        from llm_mars.bt.parser import parse_bt_output

        text = self.wrong.get(command, self.outputs[command])
        return PlanOutcome(parse_bt_output(text), text, 0.3)


def test_the_evaluation_passes_the_reference_and_fails_another_plan():
    from llm_mars.evaluation.evaluate import evaluate_plans

    cases = held_out_plan_cases(30, seed=8)
    examples = held_out_plan_examples(60, seed=8)
    summary = evaluate_plans(TableAssistant(examples), cases).summary()
    assert summary["execution_accuracy"] == 1.0 and summary["possible_refused"] == 0
    assert summary["impossible_passed"] == summary["impossible_cases"] > 0
    plans = [e for e in examples if e.kind == "plan" and e.executable]
    report = evaluate_plans(TableAssistant(examples, {plans[0].command: plans[1].output}),
                            [c for c in cases if c.commands[0] == plans[0].command])
    assert not report.results[0].passed


def test_the_trained_family_control_is_like_the_held_out_cases_in_trained_wording():
    """Same kinds and task counts case by case as the held-out families, no held-out wording
    and no command the committed bt config trains on; each passes its own reference."""
    from llm_mars.training.plan_held_out import trained_family_examples
    from llm_mars.training.train import default_config_path, load_config, training_pairs

    held_out = held_out_plan_cases(40, seed=3)
    control = held_out_plan_cases(40, seed=3, trained_families=True)
    assert [(c.kind, c.tasks) for c in control] == [(c.kind, c.tasks) for c in held_out]
    trained = {p.user.lower() for p in training_pairs(load_config(default_config_path("bt")))}
    for case in control:
        (command,) = case.commands
        assert held_out_family(command) is None and command.lower() not in trained, command
        assert not any(tag.startswith("family:") for tag in case.tags)
    examples = {e.command: e for e in trained_family_examples(40 * 6, seed=3)}
    for case in control[:10]:
        example = examples[case.commands[0]]
        state = reference_state(example)
        state["replies"] = [example.output] if example.kind == "reply" else []
        assert evaluate_case(case, state) == [], case.commands


def test_the_control_and_corrections_are_two_sets():
    with pytest.raises(ValueError):
        held_out_plan_cases(5, seed=1, corrections=True, trained_families=True)
    with pytest.raises(ValueError):
        held_out_plan_cases(5, seed=1, corrections=True, step_wordings=True)
    with pytest.raises(ValueError):
        held_out_plan_cases(5, seed=1, step_wordings=True, gap_wordings=True)


def test_training_never_says_a_step_in_a_held_out_wording_even_with_every_step_form():
    examples = generate_plan_examples(1500, seed=19, reply_share=0.2, step_forms=1.0,
                                      ellipsis=1.0)
    assert [e.command for e in examples if held_out_family(e.command)] == []


def _step_holds_its_words(example) -> None:
    """The step the held-out words say is in the reference: a sort or all that fit."""
    said = example.command.lower()
    if "legendary order" in said or "brown at the bottom" in said:
        assert 'sort="true"' in example.output or "BuildLegendaryCakes" in example.output
    else:
        assert "CherriesToBasket" in example.output


def _both_robots_have_a_tree(example) -> None:
    assert 'ID="robot1"' in example.output and 'ID="robot2"' in example.output


@pytest.mark.parametrize("flag, family, draw, holds", [
    ("step_wordings", "step-wording", held_out_step_examples, _step_holds_its_words),
    ("gap_wordings", "gap-wording", held_out_gap_examples, _both_robots_have_a_tree)])
def test_held_out_wordings_run_their_reference_in_the_simulator(flag, family, draw, holds):
    cases = held_out_plan_cases(12, seed=3, **{flag: True})
    examples = {e.command: e for e in draw(24, seed=3)}
    assert len(cases) == 12 and len({c.commands[0] for c in cases}) == 12
    for case in cases:
        example = examples[case.commands[0]]
        assert held_out_family(example.command) == family, example.command
        assert f"family:{family}" in case.tags and case.kind == "plan"
        state = reference_state(example)
        state["replies"] = []
        assert evaluate_case(case, state) == [], case.commands
        holds(example)
