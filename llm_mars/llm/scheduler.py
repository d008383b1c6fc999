"""Continuous batching: every step runs one ragged batch of all running sequences, whatever their adapter.

A sequence joins the running batch at the next step after it arrives (as a prefill chunk) and
leaves it the step it finishes; between those it contributes one decode row per step. Its keys
and values live in its own slot of the KV cache. The chat prefix (every message but the last,
e.g. the system prompt with the skill catalogue) is computed once per adapter (LoRA on k/v
changes the keys and values) into a prefix slot, copied into each new sequence's slot, and read
once per step for all decode rows that share it. Beyond that prefix, a new sequence reuses the
keys and values of the longest prompt opening it shares with a running sequence of the same
adapter, or with what a finished one left in its free slot (:meth:`Scheduler._donor_for`).

The scheduler is single-threaded and knows nothing of futures or threads: the engine drives
:meth:`Scheduler.step` from its own thread and receives finished sequences back.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from llm_mars.errors import ConstraintError, GenerationTimeout, LlmMarsError, RequestError
from llm_mars.llm.llama import CompactLlama, RowSpec, StepInput
from llm_mars.llm.requests import FinishReason, GenerationRequest, GenerationResult, TokenEvent
from llm_mars.llm.threads import StepThreads


class RowConstraintLike(Protocol):
    """What a constrained row needs (llm_mars.llm.constraint.RowConstraint provides it)."""

    vocab_size: int

    def fill_mask(self, bitmask: torch.Tensor, row: int) -> None: ...
    def accept(self, token_id: int) -> None: ...
    def jump_forward_tokens(self, tokenizer: Any) -> list[int]: ...
    def is_finished(self) -> bool: ...


def chat_token_ids(tokenizer: Any, messages: list[dict[str, str]], generation_prompt: bool) -> list[int]:
    return list(tokenizer.apply_chat_template(messages, add_generation_prompt=generation_prompt,
                                              tokenize=True, return_dict=False))


def tokenize_request(tokenizer: Any, request: GenerationRequest) -> tuple[list[int], int]:
    """The prompt's token ids and how many of them form the shareable prefix: the chat
    template applied to every message but the last (0 if that is not a token prefix)."""
    messages = request.message_dicts()
    prompt = chat_token_ids(tokenizer, messages, generation_prompt=True)
    if len(messages) < 2:
        return prompt, 0
    prefix = chat_token_ids(tokenizer, messages[:-1], generation_prompt=False)
    if len(prefix) < len(prompt) and prompt[: len(prefix)] == prefix:
        return prompt, len(prefix)
    return prompt, 0


@dataclass
class PrefixEntry:
    """A shared prompt prefix whose keys/values sit in cache slot ``slot`` (once ``ready``)."""

    key: tuple
    tokens: list[int]
    adapter: str | None
    slot: int
    fed: int = 0  # tokens computed so far
    valid: bool = True  # False once evicted: the slot may hold something else

    @property
    def ready(self) -> bool:
        return self.fed == len(self.tokens)


@dataclass(eq=False)
class Sequence:
    """One request on its way through the batch."""

    request: GenerationRequest
    prompt: list[int]
    prefix_len: int  # leading prompt tokens that form the shareable prefix (0: none)
    submitted: float
    on_token: Callable[[TokenEvent], None] | None = None
    on_done: Callable[["Sequence"], None] | None = None
    constraint: RowConstraintLike | None = None
    check: Callable[[str], Any] | None = None
    generator: torch.Generator | None = None
    cancelled: Callable[[], bool] = lambda: False
    # state
    slot: int = -1
    prefix: PrefixEntry | None = None
    cached: int = 0  # positions with keys/values in the sequence's slot
    cached_prompt: int = 0  # of which came from the prefix cache
    pending: list[int] = field(default_factory=list)  # tokens to feed next
    output: list[int] = field(default_factory=list)
    jumped: int = 0
    admitted_at: float | None = None
    first_token_at: float | None = None
    emitted_text: str = ""
    result: GenerationResult | None = None
    error: BaseException | None = None
    # scoring requests: prompt[score_from:] is the target whose log-likelihood is summed
    score_from: int = -1
    score: float = 0.0
    scored: int = 0
    target_logprobs: list[float] = field(default_factory=list)  # of prompt[score_from:], in order

    @property
    def running(self) -> bool:
        return self.slot >= 0

    @property
    def scoring(self) -> bool:
        return self.score_from >= 0


class Scheduler:
    """Owns the model's KV cache and the running batch; :meth:`step` advances every sequence."""

    def __init__(self, model: CompactLlama, tokenizer: Any, *, max_batch: int = 16,
                 max_seq_len: int = 2048, prefix_slots: int = 4, chunk_tokens: int = 256,
                 eos_token_ids: tuple[int, ...] = (), share_prefixes: bool = True,
                 jump_forward: bool = True, step_threads: StepThreads | None = None):
        self.model, self.tokenizer = model, tokenizer
        self.max_batch, self.max_seq_len = max_batch, max_seq_len
        self.chunk_tokens = chunk_tokens
        self.eos_token_ids = frozenset(eos_token_ids)
        self.share_prefixes = share_prefixes and prefix_slots > 0
        self.held_adapters: set[str | None] = set()  # not admitted until an adapter swap is done
        self.jump_forward = jump_forward  # append grammar-forced tokens without sampling
        self.step_threads = step_threads  # picks CPU threads from measured step times
        self.cache = model.new_cache(max_batch + prefix_slots, max_seq_len)
        self._free_slots = list(range(max_batch))
        self._left: dict[int, _SlotContent] = {}  # free slots still holding a finished sequence's keys
        self._free_prefix_slots = list(range(max_batch, max_batch + prefix_slots))
        self.waiting: list[Sequence] = []
        self.running: list[Sequence] = []
        self.prefixes: OrderedDict[tuple, PrefixEntry] = OrderedDict()  # LRU order
        self.finished: list[Sequence] = []  # of the last step, kept should that step raise
        self.steps = 0
        self.forward_seconds = 0.0
        self.last_step_ran = False  # whether the last step() ran the model

    def reset(self) -> None:
        """Forget every sequence and cached prefix (after a failed step)."""
        self.waiting, self.running = [], []
        self._free_slots = list(range(self.max_batch))
        self._left.clear()
        for key in list(self.prefixes):
            self._evict(key)

    # --- queue -----------------------------------------------------------------------------

    def add(self, seq: Sequence) -> None:
        self.waiting.append(seq)

    @property
    def idle(self) -> bool:
        return not self.waiting and not self.running

    def adapter_running(self, name: str) -> bool:
        return any(s.request.adapter == name for s in self.running)

    def drop_waiting(self, adapter: str, error: BaseException) -> list[Sequence]:
        """Take the queued (not yet admitted) sequences of ``adapter`` out, failed with ``error``."""
        dropped = [s for s in self.waiting if s.request.adapter == adapter]
        self.waiting = [s for s in self.waiting if s.request.adapter != adapter]
        for seq in dropped:
            seq.error = error
        return dropped

    def forget_prefixes(self, adapter: str | None) -> None:
        """Drop cached prefixes of ``adapter`` (its weights changed)."""
        for key, entry in list(self.prefixes.items()):
            if entry.adapter == adapter:
                self._evict(key)
        self._left = {slot: c for slot, c in self._left.items() if c.adapter != adapter}

    # --- one step --------------------------------------------------------------------------

    def step(self) -> list[Sequence]:
        """Admit, run one forward pass, sample; return the sequences that finished (with
        ``result`` or ``error`` set). Does nothing when idle. Should the step raise, the
        sequences it had finished are in :attr:`finished` (they are in no queue any more)."""
        finished: list[Sequence] = []
        self.finished = finished
        now = time.monotonic()
        for seq in [*self.waiting, *self.running]:
            if seq.cancelled():
                self._finish(seq, finished, error=None)
            elif seq.request.deadline is not None and now > seq.request.deadline:
                self._finish(seq, finished, error=GenerationTimeout(
                    f"request passed its deadline after {len(seq.output)} output tokens"))
        self._admit()
        rows, owners = self._plan_rows()
        self.last_step_ran = bool(rows)
        if not rows:
            return finished
        n_decode = sum(1 for r in rows if r.kind == "decode")
        token_rows = sum(len(r.spec.tokens) for r in rows)
        tuner, threads = None, 0
        if self.step_threads is not None:
            tuner, threads = self.step_threads.begin(token_rows, n_decode)
        sampled, sample_rows, scored, offset = [], [], [], 0
        for r in rows:
            count = int(r.spec.logits)
            seq = owners.get(id(r))
            if count and seq is not None and seq.scoring:
                scored.append((seq, r.spec, offset, count))
            elif count:
                sampled.append(r)
                sample_rows.append(offset + count - 1)
            offset += count
        sampled_seqs = [owners[id(r)] for r in sampled]
        masks = _TokenMasks.of(sampled_seqs)
        only_tokens = None if scored or masks is None else masks.allowed_by_all(len(sampled_seqs))
        start = time.perf_counter()
        step = StepInput.build([r.spec for r in rows], n_decode, self.model.device,
                               self.share_prefixes)
        logits = self.model.forward(step, self.cache, only_tokens)
        elapsed = time.perf_counter() - start
        self.forward_seconds += elapsed
        if self.step_threads is not None:
            self.step_threads.end(tuner, threads, elapsed, token_rows)
        self.steps += 1
        for seq, spec, offset, count in scored:
            self._score(seq, spec, logits[offset: offset + count])
        tokens = self._sample(logits[sample_rows], sampled_seqs, masks)
        for r in rows:
            r.advance()
        for r in rows:
            seq = owners.get(id(r))
            if seq is not None and seq.scoring and not seq.pending:
                self._finish(seq, finished, reason="scored")
        for r, token in zip(sampled, tokens):
            seq = owners[id(r)]
            try:
                self._take_token(seq, token, finished)
            except LlmMarsError as exc:
                self._finish(seq, finished, error=exc)
        return finished

    def _score(self, seq: Sequence, spec: RowSpec, logits: torch.Tensor) -> None:
        """Add the log-probabilities of the target tokens these logits predict."""
        first = spec.position + len(spec.tokens) - logits.shape[0]  # position of the first row
        targets = [(i, p + 1) for i, p in enumerate(range(first, first + logits.shape[0]))
                   if seq.score_from <= p + 1 < len(seq.prompt)]
        if not targets:
            return
        rows = torch.tensor([i for i, _ in targets])
        ids = torch.tensor([seq.prompt[t] for _, t in targets])
        logprobs = torch.log_softmax(logits[rows].float(), dim=-1).gather(1, ids[:, None])
        self._add_scores(seq, logprobs[:, 0].tolist())

    @staticmethod
    def _add_scores(seq: Sequence, logprobs: list[float]) -> None:
        seq.target_logprobs.extend(logprobs)
        seq.score += sum(logprobs)
        seq.scored += len(logprobs)

    # --- admission -------------------------------------------------------------------------

    def _admit(self) -> None:
        still_waiting = []
        for seq in self.waiting:
            if seq.request.adapter in self.held_adapters:
                still_waiting.append(seq)
                continue
            if seq.prefix is not None and not seq.prefix.valid:
                seq.prefix = None  # evicted before it was ready: look it up again
            if seq.prefix is not None and not seq.prefix.ready:
                still_waiting.append(seq)  # its prefix is being computed
                continue
            if seq.prefix is None and seq.prefix_len and self.share_prefixes:
                entry = self._prefix_for(seq)
                if entry is None or not entry.ready:
                    seq.prefix = entry
                    still_waiting.append(seq)
                    continue
                seq.prefix = entry
            if not self._free_slots:
                still_waiting.append(seq)
                continue
            donor, shared = self._donor_for(seq) if self.share_prefixes else (None, 0)
            if isinstance(donor, Sequence) and donor.cached < shared:
                still_waiting.append(seq)  # the donor computes those positions first
                continue
            seq.slot = self._take_slot(donor.slot if isinstance(donor, _SlotContent) else None)
            seq.admitted_at = time.monotonic()
            entry = seq.prefix
            if entry is not None and entry.valid and entry.ready:
                self.prefixes.move_to_end(entry.key)
            else:
                seq.prefix = entry = None
            if donor is not None:
                if isinstance(donor, Sequence):
                    self.cache.move(donor.slot, seq.slot, shared)
                seq.cached = seq.cached_prompt = shared
                if seq.scoring and shared >= seq.score_from:  # the targets both hold
                    self._add_scores(seq, donor.target_logprobs[: shared - seq.score_from + 1])
            elif entry is not None:
                self.cache.move(entry.slot, seq.slot, len(entry.tokens))
                seq.cached = seq.cached_prompt = len(entry.tokens)
            seq.pending = seq.prompt[seq.cached:]
            self.running.append(seq)
        self.waiting = still_waiting

    def _donor_for(self, seq: Sequence) -> tuple["Sequence | _SlotContent | None", int]:
        """The running sequence, or the free slot left by a finished one, of the same adapter
        whose tokens share the longest prefix with ``seq``'s prompt, beyond its cached prefix
        by at least MIN_SHARED_TOKENS, and how many positions ``seq`` reuses from it: never
        its last prompt position (its logits are needed), and a scoring target's position
        only where the donor scored the same target tokens after the same prompt (their
        log-probabilities are reused). Candidate plans scored for one command share the
        command, the plans' common openings, or a plan's opening before the command; sampled
        plans share their whole prompt."""
        entry = seq.prefix
        start = len(entry.tokens) if entry is not None and entry.valid and entry.ready else 0
        best, best_len = None, start + MIN_SHARED_TOKENS - 1
        donors = [(s, s.request.adapter, s.prompt, s.score_from) for s in self.running]
        donors += [(c, c.adapter, c.tokens, c.score_from) for c in self._left.values()]
        for donor, adapter, tokens, score_from in donors:
            if adapter != seq.request.adapter:
                continue  # another adapter's LoRA gives other keys and values
            n = _common_prefix_len(seq.prompt, tokens)
            if not seq.scoring:
                n = min(n, len(seq.prompt) - 1)
            elif score_from == seq.score_from and n >= seq.score_from:
                n -= 1  # the same prompt: the targets' log-probabilities up to there are reused
            else:
                n = min(n, seq.score_from - 1)
            if n > best_len:
                best, best_len = donor, n
        return (best, best_len) if best is not None else (None, 0)

    def _take_slot(self, slot: int | None) -> int:
        """``slot`` (a free one whose keys the new sequence reuses), else a free slot, those
        holding nothing to reuse first."""
        if slot is None:
            empty = [s for s in self._free_slots if s not in self._left]
            slot = empty[0] if empty else self._free_slots[0]
        self._free_slots.remove(slot)
        self._left.pop(slot, None)
        return slot

    def _prefix_for(self, seq: Sequence) -> PrefixEntry | None:
        """The cache entry of ``seq``'s prefix, started if new; None if no prefix slot is free."""
        tokens = seq.prompt[: seq.prefix_len]
        key = (seq.request.adapter, tuple(tokens))
        entry = self.prefixes.get(key)
        if entry is not None:
            return entry
        if not self._free_prefix_slots:
            for old_key, old in self.prefixes.items():  # least recently used first
                if old.ready:
                    self._evict(old_key)
                    break
        if not self._free_prefix_slots:
            return None
        entry = PrefixEntry(key, tokens, seq.request.adapter, self._free_prefix_slots.pop(0))
        self.prefixes[key] = entry
        return entry

    def _evict(self, key: tuple) -> None:
        entry = self.prefixes.pop(key)
        entry.valid = False
        self._free_prefix_slots.append(entry.slot)

    # --- building a step -------------------------------------------------------------------

    def _plan_rows(self) -> tuple[list["_Row"], dict[int, Sequence]]:
        adapter_index = {None: -1, **{name: i for i, name in enumerate(self.model.adapter_names)}}
        decode, chunks, owners = [], [], {}
        for seq in self.running:
            if len(seq.pending) == 1 and not seq.scoring:
                entry = seq.prefix if seq.prefix is not None and seq.prefix.valid else None
                row = _Row("decode", seq, RowSpec(
                    seq.pending, seq.cached, seq.slot, adapter_index[seq.request.adapter],
                    entry.slot if entry else -1, len(entry.tokens) if entry else 0))
                decode.append(row)
                owners[id(row)] = seq
        # decode rows sharing a prefix next to each other, in slot order
        decode.sort(key=lambda r: (r.spec.prefix_slot, r.spec.slot))
        budget = self.chunk_tokens
        for entry in list(self.prefixes.values()):
            if not entry.ready and budget > 0:
                take = entry.tokens[entry.fed: entry.fed + budget]
                budget -= len(take)
                chunks.append(_PrefixRow(entry, RowSpec(
                    take, entry.fed, entry.slot, adapter_index[entry.adapter], logits=False)))
        for seq in self.running:
            if (len(seq.pending) > 1 or seq.scoring and seq.pending) and budget > 0:
                take = seq.pending[:budget]
                budget -= len(take)
                if seq.scoring:  # the logits of every position that predicts a target token
                    end = seq.cached + len(take)
                    logits = max(0, end - max(seq.cached, seq.score_from - 1))
                else:
                    logits = int(len(take) == len(seq.pending))
                row = _Row("chunk", seq, RowSpec(
                    take, seq.cached, seq.slot, adapter_index[seq.request.adapter], logits=logits))
                chunks.append(row)
                owners[id(row)] = seq
        return decode + chunks, owners

    # --- sampling --------------------------------------------------------------------------

    @torch.inference_mode()
    def _sample(self, logits: torch.Tensor, seqs: list[Sequence],
                masks: "_TokenMasks | None") -> list[int]:
        if masks is not None:
            import xgrammar as xgr

            constrained, vocab = masks.rows, masks.vocab_size
            rows = logits[constrained]
            if rows.shape[1] > vocab:
                rows[:, vocab:] = float("-inf")
            xgr.apply_token_bitmask_inplace(rows, masks.bitmask.to(rows.device),
                                            vocab_size=min(vocab, rows.shape[1]))
            logits[constrained] = rows
        tokens = logits.argmax(dim=-1).tolist()
        for i, seq in enumerate(seqs):
            params = seq.request.sampling
            if params.greedy:
                continue
            probs = torch.softmax(logits[i] / params.temperature, dim=-1)
            if params.top_p < 1.0:
                sorted_probs, order = probs.sort(descending=True)
                keep = sorted_probs.cumsum(0) - sorted_probs < params.top_p
                probs = torch.zeros_like(probs).scatter_(0, order[keep], sorted_probs[keep])
            tokens[i] = int(torch.multinomial(probs, 1, generator=seq.generator))
        return tokens

    # --- after sampling --------------------------------------------------------------------

    def _take_token(self, seq: Sequence, token: int, finished: list[Sequence]) -> None:
        now = time.monotonic()
        if seq.first_token_at is None:
            seq.first_token_at = now
        params = seq.request.sampling
        if seq.constraint is not None:
            seq.constraint.accept(token)
            if seq.constraint.is_finished():
                if token not in self.eos_token_ids:
                    self._append(seq, [token], forced=False)
                return self._finish(seq, finished, reason="constraint")
        elif token in self.eos_token_ids:
            return self._finish(seq, finished, reason="stop")
        self._append(seq, [token], forced=False)
        seq.pending = [token]
        if self._stop_string_hit(seq):
            return self._finish(seq, finished, reason="stop")
        if seq.constraint is not None and self.jump_forward:
            forced = seq.constraint.jump_forward_tokens(self.tokenizer)
            forced = forced[: max(params.max_new_tokens - len(seq.output), 0)]
            if forced:
                seq.jumped += len(forced)
                self._append(seq, forced, forced=True)
                seq.pending = [token, *forced]
            if seq.constraint.is_finished():
                return self._finish(seq, finished, reason="constraint")
        full = seq.cached + len(seq.pending) > self.max_seq_len
        if len(seq.output) >= params.max_new_tokens or full:
            if seq.constraint is not None:
                return self._finish(seq, finished, error=ConstraintError(
                    f"the constrained output was not finished after {len(seq.output)} tokens "
                    f"(max_new_tokens={params.max_new_tokens}, context {self.max_seq_len})"))
            return self._finish(seq, finished, reason="length")

    def _append(self, seq: Sequence, tokens: list[int], forced: bool) -> None:
        seq.output.extend(tokens)
        if seq.on_token is None:
            return
        text = self.tokenizer.decode(seq.output, skip_special_tokens=True)
        if text.endswith("\ufffd"):  # an incomplete multi-byte character: wait for the rest
            delta = ""
        else:
            delta, seq.emitted_text = text[len(seq.emitted_text):], text
        try:
            seq.on_token(TokenEvent(tuple(tokens), delta, forced))
        except Exception as exc:
            raise RequestError(f"the on_token callback failed: {exc!r}") from exc

    def _stop_string_hit(self, seq: Sequence) -> bool:
        stops = seq.request.sampling.stop
        if not stops:
            return False
        tail = self.tokenizer.decode(seq.output[-16:], skip_special_tokens=True)
        return any(stop in tail for stop in stops)

    def _finish(self, seq: Sequence, finished: list[Sequence], reason: FinishReason | None = None,
                error: BaseException | None = None) -> None:
        if seq in self.running:
            self.running.remove(seq)
            self._free_slots.append(seq.slot)
            self._free_slots.sort()
            if self.share_prefixes and seq.cached:
                computed = [*seq.prompt, *seq.output][: seq.cached]
                self._left[seq.slot] = _SlotContent(seq.slot, seq.request.adapter, computed,
                                                    seq.score_from, seq.target_logprobs)
            seq.slot = -1
        elif seq in self.waiting:
            self.waiting.remove(seq)
        finished.append(seq)
        if reason is None or error is not None:
            seq.error = error
            return
        now = time.monotonic()
        if seq.scoring:
            seq.result = GenerationResult(
                text="", token_ids=(), finish_reason=reason, prompt_tokens=seq.score_from,
                cached_prompt_tokens=seq.cached_prompt, jump_forward_tokens=0,
                queued_s=(seq.admitted_at or now) - seq.submitted,
                first_token_s=now - seq.submitted, total_s=now - seq.submitted,
                score=seq.score, scored_tokens=seq.scored)
            return
        text = self.tokenizer.decode(seq.output, skip_special_tokens=True)
        for stop in seq.request.sampling.stop:
            cut = text.find(stop)
            if cut >= 0:
                text = text[:cut]
        parsed = None
        if seq.check is not None:
            try:
                parsed = seq.check(text)
            except LlmMarsError as exc:  # a grammar-accepted output that does not validate
                seq.error = exc
                return
        seq.result = GenerationResult(
            text=text, token_ids=tuple(seq.output), finish_reason=reason,
            prompt_tokens=len(seq.prompt), cached_prompt_tokens=seq.cached_prompt,
            jump_forward_tokens=seq.jumped,
            queued_s=(seq.admitted_at or now) - seq.submitted,
            first_token_s=(seq.first_token_at or now) - seq.submitted,
            total_s=now - seq.submitted, parsed=parsed)


def _common_prefix_len(a: list[int], b: list[int]) -> int:
    """How many leading tokens ``a`` and ``b`` share."""
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


MIN_SHARED_TOKENS = 16
"""A waiting sequence reuses the keys and values of the prompt it shares with a running one (it
may wait a step for the donor to compute them) or with a finished one's free slot when that
saves at least this many positions beyond its cached system prompt."""

NARROW_HEAD_TOKENS = 4096
"""A step whose every sampled row is constrained, and whose grammars allow at most this many
tokens between them, multiplies by those rows of the LM head only (its whole product is the
largest of a decode step; the narrow one costs about its share of the rows, see
docs/benchmarks.md)."""


@dataclass(frozen=True)
class _TokenMasks:
    """The grammar masks of a step's constrained rows, filled before the model step (a
    constraint's state does not change during it) so the LM head can be narrowed to them."""

    rows: list[int]  # indices, among the sampled rows, of the constrained ones
    vocab_size: int
    bitmask: torch.Tensor  # (len(rows), ceil(vocab_size / 32)) int32, xgrammar's layout

    @classmethod
    def of(cls, seqs: list[Sequence]) -> "_TokenMasks | None":
        rows = [i for i, s in enumerate(seqs) if s.constraint is not None]
        if not rows:
            return None
        import xgrammar as xgr

        vocab = seqs[rows[0]].constraint.vocab_size
        bitmask = xgr.allocate_token_bitmask(len(rows), vocab)
        for j, i in enumerate(rows):
            seqs[i].constraint.fill_mask(bitmask, j)
        return cls(rows, vocab, bitmask)

    def allowed_by_all(self, sampled: int) -> torch.Tensor | None:
        """The sorted ids of every token some row's grammar allows, when all ``sampled`` rows
        are constrained and those are at most NARROW_HEAD_TOKENS; else None."""
        if len(self.rows) != sampled:
            return None
        from llm_mars.llm.constraint import allowed_token_ids

        allowed = allowed_token_ids(self.bitmask, self.vocab_size)
        if allowed.size == 0 or allowed.size > NARROW_HEAD_TOKENS:
            return None
        return torch.from_numpy(allowed)


@dataclass(frozen=True)
class _SlotContent:
    """The tokens whose keys and values a free slot still holds, under ``adapter``."""

    slot: int
    adapter: str | None
    tokens: list[int]
    score_from: int = -1  # a scoring sequence's: target_logprobs are of tokens[score_from:]
    target_logprobs: list[float] = field(default_factory=list)


@dataclass(eq=False)
class _Row:
    """A sequence's share of one step; ``advance`` records what the step computed."""

    kind: str  # "decode" | "chunk"
    seq: Sequence
    spec: RowSpec

    def advance(self) -> None:
        n = len(self.spec.tokens)
        self.seq.cached += n
        self.seq.pending = self.seq.pending[n:]


@dataclass(eq=False)
class _PrefixRow:
    kind = "prefix"
    entry: PrefixEntry
    spec: RowSpec

    def advance(self) -> None:
        self.entry.fed += len(self.spec.tokens)
