"""The bt adapter on command phrasings it never trained on.

The held-out phrasing families of :mod:`llm_mars.training.plan_data` (ways of addressing a
robot, sentence templates, connectives, hand-over forms, an object-first order that no
training command uses) are generated with their reference plan or reply. Each becomes a
command case like those of the development set: the reference is run in the simulator from
the initial field, and the case expects the final state it leaves (where each robot is, what
it carries, did and said; quadrants, holders, plates, basket), or, for an impossible command,
a reply and an untouched field. So any plan that does what the words say passes, not only the
reference's shape. ``llm-mars eval plans-held-out`` runs them; the report breaks the figures
down by family (tags ``family:NAME``).

The control (``--trained-families``): commands of the same generator in the phrasing families
the adapter did train on, none of them a command it trained on. What the held-out families lose
against it is the cost of unseen wording; what the control loses against the development set
is the cost of the generated commands themselves (their counts, hand-overs and conditions).
"""
from __future__ import annotations

from typing import Any

from llm_mars import vocabulary as V
from llm_mars.evaluation.evaluate import PlanReport
from llm_mars.evaluation.expectations import CommandCase
from llm_mars.session.match import Match
from llm_mars.training.plan_data import (PlanExample, generate_plan_examples,
                                         held_out_correction_examples, held_out_plan_examples,
                                         held_out_gap_examples, held_out_step_examples)

_ROBOT_OUTCOME = ("location", "carrying", "funny_action", "said")
"""What a robot's final state must show; its history and timing are the plan's own way."""
_FIELD_OUTCOME = ("quadrants", "holders", "plates", "basket")


def outcome_predicates(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Predicates (the case format of ``docs/evaluation.md``) that hold of exactly the outcome
    of ``state``: each robot's place, load, funny action and words, and the field."""
    expect = [{"path": f"robots.{robot}.{key}", "eq": state["robots"][robot][key]}
              for robot in V.ROBOTS for key in _ROBOT_OUTCOME]
    return expect + [{"path": key, "eq": state[key]} for key in _FIELD_OUTCOME]


def reference_state(example: PlanExample, seed: int = 0) -> dict[str, Any]:
    """The final state of ``example``'s reference plan run from the initial field (the
    initial field itself for a reply)."""
    match = Match(seed=seed)
    if example.kind == "plan":
        match.execute(example.output)
    return match.state_dict()


def held_out_plan_cases(count: int, seed: int, corrections: bool = False,
                        trained_families: bool = False,
                        step_wordings: bool = False,
                        gap_wordings: bool = False) -> list[CommandCase]:
    """``count`` command cases (seeded) in the held-out phrasing families, or with
    ``corrections`` commands that take a word back in a held-out way ("plate 6, my bad, plate
    2"), or with ``step_wordings`` commands with a sorted placement or basket fill said in a
    held-out wording ("line them up in legendary order on plate 2"), or with ``gap_wordings``
    two-robot commands whose second robot's task is said without its verb in a held-out way
    ("robot 1 take 5 cherries from holder 1 and robot 2 ditto, 5 cherries from holder 2"), or with
    ``trained_families`` the control (:func:`trained_family_examples`) with the same number of
    replies and of plans of each task count as the held-out families' cases; plans that only
    make sense after an earlier command (``continuation``) are left out."""
    if corrections + trained_families + step_wordings + gap_wordings > 1:
        raise ValueError("corrections, step_wordings, gap_wordings and trained_families are "
                         "different sets")
    draw = held_out_correction_examples if corrections else \
        held_out_step_examples if step_wordings else \
        held_out_gap_examples if gap_wordings else held_out_plan_examples
    examples = _runnable(draw(count * 2, seed))[:count]
    if trained_families:
        examples = _like(examples, _runnable(trained_family_examples(count * 6, seed)))
    return [CommandCase(f"p{i + 1:03d}", (e.command,), e.tasks, e.kind,
                        tuple(outcome_predicates(reference_state(e))), e.tags)
            for i, e in enumerate(examples)]


def _runnable(examples: list[PlanExample]) -> list[PlanExample]:
    return [e for e in examples if e.kind == "reply" or e.executable]


def _like(model: list[PlanExample], pool: list[PlanExample]) -> list[PlanExample]:
    """For each example of ``model`` in turn, the next one of ``pool`` of the same kind and
    task count."""
    left: dict[tuple[str, int], list[PlanExample]] = {}
    for example in reversed(pool):
        left.setdefault((example.kind, example.tasks), []).append(example)
    try:
        return [left[(e.kind, e.tasks)].pop() for e in model]
    except (KeyError, IndexError):
        raise RuntimeError("too few control examples of some kind and task count") from None


def trained_family_examples(count: int, seed: int) -> list[PlanExample]:
    """``count`` examples drawn as the held-out ones are but in the trained phrasing families,
    leaving out every command the committed bt config trains on."""
    from llm_mars.training.train import default_config_path, load_config, training_pairs

    trained = {pair.user.lower() for pair in training_pairs(load_config(default_config_path("bt")))}
    return generate_plan_examples(count, seed, exclude=trained)


def family_figures(report: PlanReport) -> dict[str, tuple[int, int]]:
    """Family -> (cases passed, cases) of a report on these cases."""
    table: dict[str, list[int]] = {}
    for result in report.results:
        for tag in result.tags:
            if tag.startswith("family:"):
                row = table.setdefault(tag.removeprefix("family:"), [0, 0])
                row[0] += result.passed
                row[1] += 1
    return {family: (passed, total) for family, (passed, total) in sorted(table.items())}
