"""Recorded operator sessions in test/bags/ replayed into a fresh system: same plans, same
replies, answers with the same facts, same final world.

A bag records what the shipped adapters did; re-record it when they are retrained
(``llm-mars demo --out DIR`` and copy ``DIR/session_*`` here)."""
from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.ros, pytest.mark.slow]

BAG_DIR = Path(__file__).parent / "bags"
BAGS = sorted(p for p in BAG_DIR.iterdir() if p.is_dir()) if BAG_DIR.is_dir() else []


def test_there_is_a_recorded_session():
    assert BAGS


@pytest.fixture(scope="module")
def fresh_assistant():
    """A freshly loaded engine, as `llm-mars demo` recorded with: the session's shared one has
    served the other tests (its thread setting and cached prefixes), which can tip a near-tie
    in a greedy decode the other way (docs/reliability.md)."""
    from llm_mars.assistant import Assistant

    loaded = Assistant.load()
    yield loaded
    loaded.close()


@pytest.mark.parametrize("bag", BAGS, ids=lambda p: p.name)
def test_replay_reproduces_the_recording(fresh_assistant, bag):
    from llm_mars.replay import replay

    report = replay(bag, fresh_assistant)
    assert report.ok, "\n".join(report.differences)
    assert report.compared >= 2
