"""The words of the operator's language: numbers, ordinals, and the words for robots, places
and colours.

Every rule of :mod:`llm_mars.language` (and the training phrasing, the recogniser's prompt and
the answer checks) reads its words from here, so a table is written once. Where the world
fixes a word (robot count, place kinds, cake colours) it comes from :mod:`llm_mars.vocabulary`.
"""
from __future__ import annotations

import re

from llm_mars import vocabulary as V

NUMBER_WORDS: dict[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000,
    "million": 1_000_000,
}
_WORD_OF = {n: word for word, n in NUMBER_WORDS.items()}

HOMOPHONES: dict[str, int] = {"won": 1, "to": 2, "too": 2, "tree": 3, "free": 3, "for": 4,
                              "fore": 4, "ate": 8}
"""Words Whisper writes for a number it heard; read as numbers only right after a numbered
thing (:data:`NUMBERED_THINGS`)."""

PREPOSITIONS: frozenset[str] = frozenset({"to", "for"})
"""Homophones that are also prepositions ("tell robot to stop"): rules that read text the
normaliser has not rewritten do not take them for numbers."""

ORDINALS: tuple[str, ...] = ("zeroth", "first", "second", "third", "fourth", "fifth", "sixth",
                             "seventh", "eighth", "ninth", "tenth")
"""Ordinal words, indexed by their value."""
ORDINAL_WORDS: dict[str, int] = {word: n for n, word in enumerate(ORDINALS)}

CORRECTIONS: tuple[str, ...] = (
    "sorry", "no wait", "wait no", "no no", "actually", "i mean", "i meant",
    "scratch that", "strike that", "correction", "my bad", "oops")
"""What an operator says to take back part of a command and say it again ("five cherries,
sorry, six"; "plate 3, no wait, plate 4")."""
SPEAKING_VERBS: tuple[str, ...] = ("say", "says", "announce", "announces", "shout", "shouts")
CORRECTION = re.compile("".join(rf"(?<!\b{verb} )" for verb in SPEAKING_VERBS)
                        + rf"\b(?:{'|'.join(CORRECTIONS)})\b")
"""A correction in canonical text; not the words a robot is told to say ("say sorry")."""

ROBOT_WORDS: tuple[str, ...] = ("robot", "bot")
"""Nouns that name a robot ("robot 2", "the second bot"); "r" ("R2") is a designator only."""


COUNTED_THINGS: tuple[str, ...] = ("cherry", "cherries", "cake", "cakes", "stack", "stacks",
                                   "layer", "layers", "second", "seconds", "sec", "secs", "minute",
                                   "minutes")
"""Nouns before which the normaliser writes a number word in digits ("four cherries")."""

PLACE_NOUNS: dict[str, str] = {
    "plate": "plate", "tray": "plate", "quadrant": "quadrant", "quad": "quadrant",
    "holder": "holder", "dispenser": "holder", "distributor": "holder"}
"""Words for the numbered places, and the kind of place each names."""

NUMBERED_THINGS: tuple[str, ...] = (*ROBOT_WORDS, *PLACE_NOUNS)
"""Nouns after which the normaliser writes a number word or homophone in digits."""

PLACE_COUNT: dict[str, int] = {"plate": V.N_PLATES, "quadrant": V.N_QUADRANTS,
                               "holder": V.N_HOLDERS}
"""How many places of each numbered kind the field has."""

PLACE_WORDS: dict[str, str] = {
    **PLACE_NOUNS, "home": V.HOME, "base": V.HOME, "start zone": V.HOME,
    "start area": V.HOME, "starting area": V.HOME, "basket": V.BASKET}
"""Every word for a place, and the kind of place it names (numbered kinds, home, basket)."""

OFF_FIELD_PLACES: tuple[str, ...] = (
    "the kitchen", "the garage", "the parking lot", "the charging station",
    "the opponent's basket", "the other team's plate", "the moon", "the bar", "the control room",
    "the pit", "the workshop", "the exit door")
"""Places the bt data sends robots to that the field lacks: the model learns to reply to them."""

COLOUR_TERMS: tuple[str, ...] = (
    "white", "black", "red", "green", "yellow", "blue", "brown", "purple", "pink", "orange",
    "grey", "gray", "violet", "turquoise", "cyan", "magenta", "beige", "gold", "silver",
    "maroon", "navy", "lime", "teal", "indigo")
"""English colour words: the basic colour terms (Berlin and Kay) and common others. Those not
in :data:`llm_mars.vocabulary.COLORS` name cakes the field does not have."""

UNKNOWN_COLOURS: tuple[str, ...] = tuple(c for c in COLOUR_TERMS if c not in V.COLORS)


def how_many(thing: str) -> int:
    """How many of a numbered thing (:data:`NUMBERED_THINGS`) the world has: ``robot`` -> 2,
    ``tray`` -> 5."""
    return len(V.ROBOTS) if thing in ROBOT_WORDS else PLACE_COUNT[PLACE_NOUNS[thing]]


def words_of_kind(kind: str) -> tuple[str, ...]:
    """The place words naming one kind of place: ``"quadrant"`` -> quadrant, quad."""
    return tuple(word for word, named in PLACE_WORDS.items() if named == kind)


def number_value(word: str, homophones: bool = False) -> int | None:
    """The number a word (digits, a number word, or optionally a homophone) stands for."""
    if word.isdigit():
        return int(word)
    if word in NUMBER_WORDS:
        return NUMBER_WORDS[word]
    return HOMOPHONES.get(word) if homophones else None


def number_phrase_value(words: list[str]) -> int | None:
    """The one number several number words say together ("twenty one", "one hundred", "two
    thousand and five"); None when they are not one number ("one two", "one and two")."""
    total, group, last = 0, 0, None  # last: what the previous word was
    for word in words:
        n = NUMBER_WORDS.get(word)
        if word == "and" and last in ("hundred", "scale"):
            last = "and"
        elif n is None or word == "and":
            return None
        elif n == 100:
            if group >= 100 or last not in (None, "unit", "tens"):
                return None
            group, last = (group or 1) * 100, "hundred"
        elif n >= 1000:
            if last in ("scale", "and"):
                return None
            total, group, last = total + (group or 1) * n, 0, "scale"
        elif n >= 20:
            if last not in (None, "hundred", "scale", "and"):
                return None
            group, last = group + n, "tens"
        else:
            if last not in (None, "tens", "hundred", "scale", "and") or (last == "tens"
                                                                         and n >= 10):
                return None
            group, last = group + n, "unit"
    return None if last in (None, "and") else total + group


def number_word(n: int) -> str:
    """``7`` -> ``seven``, ``25`` -> ``twenty five`` (0..99)."""
    if n <= 20:
        return _WORD_OF[n]
    tens, unit = divmod(n, 10)
    head = _WORD_OF[tens * 10]
    return head if unit == 0 else f"{head} {_WORD_OF[unit]}"
