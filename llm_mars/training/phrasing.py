"""How operators say things: names of robots, places, colours and numbers, and the noise of
real input (politeness, fillers, typos, speech-recognition text).

The training generators draw every surface form from one :class:`Style` per example, so a
command is consistent within itself (a speech-style command is lower case and unpunctuated
throughout; a command that spells numbers as words does so everywhere). Everything random
comes from the ``random.Random`` passed in, so a seed fixes the text.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass

from llm_mars import vocabulary as V
from llm_mars.language.lexicon import (HOMOPHONES, NUMBER_WORDS, NUMBERED_THINGS, ORDINALS,
                                       PLACE_COUNT, PLACE_NOUNS, number_value, number_word)
from llm_mars.language.normaliser import normalise


def third_person(verb: str) -> str:
    """``bring`` -> ``brings``, ``fetch`` -> ``fetches``, ``carry`` -> ``carries``, ``do`` -> ``does``."""
    if verb in ("do", "go"):
        return verb + "es"
    if verb.endswith(("ch", "sh", "s", "x", "z")):
        return verb + "es"
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


_KEYBOARD_NEIGHBOURS = {
    "a": "sq", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj",
    "i": "uo", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o", "r": "et",
    "s": "ad", "t": "ry", "u": "yi", "v": "cb", "w": "qe", "y": "tu",
}


def typo(word: str, rng: random.Random) -> str:
    """One plausible typing slip in a word of 4+ letters: a dropped, doubled, swapped or
    neighbouring letter (never the first letter, so the word stays recognisable)."""
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1:]
    if kind == 1:
        return word[:i] + word[i] + word[i:]
    if kind == 2:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    near = _KEYBOARD_NEIGHBOURS.get(word[i].lower())
    return word if not near else word[:i] + rng.choice(near) + word[i + 1:]


# Words that may get a typo: content words whose meaning survives one slip. Colours and
# numbers are left alone except for the colours (a slip there is still guessable).
TYPO_WORDS = frozenset("""
bring take carry deliver quadrant plate cherries cherry basket holder dispenser collect
please robot stack cake cakes layers brown yellow pink place home legendary decorate
""".split())

_PUNCTUATION = re.compile(r"[\"“”,.;:!?()]")


_SOUNDS_LIKE: dict[str, tuple[str, ...]] = {
    number_word(n): tuple(w for w, v in HOMOPHONES.items() if v == n)
    for n in set(HOMOPHONES.values())}
_HEARD_NUMBER = re.compile(  # a number word right after a numbered thing
    rf"\b(?:{'|'.join(NUMBERED_THINGS)}) ({'|'.join(_SOUNDS_LIKE)})\b")
_DROPPABLE_ARTICLE = re.compile(r"\b(?:the|a) (?!(?:first|second|third|other|robot|bot|"
                                r"one|rest)\b)")
_DIGITS = re.compile(r"\d+")


def recognition_noise(text: str, rng: random.Random) -> str:
    """What a recogniser makes of a spoken command: articles dropped ("take brown cake from
    quadrant two"), a number word after a numbered thing heard as its homophone ("plate to",
    "holder for"). Only noise the normaliser reads back to the same numbers is made, so the
    plan stays what the words say."""
    dropped = _DROPPABLE_ARTICLE.sub(lambda m: "" if rng.random() < 0.5 else m.group(0), text)
    if _DIGITS.findall(normalise(dropped)) == _DIGITS.findall(normalise(text)):
        text = dropped
    for m in reversed(list(_HEARD_NUMBER.finditer(text))):
        heard = text[:m.start(1)] + rng.choice(_SOUNDS_LIKE[m.group(1)]) + text[m.end(1):]
        if rng.random() < 0.6 and normalise(heard) == normalise(text):
            text = heard
    return text


_SMALL_NUMBER = "|".join([r"\d+", *(w for w, n in NUMBER_WORDS.items() if 1 <= n <= 20)])
_CORRECTABLE = re.compile(
    rf"\b(?P<noun>{'|'.join(PLACE_NOUNS)})(?P<by> number)? (?P<n>{_SMALL_NUMBER})\b"
    rf"|\b(?P<count>{_SMALL_NUMBER}) (?P<things>cherries|cakes|stacks|seconds)\b"
    rf"|\b(?P<colour>{'|'.join(V.COLORS)})\b")
"""A place with its number, a count of things or a cake colour: what an operator may say
wrong and take back."""

_MOST_SAID = {"stacks": V.MAX_STACKS_CARRIED, "cakes": V.MAX_STACKS_CARRIED,
              "cherries": V.MAX_CHERRIES_CARRIED}
"""The largest wrong count a correction says of these things: a robot carries no more, and a
command over the limit is answered with a reply, so a plan's command never says more."""


def corrected(text: str, rng: random.Random, forms: tuple[str, ...]) -> str | None:
    """``text`` with one of its numbered places, counts or cake colours first said wrong and
    then taken back with one of ``forms`` ("plate 7, no wait, plate 4"; "five cherries, sorry,
    six"; "the pink, I mean yellow cake"), so the plan is still what the last words say;
    ``None`` when the text has nothing of the kind."""
    found = list(_CORRECTABLE.finditer(text))
    if not found:
        return None
    m = rng.choice(found)
    form = rng.choice(forms)
    if m.group("colour"):
        right = m.group("colour")
        wrong = rng.choice([c for c in V.COLORS if c != right])
        said = f"{wrong}, {form}, {right}"
    else:
        right_text = m.group("n") or m.group("count")
        right = number_value(right_text)
        top = PLACE_COUNT[PLACE_NOUNS[m.group("noun")]] + 2 if m.group("noun") \
            else _MOST_SAID.get(m.group("things"), 10)
        wrong = rng.choice([n for n in range(1, top + 1) if n != right])
        wrong_text = str(wrong) if right_text.isdigit() else number_word(wrong)
        if m.group("noun"):
            thing = f"{m.group('noun')}{m.group('by') or ''}"
            said = rng.choice((f"{thing} {wrong_text}, {form}, {thing} {right_text}",
                               f"{thing} {wrong_text}... {form}, {right_text}"))
        else:
            things = m.group("things")
            said = rng.choice((f"{wrong_text} {things}, {form}, {right_text}",
                               f"{wrong_text} {things}, {form}, {right_text} {things}"))
    return text[:m.start()] + said + text[m.end():]


def speech_text(text: str) -> str:
    """What speech recognition makes of a typed command: lower case, no punctuation, digits
    kept (recognisers write "plate 3")."""
    text = _PUNCTUATION.sub(" ", text.lower())
    return " ".join(text.replace("#", " ").split())


@dataclass
class Style:
    """The surface choices of one example, drawn once and applied throughout."""

    rng: random.Random
    words: bool = False  # numbers as words ("plate three")
    speech: bool = False  # lower case, no punctuation
    typos: float = 0.0  # per eligible word
    ordinals: bool = False  # "the second robot", "the third plate" allowed
    noise: bool = False  # speech: homophones of numbers, dropped articles

    @classmethod
    def draw(cls, rng: random.Random) -> Style:
        speech = rng.random() < 0.55
        return cls(
            rng=rng,
            words=rng.random() < (0.35 if speech else 0.15),
            speech=speech,
            typos=0.12 if rng.random() < 0.12 else 0.0,
            ordinals=rng.random() < 0.15,
            noise=speech and rng.random() < 0.3,
        )

    # --- numbers and names ------------------------------------------------------------------

    def number(self, n: int) -> str:
        return number_word(n) if self.words and n <= 99 else str(n)

    def choice(self, options):
        return self.rng.choice(options)

    def robot(self, robot: str, start: bool = False) -> str:
        """``robot1`` as the operator names it: robot 1, robot one, R1, the first robot, ..."""
        n = int(robot[-1])
        rng = self.rng
        forms = [f"robot {self.number(n)}"] * 6 + [f"Robot {n}" if not self.words else
                                                    f"robot {number_word(n)}"]
        forms += [f"robot{n}", f"bot {self.number(n)}", f"R{n}", f"r{n}", f"robot number {self.number(n)}"]
        if self.ordinals or rng.random() < 0.1:
            forms += [f"the {ORDINALS[n]} robot"] * 4 + [f"{ORDINALS[n]} robot"]
        text = rng.choice(forms)
        if start and text.startswith("the "):
            text = text[4:] if rng.random() < 0.3 else text
        return text

    def plate(self, n: int) -> str:
        rng = self.rng
        if self.ordinals and rng.random() < 0.3:
            return f"the {ORDINALS[n]} plate"
        noun = rng.choice(("plate", "plate", "plate", "tray", "serving plate"))
        if rng.random() < 0.08:
            return f"{noun} number {self.number(n)}"
        return f"{noun} {self.number(n)}"

    def quadrant(self, n: int) -> str:
        rng = self.rng
        if self.ordinals and rng.random() < 0.3:
            return f"the {ORDINALS[n]} quadrant"
        noun = rng.choice(("quadrant", "quadrant", "quadrant", "quadrant", "quad", "cake quadrant"))
        return f"{noun} {self.number(n)}"

    def holder(self, n: int) -> str:
        rng = self.rng
        if self.ordinals and rng.random() < 0.3:
            return f"the {ORDINALS[n]} {rng.choice(('holder', 'dispenser'))}"
        noun = rng.choice(("holder", "holder", "holder", "dispenser", "dispenser",
                           "cherry holder", "cherry dispenser", "distributor"))
        return f"{noun} {self.number(n)}"

    def basket(self) -> str:
        return self.rng.choice(("the basket", "the basket", "the cherry basket", "our basket",
                                "basket"))

    def home(self) -> str:
        """A noun phrase for the home zone (after "to" / "at")."""
        return self.rng.choice(("home", "home", "the home zone", "the start zone", "home base",
                                "base", "the starting area", "the start area"))

    def cake(self, plural: bool = False) -> tuple[str, str]:
        """A noun for a cake stack and the pronoun that refers back to it."""
        if plural:
            noun = self.rng.choice(("cakes", "stacks", "cake stacks", "layers", "stacks"))
            return noun, "them"
        noun = self.rng.choice(("cake", "cake", "stack", "stack", "cake stack", "layers",
                                "one", "cake layers"))
        return noun, ("them" if noun.endswith("layers") else "it")

    def cherries(self, count: int | None) -> str:
        if count is None:
            return self.rng.choice(("cherries", "cherries", "some cherries", "the cherries",
                                    "all the cherries"))
        if count == 1:
            return self.rng.choice(("one cherry", "a cherry", f"{self.number(1)} cherry"))
        return f"{self.number(count)} cherries"

    def seconds(self, s: int) -> str:
        unit = self.rng.choice(("seconds", "seconds", "s", "secs")) if s != 1 else "second"
        if unit == "s" and (self.words or self.speech):
            unit = "seconds"
        return f"{self.number(s)} {unit}"

    # --- decoration -------------------------------------------------------------------------

    def finish(self, text: str) -> str:
        """Apply politeness, fillers, typos and the speech transform to a whole command."""
        rng = self.rng
        if rng.random() < 0.18:
            text = rng.choice(("please ", "could you ", "can you ", "would you kindly ",
                               "kindly ", "I need you to ", "go ahead and ")) + _lower_first(text)
        if rng.random() < 0.12:
            text = rng.choice(("ok ", "okay, ", "uh ", "um, ", "so ", "right, ", "alright, ",
                               "hey, ", "now ", "listen, ", "next: ")) + _lower_first(text)
        text = text.rstrip(" .")
        if rng.random() < 0.12:
            text += rng.choice((", please", " please", ", thanks", ". Thank you", " asap",
                                ", quickly", " right away", ", thank you"))
        if self.typos:
            text = " ".join(typo(w, rng) if w.lower() in TYPO_WORDS and rng.random() < self.typos
                            else w for w in text.split(" "))
        if self.speech:
            text = speech_text(text)
            return recognition_noise(text, rng) if self.noise else text
        text = text[0].upper() + text[1:]
        return text if text.endswith((".", "!", "?")) or rng.random() < 0.2 else text + "."


def _lower_first(text: str) -> str:
    # keep "R1", "I" and names as written
    head = text.split(" ", 1)[0]
    if head in ("I",) or (len(head) > 1 and head[1:2].isdigit()) or head.startswith("Robot"):
        return text
    return text[:1].lower() + text[1:]
