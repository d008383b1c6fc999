"""The operator's assistant: command -> validated plan (or reply), question + state -> answer.

One place turns the two tasks into engine requests, so the llm_server node, the
``llm-mars command`` / ``ask`` commands, the evaluation and the demo all ask the model the same
way. Plans always go through the ``plan`` output constraint: the grammar admits only plan
documents and replies, and the engine parses and validates the result (a failure is an error,
never a repaired plan). Questions go to the ``qa`` adapter under the ``query`` constraint: it
writes the question as a state query (:mod:`llm_mars.qa.query`), and the answer is worked out
from the state and worded by :mod:`llm_mars.qa.answers`, never by the model.

Each adapter folder may carry the system prompt it was trained with
(:mod:`llm_mars.llm.adapter_meta`); requests to that adapter use exactly that prompt.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from llm_mars.bt.model import Plan, Reply
from llm_mars.bt.parser import parse_bt_output
from llm_mars.bt.serializer import serialize_plan, serialize_reply
from llm_mars.bt.signals import unanswered_waits
from llm_mars.errors import AdapterMissingError, ConstraintError, PlanValidationError
from llm_mars.language.decomposition import Clause, join_plans, split_command
from llm_mars.language.grounding import (Grounding, absent_thing, ground, is_false_reply,
                                        out_of_world)
from llm_mars.language.mentions import missing_mentions
from llm_mars.language.normaliser import Said
from llm_mars.llm.adapter_meta import (default_adapters_dir, required_adapter_dirs,
                                       system_prompt)
from llm_mars.llm.backends import BackendConfig, make_backend
from llm_mars.llm.model_store import base_model_sha256
from llm_mars.llm.requests import (ADAPTER_NAMES, DESCRIBE, GenerationRequest, GenerationResult,
                                   SamplingParams, plan_constraint_name)

PLAN_MAX_TOKENS = 384
QUERY_MAX_TOKENS = 48
"""More than the longest query of the grammar needs (about 30 tokens)."""
TIMEOUT_S = 60.0
"""How long a request may take from its submission, queueing included, before it fails."""
VERDICT_SAMPLES = 4
"""Other readings of a yes/no question sampled to see that the yes or no is settled."""
ALTERNATIVES = 5
"""Plans sampled when the plans so far leave out something the command (or clause) mentions
(or for every command, with ``Assistant(sample_every=True)``)."""
ALTERNATIVE_TEMPERATURE = 0.7
CHOOSERS = ("mentions", "describe")
"""How the assistant keeps one of several candidate plans of a command (or clause):
``mentions``: the one that leaves out fewest of the numbers, colours, robots, places and
actions the words mention (:mod:`llm_mars.language.mentions`); ``describe``: the likeliest
under the noisy channel, log P(command | plan) under the ``describe`` adapter plus
log P(plan | command) under ``bt``, each distinct candidate text scored once, all in one
mixed-adapter batch."""


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
    candidates: int = 1  # whole-command plans the choice was made from (llm_mars.language.mentions)
    source: str = "greedy"  # "greedy", "clauses" (llm_mars.language.decomposition) or "sample"
    sampled: int = 0  # plans sampled because the others left something out (or sample_every)


@dataclass(frozen=True)
class AnswerOutcome:
    """An answer, how long it took, and the query it answers (its canonical text: what a
    follow-up question in the same session passes back as ``previous``)."""

    text: str
    latency_s: float
    query: str | None = None


class Assistant:
    """``grounding`` (default on): commands naming what the world lacks get their reply
    without the model, and plans may only use the numbers and colours the command mentions
    (:mod:`llm_mars.language.grounding`). Off, the bt adapter decides alone (to measure it).

    ``alternatives``: when the greedy plan leaves out something the command mentions (a
    number, colour, robot, place or action; :mod:`llm_mars.language.mentions`), has a robot
    wait for a signal no other robot raises (:mod:`llm_mars.bt.signals`) or does not finish,
    this many plans are sampled (seeded, in one batch) and the chooser keeps one of them or the
    plan so far; a plan whose waits are all answered is kept before one with such a wait. 0:
    the greedy plan always. ``sample_every``: the plans are sampled for every command that has
    a plan, and the describe chooser alone decides whether one of them is better (the mention
    list no longer decides when to look; with the mention count as chooser a sample could
    never beat a plan that leaves out nothing, so it needs ``describe``).

    ``chooser`` (:data:`CHOOSERS`): what decides among the candidates; ``describe`` needs the
    describe adapter; ``None`` (default): ``describe`` when the engine serves that adapter
    (the shipped one is installed with bt and qa), else ``mentions``. Which candidates there
    are does not change with it.

    ``decompose`` (default on, with grounding): a command that is a plain list of steps is
    also planned clause by clause (:mod:`llm_mars.language.decomposition`, in the same batch
    as the greedy plan); the joined plan is kept unless it leaves out more than the greedy
    plan. A clause whose verb no skill has ("then both of you fly home") is asked alone, and
    the model's reply to it is the command's reply.

    A planning request is one sequential function (:meth:`plan`): it submits a batch, waits,
    chooses, and maybe submits another; :meth:`plan_async` runs it on a thread of its own.

    ``verdict_samples``: for a question the qa adapter reads as a yes/no, this many other
    readings are sampled (seeded, in one batch); if one of them decides it the other way, the
    answer gives the facts without a yes or no. 0: the first reading always."""

    def __init__(self, engine: Submitter, adapter_dirs: dict[str, Path] | None = None,
                 timeout_s: float = TIMEOUT_S, grounding: bool = True,
                 alternatives: int = ALTERNATIVES, decompose: bool = True,
                 verdict_samples: int = VERDICT_SAMPLES, chooser: str | None = None,
                 sample_every: bool = False):
        if chooser is None:
            chooser = DESCRIBE if DESCRIBE in engine.adapters else "mentions"
        if alternatives < 0 or verdict_samples < 0 or chooser not in CHOOSERS:
            raise ValueError(f"alternatives and verdict_samples must be >= 0 and chooser one "
                             f"of {CHOOSERS}, not {alternatives}, {verdict_samples}, {chooser!r}")
        if sample_every and chooser != DESCRIBE:
            raise ValueError("sample_every needs the describe chooser: with the mention count "
                             "a sample never beats a plan that leaves out nothing")
        if chooser == DESCRIBE and DESCRIBE not in engine.adapters:
            raise AdapterMissingError(DESCRIBE, "the describe chooser needs the describe "
                                      "adapter: llm-mars train describe, into the adapters "
                                      "folder")
        self.chooser = chooser
        self.verdict_samples = verdict_samples
        self.engine = engine
        self.timeout_s = timeout_s
        self.grounding = grounding
        self.alternatives = alternatives
        self.sample_every = sample_every
        self.decompose = decompose
        dirs = adapter_dirs or {}
        self._system = {name: system_prompt(dirs.get(name)) for name in ADAPTER_NAMES}

    @staticmethod
    def backend_config(model: str | None = None, adapters_dir: str | Path | None = None,
                       dtype: str | None = None, backend: str | None = None,
                       url: str | None = None) -> BackendConfig:
        """The configured backend (``backend``/``url`` or the environment, see
        :mod:`llm_mars.llm.backends`; default: the in-process engine) with the ``bt`` and
        ``qa`` adapter folders of ``adapters_dir`` (default: the shipped ones). Cheap and loads
        nothing: a missing adapter, or one trained for another base model, is an
        :class:`~llm_mars.errors.AdapterLoadError` naming the folder here, at start-up. The
        folders also carry the prompts the adapters were trained with, so they are needed even
        when a remote server serves the adapters."""
        root = Path(adapters_dir) if adapters_dir is not None else default_adapters_dir()
        config = BackendConfig.from_env(kind=backend, url=url, model=model, dtype=dtype)
        base = base_model_sha256(config.model) if config.kind != "openai" else None
        return replace(config, adapter_dirs=required_adapter_dirs(root, base))

    @classmethod
    def from_backend(cls, config: BackendConfig, grounding: bool = True,
                     alternatives: int = ALTERNATIVES, decompose: bool = True,
                     verdict_samples: int = VERDICT_SAMPLES, chooser: str | None = None,
                     sample_every: bool = False, timeout_s: float = TIMEOUT_S,
                     **engine_kwargs: Any) -> Assistant:
        """The assistant over the backend ``config`` describes (the model loads here)."""
        if config.kind == "hf" and engine_kwargs:
            config = replace(config, options={**config.options, **engine_kwargs})
        return cls(make_backend(config), dict(config.adapter_dirs), grounding=grounding,
                   alternatives=alternatives, decompose=decompose,
                   verdict_samples=verdict_samples, chooser=chooser, sample_every=sample_every,
                   timeout_s=timeout_s)

    @classmethod
    def load(cls, model: str | None = None, adapters_dir: str | Path | None = None,
             dtype: str | None = None, backend: str | None = None, url: str | None = None,
             **options: Any) -> Assistant:
        """:meth:`backend_config` then :meth:`from_backend` (``options`` go there)."""
        return cls.from_backend(cls.backend_config(model, adapters_dir, dtype, backend, url),
                                **options)

    def _adapter(self, name: str) -> str | None:
        return name if name in self.engine.adapters else None

    def bt_messages(self, command: str) -> list[dict[str, str]]:
        from llm_mars.llm.prompts import bt_messages

        return self._trained_prompt("bt", bt_messages(command))

    def describe_messages(self, plan_text: str) -> list[dict[str, str]]:
        from llm_mars.llm.prompts import describe_messages

        return self._trained_prompt(DESCRIBE, describe_messages(plan_text))

    def _trained_prompt(self, adapter: str, messages: list[dict[str, str]]
                        ) -> list[dict[str, str]]:
        """``messages`` with the system prompt ``adapter`` was trained with, when its folder
        has one."""
        if self._system[adapter] is not None:
            messages[0] = {"role": "system", "content": self._system[adapter]}
        return messages

    def query_messages(self, question: str, previous: str | None = None
                       ) -> list[dict[str, str]]:
        from llm_mars.llm.prompts import query_messages

        return self._trained_prompt("qa", query_messages(question, previous))

    def plan_async(self, command: str) -> Future:
        """Future of :meth:`plan`, planned on a thread of its own (the engine batches what
        several such requests submit together)."""
        return _on_worker(self.plan, command)

    def plan(self, command: str) -> PlanOutcome:
        """The validated plan or reply for ``command``; ConstraintError / GenerationTimeout
        when none comes. In order:

        1. a command naming what the world lacks gets its reply, without the model;
        2. the greedy plan of the whole command and, for a plain list of steps, a greedy plan
           per clause are asked in one batch;
        3. a clause plan that leaves out something of its clause is bettered by sampled plans;
        4. a world reply to a command that passed the world check is false (and so are the
           stacks limit said of a command about no cake and a place off the field the command
           never names): the plan is asked again under a plan-only grammar;
        5. the joined clause plans replace the whole-command plan unless they leave out more;
        6. a plan that still leaves out a mention or waits for a signal nobody raises, or an
           unfinished one (or any plan, with ``sample_every``), is bettered by sampled plans
           (:meth:`_covering`)."""
        start = time.perf_counter()
        said = Said(command)
        if not self.grounding:
            plain = plan_constraint_name()
            return self._covering(said, plain, _outcome(self._submit_plan(command, plain)),
                                  start)
        reply = out_of_world(said)
        if reply is not None:
            return PlanOutcome(Reply(reply), serialize_reply(Reply(reply)),
                               time.perf_counter() - start)
        grounding = ground(said)
        greedy = self._submit_plan(command, _constraint(grounding))
        clauses = (split_command(said) if self.decompose else None) or []
        asked = [self._submit_plan(c.text, _constraint(ground(c.said))) for c in clauses]
        results = [_result(f) for f in asked]
        samples = self._clause_samples(clauses, results)
        outcome = _outcome(greedy)
        if isinstance(outcome, PlanOutcome) and isinstance(outcome.result, Reply) \
                and is_false_reply(said, outcome.result.text):
            again = self._submit_plan(command, _constraint(grounding, plan_only=True))
            outcome = _outcome(again, before_s=outcome.latency_s)
        results = self._better_clauses(clauses, results, samples)
        joined = _joined(clauses, results, time.perf_counter() - start) if clauses else None
        if joined is not None and isinstance(outcome, ConstraintError):
            outcome = joined
        elif joined is not None and isinstance(outcome, PlanOutcome) \
                and isinstance(outcome.result, Plan):
            # a reply to a part of the command is the command's reply; else the joined plan
            # unless the whole-command one is better (first among equals)
            keep, choosing_s = (joined, 0.0) if isinstance(joined.result, Reply) else \
                self._choose(said, [joined, outcome])
            # the clauses ran beside the greedy plan: the later of the two is the wait
            outcome = replace(keep, latency_s=max(outcome.latency_s, joined.latency_s)
                              + choosing_s, candidates=2)
        return self._covering(said, _constraint(grounding, plan_only=True), outcome, start)

    def _clause_samples(self, clauses: list[Clause], results: list) -> dict[int, list[Future]]:
        """Sampled plans (one batch for all clauses) of each clause whose plan leaves out
        something of it, by clause index."""
        if not self.alternatives:
            return {}
        return {i: self._samples(c.text, _constraint(ground(c.said), plan_only=True))
                for i, (c, r) in enumerate(zip(clauses, results)) if _missing(c, r) > 0}

    def _better_clauses(self, clauses: list[Clause], results: list,
                        samples: dict[int, list[Future]]) -> list:
        """``results``, each clause plan that leaves out something of its clause replaced by
        the one the chooser keeps among it and its sampled plans."""
        out = list(results)
        for i, futures in samples.items():
            candidates = [out[i]] + [r for r in map(_result, futures) if _holds_plan(r)]
            out[i] = self._choose(clauses[i].said, candidates)[0]
        return out

    def _choose(self, said: Said, candidates: list) -> tuple[Any, float]:
        """The candidate (a PlanOutcome or GenerationResult holding a plan) the chooser keeps
        for ``said``, the first among equals, and the seconds spent waiting for its scores
        (each distinct plan text is scored once; one text alone is not scored). A plan in which
        a robot waits for a signal no other robot raises would hold that robot for the rest of
        the match: one without such a wait comes first, whatever the scores."""
        plans = [(c.result if isinstance(c, PlanOutcome) else c.parsed, c.text)
                 for c in candidates]
        texts = list(dict.fromkeys(text for _, text in plans))  # sampled plans often repeat
        waited = 0.0
        if len(texts) == 1:
            return candidates[0], waited
        if self.chooser == "mentions":
            scores = [-len(missing_mentions(said, plan)) for plan, _ in plans]
        else:
            start = time.perf_counter()
            score_of = dict(zip(texts, self._channel_scores(said.text, texts)))
            scores = [score_of[text] for _, text in plans]
            waited = time.perf_counter() - start
        answered = [not unanswered_waits(plan) for plan, _ in plans]
        best = max(range(len(candidates)), key=lambda i: (answered[i], scores[i], -i))
        return candidates[best], waited

    def _channel_scores(self, command: str, plan_texts: list[str]) -> list[float]:
        """log P(command | plan) under describe plus log P(plan | command) under bt, for
        each plan, asked in one batch; a request that fails scores minus infinity."""
        def score(messages: list[dict[str, str]], target: str, adapter: str) -> Future:
            return self.engine.submit(GenerationRequest.score(
                messages, target, self._adapter(adapter), timeout_s=self.timeout_s))

        asked_bt = self.bt_messages(command)
        asked = [(score(self.describe_messages(text), command, DESCRIBE),
                  score(asked_bt, text, "bt")) for text in plan_texts]
        scores = []
        for channel, direct in asked:
            results = [_result(channel), _result(direct)]
            scores.append(float("-inf") if any(isinstance(r, BaseException) for r in results)
                          else sum(r.score for r in results))
        return scores

    def _covering(self, said: Said, constraint: str, first: PlanOutcome | BaseException,
                  start: float) -> PlanOutcome:
        """``first``; or, when it leaves out something the command mentions or waits for a
        signal nobody raises (or always, with ``sample_every``), the plan the chooser keeps
        among it and ``alternatives`` sampled plans. A greedy output that did not finish (it
        looped to the token limit) is replaced by the best finished sample; when none
        finishes, its error stands, as do other errors."""
        if isinstance(first, BaseException):
            if not isinstance(first, ConstraintError) or not self.alternatives:
                raise first
        elif not self.alternatives or not isinstance(first.result, Plan) \
                or not (self.sample_every or missing_mentions(said, first.result)
                        or unanswered_waits(first.result)):
            return first
        samples = self._samples(said.text, constraint)
        candidates = [] if isinstance(first, BaseException) else [first]
        slowest = 0.0
        for result in map(_result, samples):
            if not _holds_plan(result):
                continue  # a failed sample costs nothing: the greedy outcome stands
            slowest = max(slowest, result.total_s)
            candidates.append(PlanOutcome(result.parsed, result.text, 0.0, source="sample"))
        if not candidates:
            raise first
        chosen, choosing_s = self._choose(said, candidates)
        # the greedy generation, then one batch (an unfinished one: the wall time)
        latency = time.perf_counter() - start if isinstance(first, ConstraintError) \
            else first.latency_s + slowest + choosing_s
        tried = first.candidates if isinstance(first, PlanOutcome) else 1
        return replace(chosen, latency_s=latency, candidates=tried + len(samples),
                       sampled=len(samples))

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
        """Future of :meth:`answer`, on a thread of its own."""
        return _on_worker(self.answer, question, state, previous)

    def answer(self, question: str, state: dict[str, Any],
               previous: str | None = None) -> AnswerOutcome:
        """The qa adapter writes ``question`` as a state query (decoded under the query
        grammar), and the answer is the query's answer from ``state``. ``previous``: the query
        of the question before it in the session (:attr:`AnswerOutcome.query`), which a
        follow-up ("and robot two?") changes. For a yes/no, ``verdict_samples`` other readings
        are sampled in one batch; a yes or no they contradict is withheld
        (:func:`llm_mars.qa.answers.settled_answer`). A question naming a robot, place or
        colour the world does not have ("where is robot 3") is answered without the model
        (:func:`~llm_mars.language.grounding.absent_thing`)."""
        from llm_mars.qa.answers import absent_answer, settled_answer
        from llm_mars.qa.query import QUERY_CONSTRAINT, UNKNOWN, Check, format_query

        start = time.perf_counter()
        absent = absent_thing(Said(question))
        if absent is not None:
            return AnswerOutcome(absent_answer(absent), time.perf_counter() - start, UNKNOWN)

        def ask(sampling: SamplingParams) -> Future:
            return self.engine.submit(GenerationRequest.chat(
                self.query_messages(question, previous), self._adapter("qa"), sampling,
                constraint=QUERY_CONSTRAINT, timeout_s=self.timeout_s))

        first = ask(SamplingParams(max_new_tokens=QUERY_MAX_TOKENS)).result()
        samples: list[GenerationResult] = []
        if isinstance(first.parsed, Check) and self.verdict_samples:
            futures = [ask(SamplingParams(temperature=ALTERNATIVE_TEMPERATURE, seed=seed,
                                          max_new_tokens=QUERY_MAX_TOKENS))
                       for seed in range(1, self.verdict_samples + 1)]
            samples = [r for r in map(_result, futures) if isinstance(r, GenerationResult)]
        start = time.perf_counter()
        text = settled_answer(first.parsed, [r.parsed for r in samples], state).text
        slowest = max((r.total_s for r in samples), default=0.0)
        return AnswerOutcome(text, first.total_s + slowest + time.perf_counter() - start,
                             format_query(first.parsed))

    def close(self) -> None:
        close = getattr(self.engine, "close", None)
        if close is not None:
            close()


def _constraint(grounding: Grounding, plan_only: bool = False) -> str:
    """The name of the plan grammar for ``grounding`` (``plan_only``: no replies)."""
    return plan_constraint_name(replace(grounding, plan_only=plan_only).key())


def _joined(clauses: list[Clause], results: list[GenerationResult | BaseException],
            latency: float) -> PlanOutcome | None:
    """The clause plans joined (:func:`llm_mars.language.decomposition.join_plans`), or the reply to a
    clause whose verb no skill has ("both robots fly home"); ``None`` when a clause failed,
    got another reply, or the plans do not join."""
    if any(isinstance(r, BaseException) for r in results):
        return None
    for clause, result in zip(clauses, results, strict=True):
        reply = result.parsed
        if not clause.known_verb and isinstance(reply, Reply) \
                and not is_false_reply(clause.said, reply.text):
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


def _result(future: Future) -> GenerationResult | BaseException:
    """What a request came to: its result, or the error it failed with."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - the caller weighs failed requests
        return exc


def _outcome(future: Future, before_s: float = 0.0) -> PlanOutcome | BaseException:
    """The plan request's outcome, or the error it failed with (an unfinished output is a
    ConstraintError)."""
    result = _result(future)
    if isinstance(result, BaseException):
        return result
    if not isinstance(result.parsed, (Plan, Reply)):
        return ConstraintError(f"the plan output ended unfinished ({result.finish_reason}): "
                               f"{result.text[-200:]!r}")
    return PlanOutcome(result.parsed, result.text, before_s + result.total_s)


def _holds_plan(result: GenerationResult | BaseException) -> bool:
    """Whether a request came to a validated plan (not a reply, an error or an unfinished
    output)."""
    return isinstance(result, GenerationResult) and isinstance(result.parsed, Plan)


def _missing(clause: Clause, result: GenerationResult | BaseException) -> int:
    """How many mentions of its clause a clause plan leaves out; -1 when there is no plan to
    better (a reply or an error stands)."""
    return len(missing_mentions(clause.said, result.parsed)) if _holds_plan(result) else -1


def _on_worker(work: Callable[..., Any], *args: Any) -> Future:
    """A future of ``work(*args)``, run on a thread of its own: planning waits on the engine
    and must not hold up the caller (a ROS callback)."""
    future: Future = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(work(*args))
        except BaseException as exc:  # noqa: BLE001 - the caller's future carries it
            future.set_exception(exc)

    threading.Thread(target=run, name="assistant", daemon=True).start()
    return future
