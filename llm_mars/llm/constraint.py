"""Grammar state of one constrained row of a batch, with jump-forward.

The engine keeps one :class:`RowConstraint` per constrained sequence (``bt`` rows); ``qa``
rows have none and sample freely in the same batch. Per decode step the engine asks each row
to :meth:`~RowConstraint.fill_mask` its row of a shared token bitmask, samples, and hands the
token back with :meth:`~RowConstraint.accept`. Where the grammar forces a run of text (closing
tags, indentation, attribute names), :meth:`~RowConstraint.jump_forward_tokens` returns that run
as tokens the engine appends without sampling.
"""
from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import xgrammar as xgr

from llm_mars.errors import ConstraintError

MAX_BOUNDARY_PROBES = 256
"""Most continuations tokenised to decide where a forced run may safely end (see below)."""


class _Vocab:
    """The decoded vocabulary of a tokenizer, indexed for picking boundary probes."""

    def __init__(self, info: xgr.TokenizerInfo):
        self.pieces: list[bytes] = list(info.decoded_vocab)
        self.texts: list[str] = []
        first = np.full(len(self.pieces), -1, dtype=np.int64)  # -1: not whole UTF-8 text
        for i, piece in enumerate(self.pieces):
            try:
                text = piece.decode("utf-8")
            except UnicodeDecodeError:
                text = ""
            self.texts.append(text)
            if text:
                first[i] = ord(text[0])
        self.first_char = first
        self.length = np.array([len(t) for t in self.texts], dtype=np.int64)

    def probes(self, allowed: np.ndarray, limit: int) -> list[str]:
        """One shortest text per distinct first character among ``allowed`` token ids."""
        allowed = allowed[allowed < len(self.pieces)]
        allowed = allowed[self.first_char[allowed] >= 0]
        order = np.lexsort((self.length[allowed], self.first_char[allowed]))
        ranked = allowed[order]
        _, first_of_each = np.unique(self.first_char[ranked], return_index=True)
        return [self.texts[t] for t in ranked[first_of_each[:limit]].tolist()]


def allowed_token_ids(bitmask: Any, vocab_size: int) -> np.ndarray:
    """The sorted ids of the tokens that some row of an xgrammar bitmask allows (token ``i`` is
    bit ``i % 32`` of int32 word ``i // 32``)."""
    rows = bitmask.shape[0]
    bits = np.unpackbits(bitmask.numpy().view(np.uint8), bitorder="little").reshape(rows, -1)
    return np.flatnonzero(bits.any(0)[:vocab_size])


_VOCABS: dict[int, _Vocab] = {}


def vocab_of(compiled: xgr.CompiledGrammar) -> _Vocab:
    """The decoded vocabulary of a compiled grammar's tokenizer. Decoding takes ~0.2 s, so it
    is done once per compiled grammar; grammars of one tokenizer can share it
    (``RowConstraint(compiled, vocab_of(other))``)."""
    key = id(compiled)
    if key not in _VOCABS:
        _VOCABS[key] = _Vocab(compiled.tokenizer_info)
        weakref.finalize(compiled, _VOCABS.pop, key, None)
    return _VOCABS[key]


class RowConstraint:
    """An xgrammar matcher for one sequence.

    Every method that moves the state either succeeds or raises
    :class:`~llm_mars.errors.ConstraintError` and leaves the state unchanged: a row whose
    grammar cannot go on is an error for the engine to report, never something to repair.
    """

    def __init__(self, compiled: xgr.CompiledGrammar, vocab: _Vocab | None = None):
        self._matcher = xgr.GrammarMatcher(compiled)
        self._compiled = compiled
        self._vocab = vocab
        self._info = compiled.tokenizer_info
        self._stop_ids = frozenset(self._info.stop_token_ids)

    def _decoded(self) -> _Vocab:
        if self._vocab is None:
            self._vocab = vocab_of(self._compiled)
        return self._vocab

    @property
    def vocab_size(self) -> int:
        """Width of the bitmask rows this constraint fills (``xgr.allocate_token_bitmask``)."""
        return self._info.vocab_size

    def fill_mask(self, bitmask: Any, row: int) -> None:
        """Write the tokens allowed next into ``bitmask[row]`` (int32, on the CPU)."""
        self._matcher.fill_next_token_bitmask(bitmask, row)

    def accept(self, token_id: int) -> None:
        """Advance by one sampled token; a token the grammar forbids is a ConstraintError."""
        if self._matcher.is_terminated():
            raise ConstraintError(f"token {token_id} after the output was finished")
        if not self._matcher.accept_token(int(token_id)):
            raise ConstraintError(f"token {token_id} is not allowed by the grammar here")

    def rollback(self, num_tokens: int = 1) -> None:
        """Undo the last ``num_tokens`` accepted tokens (sampled or jumped)."""
        try:
            self._matcher.rollback(num_tokens)
        except RuntimeError as exc:
            raise ConstraintError(f"cannot roll back {num_tokens} tokens: {exc}") from exc

    def is_finished(self) -> bool:
        """True once the output is complete: the stop token was accepted, or nothing but a
        stop token may follow."""
        if self._matcher.is_terminated():
            return True
        if not self._matcher.is_completed():
            return False
        allowed = self._allowed_after(self._matcher)
        return all(t in self._stop_ids for t in allowed)

    def jump_forward_tokens(self, tokenizer: Any) -> list[int]:
        """The tokens of the text the grammar forces next, already accepted by this row.

        The engine appends them to the sequence (one prefill, no sampling) and samples again.

        Approach: a forced string ``s`` (``find_jump_forward_string``) is tokenised by the
        model's own tokenizer so that the jumped tokens look like what the model saw in
        training. The tokenisation of ``s`` alone can differ from that of ``s`` plus what
        follows at its end (byte-level BPE merges ``"\\n   " + " <"`` or ``'="' + 'p'``
        differently depending on the next characters), so only a prefix of its tokens is
        kept: the longest one that the tokenisation of ``s + c`` shares for every allowed
        continuation ``c`` (one shortest token per distinct first character, at most
        :data:`MAX_BOUNDARY_PROBES`). When nothing but a stop token can follow ``s``, all of
        its tokens are kept. Each kept token must also decode to the next bytes of ``s`` and
        be accepted by the matcher; the first that is not ends the run. Tokens sampled before
        ``s`` are not re-tokenised (that would need the engine to roll back its KV cache), so
        the boundary between the last sampled token and ``s`` stays as the model chose it.
        """
        forced = self._matcher.find_jump_forward_string()
        if not forced:
            return []
        ids = list(tokenizer.encode(forced, add_special_tokens=False))
        ids = ids[: self._stable_prefix(tokenizer, forced, ids)]
        pieces = self._decoded().pieces
        target, offset, taken = forced.encode("utf-8"), 0, []
        for token in ids:
            piece = pieces[token] if 0 <= token < len(pieces) else b""
            if not piece or target[offset: offset + len(piece)] != piece:
                break
            if not self._matcher.accept_token(token):
                break
            taken.append(token)
            offset += len(piece)
        return taken

    # --- helpers ----------------------------------------------------------------------------

    def _allowed_after(self, matcher: xgr.GrammarMatcher) -> np.ndarray:
        bitmask = xgr.allocate_token_bitmask(1, self._info.vocab_size)
        matcher.fill_next_token_bitmask(bitmask, 0)
        return allowed_token_ids(bitmask, self._info.vocab_size)

    def _stable_prefix(self, tokenizer: Any, forced: str, ids: list[int]) -> int:
        """How many leading tokens of ``ids`` (the tokens of ``forced``) every continuation
        allowed after ``forced`` keeps."""
        probe = self._matcher.fork()
        if not probe.accept_string(forced):
            return 0
        allowed = self._allowed_after(probe)
        allowed = allowed[~np.isin(allowed, list(self._stop_ids))]
        if allowed.size == 0:  # only a stop token can follow: the run ends the output
            return len(ids)
        probes = self._decoded().probes(allowed, MAX_BOUNDARY_PROBES)
        if not probes:  # no continuation is whole text: do not trust the last boundary
            return max(len(ids) - 1, 0)
        keep = len(ids)
        for extended in tokenizer([forced + c for c in probes], add_special_tokens=False)["input_ids"]:
            shared = 0
            while shared < keep and shared < len(extended) and extended[shared] == ids[shared]:
                shared += 1
            keep = shared
            if keep == 0:
                break
        return keep
