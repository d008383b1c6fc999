"""The adapters' prompts: generated from the registry, vocabulary and library; compact."""
from __future__ import annotations

import re

import pytest

from llm_mars import vocabulary as V
from llm_mars.bt.library import load_library
from llm_mars.bt.parser import parse_plan
from llm_mars.bt.registry import REGISTRY, Category, NodeKind, Port, PortType, Registry
from llm_mars.bt.serializer import serialize_plan
from llm_mars.llm import model_store
from llm_mars.llm.prompts import (EXAMPLE_PLAN, QA_SYSTEM_PROMPT, bt_messages, bt_system_prompt,
                                  qa_messages)

BT_PROMPT_MAX_TOKENS = 760
QA_PROMPT_MAX_TOKENS = 60


@pytest.fixture(scope="module")
def tokenizer():
    return model_store.load_tokenizer(model_store.resolve_model_dir())


def words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))


def test_bt_prompt_names_every_tag_port_choice_place_robot_and_subtree():
    prompt = bt_system_prompt()
    found = words(prompt)
    assert set(REGISTRY.planned.tags) <= found
    assert not {k.tag for k in REGISTRY.kinds.values() if not k.planned} & found
    for kind in REGISTRY.planned.kinds.values():
        line = next((l for l in prompt.splitlines() if re.match(rf"(.*[ :])?{kind.tag}\b", l)), "")
        for port in kind.ports:
            if kind.category is not Category.SUBTREE:
                assert port.name in words(line), (kind.tag, port.name)
            if port.type is PortType.ENUM and port.choices != V.PLACES:
                assert "|".join(port.choices) in line, (kind.tag, port.name)
    assert set(V.PLACES) <= found
    assert set(V.ROBOTS) <= found
    for definition in load_library():
        line = next(l for l in prompt.splitlines() if l.startswith(definition.id))
        assert {p.name for p in definition.ports} <= words(line)
    assert "<reply>" in prompt


def test_bt_prompt_is_generated_not_kept_by_hand():
    dance = NodeKind("Dance", Category.ACTION, "dance a little (only on Fridays)", (
        Port("style", PortType.ENUM, "style", choices=("salsa", "tango")),
        Port("beats", PortType.INT, "beats", required=False, minimum=1, maximum=8)))
    registry = Registry({**REGISTRY.kinds, "Dance": dance})
    prompt = bt_system_prompt(registry)
    assert "Dance style=salsa|tango [beats=1..8]: dance a little\n" in prompt
    assert "Dance" not in bt_system_prompt()


def test_example_in_the_prompt_is_a_valid_canonical_plan():
    example = serialize_plan(EXAMPLE_PLAN)
    assert serialize_plan(parse_plan(example)) == example
    assert example.rstrip("\n") in bt_system_prompt()


def test_bt_messages_share_the_system_prompt_and_carry_the_command():
    first = bt_messages("  robot 1, go home\n")
    second = bt_messages("robot 2, fill the basket")
    assert [m["role"] for m in first] == ["system", "user"]
    assert first[0] == second[0]
    assert first[0]["content"] == bt_system_prompt()
    assert first[1]["content"] == "robot 1, go home"


def test_qa_messages_put_the_state_in_the_user_message():
    first = qa_messages("Where is robot 1?", "robot1: at plate_3, carrying nothing")
    second = qa_messages("What is the score?", "score: 18")
    assert first[0] == second[0] == {"role": "system", "content": QA_SYSTEM_PROMPT}
    user = first[1]["content"]
    assert "robot1: at plate_3, carrying nothing" in user and "Where is robot 1?" in user
    assert user.index("plate_3") < user.index("Where is")


def test_system_prompts_are_compact(tokenizer):
    def tokens(messages):
        return len(tokenizer.apply_chat_template(messages[:1], tokenize=True, return_dict=False))

    bt = tokens(bt_messages("x"))
    qa = tokens(qa_messages("x", "y"))
    print(f"\nsystem prompt tokens (chat template included): bt {bt}, qa {qa}")
    assert bt <= BT_PROMPT_MAX_TOKENS
    assert qa <= QA_PROMPT_MAX_TOKENS
