"""Play a recorded operator session into a fresh system and compare (``llm-mars replay BAG``).

The utterances recorded on ``/operator/command`` are said again, in order and with their ids,
to a new system (simulator, executors, commander, LLM server); each plan runs to its end before
the next utterance, as in the recording. Compared with the recording: every final response
(kind, plan XML, reply text; answers by their facts: the numbers and the names of robots,
places and colours they state, since an answer may be worded differently when the state it
was asked about differs only in time) and the final world (what each robot did, carries and
where it stands, the plates, basket, holders, quadrants and score). Time and coordinates are not
compared: the simulator runs against the wall clock.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from llm_mars.errors import BagError, PayloadError
from llm_mars.payloads import OperatorResponse, Utterance
from llm_mars.recording import read_bag


@dataclass(frozen=True)
class RecordedSession:
    utterances: tuple[tuple[str, str], ...]  # (id, text)
    finals: dict[str, OperatorResponse]
    final_state: dict[str, Any] | None


@dataclass
class ReplayReport:
    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # same facts, other wording
    compared: int = 0

    @property
    def ok(self) -> bool:
        return not self.differences


def load_session(bag: str | Path) -> RecordedSession:
    """The operator's utterances, the final responses and the last world state of a bag."""
    utterances, finals, state = [], {}, None
    for message in read_bag(bag, ["/operator/command", "/operator/response", "/world/state"]):
        try:
            if message.topic == "/operator/command":
                u = Utterance.from_json(message.data)
                utterances.append((u.id, u.text))
            elif message.topic == "/operator/response":
                r = OperatorResponse.from_json(message.data)
                if r.final:
                    finals.setdefault(r.id, r)
            else:
                state = json.loads(message.data)
        except (PayloadError, ValueError) as exc:
            raise BagError(f"{bag}: {message.topic} message at {message.stamp_ns} does not "
                           f"parse: {exc}") from None
    if not utterances:
        raise BagError(f"{bag}: no operator utterances recorded on /operator/command")
    return RecordedSession(tuple(utterances), finals, state)


def answer_facts(text: str) -> tuple[list[float], frozenset[str]]:
    """What an answer states: its quantities and the vocabulary names it mentions."""
    from llm_mars import vocabulary as V
    from llm_mars.evaluation.expectations import normalize_text, numbers_in

    words = f" {normalize_text(text)} "
    names = {n for n in (*V.ROBOTS, *V.PLACES, *V.COLORS) if f" {normalize_text(n)} " in words}
    return numbers_in(text), frozenset(names)


def world_outcome(state: dict[str, Any]) -> dict[str, Any]:
    """The parts of a state that a replay must reproduce (no time, no coordinates)."""
    robots = {name: {k: robot[k] for k in ("location", "carrying", "tree_status",
                                            "funny_action", "history")}
              for name, robot in state["robots"].items()}
    return {"robots": robots, **{k: state[k] for k in ("quadrants", "holders", "plates",
                                                          "basket", "score")}}


def compare(recorded: RecordedSession, finals: dict[str, OperatorResponse],
            state: dict[str, Any] | None) -> ReplayReport:
    report = ReplayReport()
    for uid, text in recorded.utterances:
        before, after = recorded.finals.get(uid), finals.get(uid)
        report.compared += 1
        if before is None or after is None:
            if before is not after:
                report.differences.append(f"{uid} {text!r}: response recorded "
                                          f"{before is not None}, replayed {after is not None}")
            continue
        if before.kind == after.kind == "answer" and before.text != after.text \
                and answer_facts(before.text) == answer_facts(after.text):
            report.notes.append(f"{uid} {text!r}: same facts, worded differently: "
                                f"{before.text!r} / {after.text!r}")
            after = replace(after, text=before.text)
        for name in ("kind", "text", "plan", "robots"):
            if getattr(before, name) != getattr(after, name):
                report.differences.append(
                    f"{uid} {text!r}: {name} differs\n  recorded: {getattr(before, name)!r}"
                    f"\n  replayed: {getattr(after, name)!r}")
    if recorded.final_state is not None and state is not None:
        report.compared += 1
        old, new = world_outcome(recorded.final_state), world_outcome(state)
        for key in old:
            if old[key] != new[key]:
                report.differences.append(f"final world: {key} differs\n  recorded: "
                                          f"{old[key]!r}\n  replayed: {new[key]!r}")
    return report


def replay(bag: Path, assistant, time_scale: float = 4.0) -> ReplayReport:
    from llm_mars.system import Operator, System, SystemConfig

    recorded = load_session(bag)
    system = System(assistant, SystemConfig(time_scale=time_scale))
    operator = Operator(system)
    try:
        operator.wait_ready()
        operator.play(list(recorded.utterances))
        operator.wait_until(lambda: False, 1.0)  # one more state after the last plan ended
        finals = {r.id: r for r in operator.responses if r.final}
        state = operator.state
    finally:
        system.close()
    return compare(recorded, finals, state)
