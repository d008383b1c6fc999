"""Operator text to the forms the language rules read, done once where an utterance enters.

Whisper writes "Robot one, take the brown cake from quadrant 2." one time and "robot 1 take
..." the next, and hears "robot two" as "robot to". Typed and spoken commands both become a
:class:`Said`, whose forms are computed here and nowhere else:

* ``folded``: compatibility characters made plain (full-width "ｑｕａｄｒａｎｔ ７" is
  "quadrant 7", every decimal digit an ASCII one, "−" a minus), lower case, typographic
  apostrophes made plain, single spaces; punctuation kept.
  The intent rules (:mod:`llm_mars.language.intent`) read this form: they read stops and
  questions from punctuation ("stop!", a final "?").
* ``canonical`` (:func:`normalise`), which grounding, mentions and decomposition read:

  - punctuation dropped (apostrophes inside words, a final "?", a minus before a number and
    a decimal point inside one are kept: "quadrant -1" and "quadrant 4.5" are not quadrants
    1 and 4);
  - several number words that say one number are written in digits ("robot one hundred" ->
    "robot 100", "twenty one cherries" -> "21 cherries");
  - "robot1" -> "robot 1"; "robot number two" -> "robot 2"; "every one" -> "everyone"
    (Whisper splits it, and the stop rule "everyone stop" needs it whole);
  - a number after a numbered thing (:data:`~llm_mars.language.lexicon.NUMBERED_THINGS`) is
    written in digits, and there its homophones count as numbers ("to"/"too" -> 2, "for" ->
    4, "won" -> 1, "tree"/"free" -> 3, "ate" -> 8) unless an article comes before the thing
    ("tell the robot to go" keeps its "to"), a pause comes between them ("robot, for the
    basket") or the world has no such thing ("robot for" is no robot 4): a homophone is a
    guess, and a guess that names what the world lacks would refuse a possible command;
  - a number word before a counted thing ("four cherries", "ten seconds") is written in
    digits. Other number words are left alone ("the pink one").

* ``phrases``: the canonical form of each part between sentence punctuation, commas, colons
  and dashes, for rules that cut a command where the operator paused
  (:mod:`llm_mars.language.decomposition`).
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from llm_mars.language.lexicon import (COUNTED_THINGS, HOMOPHONES, NUMBER_WORDS,
                                       NUMBERED_THINGS, how_many, number_phrase_value,
                                       number_value)

_THING = "|".join(NUMBERED_THINGS)
_GLUED = re.compile(rf"\b({_THING})(\d+)\b")
_ARTICLES = ("the", "a", "an", "each", "every", "this", "that")
_AFTER_THING = re.compile(  # read before punctuation is dropped: a pause is group 3
    rf"\b(?:({'|'.join(_ARTICLES)})\s+)?({_THING})(\s*[^\w\s']+\s*|\s+)(?:number\s+)?"
    rf"({'|'.join([*NUMBER_WORDS, *HOMOPHONES, r'[0-9]+'])})(?![\w'])")
_BEFORE_COUNTED = re.compile(
    rf"\b({'|'.join(NUMBER_WORDS)})\s+(?=(?:{'|'.join(COUNTED_THINGS)})\b)")
_SPLIT = re.compile(r"\bevery (one|body)\b")
_PUNCTUATION = re.compile(r"(?!(?<!\S)-\d)(?!(?<=\d)\.\d)(?:[^\w\s']|_)")
_WORD = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
_NUMBER_PHRASE = re.compile(rf"\b(?:{_WORD})(?:\s+(?:and\s+)?(?:{_WORD}))+\b")
_LOOSE_APOSTROPHE = re.compile(r"(?<!\w)'|'(?!\w)")
_PHRASE_BREAK = re.compile(r"[.;!?]+\s+|,\s*|:\s+|\s+-\s+")


def _number_after_thing(match: re.Match) -> str:
    article, thing, gap, word = match.groups()
    if gap.rstrip().endswith("-") and word.isdigit():  # "quadrant -1": a minus, not a pause
        return match.group(0)
    value = number_value(word, homophones=article is None and not gap.strip())
    if value is None or (word in HOMOPHONES and value > how_many(thing)):
        return match.group(0)
    return f"{article} {thing} {value}" if article else f"{thing} {value}"


def _number_phrase(match: re.Match) -> str:
    value = number_phrase_value(match.group(0).split())
    return match.group(0) if value is None else str(value)


def fold(text: str) -> str:
    """Compatibility forms made plain (NFKC, decimal digits in ASCII, the minus sign a
    hyphen), lower case, typographic closing apostrophes made plain, whitespace collapsed."""
    plain = unicodedata.normalize("NFKC", text).replace("\u2212", "-")
    plain = "".join(str(unicodedata.decimal(c)) if c.isdecimal() and not c.isascii() else c
                    for c in plain)
    return " ".join(plain.lower().replace("\u2019", "'").split())


def normalise(text: str) -> str:
    """Canonical form of a typed or recognised utterance (see the module docstring)."""
    lowered = fold(text).replace("\u2018", "'")
    question = lowered.rstrip().endswith("?")
    words = _NUMBER_PHRASE.sub(_number_phrase, lowered)  # "robot one hundred" is robot 100
    words = _AFTER_THING.sub(_number_after_thing, _GLUED.sub(r"\1 \2", words))
    words = _LOOSE_APOSTROPHE.sub(" ", _PUNCTUATION.sub(" ", words))
    words = " ".join(words.split())
    words = _SPLIT.sub(r"every\1", words)
    words = _NUMBER_PHRASE.sub(_number_phrase, words)  # the hyphenated ones ("twenty-one")
    words = _BEFORE_COUNTED.sub(lambda m: f"{NUMBER_WORDS[m.group(1)]} ", words)
    if question and words:
        words += "?"
    return words


@dataclass(frozen=True)
class Said:
    """One utterance as the operator typed it or Whisper heard it (``text``: what the model is
    asked), with the forms the rules read, each computed once."""

    text: str

    @functools.cached_property
    def folded(self) -> str:
        return fold(self.text)

    @functools.cached_property
    def canonical(self) -> str:
        return normalise(self.text)

    @functools.cached_property
    def phrases(self) -> tuple[str, ...]:
        return tuple(normalise(part) for part in _PHRASE_BREAK.split(self.text))


def as_said(utterance: str | Said) -> Said:
    """``utterance`` as a :class:`Said` (a text is normalised here, a Said passes through)."""
    return utterance if isinstance(utterance, Said) else Said(utterance)
