"""Random reachable states (llm_mars.training.states)."""
import random
from collections import Counter

from llm_mars.bt.parser import parse_plan
from llm_mars.bt.serializer import serialize_plan
from llm_mars.qa.summary import failures
from llm_mars.training.states import plan_pool, random_plan, simulated_states


def test_states_include_mid_task_finished_stopped_and_failures():
    rng = random.Random(1)
    pool = plan_pool(50, 1)
    ticks = []
    states = [s for _ in range(40) for s in simulated_states(rng, pool, on_tick=ticks.append)]
    statuses = Counter(r["tree_status"] for s in states for r in s["robots"].values())
    assert statuses["RUNNING"] and statuses["SUCCESS"] and statuses["FAILURE"]
    assert statuses["CANCELLED"]
    assert any(r["location"] is None and r["active"] for s in states for r in s["robots"].values())
    reasons = {h.reason for s in states for r in s["robots"].values() for h in failures(r)}
    assert {"stack already taken", "no cake on plate"} & reasons
    assert len(ticks) > len(states)  # the callback saw every tick


def test_random_plans_are_valid_documents():
    rng = random.Random(0)
    for _ in range(30):
        plan = random_plan(rng)
        assert parse_plan(serialize_plan(plan)) == plan
