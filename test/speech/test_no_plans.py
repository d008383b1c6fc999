"""Silence, noise and speech not meant for the robots never become a plan.

They go through the listener (detector, recogniser, normaliser, domain check) and the
commander core, whose LLM is replaced by a stand-in that plans whatever it is asked.
"""
import numpy as np
import pytest

from llm_mars.payloads import LlmResult, OperatorResponse
from llm_mars.session.commander import Commander, CommanderPorts
from llm_mars.speech.audio import SAMPLE_RATE, add_noise, read_wav
from llm_mars.speech.listener import Listener

PLAN = ('<root BTCPP_format="4"><BehaviorTree ID="robot1"><MoveTo target="home"/>'
        '</BehaviorTree></root>')


class PlanEverything:
    """Commander wiring with an LLM that answers every command with a plan."""

    def __init__(self):
        self.dispatched, self.responses = [], []
        self.commander = Commander(CommanderPorts(self.request_llm,
                                                  lambda robot, plan: self.dispatched.append(plan),
                                                  lambda robot, reason: None,
                                                  self.responses.append))
        self.commander.on_world_state({"robots": {}})

    def request_llm(self, request) -> None:
        kind = "plan" if request.task == "plan" else "answer"
        self.commander.on_llm_result(LlmResult(request.id, kind, "ok",
                                               PLAN if kind == "plan" else None).to_json())

    def hear(self, listener: Listener, samples: np.ndarray) -> list[OperatorResponse]:
        finals = []
        for heard in listener.feed(samples) + listener.flush():
            if heard.utterance is None:
                finals.append(heard.rejection)
            else:
                self.commander.on_utterance(heard.utterance.to_json())
                finals.append(self.responses[-1])
        return finals


@pytest.mark.slow
def test_nothing_meant_for_the_robots_is_planned(recogniser, spoken_out_of_domain,
                                                 spoken_subset):
    system = PlanEverything()
    listener = Listener(recogniser.transcribe)
    quiet = np.zeros(3 * SAMPLE_RATE, dtype=np.float32)
    inputs = {
        "digital silence": quiet,
        "room noise": add_noise(quiet, -55.0, 1),
        "loud hiss": add_noise(quiet, -20.0, 2),
        "hum": (0.2 * np.sin(2 * np.pi * 220 * np.arange(quiet.size) / SAMPLE_RATE)).astype(
            np.float32),
        **{item.text: read_wav(item.path) for item in spoken_out_of_domain},
    }
    for name, samples in inputs.items():
        finals = system.hear(listener, samples)
        assert all(f.kind in ("error", "answer") for f in finals), (name, finals)
    assert system.dispatched == []

    # the stand-in does plan a real command, so the check above could fail
    finals = system.hear(listener, read_wav(spoken_subset[0].path))
    assert [f.kind for f in finals] == ["plan"]
    assert len(system.dispatched) == 1
