"""Queries run on the state JSON, and the answer sentences rendered from their results.

:func:`answer` is deterministic: it reads each fact the query names (:mod:`llm_mars.qa.facts`),
decides a yes/no, a ``which`` or a ``most`` from those facts' values, and writes the sentence
from templates around the facts' clauses, so every number, place and yes/no of an answer comes
from the state. What the forms mean:

* a description (``robot1.location``) states the fact; for a set (``robots.location``,
  ``plates.cakes``) the fact of each member, with totals for holders, quadrants and plates;
* ``check`` answers "Yes, ..." or "No, ..." followed by the fact it was decided on. A bare
  test holds when a flag is set or a list is not empty; a list of steps counts the steps that
  succeeded unless its filter names an outcome (``ok``/``failed``). A list compared with a
  number compares its length. ``all``/``any`` decide over a set's members; a set compared
  with a count of the same set compares each member with its own count, and a plate's cakes
  of a kind against those of a wider kind, when it has none of the wider kind ("every cake on
  plate 1" with none there), are neither yes nor no;
* ``which`` names the members for which the test holds, then the facts;
* ``most``/``least`` name the member(s) with the largest (smallest) count, then the facts;
* ``unknown``, and any decision that needs a fact the state does not hold (a robot's cherry
  total that the holders do not confirm), say :data:`CANT_TELL` instead of guessing.

:func:`settled_answer` withholds a yes or no that other readings of the question (sampled
from the model) decide the other way, and states the facts instead.
"""
from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llm_mars.qa import facts as F
from llm_mars.qa.query import (HAS, STATUSES, Check, Describe, Extreme, Query, Ref, Predicate,
                               Type, Unknown, Which, members_of)

CANT_TELL = "I can't tell that from the robots' state."

_COMPARE = {"=": operator.eq, ">": operator.gt, "<": operator.lt, ">=": operator.ge,
            "<=": operator.le}


@dataclass(frozen=True)
class Answer:
    """The answer to a query: its sentence, and for a yes/no question the verdict (``None``
    when the state cannot decide, or for other questions)."""

    text: str
    verdict: bool | None = None


def sentence(text: str) -> str:
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def _lower_first(text: str) -> str:
    """``The basket ...`` -> ``the basket ...``; names (``Robot 1``, ``Plate 3``) stay."""
    return "t" + text[1:] if text.startswith("The ") else text


def _cant_tell(fact: F.Fact) -> Answer:
    """The answer when a decision needs ``fact`` and the state does not hold it."""
    text = fact.text if fact.text.startswith("I can't tell") else \
        f"{CANT_TELL[:-1]}: {_lower_first(fact.text)}"
    return Answer(sentence(text))


def holds(fact: F.Fact, test: Predicate, state: Mapping[str, Any], ref: Ref) -> bool | None:
    """Whether ``test`` holds for ``fact`` (the fact of ``ref``); ``None``: cannot tell."""
    if not fact.known:
        return None
    value = fact.value
    if not test.op:
        return bool(value)
    if test.op == HAS:
        return test.value in value
    if ref.type is Type.PLACE:
        return value == test.value
    if ref.type is Type.STATUS:
        return STATUSES.get(value, value) == STATUSES[test.value] or value == test.value
    operand = test.value
    if isinstance(operand, Ref):
        other = F.read(state, operand)
        if not other.known:
            return None
        operand = F.count_of(other.value)
    return _COMPARE[test.op](F.count_of(value), operand)


def _describe(state: Mapping[str, Any], ref: Ref) -> str:
    subjects = members_of(ref.subject)
    found = [F.read(state, ref, s) for s in subjects]
    if not ref.is_set:
        return sentence(found[0].text)
    texts = [f.text for f in found]
    if ref.kind == "plate":  # the plates with cakes of the kind asked, then the rest in one
        texts = [f.text for f in found if f.value]
        if len(texts) < len(found):
            texts.append("the other plates have none" if ref.filters and texts else
                         "the other plates are empty" if texts else
                         "no plate has any" if ref.filters else "every plate is empty")
    total = _set_total(state, ref)
    body = "; ".join(_lower_first(t) for t in texts)
    return sentence(f"{total}: {body}" if total else body)


def _set_total(state: Mapping[str, Any], ref: Ref) -> str | None:
    """A total stated before the members of a holders / quadrants / plates description."""
    if ref.kind == "holder":
        n = sum(int(v) for v in (state.get("holders") or {}).values())
        return f"The holders have {F.count_text(n, 'cherry', 'cherries')} left in all"
    if ref.kind == "quadrant" and ref.attribute == "stacks":
        n = sum(F.stack_counts(state).values())
        return f"{F.count_text(n, 'stack')} left in the quadrants"
    if ref.kind == "plate":
        chosen, every = F.cake_totals(state, ref.filters)
        if ref.filters:
            return f"{F.cakes_text(chosen, ref.filters)} on the plates " \
                   f"({F.count_text(every, 'cake')} in all)"
        return f"{F.count_text(every, 'cake')} on the plates"
    return None


def _on(test: Predicate, subject: str) -> Predicate:
    """``test`` for one member of a set: a count of the same set is that member's count."""
    value = test.value
    if isinstance(value, Ref) and value.is_set:
        return Predicate(test.op, value.on(subject))
    return test


def _against_itself(ref: Ref, test: Predicate) -> bool:
    """Whether ``test`` compares ``ref`` with the same subject's same attribute (other filters):
    ``plate_1.cakes(cherry) = plate_1.cakes``, ``plates.cakes(cherry) = plates.cakes``."""
    value = test.value
    return isinstance(value, Ref) and value.subject == ref.subject \
        and value.attribute == ref.attribute


def _of_none(state: Mapping[str, Any], ref: Ref, test: Predicate, member: str) -> bool:
    """Whether ``test`` compares a plate's cakes of a kind with its cakes of a wider kind (all
    of them, or fewer filters) and the plate has none of the wider kind: ``plate_1.cakes(cherry)
    = plate_1.cakes`` ("does every cake on plate 1 have a cherry") with no cake on plate 1, in
    either order and with any comparison (``member``: the plate, for a set). Such a plate has
    no yes or no: "yes" would tell the operator of cakes that are not there. (A robot's
    history counts its steps that succeeded, so a history has no such whole to be empty.)"""
    if not (test.op in _COMPARE and ref.kind == "plate" and _against_itself(ref, test)):
        return False
    value = test.value
    narrow, wide = (ref, value) if set(value.filters) <= set(ref.filters) else (value, ref)
    if not set(wide.filters) < set(narrow.filters):
        return False
    whole = F.read(state, wide, member)
    return whole.known and F.count_of(whole.value) == 0


def _read_members(state: Mapping[str, Any], ref: Ref, test: Predicate
                  ) -> tuple[tuple[str, ...], list[Predicate], list[F.Fact], list[F.Fact]]:
    """Each member of ``ref``'s subject, its test (:func:`_on`) and fact, and the facts the
    tests compare with."""
    subjects = members_of(ref.subject)
    tests = [_on(test, s) for s in subjects]
    found = [F.read(state, ref, s) for s in subjects]
    others = [F.read(state, t.value) for t in dict.fromkeys(tests) if isinstance(t.value, Ref)]
    return subjects, tests, found, others


def _check(state: Mapping[str, Any], query: Check) -> Answer:
    ref, test = query.ref, query.test
    subjects, tests, found, others = _read_members(state, ref, test)
    unknown = [f for f in found + others if not f.known]
    if unknown:
        return _cant_tell(unknown[0])
    texts = [f.text for f in found]
    if ref.kind != "plate" or not _against_itself(ref, test):
        texts += [f.text for f in others]  # a plate's filtered fact already lists its cakes
    body = " and ".join(_lower_first(t) for t in texts)
    decided = [(f, t, s) for f, t, s in zip(found, tests, subjects)
               if not _of_none(state, ref, test, s)]
    if not decided:
        return Answer(sentence(body))
    results = [holds(f, t, state, ref.on(s)) for f, t, s in decided]
    if query.quantifier == "all":
        verdict = all(results)
    elif query.quantifier == "any":
        verdict = any(results)
    else:
        verdict = results[0]
    return Answer(sentence(f"{'Yes' if verdict else 'No'}, {body}"), verdict)


def _names(subjects: list[str]) -> str:
    return F.and_list([F.subject_name(s) for s in subjects])


def _which(state: Mapping[str, Any], query: Which) -> Answer:
    ref, test = query.ref, query.test
    subjects, tests, found, others = _read_members(state, ref, test)
    unknown = [f for f in found + others if not f.known]
    if unknown:
        return _cant_tell(unknown[0])
    holding = {s for f, t, s in zip(found, tests, subjects)
               if not _of_none(state, ref, test, s) and holds(f, t, state, ref.on(s))}
    order = sorted(range(len(subjects)), key=lambda i: subjects[i] not in holding)
    lead = _names([s for s in subjects if s in holding]) if holding else "None of them"
    shown = "; ".join(_lower_first(found[i].text) for i in order)
    return Answer(sentence(f"{lead}: {shown}"))


def _extreme(state: Mapping[str, Any], query: Extreme) -> Answer:
    ref = query.ref
    subjects = members_of(ref.subject)
    found = {s: F.read(state, ref, s) for s in subjects}
    if any(not f.known for f in found.values()):
        return _cant_tell(next(f for f in found.values() if not f.known))
    counts = {s: F.count_of(f.value) for s, f in found.items()}
    best = (max if query.most else min)(counts.values())
    top = [s for s in subjects if counts[s] == best]
    shown = "; ".join(_lower_first(found[s].text) for s in subjects)
    if len(top) == len(subjects):
        return Answer(sentence(f"They are level: {shown}"))
    word = "most" if query.most else "least"
    lead = f"{_names(top)} {'have' if len(top) > 1 else 'has'} the {word} " \
           f"({F.number_text(best)})"
    return Answer(sentence(f"{lead}: {shown}"))


def absent_answer(world_reply: str) -> str:
    """The answer to a question about a robot, place or cake colour the world does not have
    (``world_reply``: what the world check says of it, :func:`llm_mars.language.grounding.
    absent_thing`): the state cannot tell, and why."""
    return f"{CANT_TELL} {world_reply}"


UNSURE = "I am not sure what you are asking; here is what the state says:"


def settled_answer(query: Query, readings: Sequence[Query], state: Mapping[str, Any]
                   ) -> Answer:
    """The answer to ``query`` (the model's first reading of a question), unless it is a
    yes/no and another reading of the same question (``readings``, sampled) decides it the
    other way: a yes or no the model is not sure of is not given. The answer then states the
    facts of every reading, without a verdict."""
    first = answer(query, state)
    if first.verdict is None:
        return first
    rivals = [q for q in readings if isinstance(q, Check)
              and answer(q, state).verdict not in (None, first.verdict)]
    if not rivals:
        return first
    refs: list[Ref] = []
    for q in (query, *rivals):
        for ref in (q.ref, q.test.value):
            if isinstance(ref, Ref) and ref not in refs:
                refs.append(ref)
    facts = dict.fromkeys(_describe(state, ref) for ref in refs)  # an empty plate once
    return Answer(" ".join([UNSURE, *facts]))


def answer(query: Query, state: Mapping[str, Any]) -> Answer:
    """The answer to ``query`` about ``state`` (the state JSON of DESIGN.md section 3)."""
    if isinstance(query, Unknown):
        return Answer(CANT_TELL)
    if isinstance(query, Describe):
        return Answer(" ".join(_describe(state, r) for r in query.refs))
    if isinstance(query, Check):
        return _check(state, query)
    if isinstance(query, Which):
        return _which(state, query)
    if isinstance(query, Extreme):
        return _extreme(state, query)
    raise TypeError(f"not a query: {query!r}")
