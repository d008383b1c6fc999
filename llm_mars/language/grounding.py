"""What a command refers to, checked against the world before and while the bt adapter plans.

A 135M-parameter model copies numbers and colours badly: "quadrant 7" comes out as quadrant 1,
"the purple cake" as pink, and a command naming quadrant 3 can get a plan for quadrant 4. Two
checks, both read from :mod:`llm_mars.vocabulary` and the skill registry, take that burden off
the model:

* :func:`out_of_world` finds references the world certainly does not have (robot 3, the
  third robot, robot one hundred, quadrant 7, quadrant -1, quadrant 4.5, plate 0, holder 5, a
  green cake, 15 or -3 cherries for one robot, four stacks one robot is to carry at once) and returns the reply the operator gets instead of a
  plan; the model is not asked. A word that may also be read as something the world has is
  left to the model: a number after a robot's name that may count what follows ("second
  robot: three cherries", "robot 3 cherries"), a homophone (see the normaliser), a load that
  two robots may share ("robot 1 and robot 2 together collect 16 cherries"), a count that is
  not of stacks being carried ("... and put them on the 4 cakes at once").
  ``test/language/test_possible_commands.py`` holds it to that on generated commands. Its
  part about things (robots, places, colours: :func:`absent_thing`) also answers questions
  about what the world lacks ("where is robot 3") before the qa adapter is asked.
* :func:`ground` collects the numbers and colours the command mentions. The plan grammar for
  this command (:func:`llm_mars.llm.grammar.plan_grammar_ebnf` with ``grounding``) admits in
  the small numbered ports (quadrant, plate, holder, count, numbered places) and the colour
  ports only values the command mentions, plus each port's implicit value
  (:data:`IMPLICIT_VALUES`: an unstated holder is holder 2, "a cherry" is one). Where the
  command mentions none that fit a port, the port keeps its whole range. A command that names
  one robot and speaks of no other ("the second robot, bring ...") gets a plan for that robot
  alone; one that names none, both, or speaks of others or of waiting on one keeps both.

Both read the canonical form of the command (:class:`~llm_mars.language.normaliser.Said`), so
"robot two", "robot2" and "Robot 2," are the same, and spoken homophones after a numbered thing
("plate to") are numbers. Robot designators ("robot 1", "R2") are not numbers for the ports.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from difflib import SequenceMatcher

from llm_mars import vocabulary as V
from llm_mars.language.lexicon import (COLOUR_TERMS, CORRECTION, COUNTED_THINGS, NUMBER_WORDS,
                                       OFF_FIELD_PLACES, ORDINAL_WORDS, PLACE_COUNT, PLACE_NOUNS,
                                       ROBOT_WORDS, UNKNOWN_COLOURS)
from llm_mars.language.normaliser import Said, as_said

IMPLICIT_VALUES: dict[str, tuple[int, ...]] = {"holder": (V.DEFAULT_HOLDER,), "count": (1,)}
"""Port name -> values a plan may use without the command saying them."""

GROUNDED_INT_MAX = 10
"""Int ports whose range ends at or below this are numbered things or small counts; larger ones
(Repeat's cycles, Timeout's milliseconds) are not restricted."""

_NUMBER = rf"(?:\d+|{'|'.join(NUMBER_WORDS)})"
_ANY_VALUE = rf"(?:-?\d+(?:\.\d+)?|{'|'.join(NUMBER_WORDS)})"  # what a designator may be given
_NOUN = "|".join(ROBOT_WORDS)
_ORDINAL = "|".join(ORDINAL_WORDS)
_COUNTED_NEXT = rf"(?=\s+(?:more\s+)?(?:{'|'.join(COUNTED_THINGS)})\b)"
"""After a number: what it counts follows ("robot 3 cherries": 3 may be a count)."""
_ROBOT_NUMBER = re.compile(  # group 1: an ordinal before the noun; group 3: a count follows
    rf"\b(?:({_ORDINAL})\s+)?(?:{_NOUN}|r)\s*(?:number\s+)?({_ANY_VALUE})(?![\w.])({_COUNTED_NEXT})?")
_ROBOT_LIST = re.compile(  # "robot 1 and 2", "robots one and two"
    rf"\b(?:{_NOUN})s?\s+(?:number\s+)?({_NUMBER})\s*(?:and|or|&)\s*({_NUMBER})\b"
    rf"(?!{_COUNTED_NEXT})")
_ORDINAL_ROBOT = re.compile(rf"\b({_ORDINAL})\s+(?:{_NOUN})\b")
_ROBOT_COUNT = re.compile(rf"\b({_NUMBER})\s+(?:{'|'.join(w + 's' for w in ROBOT_WORDS)})\b")
_NUMBERED_PLACE = re.compile(
    rf"\b({'|'.join(PLACE_NOUNS)})\s+(?:number\s+)?({_ANY_VALUE})(?![\w.])(?!{_COUNTED_NEXT})")
_ORDINAL_PLACE = re.compile(rf"\b({_ORDINAL})\s+(?:\w+\s+)?({'|'.join(PLACE_NOUNS)})\b")
_CHERRY_COUNT = re.compile(r"(?<![\w.-])(-?\d+(?:\.\d+)?)\s+(?:more\s+)?cherries\b")
_AT_ONCE = re.compile(r"\b(?:at once|at the same time|in one go|together)\b")
_TAKING = r"(?:pick up|pick|take|carry|grab|hold|load|get|bring|collect|fetch|gather)"
_STACK_COUNT = re.compile(  # stacks one robot is told to carry: "pick up all four brown stacks"
    rf"\b{_TAKING}\s+(?:up\s+)?(?:all\s+)?(?:of\s+)?(?:the\s+)?({_NUMBER})\s+"
    rf"(?:(?:{'|'.join(V.COLORS)}|cake)\s+)?(?:stacks|cakes)\b")
_SHARED = re.compile(  # a load two robots may share: "both", "robot 1 and robot 2 together"
    rf"\b(?:both|together with|robots|bots|you two|the two|each of you|between|split|share|"
    rf"(?:{_NOUN}|r)\s*{_NUMBER}\s+(?:and|&)\s+(?:(?:{_NOUN}|r)\s*)?{_NUMBER}|"
    rf"(?:{_ORDINAL}) and (?:the )?(?:{_ORDINAL}))\b")
_UNKNOWN_COLOUR = re.compile(  # "the green stack", "the purple and brown cake stacks"
    rf"\b({'|'.join(UNKNOWN_COLOURS)})(?:\s+\w+){{0,3}}?\s+"
    r"(?:one|ones|cake|cakes|stack|stacks|layer|layers)\b")
_ANY_NUMBER = re.compile(rf"\b({_NUMBER}|{'|'.join(ORDINAL_WORDS)})\b")
_GLUED_NUMBER = re.compile(r"\br\d+\b")  # "r2"
_ANY_COLOUR = re.compile(rf"\b(?:{'|'.join(COLOUR_TERMS)})\b")
_ALL_COLOURS = re.compile(r"\b(?:legendary|all|every|each|everything)\b")
_COLOUR = re.compile(rf"\b({'|'.join(V.COLORS)})\b")
_OTHER_ROBOTS = re.compile(  # words by which a command may give work to a robot it does not name
    r"\b(?:both|each|either|other|others|(?:another|remaining) (?:robot|bot|one|unit)|partner|"
    r"teammate|colleague|buddy|everyone|everybody|all|robots|bots|you two|the two|team|"
    r"someone|somebody|one of you|when|once|until|after|while|meanwhile|wait for|"
    r"waits for)\b")
LOOSE_ROBOT_NUMBER = re.compile(  # "robot 1", but also "rboot one", "robit 2", "roobt 1"
    rf"\b(?:r[a-z]{{0,6}}|b[a-z]{{1,3}})\s*(?:number\s+)?({_NUMBER})\b")


def _value(word: str) -> int | float:
    """A number as said: a whole one as an int, "4.5" as a float, "-1" negative."""
    if word in NUMBER_WORDS or word in ORDINAL_WORDS:
        return NUMBER_WORDS.get(word, ORDINAL_WORDS.get(word))
    value = float(word)
    return int(value) if value.is_integer() else value


# The replies, one function each: the world check gives them and the bt training data
# (llm_mars.training.plan_data) teaches them, word for word.


def robot_reply(name: str) -> str:
    """The reply to a command for a robot that does not exist (``robot 3``, ``third robot``)."""
    return f"There is no {name}: I can only command robot 1 and robot 2."


def robot_count_reply() -> str:
    return "There are only two robots: robot 1 and robot 2."


def place_reply(kind: str, n: int) -> str:
    """``kind``: plate, quadrant or holder; ``n`` a number the field does not have."""
    return f"There is no {kind} {n}: {kind}s are numbered 1 to {PLACE_COUNT[kind]}."


def unknown_place_reply(place: str) -> str:
    """The reply to a command that sends a robot somewhere off the field ("the kitchen")."""
    return (f"There is no {place} on the field: the robots can only go to home, the plates, "
            "quadrants, holders and the basket.")


def colour_reply(colour: str) -> str:
    return (f"There is no {colour} cake: stacks are {', '.join(V.COLORS[:-1])} or "
            f"{V.COLORS[-1]}.")


def cherries_reply(n: int) -> str:
    return (f"A robot can carry at most {V.MAX_CHERRIES_CARRIED} cherries, so it cannot take "
            f"{n}.")


def cherry_count_reply(n: int | float) -> str:
    """The reply to a number of cherries that is not a whole number of at least one."""
    return (f"{n} is not a number of cherries a robot can take: it takes 1 to "
            f"{V.MAX_CHERRIES_CARRIED}.")


def stacks_reply() -> str:
    return f"A robot can carry at most {V.MAX_STACKS_CARRIED} stacks at once."


def _robot_numbers(text: str) -> Iterator[tuple[int, bool, tuple[int, int]]]:
    """(number, certain, span of the designator) of each robot number in ``text``. A number
    right after an ordinal designator ("second robot 2 cherries") is a count, not a robot; one
    followed by what it may count ("robot 3 cherries") may be either, so it is not certain."""
    for m in _ROBOT_NUMBER.finditer(text):
        if m.group(1) is None:
            yield _value(m.group(2)), m.group(3) is None, m.span()
    for m in _ROBOT_LIST.finditer(text):
        yield _value(m.group(1)), True, m.span()
        yield _value(m.group(2)), True, m.span()


class _Standing:
    """What a text still says after its corrections: "plate 7, no wait, plate 4" and "the
    green, I mean the pink" may take back what came before the correction; "robot 3, actually,
    go home" takes nothing back."""

    def __init__(self, text: str):
        self.text = text
        corrections = list(CORRECTION.finditer(text))
        self.cut = corrections[-1].start() if corrections else len(text)
        self.after = text[corrections[-1].end():] if corrections else ""
        self.number_again = bool(_ANY_NUMBER.search(self.after)
                                 or _GLUED_NUMBER.search(self.after))

    def kept(self, start: int, again: bool | None = None) -> bool:
        """Whether what is said at ``start`` still stands (``again``: the correction is
        followed by another thing of the kind; default: by a number)."""
        return start >= self.cut or not (self.number_again if again is None else again)

    def said(self, pattern: re.Pattern, again: bool | None = None) -> Iterator[re.Match]:
        return (m for m in pattern.finditer(self.text) if self.kept(m.start(), again))


def absent_thing(text: str | Said) -> str | None:
    """The reply for a text (a command or a question) that certainly names a robot, place or
    cake colour the world does not have, else ``None``."""
    return _absent(_Standing(as_said(text).canonical))


def _absent(standing: _Standing) -> str | None:
    for n, certain, span in _robot_numbers(standing.text):
        if certain and n not in range(1, len(V.ROBOTS) + 1) and standing.kept(span[0]):
            return robot_reply(f"robot {n}")
    for m in standing.said(_ORDINAL_ROBOT):
        if _value(m.group(1)) > len(V.ROBOTS):
            return robot_reply(f"{m.group(1)} robot")
    for m in standing.said(_ROBOT_COUNT):
        if _value(m.group(1)) > len(V.ROBOTS):
            return robot_count_reply()
    places = [(m.group(1), _value(m.group(2))) for m in standing.said(_NUMBERED_PLACE)]
    places += [(m.group(2), _value(m.group(1))) for m in standing.said(_ORDINAL_PLACE)]
    for noun, n in places:
        kind = PLACE_NOUNS[noun]
        if not 1 <= n <= PLACE_COUNT[kind]:
            return place_reply(kind, n)
    for m in standing.said(_UNKNOWN_COLOUR, bool(_ANY_COLOUR.search(standing.after))):
        return colour_reply(m.group(1))
    return None


def out_of_world(command: str | Said) -> str | None:
    """The reply for a command that certainly names something the world does not have
    (:func:`absent_thing`) or asks more than a robot can carry, else ``None``: where a word may
    also be read as something the world has (a count after a robot's name, a load two robots
    share) or may have been taken back by a correction (one followed by another thing of the
    kind), the model decides."""
    standing = _Standing(as_said(command).canonical)
    absent = _absent(standing)
    if absent is not None:
        return absent
    text = standing.text
    if _SHARED.search(text):
        return None
    for m in standing.said(_CHERRY_COUNT):
        n = _value(m.group(1))
        if isinstance(n, int) and n > V.MAX_CHERRIES_CARRIED:
            return cherries_reply(n)
        if not isinstance(n, int) or n < 1:
            return cherry_count_reply(n)
    if _AT_ONCE.search(text):
        for m in standing.said(_STACK_COUNT):
            if _value(m.group(1)) > V.MAX_STACKS_CARRIED:
                return stacks_reply()
    return None


def cherry_counts(command: str | Said) -> set[int]:
    """The numbers ``command`` says of cherries ("put 4 cherries", "2 more cherries"): in a
    plan each is a collection's count or the number of cherries put on cakes."""
    counts = (_value(m.group(1)) for m in _CHERRY_COUNT.finditer(as_said(command).canonical))
    return {n for n in counts if isinstance(n, int) and n >= 1}


def robots_named(command: str | Said) -> set[str]:
    """The robots of this world that ``command`` names by designator ("robot 2", "R1", "the
    first robot"); designators of robots the world lacks are :func:`out_of_world`'s."""
    return _robots_in(as_said(command).canonical)


def _robots_in(text: str) -> set[str]:
    """:func:`robots_named` of an already normalised text."""
    numbers = [n for n, _, _ in _robot_numbers(text)]
    numbers += [_value(m.group(1)) for m in _ORDINAL_ROBOT.finditer(text)]
    return {V.ROBOTS[n - 1] for n in numbers if n in range(1, len(V.ROBOTS) + 1)}


_WORLD_REPLY = re.compile(
    r"^(?:There is no (?:robot|quadrant|plate|holder) -?\d|There is no \w+ robot|"
    r"There is no \w+ cake|There are only two robots|A robot can carry at most \d+ cherries|"
    r"-?[0-9.]+ is not a number of cherries|"
    # the colour reply's explanation after any name, "cake" or not ("There is no pikcelerne:")
    rf"There is no [^:]+:{re.escape(colour_reply('X').split(':', 1)[1])}$)")


def is_world_reply(reply: str) -> bool:
    """Whether a reply is of a kind :func:`out_of_world` decides (a robot, numbered place,
    colour or cherry count the world lacks). For a command that passed that check, such a
    reply from the model is false: the command gets a plan instead (``plan_only``)."""
    return _WORLD_REPLY.match(reply) is not None


_CAKE_WORDS = re.compile(rf"\b(?:stacks?|cakes?|layers?|legendary|{'|'.join(V.COLORS)})\b")


def is_false_reply(command: str | Said, reply: str) -> bool:
    """Whether the model's ``reply`` to a command that passed :func:`out_of_world` is
    certainly false: a reply of a kind the check owns (:func:`is_world_reply`), the limit
    on stacks carried said of a command that speaks of no cake ("take 4 cherries from holder 1
    and 4 from holder 4 at once"), or a place off the field that the command never names
    (:func:`names_an_unsaid_place`). The command then gets a plan instead."""
    if is_world_reply(reply) or names_an_unsaid_place(command, reply):
        return True
    return reply == stacks_reply() and not _CAKE_WORDS.search(as_said(command).canonical)


_UNKNOWN_PLACE = re.compile("^" + re.escape(unknown_place_reply("PLACE")).replace("PLACE", "(.+?)")
                            + "$")
_WORD = re.compile(r"[a-z0-9']+")


def names_an_unsaid_place(command: str | Said, reply: str) -> bool:
    """Whether ``reply`` says the field lacks a place of which the command says no word, not
    even misspelt or run together ("There is no yen on the field" to "take the yelow stack
    ..."): the model learnt to name the place the operator said, so such a reply answers
    nothing said. A place the bt data names (:data:`OFF_FIELD_PLACES`) is kept: the model may
    have read a word for it ("the cafeteria" as the kitchen)."""
    match = _UNKNOWN_PLACE.match(reply)
    if match is None or f"the {match.group(1)}" in OFF_FIELD_PLACES:
        return False
    folded = as_said(command).folded
    place = match.group(1).lower()
    if place.replace(" ", "") in folded.replace(" ", ""):
        return False  # "carpark" for "car park"
    said = _WORD.findall(folded)
    return not any(_alike(word, other) for word in _WORD.findall(place) for other in said)


def _alike(word: str, other: str) -> bool:
    """The same word, one misspelling apart ("kitchn", "kitchen"), or one the start of the
    other ("swim", "swimming")."""
    short, long = sorted((word, other), key=len)
    return SequenceMatcher(None, word, other).ratio() >= 0.8 \
        or (len(short) >= 4 and long.startswith(short))


@dataclass(frozen=True)
class Grounding:
    """The values a command mentions: numbers (not robot designators) and cake colours
    (``None``: any colour, when it names none or speaks of all of them). ``plan_only``: the
    grammar admits a plan and no reply. ``robots``: the one robot a plan may command (``None``:
    either or both)."""

    numbers: frozenset[int]
    colors: frozenset[str] | None
    plan_only: bool = False
    robots: frozenset[str] | None = None

    def allowed_robots(self) -> list[str]:
        """The robots the plan may give a tree, in the world's order."""
        return [r for r in V.ROBOTS if self.robots is None or r in self.robots]

    def allowed_ints(self, port_name: str, lo: int, hi: int) -> list[int] | None:
        """The values of an int port in ``[lo, hi]`` this command may use; ``None``: all."""
        if hi > GROUNDED_INT_MAX:
            return None
        said = sorted(n for n in self.numbers if lo <= n <= hi)
        if not said:
            return None
        return sorted({*said, *(n for n in IMPLICIT_VALUES.get(port_name, ()) if lo <= n <= hi)})

    def allowed_colors(self) -> list[str] | None:
        return None if self.colors is None else [c for c in V.COLORS if c in self.colors]

    def allowed_places(self) -> list[str]:
        """Places a ``MoveTo``/``IsAt`` may name: home, the basket, and the numbered places
        whose number the command mentions (all of a kind when it mentions none that fit)."""
        out = []
        for place in V.PLACES:
            kind, _, n = place.partition("_")
            if not n:
                out.append(place)
                continue
            allowed = self.allowed_ints(kind, 1, PLACE_COUNT[kind])
            if allowed is None or int(n) in allowed:
                out.append(place)
        return out

    def key(self) -> str:
        """A stable text naming this grounding (``n=2,3;c=brown``); :meth:`from_key` reads it."""
        colors = "*" if self.colors is None else ",".join(sorted(self.colors))
        key = f"n={','.join(map(str, sorted(self.numbers)))};c={colors}"
        key += "" if self.robots is None else f";r={','.join(sorted(self.robots))}"
        return key + ";p=1" if self.plan_only else key

    @classmethod
    def from_key(cls, key: str) -> Grounding:
        """The grounding a :meth:`key` names; ValueError if the text is not one."""
        try:
            fields = dict(part.split("=", 1) for part in key.split(";"))
            numbers = frozenset(int(n) for n in fields["n"].split(",") if n)
            colors = None if fields["c"] == "*" else frozenset(
                c for c in fields["c"].split(",") if c)
        except (ValueError, KeyError) as exc:
            raise ValueError(f"malformed grounding {key!r} ({exc!r})") from None
        robots = None if "r" not in fields else frozenset(fields["r"].split(","))
        if colors is not None and not colors <= set(V.COLORS):
            raise ValueError(f"unknown colours in grounding {key!r}")
        if robots is not None and not robots <= set(V.ROBOTS):
            raise ValueError(f"unknown robots in grounding {key!r}")
        if fields.get("p", "0") not in ("0", "1"):
            raise ValueError(f"plan-only flag must be 0 or 1 in grounding {key!r}")
        return cls(numbers, colors, fields.get("p") == "1", robots)


def ground(command: str | Said) -> Grounding:
    """The numbers, colours and robot ``command`` mentions (see the module docstring)."""
    said = as_said(command).canonical
    text = said
    for _, certain, (start, end) in _robot_numbers(said):
        if certain:  # a designator is no number; one that may be a count stays one
            text = text[:start] + " " * (end - start) + text[end:]
    text = _ORDINAL_ROBOT.sub(" ", text)
    numbers = frozenset(v for v in (_value(m.group(1)) for m in _ANY_NUMBER.finditer(text))
                        if v >= 0)
    if _SHARED.search(said):  # "together collect 16 cherries": each robot's share is 8
        numbers |= {n // len(V.ROBOTS) for n in cherry_counts(said) if n % len(V.ROBOTS) == 0}
    colors = frozenset(_COLOUR.findall(text))
    named = _robots_in(said)
    loosely = {V.ROBOTS[n - 1] for n in (_value(m.group(1))
                                         for m in LOOSE_ROBOT_NUMBER.finditer(said))
               if 1 <= n <= len(V.ROBOTS)}  # "robpt 1": a robot too, mistyped
    robots = frozenset(named) if len(named) == 1 and loosely <= named and \
        not _OTHER_ROBOTS.search(text) else None
    return Grounding(numbers, None if not colors or _ALL_COLOURS.search(text) else colors,
                     robots=robots)
