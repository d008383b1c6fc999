"""The bt data teaches language, not templates (issue 19): hand-overs in words, counted and
"the rest" cherries, a retry or time limit on the step the words name, waits at a place, and
recognition noise. For each, the generated plan does what its words say when the simulator
runs it."""
import re

import pytest

from llm_mars import vocabulary as V
from llm_mars.bt.model import Plan
from llm_mars.bt.parser import parse_bt_output
from llm_mars.language.grounding import ground
from llm_mars.language.normaliser import normalise
from llm_mars.session.match import Match
from llm_mars.training.plan_data import generate_plan_examples

N = 4000


@pytest.fixture(scope="module")
def examples():
    return [e for e in generate_plan_examples(N, seed=23) if e.executable]


def _tagged(examples, tag, at_least):
    found = [e for e in examples if tag in e.tags]
    assert len(found) >= at_least, (tag, len(found))
    return found


def _run(example):
    match = Match(seed=0)
    match.execute(example.output)
    return match.state_dict()


def _steps(node):
    yield node
    for child in node.children:
        yield from _steps(child)


def test_every_hand_over_in_words_waits_for_the_signal_the_other_robot_sends(examples):
    handovers = _tagged(examples, "coordination", 150)
    said = set()
    for e in handovers:
        plan = parse_bt_output(e.output)
        sent = {n.port("signal") for _, root in plan.trees for n in _steps(root)
                if n.tag == "Signal"}
        waited = {n.port("signal") for _, root in plan.trees for n in _steps(root)
                  if n.tag == "WaitForSignal"}
        assert sent and sent == waited, e.command
        state = _run(e)
        assert set(state["signals"]) == sent, e.command
        for robot in V.ROBOTS:  # nobody is left waiting, nothing failed
            assert state["robots"][robot]["tree_status"] in ("SUCCESS", "IDLE"), e.command
        said |= {form for form in ("the other robot has finished", "after it",
                                   "once the other robot is done") if form in e.command.lower()}
    assert len(said) == 3, said


def test_the_rest_of_a_holder_is_collected_once_and_all_of_it(examples):
    for e in _tagged(examples, "rest", 15):
        plan = parse_bt_output(e.output)
        collections = [n for _, root in plan.trees for n in _steps(root)
                       if n.tag == "CollectCherries"]
        holders = {n.port("holder") for n in collections}
        state = _run(e)
        # the holder the words empty is empty, and every cherry of it reached the basket
        emptied = [h for h in holders if sum(n.port("count") or 0 for n in collections
                                             if n.port("holder") == h) == V.CHERRIES_PER_HOLDER]
        assert emptied, e.command
        for h in emptied:
            assert state["holders"][f"holder_{h}"] == 0, e.command
        assert state["basket"] >= V.CHERRIES_PER_HOLDER, e.command
        assert not any("FAILURE" in h for r in state["robots"].values() for h in r["history"])


def test_the_rest_of_a_load_goes_where_the_words_send_it(examples):
    for e in _tagged(examples, "rest-of-load", 5):
        plate = int(re.search(r'PutCherry plate="(\d)"', e.output).group(1))
        count = int(re.search(r'CollectCherries holder="\d" count="(\d+)"', e.output).group(1))
        put = len(re.findall(rf'PutCherry plate="{plate}"', e.output))
        state = _run(e)
        crowned = [cake for cake in state["plates"][f"plate_{plate}"] if cake["cherry"]]
        assert len(crowned) == put and state["basket"] >= count - put, e.command


def test_a_count_two_robots_share_is_split_between_them(examples):
    for e in [e for e in _tagged(examples, "shared-count", 5) if "typos" not in e.tags]:
        total = max(ground(e.command).numbers)
        state = _run(e)
        loads = [state["robots"][r]["carrying"]["cherries"] for r in V.ROBOTS]
        assert loads[0] == loads[1] and sum(loads) == total, (e.command, loads)
        plan = parse_bt_output(e.output)
        counts = {n.port("count") for _, root in plan.trees for n in _steps(root)}
        assert counts <= ground(e.command).numbers  # the grammar admits each robot's share


def test_one_cherry_on_each_cake_puts_one_on_each_of_several_cakes(examples):
    for e in _tagged(examples, "each-cake", 5):
        plate = int(re.search(r'PutCherry plate="(\d)"', e.output).group(1))
        put = len(re.findall(rf'PutCherry plate="{plate}"', e.output))
        state = _run(e)
        crowned = [cake for cake in state["plates"][f"plate_{plate}"] if cake["cherry"]]
        assert put >= 2 and len(crowned) == put, e.command  # one each, not several on one


def test_a_retry_or_time_limit_wraps_the_one_step_the_words_name(examples):
    guarded = _tagged(examples, "retry-step", 20) + _tagged(examples, "timeout-step", 10)
    for e in guarded:
        plan = parse_bt_output(e.output)
        decorators = [n for _, root in plan.trees for n in _steps(root)
                      if n.tag in ("RetryUntilSuccessful", "Timeout")]
        # one skill under the decorator, never the sequence of steps around it
        assert any(len(d.children) == 1 and not d.children[0].children for d in decorators), \
            e.command
        state = _run(e)
        assert all(r["tree_status"] in ("SUCCESS", "IDLE") for r in state["robots"].values())


def test_a_wait_at_a_place_goes_there_then_waits(examples):
    for e in _tagged(examples, "wait-at", 40):
        state = _run(e)
        histories = [r["history"] for r in state["robots"].values()]
        pairs = [(a, b) for h in histories for a, b in zip(h, h[1:])
                 if a.startswith("MoveTo") and b.startswith("Wait ")]
        assert pairs, (e.command, histories)
        seconds = {b.split()[1].rstrip(":") for _, b in pairs}
        assert any(re.search(rf"\b{s}\b", normalise(e.command)) for s in seconds), e.command


def test_recognition_noise_keeps_the_numbers_the_plan_uses(examples):
    """Homophones ("plate to", "holder for") and dropped articles: the normaliser reads the
    noisy command back to every number of the plan's places."""
    noisy = _tagged(examples, "noise", 300)
    homophones = 0
    for e in noisy:
        plan = parse_bt_output(e.output)
        assert isinstance(plan, Plan)
        homophones += bool(re.search(r"\b(?:plate|quadrant|holder|robot|bot) (?:to|too|for|"
                                     r"won|tree|free)\b", e.command))
        numbers = {int(v) for _, root in plan.trees for n in _steps(root)
                   for k, v in n.ports if k in ("plate", "quadrant")}
        assert numbers <= ground(e.command).numbers, e.command
    assert homophones >= 30
    assert sum(" the " not in f" {e.command} " for e in noisy) >= 30
