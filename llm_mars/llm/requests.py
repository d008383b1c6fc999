"""What a caller asks the engine for, and what it gets back.

Requests are frozen values: safe to hand to the engine thread, to log and to replay.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

ADAPTERS = ("bt", "qa")
"""The adapters the system needs (a request may also name None: the base model)."""
DESCRIBE = "describe"
"""The optional third adapter: plan -> the command it carries out, which scores candidate
plans by log P(command | plan) (:data:`llm_mars.assistant.CHOOSERS`)."""
ADAPTER_NAMES = ADAPTERS + (DESCRIBE,)
"""Every adapter the project trains and serves when its folder is there."""

FinishReason = Literal["stop", "length", "constraint", "scored"]

SEED_RANGE = (-(1 << 63), (1 << 64) - 1)
"""The seeds torch's random generator takes (a signed or an unsigned 64-bit integer)."""


@dataclass(frozen=True)
class SamplingParams:
    """Greedy by default; ``temperature > 0`` samples (nucleus ``top_p``, reproducible with ``seed``)."""

    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    max_new_tokens: int = 256
    stop: tuple[str, ...] = ()  # the output ends before the first of these strings

    def __post_init__(self):
        if self.temperature < 0 or not 0 < self.top_p <= 1 or self.max_new_tokens < 1 or (
                self.seed is not None and not SEED_RANGE[0] <= self.seed <= SEED_RANGE[1]):
            raise ValueError(f"invalid sampling parameters: {self}")
        object.__setattr__(self, "stop", tuple(self.stop))

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


@dataclass(frozen=True)
class GenerationRequest:
    """One generation: chat ``messages`` for ``adapter`` (None: the base model).

    ``constraint`` names an output constraint the engine knows (``"plan"``: a plan document or
    reply accepted by the plan grammar, then parsed and validated), optionally with an argument
    after a colon (``"plan:n=2,3;c=brown"``: the plan grammar narrowed to one command's
    grounding, :func:`plan_constraint_name`). ``deadline`` is a
    ``time.monotonic()`` instant after which the request fails with GenerationTimeout.

    ``score_target``: instead of generating, score this text as the assistant's reply to the
    messages: the result's ``score`` is its log-likelihood (natural log, summed over its tokens
    and the end-of-turn token), computed in one prefill without sampling.
    """

    messages: tuple[tuple[tuple[str, str], ...], ...]
    adapter: str | None = None
    sampling: SamplingParams = field(default_factory=SamplingParams)
    constraint: str | None = None
    deadline: float | None = None
    score_target: str | None = None

    @classmethod
    def chat(cls, messages: list[dict[str, str]], adapter: str | None = None,
             sampling: SamplingParams | None = None, constraint: str | None = None,
             timeout_s: float | None = None) -> "GenerationRequest":
        """From the usual ``[{"role": ..., "content": ...}]`` list; ``timeout_s`` sets the deadline."""
        frozen = tuple(tuple(sorted(m.items())) for m in messages)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        return cls(frozen, adapter, sampling or SamplingParams(), constraint, deadline)

    @classmethod
    def score(cls, messages: list[dict[str, str]], target: str, adapter: str | None = None,
              timeout_s: float | None = None) -> "GenerationRequest":
        """A scoring request: log P(``target`` as the reply | ``messages``) under ``adapter``."""
        request = cls.chat(messages, adapter, timeout_s=timeout_s)
        return cls(request.messages, adapter, request.sampling, None, request.deadline, target)

    def message_dicts(self) -> list[dict[str, str]]:
        return [dict(m) for m in self.messages]


@dataclass(frozen=True)
class TokenEvent:
    """One step of a streamed generation: the new token ids (several after a jump-forward)
    and the text they complete (may be empty while a multi-byte character is incomplete)."""

    token_ids: tuple[int, ...]
    text: str
    forced: bool = False  # appended by jump-forward, not sampled


@dataclass(frozen=True)
class GenerationResult:
    text: str
    token_ids: tuple[int, ...]
    finish_reason: FinishReason
    prompt_tokens: int
    cached_prompt_tokens: int  # positions whose keys/values were reused, not computed (a
    # scoring request's may include target positions whose log-probabilities were reused too)
    jump_forward_tokens: int  # output tokens appended by jump-forward without sampling
    queued_s: float  # submit -> admitted to the running batch
    first_token_s: float  # submit -> first output token
    total_s: float  # submit -> finished
    parsed: Any = None  # what the constraint's check returned (e.g. the Plan), if any
    score: float | None = None  # a scoring request's log-likelihood of its target
    scored_tokens: int = 0  # how many tokens that log-likelihood sums over

    @property
    def output_tokens(self) -> int:
        return len(self.token_ids)


PLAN_CONSTRAINT = "plan"


def split_constraint(name: str) -> tuple[str, str | None]:
    """``"plan:ARG"`` -> ``("plan", "ARG")``; ``"plan"`` -> ``("plan", None)``."""
    base, colon, arg = name.partition(":")
    return base, (arg if colon else None)


def plan_constraint_name(grounding_key: str | None = None) -> str:
    """The constraint name of a plan request, narrowed to a command's grounding if given
    (:meth:`llm_mars.language.grounding.Grounding.key`)."""
    return PLAN_CONSTRAINT if grounding_key is None else f"{PLAN_CONSTRAINT}:{grounding_key}"
