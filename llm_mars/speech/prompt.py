"""The recogniser's vocabulary, generated from the skill registry and the world vocabulary.

Whisper's ``initial_prompt`` is text it believes came just before the audio; listing the
command words there makes it spell them as we do (it cuts the word error rate to about a third:
docs/benchmarks.md, "Speech recognition"). Robot names, places, colours, skill and condition
words and the numbers the skills take all come from :mod:`llm_mars.bt.registry` and
:mod:`llm_mars.vocabulary`, so a new skill or place is heard without editing a word list.

The same words decide whether a recognised command is meant for the robots at all
(:func:`mentions_the_domain`): speech picked up from a conversation nearby ("order a pizza")
must not reach the planner.
"""
from __future__ import annotations

import functools
import re

from llm_mars import vocabulary as V
from llm_mars.bt.registry import REGISTRY, Category, PortType
from llm_mars.language.intent import robots_mentioned
from llm_mars.language.lexicon import NUMBER_WORDS

_SPELLED = {value: word for word, value in NUMBER_WORDS.items()}
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_NAME_NUMBER = re.compile(r"^([a-z]+)_?(\d+)$")
# Words that address the team as a whole; the intent rules read them the same way.
_TEAM_WORDS = ("both", "everyone", "robots")


def spell(name: str) -> str:
    """A vocabulary name as spoken: ``robot1`` -> "robot one", ``plate_3`` -> "plate three",
    ``PickCake`` -> "pick cake"."""
    match = _NAME_NUMBER.match(name)
    if match:
        word, number = match.group(1), int(match.group(2))
        return f"{word} {_SPELLED.get(number, str(number))}"
    return _CAMEL.sub(" ", name).replace("_", " ").lower()


def skill_phrases(*categories: Category) -> tuple[str, ...]:
    """Tags of these categories (default: skills and conditions) as words, in registry order
    ("move to", "pick cake", ...)."""
    kinds = [k for c in categories or (Category.ACTION, Category.CONDITION) for k in REGISTRY.of(c)]
    return tuple(spell(kind.tag) for kind in kinds)


def largest_number() -> int:
    """The largest bounded integer any skill port takes (counts, plates, quadrants...)."""
    maxima = [int(port.maximum) for kind in REGISTRY.of(Category.ACTION) for port in kind.ports
              if port.type is PortType.INT and port.maximum is not None]
    return max(maxima)


def place_groups() -> tuple[str, ...]:
    """Places as spoken, numbered ones as ranges: "home", "plate one to plate five", ..."""
    groups: dict[str, list[str]] = {}
    for place in V.PLACES:
        match = _NAME_NUMBER.match(place)
        groups.setdefault(match.group(1) if match else place, []).append(spell(place))
    return tuple(names[0] if len(names) == 1 else f"{names[0]} to {names[-1]}"
                 for names in groups.values())


@functools.lru_cache(maxsize=1)
def vocabulary_prompt() -> str:
    """The ``initial_prompt`` for Whisper: the command vocabulary as short labelled lists.

    Numbered places are written as ranges ("plate one to plate five"): a plain list of every
    place taught Whisper that "to" between two places is a comma, and it dropped the "to"
    of "from quadrant one to plate four" (docs/benchmarks.md, "Speech recognition").
    """
    return (
        f"{', '.join(spell(r) for r in V.ROBOTS).capitalize()}. "
        f"Places: {', '.join(place_groups())}. "
        f"Colours: {', '.join(V.COLORS)}. "
        f"Items: {', '.join(V.CARRYABLE_ITEMS)}. "
        f"Skills: {', '.join(skill_phrases())}. "
        f"Numbers: one to {_SPELLED[largest_number()]}."
    )


@functools.lru_cache(maxsize=1)
def domain_words() -> frozenset[str]:
    """Words a command for the robots uses: names of robots, places, colours and items, and
    the longer words of skill names (conditions are left out: "time" and "left" are common)."""
    names = (*V.ROBOTS, *V.PLACES, *V.COLORS, *V.CARRYABLE_ITEMS)
    words = {w for name in names for w in spell(name).split() if w not in _SPELLED.values()}
    words |= {w for phrase in skill_phrases(Category.ACTION) for w in phrase.split() if len(w) > 3}
    words |= {"bot", *_TEAM_WORDS}
    return frozenset(words)


def mentions_the_domain(text: str) -> bool:
    """Whether text names a robot ("r1", "the second robot"...) or uses a domain word."""
    words = re.findall(r"[a-z]+", text.lower())
    vocabulary = domain_words()
    return bool(robots_mentioned(text)) or any(
        word in vocabulary or word.removesuffix("s") in vocabulary for word in words)
