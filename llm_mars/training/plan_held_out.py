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
"""
from __future__ import annotations

from typing import Any

from llm_mars import vocabulary as V
from llm_mars.evaluation.evaluate import PlanReport
from llm_mars.evaluation.expectations import CommandCase
from llm_mars.session.match import Match
from llm_mars.training.plan_data import (PlanExample, held_out_correction_examples,
                                         held_out_plan_examples)

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


def held_out_plan_cases(count: int, seed: int, corrections: bool = False) -> list[CommandCase]:
    """``count`` command cases (seeded) in the held-out phrasing families, or with
    ``corrections`` commands that take a word back in a held-out way ("plate 6, my bad, plate
    2"); plans that only make sense after an earlier command (``continuation``) are left out."""
    draw = held_out_correction_examples if corrections else held_out_plan_examples
    examples = [e for e in draw(count * 2, seed) if e.kind == "reply" or e.executable][:count]
    return [CommandCase(f"p{i + 1:03d}", (e.command,), e.tasks, e.kind,
                        tuple(outcome_predicates(reference_state(e))), e.tags)
            for i, e in enumerate(examples)]


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
