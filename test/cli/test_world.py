"""``llm-mars run-tree``: the final state as text or exactly JSON, a timeline, a PNG, errors."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from llm_mars.cli import main

from world.sim_helpers import plan

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("llm-mars")
MISSION = ROOT / "trees" / "missions" / "signal_decorate.xml"


def test_json_output_is_exactly_the_state_json():
    done = subprocess.run([str(CLI), "run-tree", str(MISSION), "--json", "--timeline"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    state = json.loads(done.stdout)  # nothing but the JSON on stdout
    assert state["score"]["total"] == 70
    assert [r["tree_status"] for r in state["robots"].values()] == ["SUCCESS", "SUCCESS"]
    assert "PutCherry 2: SUCCESS" in done.stderr  # the timeline went to stderr


def test_a_per_robot_export_runs_like_the_plan(tmp_path, capsys):
    from llm_mars.bt.export import export_robot
    from llm_mars.bt.parser import parse_plan

    exported = tmp_path / "robot1.xml"
    exported.write_text(export_robot(parse_plan(MISSION.read_text()), "robot1"))
    assert main(["run-tree", str(exported), "--json"]) == 0
    state = json.loads(capsys.readouterr().out)
    assert state["robots"]["robot1"]["tree_status"] == "SUCCESS"
    assert state["robots"]["robot2"]["history"] == []


def test_an_invalid_plan_prints_the_report_and_exits_1(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text(plan(robot1='<PickCake color="purple" quadrant="2"/>'))
    done = subprocess.run([str(CLI), "run-tree", str(bad), "--json"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 1
    assert done.stdout == ""
    assert "invalid plan" in done.stderr and "purple" in done.stderr


def test_text_output_timeline_and_png(tmp_path, capsys):
    png = tmp_path / "field.png"
    assert main(["run-tree", str(MISSION), "--timeline", "--png", str(png), "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "robot1: tree SUCCESS, at home" in out
    assert "plate_2: brown/yellow/pink + cherry" in out
    assert "score: 70" in out
    timeline = [line for line in out.splitlines() if "->" in line]
    assert len(timeline) == 14  # 7 finished skills per robot
    assert all(float(line.split("->")[1].split()[0]) <= 100.0 for line in timeline)
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_the_seed_changes_timings_not_the_outcome(capsys):
    states = []
    for seed in ("1", "2"):
        assert main(["run-tree", str(MISSION), "--json", "--seed", seed]) == 0
        states.append(json.loads(capsys.readouterr().out))
    assert states[0]["time_s"] != states[1]["time_s"]
    assert states[0]["plates"] == states[1]["plates"]


def test_a_missing_file_is_an_error(tmp_path, capsys):
    assert main(["run-tree", str(tmp_path / "nope.xml")]) == 1
    assert "cannot read" in capsys.readouterr().err


def _oversized_and_undecodable(tmp_path):
    big = tmp_path / "big.xml"
    big.write_text(plan(robot1='<Say text="%s"/>' % ("x" * 70_000)))
    latin = tmp_path / "latin.xml"
    latin.write_bytes(plan(robot1='<Say text="caf\u00e9"/>').encode("latin-1"))
    return big, latin


def _limited_to_2_gib():  # so that a reader without a limit fails here, not the machine
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def test_run_tree_reads_as_tree_validate_does(tmp_path):
    """run-tree read /dev/zero until memory ran out (8.5 GB in 20 s), and said "lone
    surrogate" for any file that is not UTF-8."""
    big, latin = _oversized_and_undecodable(tmp_path)
    outcomes = {}
    for name in ("/dev/zero", big, latin):
        done = subprocess.run([str(CLI), "run-tree", str(name)], capture_output=True, text=True,
                              timeout=120, cwd=ROOT, preexec_fn=_limited_to_2_gib)
        outcomes[str(name)] = (done.returncode, done.stderr)
    assert outcomes["/dev/zero"][0] == 1
    assert "more than 65536 bytes; the limit is 65536" in outcomes["/dev/zero"][1]
    assert outcomes[str(big)][0] == 1
    assert f"the file is {big.stat().st_size} bytes; the limit is 65536" in outcomes[str(big)][1]
    assert outcomes[str(latin)][0] == 1
    assert "not UTF-8 text: byte 0xe9" in outcomes[str(latin)][1]
    assert "surrogate" not in outcomes[str(latin)][1]
