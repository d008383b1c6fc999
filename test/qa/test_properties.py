"""Property test of the answers (llm_mars.qa.answers): random reachable states, the queries of
the phrasing families' questions and random queries of every form, and every fact of every
answer checked against the state.

States come from random plans run in the simulator (llm_mars.training.states), watched tick
by tick by a ledger that records what the state JSON does not hold (cherries really taken,
where each stack went). Queries are drawn from the query language's schema: every subject,
attribute, filter and test. Each answer is read by an independent reader (test/qa/oracle.py):
every clause is checked against the state, nothing factual may be left unread, and every
yes/no, ``which`` and ``most`` is compared with the truth worked out apart from the answers.
"""
from __future__ import annotations

import os
import random
import re

import pytest

from llm_mars import vocabulary as V
from llm_mars.qa.answers import CANT_TELL, answer
from llm_mars.qa.query import (ATTRIBUTES, COMPARISONS, MEMBERS, OUTCOMES, SETS, SKILLS,
                               STATUSES, Check, Describe, Extreme, Predicate, Ref, Type, Unknown,
                               Which, format_query, members_of, parse_query)
from llm_mars.training.query_data import generate_query_examples, held_out_examples
from llm_mars.training.states import initial_state, plan_pool, simulated_states

from .oracle import Claims, Ledger, count, holds, truth

SESSIONS = int(os.environ.get("LLM_MARS_QA_SESSIONS", "70"))
"""Simulated sessions (about 55 states and 1300 cases per 20); more with the variable."""
QUERIES_PER_STATE = 24


@pytest.fixture(scope="module")
def played() -> list[tuple[dict, object]]:
    """(state, the ledger's record at that moment) from simulated sessions."""
    rng = random.Random(2026)
    pool = plan_pool(80, 7)
    out = [(initial_state(), Ledger().at(0.0))]
    for _ in range(SESSIONS):
        ledger = Ledger()
        for state in simulated_states(rng, pool, on_tick=ledger.observe):
            out.append((state, ledger.at(state["time_s"])))
    return out


def _filters(rng: random.Random, kind: str | None) -> tuple[str, ...]:
    if kind == "steps":
        slots = (SKILLS, V.COLORS, V.PLACES, tuple(OUTCOMES))
    elif kind == "cakes":
        slots = ((*V.COLORS, "legendary"), ("cherry",))
    else:
        return ()
    if rng.random() < 0.3:
        return ()
    chosen = tuple(rng.choice(slot) for slot in slots if rng.random() < 0.4)
    return chosen or (rng.choice(slots[0]),)


def random_ref(rng: random.Random, of_set: bool, accept=lambda a: True) -> Ref:
    kinds = [k for k in ATTRIBUTES if any(accept(a) for a in ATTRIBUTES[k])
             and (not of_set or k in SETS.values())]
    kind = rng.choice(kinds)
    a = rng.choice([a for a in ATTRIBUTES[kind] if accept(a)])
    subject = next(s for s, k in SETS.items() if k == kind) if of_set \
        else rng.choice(MEMBERS[kind])
    return Ref(subject, a.name, _filters(rng, a.filters))


def random_predicate(rng: random.Random, ref: Ref) -> Predicate:
    t = ref.type
    if t is Type.PLACE:
        return Predicate("=", rng.choice(V.PLACES))
    if t is Type.STATUS:
        return Predicate("=", rng.choice(tuple(STATUSES)))
    options = []
    if t.bare:
        options.append(Predicate())
    if t is Type.COLORS:
        options.append(Predicate("has", rng.choice(V.COLORS)))
    if t.countable:
        options.append(Predicate(rng.choice(COMPARISONS), rng.choice((0, 1, 2, 3, 5, 10, 30))))
        options.append(Predicate(rng.choice(COMPARISONS),
                                 random_ref(rng, False, lambda a: a.type.countable)))
        if ref.is_set or rng.random() < 0.3:  # member by member, or a list against its whole
            # (the oracle reads one filter per member and attribute: a second filter of the
            # same attribute only where the answer states one fact, a plate's)
            same = [a for a in ATTRIBUTES[ref.kind] if a.type.countable
                    and (a.name != ref.attribute or ref.kind == "plate")]
            if same:
                a = rng.choice(same)
                filters = _filters(rng, a.filters) if a.name != ref.attribute or \
                    rng.random() < 0.4 else ()
                options.append(Predicate(rng.choice(("=", "=", *COMPARISONS)),
                                         Ref(ref.subject, a.name, filters)))
    return rng.choice(options)


def random_query(rng: random.Random):
    form = rng.choice(("describe", "describe", "describe", "check", "check", "check", "which",
                       "most", "unknown"))
    if form == "unknown":
        return Unknown()
    if form == "describe":
        refs = [random_ref(rng, rng.random() < 0.3)]
        if rng.random() < 0.15:
            refs.append(random_ref(rng, False))
        return Describe(tuple(refs))
    testable = lambda a: a.type is not Type.TEXT  # noqa: E731
    if form == "check":
        of_set = rng.random() < 0.3
        ref = random_ref(rng, of_set, testable)
        return Check(ref, random_predicate(rng, ref), rng.choice(("all", "any")) if of_set
                     else None)
    if form == "which":
        ref = random_ref(rng, True, testable)
        return Which(ref, random_predicate(rng, ref))
    return Extreme(random_ref(rng, True, lambda a: a.type.countable), rng.random() < 0.7)


def _operand(state, record, predicate: Predicate, member: str):
    """The value ``member`` is compared with: a count of the same set is its own."""
    value = predicate.value
    if isinstance(value, Ref):
        subject = member if value.subject in SETS else value.subject
        return truth(state, record, subject, value.attribute, value.filters)
    return value


def _of_none(state, record, query, member: str) -> bool:
    """A plate's cakes of a kind against its cakes of a wider kind with none of those there
    ("does every cake on plate 1 have a cherry", plate 1 empty): no yes or no."""
    ref, value = query.ref, query.test.value
    if not (isinstance(value, Ref) and ref.attribute == value.attribute == "cakes"
            and value.subject == ref.subject and query.test.op in COMPARISONS):
        return False
    filters = sorted((ref.filters, value.filters), key=len)
    if not (set(filters[0]) < set(filters[1])):
        return False
    return not truth(state, record, member, "cakes", filters[0])


def _names(lead: str) -> set[str]:
    return {f"{kind.lower()}{'_' if kind != 'Robot' else ''}{n}"
            for kind, n in re.findall(r"(Robot|Holder|Quadrant|Plate) (\d)", lead)}


def check_case(state, record, query) -> list[str]:
    """Everything wrong with the answer to ``query``: false or unread facts, a wrong yes/no,
    wrong members named."""
    text = answer(query, state).text
    refs = query.refs if isinstance(query, Describe) else () if isinstance(query, Unknown) \
        else (query.ref,) + ((query.test.value,) if isinstance(getattr(query, "test", None) and
                                                              query.test.value, Ref) else ())
    problems = Claims(state, record, [(r.subject, r.attribute, r.filters)
                                      for r in refs]).read(text)
    if isinstance(query, Unknown):
        return problems + ([] if text == CANT_TELL else [f"unknown answered {text!r}"])
    if isinstance(query, Describe):
        return problems
    members = members_of(query.ref.subject)
    values = {m: truth(state, record, m, query.ref.attribute, query.ref.filters)
              for m in members}
    if isinstance(query, Extreme):
        counts = {m: count(v) for m, v in values.items()}
        best = (max if query.most else min)(counts.values())
        top = {m for m in members if counts[m] == best}
        if len(top) == len(members):
            return problems + ([] if text.startswith("They are level: ")
                               else [f"not level: {text!r}"])
        lead = text.split(": ", 1)[0]
        return problems + ([] if _names(lead) == top else [f"top {top}: {text!r}"])
    result = {m: holds(v, query.test.op, _operand(state, record, query.test, m))
              for m, v in values.items() if not _of_none(state, record, query, m)}
    if isinstance(query, Which):
        lead = text.split(": ", 1)[0]
        want = {m for m, ok in result.items() if ok}
        named = set() if lead == "None of them" else _names(lead)
        return problems + ([] if named == want else [f"which {want}: {text!r}"])
    verdict = all(result.values()) if query.quantifier == "all" else any(result.values())
    if text.startswith("I can't tell"):
        unknowable = {query.ref.attribute} | ({query.test.value.attribute}
                                              if isinstance(query.test.value, Ref) else set())
        return problems + ([] if unknowable & {"collected", "dropped"} else
                           [f"can't tell about {unknowable}: {text!r}"])
    said = text.startswith("Yes, ")
    if not result:
        return problems + ([f"yes or no about none: {text!r}"]
                           if said or text.startswith("No, ") else [])
    if not said and not text.startswith("No, "):
        return problems + [f"no yes or no: {text!r}"]
    return problems + ([] if said == verdict else [f"CONTRADICTION: truth {verdict}: {text!r}"])


def test_every_fact_of_every_answer_holds_in_the_state(played):
    """Half the queries are those of the phrasing families' questions (trained and held out,
    follow-ups too), half are drawn from the schema, so every form is covered."""
    rng = random.Random(7)
    asked = iter([parse_query(e.query) for e in
                  generate_query_examples(len(played) * QUERIES_PER_STATE, seed=17)
                  + held_out_examples(len(played) * QUERIES_PER_STATE, seed=18)])
    failures, cases, forms = [], 0, set()
    for state, record in played:
        for i in range(QUERIES_PER_STATE):
            query = random_query(rng) if i % 2 else next(asked)
            forms.add(type(query).__name__)
            problems = check_case(state, record, query)
            cases += 1
            if problems:
                failures.append((format_query(query), problems))
    assert cases >= 3000
    assert forms == {"Describe", "Check", "Which", "Extreme", "Unknown"}
    assert not failures, f"{len(failures)} of {cases}: {failures[:10]}"


def test_the_states_cover_what_the_answers_must_read(played):
    """The property test means something only if the states hold the hard cases."""
    states = [s for s, _ in played]
    robots = [r for s in states for r in s["robots"].values()]
    assert {r["tree_status"] for r in robots} == set(V.TREE_STATUSES)
    assert any(r["location"] is None and r["active"] for r in robots)
    assert any(r["location"] is None and not r["active"] for r in robots)  # stopped on the way
    assert any(any(c["cherry"] for c in cakes) for s in states for cakes in s["plates"].values())
    assert any(c["layers"] == list(V.COLORS) for s in states for cakes in s["plates"].values()
               for c in cakes)
    assert any(0 < n < V.CHERRIES_PER_HOLDER for s in states for n in s["holders"].values())
    assert any(s["time_s"] >= V.MATCH_DURATION_S for s in states)
    assert any(s["basket"] for s in states)


def test_a_yes_or_no_that_contradicts_the_state_is_caught(played):
    """The reader is not blind: a flipped verdict and a wrong number are both found."""
    state, record = next((s, r) for s, r in played if s["basket"] > 0)
    query = Check(Ref("basket", "cherries"), Predicate(">", 0))
    good = answer(query, state).text
    assert check_case(state, record, query) == []
    flipped = "No, " + good.removeprefix("Yes, ")
    assert Claims(state, record).read(flipped) == []  # the fact itself still holds ...
    assert not good.startswith("No")                   # ... so the verdict must be read apart
    wrong = good.replace(f"{state['basket']} cherr", f"{state['basket'] + 1} cherr")
    assert Claims(state, record).read(wrong) != []
    assert Claims(state, record).read("Robot 1 is at plate 9.") != []
