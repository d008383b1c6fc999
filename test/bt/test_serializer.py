"""Canonical XML out; parse(serialize(plan)) == plan for every valid plan."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llm_mars.bt.library import load_library
from llm_mars.bt.model import Node, Plan, Reply
from llm_mars.bt.parser import parse_bt_output, parse_plan
from llm_mars.bt.serializer import serialize_node, serialize_plan, serialize_reply

from .strategies import XML_CHARACTERS, plans

MISSIONS = sorted((Path(__file__).resolve().parents[2] / "trees" / "missions").glob("*.xml"))


WRITTEN = """<!-- header -->
<root BTCPP_format="4">
  <!-- robot 1 -->
  <BehaviorTree ID="robot1">
    <Sequence>
      <!-- first -->
      <PickCake quadrant="2" color="brown"/>
      <Wait seconds="3"/>
      <PlaceCakes sort="1" plate="3"/>
      <!-- last -->
    </Sequence>
  </BehaviorTree>
</root>"""


def test_what_a_person_wrote_is_kept_where_the_meaning_is_unchanged():
    assert serialize_plan(parse_plan(WRITTEN)) == """<!-- header -->
<root BTCPP_format="4">
  <!-- robot 1 -->
  <BehaviorTree ID="robot1">
    <Sequence>
      <!-- first -->
      <PickCake color="brown" quadrant="2"/>
      <Wait seconds="3"/>
      <PlaceCakes plate="3" sort="1"/>
      <!-- last -->
    </Sequence>
  </BehaviorTree>
</root>
"""


def test_a_changed_value_is_written_in_canonical_form():
    plan = parse_plan(WRITTEN)
    wait = plan.tree("robot1").children[1]
    changed = dataclasses.replace(wait, ports=(("seconds", 4.0),))
    assert 'seconds="4.0"' in serialize_node(changed)
    assert 'seconds="3"' in serialize_node(wait)


@pytest.mark.parametrize("path", MISSIONS, ids=lambda p: p.name)
def test_missions_are_written_back_byte_for_byte(path):
    assert serialize_plan(parse_plan(path.read_text())) == path.read_text()


def test_canonical_form():
    plan = parse_plan(WRITTEN)
    assert serialize_plan(plan, canonical=True) == """<root BTCPP_format="4">
  <BehaviorTree ID="robot1">
    <Sequence>
      <PickCake color="brown" quadrant="2"/>
      <Wait seconds="3.0"/>
      <PlaceCakes plate="3" sort="true"/>
    </Sequence>
  </BehaviorTree>
</root>
"""


def test_attribute_text_survives_escaping():
    text = 'say "hi" & <wave>\n\tthen\r go '
    plan = Plan((("robot2", Node("Say", (("text", text),))),))
    assert '&quot;hi&quot; &amp; &lt;wave&gt;&#10;&#9;then&#13; go ' in serialize_plan(plan)
    assert parse_plan(serialize_plan(plan)) == plan


def test_serialize_node_indents():
    node = Node("Inverter", (), (Node("IsAt", (("target", "home"),)),))
    assert serialize_node(node, 1) == '  <Inverter>\n    <IsAt target="home"/>\n  </Inverter>'


@pytest.mark.parametrize("path", MISSIONS, ids=lambda p: p.name)
def test_missions_round_trip(path):
    plan = parse_plan(path.read_text())
    assert parse_plan(serialize_plan(plan)) == plan


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans(load_library()))
def test_random_valid_plans_survive_serialize_and_parse(plan):
    assert parse_plan(serialize_plan(plan)) == plan


@settings(max_examples=50, deadline=None)
@given(st.text(XML_CHARACTERS, min_size=1, max_size=200).map(str.strip).filter(bool))
def test_replies_round_trip(text):
    assert parse_bt_output(serialize_reply(Reply(text))) == Reply(text)
