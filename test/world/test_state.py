"""The state JSON contract (DESIGN.md section 3): every key, every type, JSON round trip."""
from __future__ import annotations

import json

import pytest

from llm_mars import vocabulary as V
from llm_mars.world.simulator import Simulator
from llm_mars.world.state import WorldState

from .sim_helpers import DT, run_skill

ROBOT_KEYS = {"location", "x_mm", "y_mm", "carrying", "tree_status", "active", "funny_action",
              "history"}
TOP_KEYS = {"time_s", "robots", "quadrants", "holders", "plates", "basket", "score"}
SCORE_KEYS = {"cakes", "basket", "end_zone", "funny", "total"}


def busy_world() -> Simulator:
    """A world mid-match: cakes on a plate, cherries carried, one robot between places."""
    sim = Simulator(seed=2)
    for color in V.COLORS:
        run_skill(sim, "robot1", "PickCake", {"color": color, "quadrant": 2})
    run_skill(sim, "robot1", "PlaceCakes", {"plate": 2, "sort": True})
    run_skill(sim, "robot2", "CollectCherries", {"holder": 3, "count": 4})
    sim.start_skill("robot2", "MoveTo", {"target": "plate_5"})
    sim.step(0.5)
    return sim


def check_schema(state: dict) -> None:
    assert TOP_KEYS <= set(state)
    assert isinstance(state["time_s"], float)
    assert set(state["robots"]) == set(V.ROBOTS)
    for robot in state["robots"].values():
        assert ROBOT_KEYS <= set(robot)
        assert robot["location"] is None or robot["location"] in V.PLACES
        assert isinstance(robot["x_mm"], int) and isinstance(robot["y_mm"], int)
        assert set(robot["carrying"]) == {"stacks", "cherries"}
        assert all(c in V.COLORS for c in robot["carrying"]["stacks"])
        assert isinstance(robot["carrying"]["cherries"], int)
        assert robot["tree_status"] in V.TREE_STATUSES
        assert robot["active"] is None or isinstance(robot["active"], str)
        assert isinstance(robot["funny_action"], bool)
        assert all(isinstance(entry, str) for entry in robot["history"])
    assert set(state["quadrants"]) == set(V.QUADRANTS)
    for stacks in state["quadrants"].values():
        assert set(stacks) == set(V.COLORS)
        assert all(isinstance(n, int) and n in (0, 1) for n in stacks.values())
    assert set(state["holders"]) == set(V.HOLDERS)
    assert all(isinstance(n, int) and 0 <= n <= 10 for n in state["holders"].values())
    assert set(state["plates"]) == set(V.PLATES)
    for cakes in state["plates"].values():
        assert isinstance(cakes, list)
        for cake in cakes:
            assert set(cake) == {"layers", "cherry"}
            assert all(c in V.COLORS for c in cake["layers"])
            assert isinstance(cake["cherry"], bool)
    assert isinstance(state["basket"], int)
    assert set(state["score"]) == SCORE_KEYS
    assert all(isinstance(v, int) for v in state["score"].values())
    assert state["score"]["total"] == sum(state["score"][k] for k in SCORE_KEYS - {"total"})


def test_the_initial_state_matches_the_contract():
    state = WorldState.initial().state_dict()
    check_schema(state)
    assert state["time_s"] == 0.0
    assert all(cakes == [] for cakes in state["plates"].values())
    assert all(n == 10 for n in state["holders"].values())
    for robot in state["robots"].values():
        assert robot["location"] == "home"
        assert robot["tree_status"] == "IDLE"
        assert robot["carrying"] == {"stacks": [], "cherries": 0}
        assert (robot["active"], robot["funny_action"], robot["history"]) == (None, False, [])


def test_a_busy_state_matches_the_contract_and_round_trips_through_json():
    sim = busy_world()
    state = sim.state_dict()
    check_schema(state)
    r1, r2 = state["robots"]["robot1"], state["robots"]["robot2"]
    assert r1["location"] == "plate_2" and r1["x_mm"] == 1000 and r1["y_mm"] == 1775
    assert r2["location"] is None and r2["active"] == "MoveTo plate_5"
    assert r2["carrying"] == {"stacks": [], "cherries": 4}
    assert state["plates"]["plate_2"] == [
        {"layers": ["brown", "yellow", "pink"], "cherry": False}] * 3
    assert state["quadrants"]["quadrant_2"] == {"brown": 0, "yellow": 0, "pink": 0}
    assert state["holders"]["holder_3"] == 6
    assert r1["history"][-1] == "PlaceCakes 2: SUCCESS"
    assert json.loads(sim.to_json()) == state
    assert json.loads(json.dumps(state)) == state


def test_the_snapshot_is_a_copy():
    sim = Simulator()
    state = sim.state_dict()
    state["robots"]["robot1"]["history"].append("edited")
    state["quadrants"]["quadrant_1"]["brown"] = 0
    assert sim.state_dict()["robots"]["robot1"]["history"] == []
    assert sim.state_dict()["quadrants"]["quadrant_1"]["brown"] == 1


@pytest.mark.parametrize("status", ["RUNNING", "SUCCESS", "FAILURE", "CANCELLED", "IDLE"])
def test_tree_status_is_shown(status):
    sim = Simulator()
    sim.set_tree_status("robot2", status)
    assert sim.state_dict()["robots"]["robot2"]["tree_status"] == status


def test_time_is_reported_in_seconds():
    sim = Simulator()
    for _ in range(5):
        sim.step(DT)
    assert sim.state_dict()["time_s"] == 0.5


def test_tree_status_outside_the_contract_is_refused():
    from llm_mars.errors import WorldConfigError

    with pytest.raises(WorldConfigError):
        Simulator().set_tree_status("robot1", "DONE")
