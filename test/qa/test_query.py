"""The state query language (llm_mars.qa.query): its canonical text, the parser's checks,
and a grammar that admits exactly the canonical queries.

As in test_grammar.py, the grammar is compiled for a vocabulary of single bytes, so any text
can be fed character by character and random walks explore it one byte at a time.
"""
from __future__ import annotations

import random

import numpy as np
import pytest
import xgrammar as xgr

from llm_mars import vocabulary as V
from llm_mars.bt.registry import REGISTRY, Category
from llm_mars.errors import QueryError
from llm_mars.qa.query import (ATTRIBUTES, Check, Describe, Extreme, Ref, Predicate, Type, Unknown,
                               Which, format_query, kind_of, members_of, parse_query,
                               query_grammar_ebnf)
from llm_mars.training.query_data import FAMILIES, generate_query_examples

STOP = 256
BYTES = xgr.TokenizerInfo([bytes([i]) for i in range(256)] + [b"<stop>"], xgr.VocabType.RAW,
                          stop_token_ids=[STOP])


@pytest.fixture(scope="module")
def grammar() -> xgr.CompiledGrammar:
    return xgr.GrammarCompiler(BYTES, max_threads=1).compile_grammar(query_grammar_ebnf())


def accepts(compiled: xgr.CompiledGrammar, text: str) -> bool:
    matcher = xgr.GrammarMatcher(compiled)
    return matcher.accept_string(text) and matcher.accept_token(STOP)


EXAMPLES = {
    "robot1.location": Describe((Ref("robot1", "location"),)),
    "robot1.location and robot1.carrying": Describe((Ref("robot1", "location"),
                                                     Ref("robot1", "carrying"))),
    "robot2.history(PickCake brown quadrant_2 ok)":
        Describe((Ref("robot2", "history", ("PickCake", "brown", "quadrant_2", "ok")),)),
    "plates.cakes(legendary cherry)": Describe((Ref("plates", "cakes", ("legendary", "cherry")),)),
    "check robot1.location = home": Check(Ref("robot1", "location"), Predicate("=", "home")),
    "check robot2.status = cancelled": Check(Ref("robot2", "status"), Predicate("=", "cancelled")),
    "check robot1.stacks has pink": Check(Ref("robot1", "stacks"), Predicate("has", "pink")),
    "check robot1.cherries > robot2.cherries":
        Check(Ref("robot1", "cherries"), Predicate(">", Ref("robot2", "cherries"))),
    "check holder_3.cherries <= 10": Check(Ref("holder_3", "cherries"), Predicate("<=", 10)),
    "check all robots.busy": Check(Ref("robots", "busy"), quantifier="all"),
    "check any plates.cakes(cherry)": Check(Ref("plates", "cakes", ("cherry",)), quantifier="any"),
    "check quadrant_1.pink": Check(Ref("quadrant_1", "pink")),
    "which holders.cherries = 0": Which(Ref("holders", "cherries"), Predicate("=", 0)),
    "which robots.funny": Which(Ref("robots", "funny")),
    "most robots.history(failed)": Extreme(Ref("robots", "history", ("failed",))),
    "least plates.cakes": Extreme(Ref("plates", "cakes"), most=False),
    "time.left": Describe((Ref("time", "left"),)),
    "check plate_2.cakes(cherry) = plate_2.cakes":
        Check(Ref("plate_2", "cakes", ("cherry",)), Predicate("=", Ref("plate_2", "cakes"))),
    "check all plates.cakes(legendary) = plates.cakes":
        Check(Ref("plates", "cakes", ("legendary",)), Predicate("=", Ref("plates", "cakes")),
              "all"),
    "which robots.dropped < robots.collected":
        Which(Ref("robots", "dropped"), Predicate("<", Ref("robots", "collected"))),
    "unknown": Unknown(),
}


@pytest.mark.parametrize("text", sorted(EXAMPLES))
def test_canonical_texts_parse_to_their_query_and_back(text, grammar):
    assert parse_query(text) == EXAMPLES[text]
    assert format_query(EXAMPLES[text]) == text
    assert accepts(grammar, text)


BAD = [
    "robot3.location",  # no such subject
    "robot1.locaton",  # no such attribute
    "holder_2.stacks",  # an attribute of another kind
    "check robot1.doing",  # text takes no test
    "check robot1.location",  # a place needs "= PLACE"
    "check robot1.location = plate_9",
    "check robot1.location > 3",
    "check robot1.status = done",
    "check robot1.cherries > 101",
    "check robot1.cherries > robots.cherries",  # a set is no single count
    "check all plates.cakes = holders.cherries",  # member by member: the same set only
    "which robots.cherries > plates.cakes",
    "check robot1.cherries has pink",
    "check robots.busy",  # a set needs all/any
    "check all robot1.busy",  # a single subject takes none
    "which robot1.busy",
    "most robots.location",  # not a count
    "most robots.cherries > 2",
    "robot1.history()",
    "robot1.history(brown PickCake)",  # filter slots in order
    "robot1.history(PickCake PickCake)",
    "plate_1.cakes(cherry legendary)",
    "robot1.location(home)",  # takes no filter
    "robot1.location and robot1.carrying and robot1.doing",
    "robot1.location or robot2.location",
    "check  robot1.busy",  # not canonical
    "check robot1.cherries > 05",
    "",
]


@pytest.mark.parametrize("text", BAD)
def test_malformed_queries_are_query_errors_and_the_grammar_rejects_them(text, grammar):
    with pytest.raises(QueryError):
        parse_query(text)
    assert not accepts(grammar, text)


def test_every_query_the_training_data_writes_is_canonical_and_in_the_grammar(grammar):
    for family in FAMILIES:
        assert parse_query(family.query.format(
            robot="robot1", other="robot2", plate="plate_1", plate2="plate_2",
            holder="holder_1", quadrant="quadrant_1", place="home", color="pink", n="3",
            part="cakes"))
    for example in generate_query_examples(600, seed=4):
        assert accepts(grammar, example.query)
        assert format_query(parse_query(example.query)) == example.query


def random_sentence(compiled: xgr.CompiledGrammar, rng: random.Random, budget: int = 90) -> str:
    matcher = xgr.GrammarMatcher(compiled)
    out = bytearray()
    bitmask = xgr.allocate_token_bitmask(1, BYTES.vocab_size)
    while True:
        matcher.fill_next_token_bitmask(bitmask, 0)
        bits = np.unpackbits(bitmask.numpy().view(np.uint8), bitorder="little")
        allowed = np.flatnonzero(bits[:BYTES.vocab_size]).tolist()
        choices = [b for b in allowed if b != STOP]
        if STOP in allowed and (not choices or len(out) > budget or rng.random() < 0.12):
            return out.decode()
        pick = rng.choice(choices)
        assert matcher.accept_token(pick)
        out.append(pick)


def test_every_sentence_of_the_grammar_is_a_canonical_query(grammar):
    rng = random.Random(7)
    forms = set()
    for _ in range(500):
        text = random_sentence(grammar, rng)
        query = parse_query(text)
        assert format_query(query) == text
        forms.add(type(query).__name__)
    assert forms == {"Describe", "Check", "Which", "Extreme", "Unknown"}


def test_the_grammar_follows_the_vocabulary_and_the_registry():
    text = query_grammar_ebnf()
    for word in (*V.PLACES, *V.COLORS, *V.ROBOTS,
                 *(k.tag for k in REGISTRY.of(Category.ACTION))):
        assert f'"{word}"' in text


def test_every_attribute_has_a_type_the_grammar_tests_as_documented(grammar):
    for kind, attributes in ATTRIBUTES.items():
        subject = members_of({"robot": "robots", "holder": "holders", "quadrant": "quadrants",
                              "plate": "plates"}.get(kind, kind))[0]
        assert kind_of(subject) == kind
        for a in attributes:
            ref = f"{subject}.{a.name}"
            assert accepts(grammar, ref)
            assert accepts(grammar, f"check {ref}") == a.type.bare
            assert accepts(grammar, f"check {ref} > 2") == a.type.countable
            assert accepts(grammar, f"check {ref} = home") == (a.type is Type.PLACE)
            assert accepts(grammar, f"check {ref} has brown") == (a.type is Type.COLORS)
