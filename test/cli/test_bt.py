"""``llm-mars skills``, ``llm-mars tree validate`` and ``llm-mars tree show``."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from llm_mars import cli
from llm_mars.bt.registry import REGISTRY

REPOSITORY = Path(__file__).resolve().parents[2]
DATA = REPOSITORY / "test" / "bt" / "data"  # the parser tests' documents


@pytest.fixture
def llm_mars(monkeypatch, capsys):
    """Run the real ``llm-mars`` entry point with only this area's commands registered."""
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("llm_mars.cli.bt",))

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def test_skills_table_lists_every_kind_and_library_subtree(llm_mars):
    code, out, _ = llm_mars("skills")
    assert code == 0
    for tag in REGISTRY.tags:
        assert f"\n{tag} " in out
    assert "SubTree ID=BuildLegendaryCakes" in out and "quadrant:int 1..4" in out
    assert "[sort:bool=false]" in out


def test_skills_json_is_the_registry_plus_subtrees(llm_mars):
    code, out, _ = llm_mars("skills", "--json")
    data = json.loads(out)
    assert code == 0 and [n["tag"] for n in data["nodes"]] == list(REGISTRY.tags)
    assert {s["id"] for s in data["subtrees"]} >= {"BuildLegendaryCakes", "FinishMatch"}


def test_skills_groot_writes_the_tree_nodes_model(llm_mars, tmp_path):
    out_file = tmp_path / "llm_mars_nodes.xml"
    code, out, err = llm_mars("skills", "--groot", out_file)
    model = out_file.read_text()
    assert code == 0 and f"wrote {out_file}" in err and "PickCake" in out
    assert model.startswith('<root BTCPP_format="4">\n  <TreeNodesModel>')
    assert '<Action ID="PickCake">' in model and '<SubTree ID="FinishMatch"/>' in model


GROOT2_FILE = """<root BTCPP_format="4" main_tree_to_execute="robot1">
  <BehaviorTree ID="robot1">
    <Sequence name="main">
      <PickCake name="grab" color="brown" quadrant="2"/>
      <Spin angle="90"/>
    </Sequence>
  </BehaviorTree>
  <TreeNodesModel>
    <Action ID="PickCake"><input_port name="color"/><input_port name="quadrant"/></Action>
    <Action ID="Spin"><input_port name="angle"/></Action>
  </TreeNodesModel>
</root>
"""


def test_validate_reads_groot2_files_with_the_plan_reader(llm_mars, tmp_path):
    groot = tmp_path / "groot.xml"
    groot.write_text(GROOT2_FILE)
    code, out, _ = llm_mars("tree", "validate", groot)
    assert code == 1 and "groot.xml: 1 problem\n" in out
    assert "line 5, col 7: robot1/Sequence[0]/Spin[1]: unknown node kind <Spin>" in out
    assert "taken" not in out
    groot.write_text(GROOT2_FILE.replace("robot1", "MainTree"))
    code, out, _ = llm_mars("tree", "validate", groot)
    assert code == 1 and "unknown robot 'MainTree'" in out and "unknown node kind <Spin>" in out
    groot.write_text(GROOT2_FILE.replace('      <Spin angle="90"/>\n', ""))
    code, out, _ = llm_mars("tree", "validate", groot)
    assert (code, out) == (0, f"{groot}: ok (trees for robot1)\n")


def test_export_writes_a_file_per_robot_that_validates(llm_mars, tmp_path):
    mission = REPOSITORY / "trees/missions/signal_decorate.xml"
    code, out, _ = llm_mars("tree", "export", mission, "--out-dir", tmp_path)
    files = [tmp_path / f"signal_decorate.{robot}.xml" for robot in ("robot1", "robot2")]
    assert code == 0 and out.split() == [word for f in files for word in ("wrote", str(f))]
    code, out, _ = llm_mars("tree", "validate", *files)
    assert code == 0 and out.count(": ok (trees for robot") == 2


def test_validate_accepts_every_file_in_trees(llm_mars):
    files = sorted((REPOSITORY / "trees").rglob("*.xml"))
    code, out, _ = llm_mars("tree", "validate", *files)
    assert code == 0 and out.count(": ok") == len(files)


def test_validate_reports_three_mistakes_with_lines_and_suggestions(llm_mars):
    code, out, _ = llm_mars("tree", "validate", DATA / "three_mistakes.xml")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].endswith("three_mistakes.xml: 3 problems")
    assert lines[1].startswith("  line 4, col 7: robot1/Sequence[0]/PickCake[0]")
    assert lines[1].endswith("(did you mean brown?)")
    assert lines[2].startswith("  line 5, col 7:")
    assert lines[2].endswith("(did you mean PlaceCakes?)")
    assert lines[3].startswith("  line 9, col 5:") and lines[3].endswith("(did you mean count?)")


def test_validate_checks_every_file_and_fails_if_any_fails(llm_mars, tmp_path):
    bad_subtree = tmp_path / "Broken.xml"
    bad_subtree.write_text((REPOSITORY / "trees/subtrees/FinishMatch.xml").read_text()
                           .replace("FinishMatch", "Broken").replace("FunnyAction", "FunyAction"))
    reply = tmp_path / "reply.xml"
    reply.write_text("<reply>There is no plate 7.</reply>")
    code, out, _ = llm_mars("tree", "validate", tmp_path / "missing.xml", bad_subtree, reply)
    assert code == 1
    assert "missing.xml: cannot read: No such file or directory" in out
    assert "Broken.xml: 1 problem\n" in out and "(did you mean FunnyAction?)" in out
    assert "reply.xml: ok (reply: There is no plate 7.)" in out


def test_show_of_an_unreadable_file_is_an_error_not_a_crash(llm_mars, tmp_path):
    code, _, err = llm_mars("tree", "show", tmp_path / "missing.xml")
    assert code == 1 and "cannot read" in err


def test_show_prints_the_plan(llm_mars):
    code, out, _ = llm_mars("tree", "show", REPOSITORY / "trees/missions/legendary_and_basket.xml")
    assert code == 0
    assert out.splitlines()[:3] == ["robot1", "└── Sequence",
                                    "    ├── SubTree BuildLegendaryCakes quadrant=1 plate=1"]


def test_show_of_an_invalid_plan_exits_1_with_the_report(llm_mars):
    code, _, err = llm_mars("tree", "show", DATA / "three_mistakes.xml")
    assert code == 1 and "did you mean PlaceCakes?" in err


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz not installed")
def test_show_draws_a_png(llm_mars, tmp_path):
    code, _, _ = llm_mars("tree", "show", REPOSITORY / "trees/missions/signal_decorate.xml",
                          "--png", tmp_path / "plan.png")
    assert code == 0 and (tmp_path / "plan.png").read_bytes().startswith(b"\x89PNG")


def test_validate_names_the_real_size_and_the_encoding(llm_mars, tmp_path):
    """A 70 kB file was reported as "65537 bytes", a non-UTF-8 one as "lone surrogate"."""
    big = tmp_path / "big.xml"
    big.write_text('<root BTCPP_format="4"><BehaviorTree ID="robot1"><Say text="%s"/>'
                   '</BehaviorTree></root>' % ("x" * 70_000))
    latin = tmp_path / "latin.xml"
    latin.write_bytes('<root BTCPP_format="4"><BehaviorTree ID="robot1">\n<Say text="caf\u00e9"/>'
                      '</BehaviorTree></root>'.encode("latin-1"))
    code, out, _ = llm_mars("tree", "validate", big, latin)
    assert code == 1
    assert f"the file is {big.stat().st_size} bytes; the limit is 65536" in out
    assert "line 2, col 15: the file is not UTF-8 text: byte 0xe9" in out
    assert "surrogate" not in out
