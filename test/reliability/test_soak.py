"""A bounded soak on loopback: 200 utterances (commands, questions, stops; both robots) over
about two minutes through the whole in-process system with the real model. Every utterance
gets exactly one final response; memory stays within a stated bound."""
from __future__ import annotations

import pytest

from llm_mars.nodes.load import run_load, utterances

pytestmark = [pytest.mark.ros, pytest.mark.reliability, pytest.mark.slow]

UTTERANCES = 200
RATE_HZ = 1.6  # 200 utterances over ~125 s
RSS_GROWTH_BOUND_MB = 300.0


def test_soak_every_utterance_answered_once(assistant):
    from llm_mars.nodes.system import Operator, System, SystemConfig

    system = System(assistant, SystemConfig(time_scale=1.0, llm_timeout_s=60.0))
    operator = Operator(system)
    try:
        assert operator.wait_ready()
        report = run_load(operator, utterances(UTTERANCES, seed=1), RATE_HZ)
    finally:
        system.close()
    print(f"\nsoak: {report.summary()}")
    assert report.sent == UTTERANCES
    assert report.lost == [] and report.duplicated == []
    assert report.answered == UTTERANCES
    assert report.rss_end_mb - report.rss_start_mb < RSS_GROWTH_BOUND_MB
    assert report.kinds.get("stopped", 0) > 0 and report.kinds.get("answer", 0) > 0
