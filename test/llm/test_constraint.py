"""RowConstraint with the real SmolLM2 tokenizer: masks, accept/reject, rollback, jump-forward."""
from __future__ import annotations

import random
import re

import numpy as np
import pytest
import xgrammar as xgr

from llm_mars.bt.library import trees_dir
from llm_mars.bt.model import Reply
from llm_mars.bt.parser import parse_bt_output, parse_plan
from llm_mars.bt.serializer import serialize_plan, serialize_reply
from llm_mars.errors import ConstraintError
from llm_mars.language.grounding import Grounding
from llm_mars.llm import model_store
from llm_mars.llm import grammar
from llm_mars.llm.constraint import RowConstraint
from llm_mars.llm.grammar import compiled_plan_grammar

MISSIONS = sorted((trees_dir() / "missions").glob("*.xml"))


@pytest.fixture(scope="module")
def tokenizer():
    return model_store.load_tokenizer(model_store.resolve_model_dir())


@pytest.fixture(scope="module")
def compiled(tokenizer):
    return compiled_plan_grammar(tokenizer)


def encode(tokenizer, text: str) -> list[int]:
    return tokenizer.encode(text, add_special_tokens=False)


def allowed_ids(constraint: RowConstraint) -> np.ndarray:
    bitmask = xgr.allocate_token_bitmask(1, constraint.vocab_size)
    constraint.fill_mask(bitmask, 0)
    bits = np.unpackbits(bitmask.numpy().view(np.uint8), bitorder="little")
    return np.flatnonzero(bits[:constraint.vocab_size])


def decode_with_jump_forward(constraint: RowConstraint, tokenizer, document: str):
    """Drive a row the way the engine does, with a 'model' that always samples the next token
    of ``document`` (as the tokenizer splits the rest); returns (tokens, sampled count)."""
    tokens: list[int] = []
    sampled = 0
    while True:
        tokens += constraint.jump_forward_tokens(tokenizer)
        text = tokenizer.decode(tokens)
        assert document.startswith(text)
        if text == document:
            return tokens, sampled
        token = encode(tokenizer, document[len(text):])[0]
        constraint.accept(token)
        tokens.append(token)
        sampled += 1


def test_compiled_grammar_is_cached_per_tokenizer(tokenizer, compiled):
    assert compiled_plan_grammar(tokenizer) is compiled
    assert compiled.tokenizer_info.vocab_size == len(tokenizer)


def test_the_query_grammar_alone_does_not_compile_the_plan_grammar():
    """A process that only answers questions (`llm-mars ask`) does not pay for the plan
    grammar at start-up (a fresh tokenizer: the compilers are kept per tokenizer)."""
    from llm_mars.qa.query import query_grammar_ebnf

    fresh = model_store.load_tokenizer(model_store.resolve_model_dir(None))
    grammar.compiled_grammar(fresh, query_grammar_ebnf())
    compiler = grammar._COMPILERS[fresh][None]
    assert compiler.default is None
    plan = compiled_plan_grammar(fresh)
    assert compiler.default is plan and compiled_plan_grammar(fresh) is plan


def test_only_the_recent_grounded_grammars_are_kept(tokenizer, compiled, monkeypatch):
    monkeypatch.setattr(grammar, "GROUNDED_GRAMMARS_KEPT", 2)
    first = Grounding(frozenset({3}), frozenset({"pink"}))
    kept = compiled_plan_grammar(tokenizer, grounding=first)
    assert compiled_plan_grammar(tokenizer, grounding=first) is kept
    for n in (4, 5, 6):
        compiled_plan_grammar(tokenizer, grounding=Grounding(frozenset({n}), None))
    compiler = grammar._COMPILERS[tokenizer][None]
    assert list(compiler.grounded) == [Grounding(frozenset({5}), None),
                                       Grounding(frozenset({6}), None)]
    assert compiler.compiler.get_cache_size_bytes() == 0  # nothing kept behind our back
    assert compiled_plan_grammar(tokenizer, grounding=first) is not kept  # compiled anew


@pytest.mark.parametrize("path", MISSIONS, ids=lambda p: p.stem)
def test_mission_tokens_are_accepted_and_finish(tokenizer, compiled, path):
    document = serialize_plan(parse_plan(path.read_text(encoding="utf-8")), canonical=True)
    row = RowConstraint(compiled)
    tokens = encode(tokenizer, document)
    for token in tokens[:-1]:
        row.accept(token)
        assert not row.is_finished()
    row.accept(tokens[-1])
    assert row.is_finished()
    assert set(allowed_ids(row).tolist()) == {tokenizer.eos_token_id}
    row.accept(tokenizer.eos_token_id)
    with pytest.raises(ConstraintError):
        row.accept(encode(tokenizer, "<")[0])


def test_reply_finishes(tokenizer, compiled):
    row = RowConstraint(compiled)
    for token in encode(tokenizer, serialize_reply(Reply("There is no robot 3."))):
        row.accept(token)
    assert row.is_finished()


def test_mask_allows_the_grammar_and_only_its_row(tokenizer, compiled):
    row = RowConstraint(compiled)
    for token in encode(tokenizer, '<root BTCPP_format="4">\n  <BehaviorTree ID="robot1">\n    <Pick'):
        row.accept(token)
    bitmask = xgr.allocate_token_bitmask(2, row.vocab_size)
    untouched = bitmask[0].clone()
    row.fill_mask(bitmask, 1)
    assert np.array_equal(bitmask[0].numpy(), untouched.numpy())
    bits = np.unpackbits(bitmask[1].numpy().view(np.uint8), bitorder="little")
    allowed = {tokenizer.decode([t]) for t in np.flatnonzero(bits[:row.vocab_size]).tolist()}
    assert "C" in allowed  # PickCake
    assert not allowed & {"Place", "<", " ", "Hello", "Cakes"}


def test_rejected_token_raises_and_keeps_the_state(tokenizer, compiled):
    row = RowConstraint(compiled)
    for token in encode(tokenizer, '<root BTCPP_format="4">\n  <BehaviorTree ID="robot'):
        row.accept(token)
    for bad in ("3", "Robot", "\n"):  # robot3, robotRobot, a line break
        with pytest.raises(ConstraintError):
            row.accept(encode(tokenizer, bad)[0])
    for token in encode(tokenizer, '2">'):
        row.accept(token)


def test_stop_token_before_the_end_is_rejected(tokenizer, compiled):
    row = RowConstraint(compiled)
    for token in encode(tokenizer, "<reply>no"):
        row.accept(token)
    with pytest.raises(ConstraintError):
        row.accept(tokenizer.eos_token_id)


def test_rollback_restores_the_earlier_state(tokenizer, compiled):
    row = RowConstraint(compiled)
    head = encode(tokenizer, '<root BTCPP_format="4">\n  <BehaviorTree ID="robot1">\n    <MoveTo target="')
    for token in head:
        row.accept(token)
    before = allowed_ids(row)
    for token in encode(tokenizer, 'home"/>'):
        row.accept(token)
    row.rollback(len(encode(tokenizer, 'home"/>')))
    assert np.array_equal(allowed_ids(row), before)
    with pytest.raises(ConstraintError):
        row.rollback(10_000)


def test_jump_forward_reproduces_the_tokenizers_own_tokens(tokenizer, compiled):
    """Jumped and sampled tokens together are exactly the tokenizer's tokens of the plan, so
    the model sees what it was trained on; and jumping saves most of the tokens."""
    for path in MISSIONS:
        document = serialize_plan(parse_plan(path.read_text(encoding="utf-8")), canonical=True)
        row = RowConstraint(compiled)
        tokens, sampled = decode_with_jump_forward(row, tokenizer, document)
        assert tokens == encode(tokenizer, document), path.stem
        assert row.is_finished()
        assert sampled < 0.5 * len(tokens), (path.stem, sampled, len(tokens))


def test_jump_forward_on_a_100_token_plan(tokenizer, compiled):
    document = serialize_plan(parse_plan(
        (trees_dir() / "missions" / "legendary_and_basket.xml").read_text(encoding="utf-8")),
        canonical=True)
    assert 90 <= len(encode(tokenizer, document)) <= 130
    tokens, sampled = decode_with_jump_forward(RowConstraint(compiled), tokenizer, document)
    saved = len(tokens) - sampled
    print(f"\n{len(tokens)}-token plan: {sampled} sampled, {saved} jumped forward")
    assert saved >= 0.6 * len(tokens)


def test_jump_forward_is_empty_at_a_choice(tokenizer, compiled):
    row = RowConstraint(compiled)
    for token in encode(tokenizer, '<root BTCPP_format="4">\n  <BehaviorTree ID="robot1">\n    <PickCake color="'):
        row.accept(token)
    assert row.jump_forward_tokens(tokenizer) == []


def test_jump_forward_stops_where_the_next_token_could_merge(tokenizer, compiled):
    """After a leaf the grammar forces the newline and the parent's indentation; whether a
    sibling (two more spaces, "<") or the closing tag ("</") follows changes how the tokenizer
    splits those spaces, so only the tokens both continuations share are jumped."""
    head = '<root BTCPP_format="4">\n  <BehaviorTree ID="robot1">\n    <Sequence>\n      <DropCherries'
    sibling = head + '/>\n      <FunnyAction/>\n    </Sequence>\n  </BehaviorTree>\n</root>\n'
    closing = head + "/>\n    </Sequence>\n  </BehaviorTree>\n</root>\n"
    row = RowConstraint(compiled)
    head_tokens = encode(tokenizer, head)
    for token in head_tokens:
        row.accept(token)
    after = [encode(tokenizer, text)[len(head_tokens):] for text in (sibling, closing)]
    shared = []
    for a, b in zip(*after):
        if a != b:
            break
        shared.append(a)
    jumped = row.jump_forward_tokens(tokenizer)
    assert jumped == shared
    assert tokenizer.decode(jumped).startswith("/>")
    assert "/>\n    " != tokenizer.decode(jumped)  # the whole forced run was not taken


def test_random_constrained_rows_always_produce_valid_output(tokenizer, compiled):
    """Sample uniformly among the allowed tokens (drifting to closing ones), jumping forward
    where possible: every finished row parses and validates, in canonical form."""
    rng = random.Random(7)
    closing = [encode(tokenizer, text)[0] for text in ('"/>', "\"", "</", "/>", ">", "\n")]
    eos = tokenizer.eos_token_id
    outputs = []
    for _ in range(12):
        row = RowConstraint(compiled)
        tokens: list[int] = []
        while not row.is_finished():
            tokens += row.jump_forward_tokens(tokenizer)
            if row.is_finished():
                break
            allowed = set(allowed_ids(row).tolist()) - {eos}
            pick = rng.choice(sorted(allowed))
            if len(tokens) > 60 or rng.random() < 0.2:
                pick = next((t for t in closing if t in allowed), pick)
            row.accept(pick)
            tokens.append(pick)
        text = tokenizer.decode(tokens)
        output = parse_bt_output(text)
        if isinstance(output, Reply):
            assert serialize_reply(output) == re.sub(r"\s+</reply>$", "</reply>", text)
        else:
            assert serialize_plan(output) == text
        outputs.append(output)
    assert any(not isinstance(o, Reply) for o in outputs)
