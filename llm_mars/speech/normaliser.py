"""Transcripts to the canonical text the intent rules and the bt adapter read.

Whisper writes "Robot one, take the brown cake from quadrant 2." one time and "robot 1 take
..." the next, and hears "robot two" as "robot to". Typed and spoken commands both go through
:func:`normalise_transcript`, so the same words give the same text:

* lower case, typographic apostrophes made plain, punctuation dropped (apostrophes inside
  words and a final "?" are kept: the intent rules read questions from it);
* "robot1" -> "robot 1"; "robot number two" -> "robot 2"; "every one" -> "everyone" (Whisper
  splits it, and the stop rule "everyone stop" needs it whole);
* a number after a numbered thing (robot, bot, plate, quadrant, holder, dispenser, tray) is
  written in digits, and there its homophones count as numbers ("to"/"too" -> 2, "for" -> 4,
  "won" -> 1, "tree"/"free" -> 3, "ate" -> 8) unless an article comes before the thing
  ("tell the robot to go" keeps its "to");
* a number word before a counted thing ("four cherries", "ten seconds") is written in digits.

Other number words are left alone ("the pink one").
"""
from __future__ import annotations

import re

NUMBER_WORDS: dict[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
}
# Words Whisper writes for a number it heard; read as numbers only after a numbered thing.
HOMOPHONES: dict[str, int] = {"won": 1, "to": 2, "too": 2, "tree": 3, "free": 3, "for": 4,
                              "fore": 4, "ate": 8}
NUMBERED_THINGS: tuple[str, ...] = ("robot", "bot", "plate", "quadrant", "holder", "dispenser",
                                    "tray")
COUNTED_THINGS: tuple[str, ...] = ("cherry", "cherries", "cake", "cakes", "stack", "stacks",
                                   "layer", "layers", "second", "seconds", "minute", "minutes")

_THING = "|".join(NUMBERED_THINGS)
_GLUED = re.compile(rf"\b({_THING})(\d+)\b")
_ARTICLES = ("the", "a", "an", "each", "every", "this", "that")
_AFTER_THING = re.compile(
    rf"\b(?:({'|'.join(_ARTICLES)})\s+)?({_THING})\s+(?:number\s+)?"
    rf"({'|'.join([*NUMBER_WORDS, *HOMOPHONES, r'[0-9]+'])})(?![\w'])")
_BEFORE_COUNTED = re.compile(
    rf"\b({'|'.join(NUMBER_WORDS)})\s+(?=(?:{'|'.join(COUNTED_THINGS)})\b)")
_SPLIT = re.compile(r"\bevery (one|body)\b")
_PUNCTUATION = re.compile(r"[^\w\s']|_")
_LOOSE_APOSTROPHE = re.compile(r"(?<!\w)'|'(?!\w)")


def number_value(word: str, homophones: bool = False) -> int | None:
    """The number a word (digits, a number word, or optionally a homophone) stands for."""
    if word.isdigit():
        return int(word)
    if word in NUMBER_WORDS:
        return NUMBER_WORDS[word]
    return HOMOPHONES.get(word) if homophones else None


def _number_after_thing(match: re.Match) -> str:
    article, thing, word = match.groups()
    value = number_value(word, homophones=article is None)
    if value is None:
        return match.group(0)
    return f"{article} {thing} {value}" if article else f"{thing} {value}"


def normalise_transcript(text: str) -> str:
    """Canonical form of a typed or recognised utterance (see the module docstring)."""
    lowered = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    question = lowered.rstrip().endswith("?")
    words = _LOOSE_APOSTROPHE.sub(" ", _PUNCTUATION.sub(" ", lowered))
    words = " ".join(words.split())
    words = _SPLIT.sub(r"every\1", words)
    words = _GLUED.sub(r"\1 \2", words)
    words = _AFTER_THING.sub(_number_after_thing, words)
    words = _BEFORE_COUNTED.sub(lambda m: f"{NUMBER_WORDS[m.group(1)]} ", words)
    if question and words:
        words += "?"
    return words
