"""Unicode trees with live statuses, dot source and PNG pictures."""
from __future__ import annotations

import shutil

import pytest

from llm_mars.bt.model import Node
from llm_mars.bt.parser import parse_plan
from llm_mars.bt.render import render_unicode, to_dot, write_png
from llm_mars.bt.robot import SkillState
from llm_mars.errors import GraphvizMissingError

from .scripted_robot import Run, ScriptedRobot
from .tables import build, plan_xml

XML = ('<Sequence><IsAt target="home"/><Fallback><Say text="a"/><Say text="b"/></Fallback>'
       '<SubTree ID="FinishMatch"/></Sequence>')


def test_unicode_of_a_plan_shows_structure_per_robot():
    assert render_unicode(parse_plan(plan_xml(XML))) == """robot1
└── Sequence
    ├── IsAt target=home
    ├── Fallback
    │   ├── Say text=a
    │   └── Say text=b
    └── SubTree FinishMatch"""


def test_unicode_of_a_ticking_tree_shows_live_statuses_and_failure_reasons():
    robot = ScriptedRobot({"Say text=a": [Run(0, SkillState.FAILURE, "no voice")],
                           "Say text=b": [Run(3)]})
    root = build(XML, robot)
    root.tick_once()
    assert render_unicode(root) == """Sequence [*]
├── IsAt target=home [✓]
├── Fallback [*]
│   ├── Say text=a [✗] -- no voice
│   └── Say text=b [*]
└── SubTree FinishMatch [-]
    └── Sequence [-]
        ├── MoveTo target=home [-]
        └── FunnyAction [-]"""
    assert "[" not in render_unicode(root, statuses=False)


def test_dot_has_one_node_per_behaviour_with_shapes_and_status_colours():
    root = build(XML, ScriptedRobot({"Say": [Run(3)]}))
    root.tick_once()
    dot = to_dot(root)
    assert dot.startswith("digraph behavior_tree {") and dot.rstrip().endswith("}")
    assert dot.count(" -> ") == 8 and dot.count("[label=") == 9
    assert 'label="IsAt target=home", shape=ellipse' in dot
    assert 'label="SubTree FinishMatch", shape=component' in dot
    assert '"#fff59d"' in dot and '"#a5d6a7"' in dot  # running and success fills


def test_dot_quotes_labels():
    dot = to_dot(Node("Say", (("text", 'a "b" \\ c'),)))
    assert r'label="Say text=a \"b\" \\ c"' in dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz not installed")
def test_write_png(tmp_path):
    path = write_png(parse_plan(plan_xml(XML)), tmp_path / "plan.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_graphviz_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GraphvizMissingError, match="apt-get install graphviz"):
        write_png(Node("FunnyAction"), tmp_path / "x.png")
