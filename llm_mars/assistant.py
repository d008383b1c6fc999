"""The operator's assistant: command -> validated plan (or reply), question + state -> answer.

One place turns the two tasks into engine requests, so the llm_server node, the
``llm-mars command`` / ``ask`` commands, the evaluation and the demo all ask the model the same
way. Plans always go through the ``plan`` output constraint: the grammar admits only plan
documents and replies, and the engine parses and validates the result (a failure is an error,
never a repaired plan). Questions go to the ``qa`` adapter under the ``query`` constraint: it
writes the question as a state query (:mod:`llm_mars.qa.query`), and the answer is worked out
from the state and worded by :mod:`llm_mars.qa.answers`, never by the model.

Each adapter folder may carry the system prompt it was trained with
(``llm_mars_adapter.json``); requests to that adapter use exactly that prompt.
"""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from llm_mars.bt.model import Plan, Reply
from llm_mars.bt.parser import parse_bt_output
from llm_mars.bt.serializer import serialize_plan, serialize_reply
from llm_mars.coverage import missing_mentions
from llm_mars.decomposition import Clause, join_plans, split_command
from llm_mars.errors import ConstraintError, PlanValidationError
from llm_mars.grounding import Grounding, ground, is_world_reply, out_of_world
from llm_mars.llm.requests import (GenerationRequest, GenerationResult, SamplingParams,
                                   plan_constraint_name)

ADAPTER_META = "llm_mars_adapter.json"
PLAN_MAX_TOKENS = 384
QUERY_MAX_TOKENS = 48
"""More than the longest query of the grammar needs (about 30 tokens)."""
VERDICT_SAMPLES = 4
"""Other readings of a yes/no question sampled to see that the yes or no is settled."""
ALTERNATIVES = 5
"""Plans sampled when the plans so far leave out something the command (or clause) mentions."""
ALTERNATIVE_TEMPERATURE = 0.7


def default_adapters_dir() -> Path:
    """``models/adapters`` of the checkout, else of the installed package's share folder."""
    here = Path(__file__).resolve().parent.parent / "models" / "adapters"
    if here.is_dir():
        return here
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory("llm_mars")) / "models" / "adapters"
    except (ImportError, LookupError, ValueError, OSError):  # not an installed ROS package
        return here


class Submitter(Protocol):
    """What the assistant needs of an engine or a serving backend."""

    adapters: tuple[str, ...]

    def submit(self, request: GenerationRequest) -> Future: ...


@dataclass(frozen=True)
class PlanOutcome:
    """What the bt adapter made of a command: a validated plan or a reply, and how long it took."""

    result: Plan | Reply
    text: str  # the generated document, exactly as the model wrote it
    latency_s: float
    candidates: int = 1  # whole-command plans the choice was made from (llm_mars.coverage)
    source: str = "greedy"  # "greedy", "clauses" (llm_mars.decomposition) or "sample"
    sampled: int = 0  # plans sampled because the others left something out


@dataclass(frozen=True)
class AnswerOutcome:
    """An answer, how long it took, and the query it answers (its canonical text: what a
    follow-up question in the same session passes back as ``previous``)."""

    text: str
    latency_s: float
    query: str | None = None


def _system_prompt(adapter_dir: Path | None) -> str | None:
    if adapter_dir is None:
        return None
    meta = adapter_dir / ADAPTER_META
    if not meta.is_file():
        return None
    return json.loads(meta.read_text()).get("system_prompt")


class Assistant:
    """``grounding`` (default on): commands naming what the world lacks get their reply
    without the model, and plans may only use the numbers and colours the command mentions
    (:mod:`llm_mars.grounding`). Off, the bt adapter decides alone (to measure it).

    ``alternatives``: when the greedy plan leaves out something the command mentions (a
    number, colour, robot, place or action; :mod:`llm_mars.coverage`) or does not finish, this
    many plans are sampled (seeded, in one batch) and the first plan that leaves out least is
    kept. 0: the greedy plan always.

    ``decompose`` (default on, with grounding): a command that is a plain list of steps is
    also planned clause by clause (:mod:`llm_mars.decomposition`, in the same batch as the
    greedy plan); the joined plan is kept unless it leaves out more than the greedy plan. A
    clause whose verb no skill has ("then both of you fly home") is asked alone, and the
    model's reply to it is the command's reply.

    ``verdict_samples``: for a question the qa adapter reads as a yes/no, this many other
    readings are sampled (seeded, in one batch); if one of them decides it the other way, the
    answer gives the facts without a yes or no. 0: the first reading always."""

    def __init__(self, engine: Submitter, adapter_dirs: dict[str, Path] | None = None,
                 timeout_s: float = 60.0, grounding: bool = True,
                 alternatives: int = ALTERNATIVES, decompose: bool = True,
                 verdict_samples: int = VERDICT_SAMPLES):
        if alternatives < 0 or verdict_samples < 0:
            raise ValueError(f"alternatives and verdict_samples must be >= 0, not "
                             f"{alternatives}, {verdict_samples}")
        self.verdict_samples = verdict_samples
        self.engine = engine
        self.timeout_s = timeout_s
        self.grounding = grounding
        self.alternatives = alternatives
        self.decompose = decompose
        dirs = adapter_dirs or {}
        self._system = {name: _system_prompt(dirs.get(name)) for name in ("bt", "qa")}

    @classmethod
    def load(cls, model: str | None = None, adapters_dir: str | Path | None = None,
             dtype: str | None = None, backend: str | None = None, url: str | None = None,
             grounding: bool = True, alternatives: int = ALTERNATIVES, decompose: bool = True,
             verdict_samples: int = VERDICT_SAMPLES, **engine_kwargs: Any) -> Assistant:
        """The assistant over the configured backend (``backend``/``url`` or the environment,
        see :mod:`llm_mars.llm.backends`; default: the in-process engine) with the ``bt`` and
        ``qa`` adapters found in ``adapters_dir`` (default: the shipped ones). An adapter that
        is absent is not used; the adapter folders also carry the prompts they were trained
        with, so they are read even when a remote server serves the adapters."""
        from llm_mars.llm.backends import BackendConfig, make_backend

        root = Path(adapters_dir) if adapters_dir is not None else default_adapters_dir()
        dirs = {name: root / name for name in ("bt", "qa") if (root / name).is_dir()}
        config = BackendConfig.from_env(kind=backend, url=url, model=model, dtype=dtype,
                                        adapter_dirs=dirs)
        if config.kind == "hf" and engine_kwargs:
            config = replace(config, options={**config.options, **engine_kwargs})
        return cls(make_backend(config), dirs, grounding=grounding, alternatives=alternatives,
                   decompose=decompose, verdict_samples=verdict_samples)

    def _adapter(self, name: str) -> str | None:
        return name if name in self.engine.adapters else None

    def bt_messages(self, command: str) -> list[dict[str, str]]:
        from llm_mars.llm.prompts import bt_messages

        messages = bt_messages(command)
        if self._system["bt"] is not None:
            messages[0] = {"role": "system", "content": self._system["bt"]}
        return messages

    def query_messages(self, question: str, previous: str | None = None
                       ) -> list[dict[str, str]]:
        from llm_mars.llm.prompts import query_messages

        messages = query_messages(question, previous)
        if self._system["qa"] is not None:
            messages[0] = {"role": "system", "content": self._system["qa"]}
        return messages

    def plan_async(self, command: str) -> Future:
        """Future of a :class:`PlanOutcome`; fails with ConstraintError / GenerationTimeout."""
        start = time.perf_counter()
        if not self.grounding:
            plain = plan_constraint_name()
            return _then(_settled([_then(self._submit_plan(command, plain), _plan_outcome)]),
                         lambda first: self._covering(command, plain, first[0], start))
        reply = out_of_world(command)
        if reply is not None:
            done: Future = Future()
            done.set_result(PlanOutcome(Reply(reply), serialize_reply(Reply(reply)),
                                        time.perf_counter() - start))
            return done
        grounding = ground(command)

        def no_false_world_reply(first: PlanOutcome) -> PlanOutcome | Future:
            if isinstance(first.result, Reply) and is_world_reply(first.result.text):
                # the command passed the world check, so this reply is false: ask for the plan
                again = self._submit_plan(command, _constraint(grounding, plan_only=True))
                return _then(again, lambda r: _plan_outcome(r, before_s=first.latency_s))
            return first

        first = _then(self._submit_plan(command, _constraint(grounding)), _plan_outcome)
        clauses = split_command(command) if self.decompose else None
        parts = _then(_settled([self._submit_plan(c.text, _constraint(ground(c.text)))
                                for c in clauses or ()]),
                      lambda results: self._clause_alternatives(clauses, results))
        plan_only = _constraint(grounding, plan_only=True)

        def covering(done: list) -> PlanOutcome | Future:
            outcome, results = done
            joined = _joined(clauses, results, time.perf_counter() - start) if clauses \
                else None
            if joined is not None and isinstance(outcome, ConstraintError):
                outcome = joined
            elif joined is not None and isinstance(outcome, PlanOutcome) \
                    and isinstance(outcome.result, Plan):
                # a reply to a part of the command is the command's reply
                keep = joined if isinstance(joined.result, Reply) \
                    or len(missing_mentions(command, joined.result)) \
                    <= len(missing_mentions(command, outcome.result)) else outcome
                # the clauses ran beside the greedy plan: the later of the two is the wait
                outcome = replace(keep, latency_s=max(outcome.latency_s, joined.latency_s),
                                  candidates=2)
            return self._covering(command, plan_only, outcome, start)

        return _then(_settled([_then(first, no_false_world_reply), parts]), covering)

    def _clause_alternatives(self, clauses: list[Clause] | None, results: list
                             ) -> list | Future:
        """``results``, each clause plan that leaves out something of its clause replaced by
        the sampled plan (one batch for all clauses) that leaves out least."""
        def missing(clause: Clause, result: Any) -> int:
            if isinstance(result, GenerationResult) and isinstance(result.parsed, Plan):
                return len(missing_mentions(clause.text, result.parsed))
            return -1  # no plan to better: a reply or an error stands

        counts = [missing(c, r) for c, r in zip(clauses or (), results)]
        todo = [i for i, n in enumerate(counts) if n > 0]
        if not self.alternatives or not todo:
            return results
        samples = [sample for i in todo for sample in self._samples(
            clauses[i].text, _constraint(ground(clauses[i].text), plan_only=True))]

        def choose(sampled: list) -> list:
            out, fewest = list(results), list(counts)
            for k, i in enumerate(todo):
                for result in sampled[k * self.alternatives:(k + 1) * self.alternatives]:
                    n = missing(clauses[i], result)
                    if 0 <= n < fewest[i]:
                        out[i], fewest[i] = result, n
            return out

        return _then(_settled(samples), choose)

    def _covering(self, command: str, constraint: str, first: PlanOutcome | BaseException,
                  start: float) -> PlanOutcome | Future:
        """``first``, or a sampled plan that leaves out less of what the command mentions.
        A greedy output that did not finish (it looped to the token limit) is replaced by
        the best finished sample; when none finishes, its error stands, as do other errors."""
        if isinstance(first, BaseException):
            if not isinstance(first, ConstraintError) or not self.alternatives:
                raise first
            best, least = None, float("inf")
        else:
            if not self.alternatives or not isinstance(first.result, Plan):
                return first
            best, least = first, len(missing_mentions(command, first.result))
            if not least:
                return first
        samples = self._samples(command, constraint)

        def choose(results: list[GenerationResult | BaseException]) -> PlanOutcome:
            chosen, fewest = best, least
            slowest = 0.0
            for result in results:
                if isinstance(result, BaseException) or not isinstance(result.parsed, Plan):
                    continue  # a failed sample costs nothing: the greedy outcome stands
                slowest = max(slowest, result.total_s)
                missing = len(missing_mentions(command, result.parsed))
                if missing < fewest:
                    chosen = PlanOutcome(result.parsed, result.text, 0.0, source="sample")
                    fewest = missing
            if chosen is None:
                raise first
            # the greedy generation, then one batch (an unfinished one: the wall time)
            latency = time.perf_counter() - start if isinstance(first, ConstraintError) \
                else first.latency_s + slowest
            tried = first.candidates if isinstance(first, PlanOutcome) else 1
            return replace(chosen, latency_s=latency, candidates=tried + len(samples),
                           sampled=len(samples))

        return _then(_settled(samples), choose)

    def _samples(self, command: str, constraint: str) -> list[Future]:
        """``alternatives`` plans of ``command`` sampled (seeds 1..N, so runs repeat)."""
        return [self._submit_plan(command, constraint, SamplingParams(
            temperature=ALTERNATIVE_TEMPERATURE, seed=seed, max_new_tokens=PLAN_MAX_TOKENS))
            for seed in range(1, self.alternatives + 1)]

    def _submit_plan(self, command: str, constraint: str,
                     sampling: SamplingParams | None = None) -> Future:
        request = GenerationRequest.chat(
            self.bt_messages(command), self._adapter("bt"),
            sampling or SamplingParams(max_new_tokens=PLAN_MAX_TOKENS), constraint=constraint,
            timeout_s=self.timeout_s)
        return self.engine.submit(request)

    def answer_async(self, question: str, state: dict[str, Any],
                     previous: str | None = None) -> Future:
        """Future of an :class:`AnswerOutcome`: the qa adapter writes ``question`` as a state
        query (decoded under the query grammar), and the answer is the query's answer from
        ``state``. ``previous``: the query of the question before it in the session
        (:attr:`AnswerOutcome.query`), which a follow-up ("and robot two?") changes. For a
        yes/no, ``verdict_samples`` other readings are sampled; a yes or no they contradict is
        withheld (:func:`llm_mars.qa.answers.settled_answer`)."""
        from llm_mars.qa.answers import settled_answer
        from llm_mars.qa.query import QUERY_CONSTRAINT, Check, format_query

        def ask(sampling: SamplingParams) -> Future:
            return self.engine.submit(GenerationRequest.chat(
                self.query_messages(question, previous), self._adapter("qa"), sampling,
                constraint=QUERY_CONSTRAINT, timeout_s=self.timeout_s))

        def answered(result: GenerationResult) -> AnswerOutcome | Future:
            if not isinstance(result.parsed, Check) or not self.verdict_samples:
                return settle(result, [])
            # a yes/no: other readings of the question, sampled in one batch, must not decide
            # it the other way
            return _then(_settled([ask(SamplingParams(
                temperature=ALTERNATIVE_TEMPERATURE, seed=seed, max_new_tokens=QUERY_MAX_TOKENS))
                for seed in range(1, self.verdict_samples + 1)]),
                lambda samples: settle(result, samples))

        def settle(result: GenerationResult, samples: list) -> AnswerOutcome:
            start = time.perf_counter()
            readings = [r.parsed for r in samples if isinstance(r, GenerationResult)]
            text = settled_answer(result.parsed, readings, state).text
            slowest = max((r.total_s for r in samples if isinstance(r, GenerationResult)),
                          default=0.0)
            return AnswerOutcome(text, result.total_s + slowest + time.perf_counter() - start,
                                 format_query(result.parsed))

        return _then(ask(SamplingParams(max_new_tokens=QUERY_MAX_TOKENS)), answered)

    def plan(self, command: str) -> PlanOutcome:
        return self.plan_async(command).result()

    def answer(self, question: str, state: dict[str, Any],
               previous: str | None = None) -> AnswerOutcome:
        return self.answer_async(question, state, previous).result()

    def close(self) -> None:
        close = getattr(self.engine, "close", None)
        if close is not None:
            close()


def _constraint(grounding: Grounding, plan_only: bool = False) -> str:
    """The name of the plan grammar for ``grounding`` (``plan_only``: no replies)."""
    return plan_constraint_name(replace(grounding, plan_only=plan_only).key())


def _joined(clauses: list[Clause], results: list[GenerationResult | BaseException],
            latency: float) -> PlanOutcome | None:
    """The clause plans joined (:func:`llm_mars.decomposition.join_plans`), or the reply to a
    clause whose verb no skill has ("both robots fly home"); ``None`` when a clause failed,
    got another reply, or the plans do not join."""
    if any(isinstance(r, BaseException) for r in results):
        return None
    for clause, result in zip(clauses, results, strict=True):
        reply = result.parsed
        if not clause.known_verb and isinstance(reply, Reply) \
                and not is_world_reply(reply.text):
            return PlanOutcome(reply, result.text, latency, source="clauses")
    plans = [r.parsed for r in results]
    if not all(isinstance(p, Plan) for p in plans):
        return None
    plan = join_plans(clauses, plans)
    if plan is None:
        return None
    text = serialize_plan(plan)
    try:  # the joined document passes the same validation as a generated one
        parsed = parse_bt_output(text)
    except PlanValidationError:
        return None
    return PlanOutcome(parsed, text, latency, source="clauses")


def _plan_outcome(result: GenerationResult, before_s: float = 0.0) -> PlanOutcome:
    if not isinstance(result.parsed, (Plan, Reply)):
        raise ConstraintError(f"the plan output ended unfinished ({result.finish_reason}): "
                              f"{result.text[-200:]!r}")
    return PlanOutcome(result.parsed, result.text, before_s + result.total_s)


def _then(future: Future, convert) -> Future:
    """A future of ``convert(result)`` (of its result, when that is a future too); errors (of
    either) pass through."""
    out: Future = Future()

    def done(f: Future) -> None:
        if f.cancelled():
            out.cancel()
            return
        error = f.exception()
        if error is not None:
            out.set_exception(error)
            return
        try:
            value = convert(f.result())
        except Exception as exc:  # noqa: BLE001 - the caller's future carries it
            out.set_exception(exc)
            return
        if isinstance(value, Future):
            value.add_done_callback(lambda v: _copy(v, out))
        else:
            out.set_result(value)

    future.add_done_callback(done)
    return out


def _settled(futures: list[Future]) -> Future:
    """A future of every result in order, an exception standing in for a failed one."""
    out: Future = Future()
    results: list[Any] = [None] * len(futures)
    left = [len(futures)]
    lock = threading.Lock()

    def done(i: int, f: Future) -> None:
        if f.cancelled():
            results[i] = CancelledError()
        else:
            results[i] = f.exception() or f.result()
        with lock:
            left[0] -= 1
            last = left[0] == 0
        if last:
            out.set_result(results)

    if not futures:
        out.set_result([])
    for i, future in enumerate(futures):
        future.add_done_callback(lambda f, i=i: done(i, f))
    return out


def _copy(source: Future, target: Future) -> None:
    if source.cancelled():
        target.cancel()
    elif source.exception() is not None:
        target.set_exception(source.exception())
    else:
        target.set_result(source.result())

