"""The plan grammar admits exactly the canonical valid bt outputs.

The grammar is about characters, not tokens, so these tests compile it for a vocabulary of
the 256 single bytes (plus a stop token): every string can be fed byte by byte, and random
walks explore it one byte at a time. Tokenizer behaviour is tested in test_constraint.py.
"""
from __future__ import annotations

import dataclasses
import random
import re
from pathlib import Path

import numpy as np
import pytest
import xgrammar as xgr

from llm_mars.bt.library import SubtreeLibrary, load_library, trees_dir
from llm_mars.bt.model import Node, Plan, Reply
from llm_mars.bt.parser import parse_bt_output, parse_plan
from llm_mars.bt.registry import REGISTRY, Category, NodeKind, Port, PortType, Registry
from llm_mars.bt.serializer import serialize_plan, serialize_reply
from llm_mars.errors import PlanValidationError, RegistryError
from llm_mars.llm.grammar import (MAX_CHILD_THRESHOLD, MAX_DEPTH, MAX_GENERATED_REPLY_CHARS,
                                  float_range, int_range, plan_grammar_ebnf)

STOP = 256
BYTES = xgr.TokenizerInfo([bytes([i]) for i in range(256)] + [b"<stop>"], xgr.VocabType.RAW,
                          stop_token_ids=[STOP])


def compile_bytes(ebnf: str) -> xgr.CompiledGrammar:
    return xgr.GrammarCompiler(BYTES, max_threads=1).compile_grammar(ebnf)


def accepts(compiled: xgr.CompiledGrammar, text: str) -> bool:
    """Whether ``text`` is a complete sentence of the grammar."""
    matcher = xgr.GrammarMatcher(compiled)
    return matcher.accept_string(text) and matcher.accept_token(STOP)


@pytest.fixture(scope="module")
def plan_grammar() -> xgr.CompiledGrammar:
    return compile_bytes(plan_grammar_ebnf())


def canonical(document: str) -> str:
    return serialize_plan(parse_plan(document), canonical=True)


MISSIONS = sorted((trees_dir() / "missions").glob("*.xml"))

BASE = canonical("""<root BTCPP_format="4">
  <BehaviorTree ID="robot1">
    <Sequence>
      <PickCake color="pink" quadrant="2"/>
      <PlaceCakes plate="3" sort="true"/>
      <Wait seconds="2.5"/>
      <RetryUntilSuccessful num_attempts="3">
        <SubTree ID="CherriesToBasket" holder="1"/>
      </RetryUntilSuccessful>
    </Sequence>
  </BehaviorTree>
  <BehaviorTree ID="robot2">
    <Say text="ok"/>
  </BehaviorTree>
</root>""")


def nested(depth: int) -> str:
    """A one-robot plan whose leaf sits ``depth`` node levels below <BehaviorTree>."""
    inner = Node("FunnyAction")
    for _ in range(depth - 1):
        inner = Node("Inverter", children=(inner,))
    return serialize_plan(Plan((("robot1", inner),)))


# --- what must be accepted ------------------------------------------------------------------


def test_missions_exist():
    assert len(MISSIONS) >= 3


@pytest.mark.parametrize("path", MISSIONS, ids=lambda p: p.stem)
def test_every_example_mission_is_accepted(plan_grammar, path: Path):
    assert accepts(plan_grammar, canonical(path.read_text(encoding="utf-8")))


def test_reply_is_accepted(plan_grammar):
    assert accepts(plan_grammar, serialize_reply(Reply('There is no robot 3; "moon" is no place.')))


def test_strings_admit_plain_text_but_nothing_the_serializer_escapes(plan_grammar):
    def say(text):
        return serialize_plan(Plan((("robot1", Node("Say", (("text", text),))),)))

    assert accepts(plan_grammar, say("Plate 3: done! 'é' 中 🙂 (1/2) ok?"))
    for char in ("&", "<", ">", '"', "\n", "\t", "\r", "{"):
        parse_plan(say(f"a{char}b"))  # valid ...
        assert not accepts(plan_grammar, say(f"a{char}b")), char  # ... but kept out


def test_string_length_bound_counts_characters(plan_grammar):
    longest = REGISTRY["Say"].port("text").max_length
    for length, expected in ((1, True), (longest, True), (longest + 1, False)):
        for char in ("x", "中"):
            plan = Plan((("robot1", Node("Say", (("text", char * length),))),))
            assert accepts(plan_grammar, serialize_plan(plan)) is expected, (char, length)


def test_nesting_is_bounded(plan_grammar):
    assert accepts(plan_grammar, nested(MAX_DEPTH))
    parse_plan(nested(MAX_DEPTH + 1))  # valid, but deeper than the grammar admits
    assert not accepts(plan_grammar, nested(MAX_DEPTH + 1))


def test_grammar_follows_the_registry_and_the_library():
    dance = NodeKind("Dance", Category.ACTION, "dance", (
        Port("style", PortType.ENUM, "style", choices=("salsa", "tango")),
        Port("beats", PortType.INT, "beats", required=False, minimum=1, maximum=8)))
    registry = Registry({**REGISTRY.kinds, "Dance": dance})
    body = (trees_dir() / "subtrees" / "FinishMatch.xml").read_text(encoding="utf-8")
    library = SubtreeLibrary.from_documents(
        {"GoHome.xml": body.replace("FinishMatch", "GoHome")})
    grammar = compile_bytes(plan_grammar_ebnf(registry, library))
    plan = Plan((("robot1", Node("Sequence", children=(
        Node("Dance", (("style", "tango"), ("beats", 8))), Node("SubTree", (("ID", "GoHome"),))
    ))),))
    text = serialize_plan(plan)
    assert accepts(grammar, text)
    assert not accepts(grammar, text.replace('beats="8"', 'beats="9"'))
    assert not accepts(grammar, text.replace("GoHome", "FinishMatch"))  # not in this library


# --- what must be rejected ------------------------------------------------------------------

INVALID = {
    "unknown tag": ('<Wait seconds="2.5"/>', '<Sleep seconds="2.5"/>'),
    "missing port": ('<PickCake color="pink" quadrant="2"/>', '<PickCake color="pink"/>'),
    "unknown port": ('<PlaceCakes plate="3" sort="true"/>', '<PlaceCakes plate="3" fast="true"/>'),
    "enum value": ('color="pink"', 'color="blue"'),
    "int above range": ('quadrant="2"', 'quadrant="5"'),
    "int below range": ('num_attempts="3"', 'num_attempts="-2"'),
    "float above range": ('seconds="2.5"', 'seconds="100.5"'),
    "unknown subtree": ('ID="CherriesToBasket"', 'ID="CherriesToBucket"'),
    "subtree port range": ('holder="1"', 'holder="5"'),
    "robot3": ('ID="robot2"', 'ID="robot3"'),
    "two robot1 trees": ('ID="robot2"', 'ID="robot1"'),
    "decorator with two children": (
        '<SubTree ID="CherriesToBasket" holder="1"/>',
        '<SubTree ID="CherriesToBasket" holder="1"/>\n        <DropCherries/>'),
    "port reference in a plan": ('text="ok"', 'text="{ok}"'),
}

NOT_CANONICAL = {
    "robot2 before robot1": None,  # built below
    "port order": ('color="pink" quadrant="2"', 'quadrant="2" color="pink"'),
    "float without decimals": ('seconds="2.5"', 'seconds="2"'),
    "float with trailing zero": ('seconds="2.5"', 'seconds="2.50"'),
    "int with leading zero": ('quadrant="2"', 'quadrant="02"'),
    "indentation": ("\n      <Wait", "\n     <Wait"),
    "no final newline": ("</root>\n", "</root>"),
    "raw > in a string": ('text="ok"', 'text="o>k"'),
}


def _swap_robots(text: str) -> str:
    head, rest = text.split("\n", 1)
    first, second = rest.split('  <BehaviorTree ID="robot2">')
    return head + "\n" + '  <BehaviorTree ID="robot2">' + second.replace("</root>\n", "") + \
        first + "</root>\n"


@pytest.mark.parametrize("name", INVALID)
def test_invalid_documents_are_rejected(plan_grammar, name):
    old, new = INVALID[name]
    assert old in BASE
    broken = BASE.replace(old, new, 1)
    with pytest.raises(PlanValidationError):
        parse_bt_output(broken)
    assert not accepts(plan_grammar, broken)


@pytest.mark.parametrize("name", NOT_CANONICAL)
def test_valid_but_non_canonical_documents_are_rejected(plan_grammar, name):
    if name == "robot2 before robot1":
        text = _swap_robots(BASE)
    else:
        old, new = NOT_CANONICAL[name]
        assert old in BASE
        text = BASE.replace(old, new, 1)
    assert canonical(text) != text  # valid (canonical() parses it), but not canonical
    assert not accepts(plan_grammar, text)


@pytest.mark.parametrize("reply", ["<reply></reply>", "<reply> padded</reply>",
                                   "<reply>fish &amp; chips</reply>", "<reply>two\nlines</reply>",
                                   "<reply>" + "x" * (MAX_GENERATED_REPLY_CHARS + 1) + "</reply>",
                                   "<reply>ok</reply>\n", "Sure! <reply>ok</reply>"])
def test_bad_or_non_canonical_replies_are_rejected(plan_grammar, reply):
    assert not accepts(plan_grammar, reply)


def test_trailing_space_in_a_reply_is_admitted_and_stripped_by_the_parser(plan_grammar):
    assert accepts(plan_grammar, "<reply>padded </reply>")
    assert parse_bt_output("<reply>padded </reply>") == Reply("padded")


def test_parallel_thresholds_never_exceed_the_children(plan_grammar):
    def parallel(ports, n_children):
        node = Node("Parallel", ports, tuple(Node("FunnyAction") for _ in range(n_children)))
        return serialize_plan(Plan((("robot1", node),)))

    for success in (None, -1, 0, 1, 2, 3):
        for failure in (None, -1, 0, 1, 2, 3):
            ports = tuple((name, value) for name, value in
                          (("success_count", success), ("failure_count", failure))
                          if value is not None)
            for n_children in (1, 2, 3):
                text = parallel(ports, n_children)
                try:
                    parse_plan(text)
                    valid = True
                except PlanValidationError:
                    valid = False
                assert accepts(plan_grammar, text) is valid, (ports, n_children)
    assert not accepts(plan_grammar, parallel((("success_count", MAX_CHILD_THRESHOLD + 1),),
                                              MAX_CHILD_THRESHOLD + 1))


# --- numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize("lo,hi", [(1, 4), (-1, 100), (0, 0), (-250, 250), (7, 1234),
                                   (1, 100_000), (-999_999, 999_999)])
def test_int_range_admits_exactly_the_range(lo, hi):
    grammar = compile_bytes(f"root ::= {int_range(lo, hi)}")
    rng = random.Random(lo * 7919 + hi)
    values = {lo - 1, lo, lo + 1, hi - 1, hi, hi + 1, 0, -1, 10 * hi + 3}
    values |= {rng.randint(lo - 50, hi + 50) for _ in range(200)}
    values |= {10**k for k in range(7)} | {10**k - 1 for k in range(1, 7)}
    for n in sorted(values):
        assert accepts(grammar, str(n)) is (lo <= n <= hi), n
    for text in ("+1", "01", "-0", " 1", ""):
        assert not accepts(grammar, text), text


def test_int_range_rejects_an_empty_range():
    with pytest.raises(RegistryError):
        int_range(3, 2)


def test_float_range_admits_canonical_decimals_within_bounds():
    grammar = compile_bytes(f"root ::= {float_range(0, 100)}")
    for text in ("0.0", "0.5", "2.5", "12.125", "99.999", "100.0", "0.001", "7.05"):
        assert accepts(grammar, text), text
        assert repr(float(text)) == text
    for text in ("100.5", "100.01", "101.0", "2.50", "5", "5.", "-0.0", "-1.0", "1e-05",
                 "01.5", "1.0001", ".5", "2.0500"):
        assert not accepts(grammar, text), text


def test_float_ports_need_integer_bounds():
    odd = NodeKind("Odd", Category.ACTION, "odd", (
        Port("x", PortType.FLOAT, "x", minimum=0.5, maximum=2),))
    with pytest.raises(RegistryError):
        plan_grammar_ebnf(Registry({**REGISTRY.kinds, "Odd": odd}))


def test_string_ports_need_a_length_bound():
    kind = REGISTRY["Say"]
    unbounded = dataclasses.replace(kind, ports=(dataclasses.replace(kind.ports[0],
                                                                     max_length=None),))
    with pytest.raises(RegistryError):
        plan_grammar_ebnf(Registry({**REGISTRY.kinds, "Say": unbounded}))


# --- every accepted string validates ----------------------------------------------------------

# Bytes that close what is open: strings, tags, node lists, the reply.
_CLOSING = tuple(map(ord, '<"/>\n'))


def random_sentence(grammar: xgr.CompiledGrammar, rng: random.Random, budget: int) -> str:
    """A random sentence: uniform over the allowed bytes, drifting to closing bytes (always,
    once past ``budget`` bytes) so that every walk ends."""
    matcher = xgr.GrammarMatcher(grammar)
    bitmask = xgr.allocate_token_bitmask(1, BYTES.vocab_size)
    out = bytearray()
    while True:
        matcher.fill_next_token_bitmask(bitmask)
        bits = np.unpackbits(bitmask.numpy().view(np.uint8), bitorder="little")
        allowed = np.flatnonzero(bits[:BYTES.vocab_size]).tolist()
        if STOP in allowed and (len(allowed) == 1 or len(out) > budget or rng.random() < 0.5):
            assert matcher.accept_token(STOP)
            return out.decode("utf-8")
        allowed = [b for b in allowed if b != STOP]
        pick = rng.choice(allowed)
        if len(out) > budget or rng.random() < 0.15:
            pick = next((b for b in _CLOSING if b in allowed), pick)
        assert matcher.accept_token(pick)
        out.append(pick)


def test_every_accepted_string_validates_and_is_canonical(plan_grammar):
    rng = random.Random(20230501)
    seen_tags: set[str] = set()
    seen_robots: set[str] = set()
    replies = 0
    for _ in range(400):
        text = random_sentence(plan_grammar, rng, budget=300)
        output = parse_bt_output(text)
        if isinstance(output, Reply):
            replies += 1
            assert serialize_reply(output) == re.sub(r"\s+</reply>$", "</reply>", text)
            continue
        assert serialize_plan(output) == text
        for robot, root in output.trees:
            seen_robots.add(robot)
            seen_tags |= {node.tag for node in root.walk()}
    assert seen_tags == set(REGISTRY.planned.tags)  # hand-written built-ins stay out
    assert seen_robots == {"robot1", "robot2"}
    assert 0 < replies < 400


def _smallest_value(port: Port):
    if port.type is PortType.ENUM:
        return port.choices[0]
    if port.type is PortType.BOOL:
        return False
    if port.type is PortType.STRING:
        return "x"
    return port.minimum if port.type is PortType.FLOAT else int(port.minimum)


def test_every_library_subtree_is_in_the_grammar(plan_grammar):
    library = load_library()
    assert len(library) > 0
    for definition in library:
        ports = (("ID", definition.id),) + tuple(
            (p.name, _smallest_value(p)) for p in definition.ports if p.required)
        text = serialize_plan(Plan((("robot2", Node("SubTree", ports)),)))
        parse_plan(text)
        assert accepts(plan_grammar, text), definition.id


# --- grounding ------------------------------------------------------------------------------

GROUNDED_PLAN = canonical("""<root BTCPP_format="4">
  <BehaviorTree ID="robot2">
    <Sequence>
      <PickCake color="pink" quadrant="3"/>
      <PlaceCakes plate="5"/>
      <CollectCherries holder="2" count="1"/>
      <MoveTo target="plate_5"/>
      <Repeat num_cycles="7">
        <Wait seconds="12.5"/>
      </Repeat>
    </Sequence>
  </BehaviorTree>
</root>""")


def test_a_grounded_grammar_admits_only_the_values_the_command_mentions():
    """"the second robot brings the pink stack from quadrant three to plate five": holder 2 and
    count 1 are implicit, ports that are not small numbered ones stay open."""
    from llm_mars.language.grounding import ground

    grounding = ground("the second robot brings the pink stack from quadrant three to plate 5")
    grammar = compile_bytes(plan_grammar_ebnf(grounding=grounding))
    assert accepts(grammar, GROUNDED_PLAN)
    assert accepts(grammar, serialize_reply(Reply("The robots cannot fly.")))
    for wrong in (('quadrant="3"', 'quadrant="1"'), ('color="pink"', 'color="brown"'),
                  ('plate="5"/>', 'plate="4"/>'), ('"plate_5"', '"plate_1"'),
                  ('count="1"', 'count="4"'), ('ID="robot2"', 'ID="robot1"')):
        assert wrong[0] in GROUNDED_PLAN
        assert not accepts(grammar, GROUNDED_PLAN.replace(*wrong)), wrong
    assert accepts(grammar, GROUNDED_PLAN.replace('"plate_5"', '"home"'))


def test_a_plan_only_grammar_admits_no_reply():
    from llm_mars.language.grounding import Grounding

    grammar = compile_bytes(plan_grammar_ebnf(grounding=Grounding(frozenset(), None, True)))
    assert accepts(grammar, BASE)
    assert not accepts(grammar, serialize_reply(Reply("There is no quadrant 4.")))


def test_grammar_texts_name_their_constraint():
    from llm_mars.language.grounding import Grounding
    from llm_mars.llm.grammar import plan_constraint_of_grammar, plan_grammar_for

    grounding = Grounding(frozenset({1}), frozenset({"brown"}))
    text = plan_grammar_ebnf(grounding=grounding)
    assert plan_constraint_of_grammar(text) == f"plan:{grounding.key()}"
    assert plan_grammar_for(f"plan:{grounding.key()}") == text
    assert plan_constraint_of_grammar(plan_grammar_ebnf()) == "plan"
    assert plan_constraint_of_grammar(text.replace('"brown"', '"pink"')) is None
    assert plan_constraint_of_grammar("# llm_mars plan grounding: junk\nroot ::= \"x\"") is None


def test_every_whitespace_character_is_below_the_searched_bound():
    import sys

    from llm_mars.llm.grammar import WHITESPACE_BELOW

    assert not [c for c in range(WHITESPACE_BELOW, sys.maxunicode + 1) if chr(c).isspace()]
