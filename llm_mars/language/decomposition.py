"""Compound commands split into one-robot clauses, planned one by one and joined into one plan.

The 135M bt adapter plans one task far better than several (docs/benchmarks.md, the dev-set
figures by number of tasks): on a long command it drops a step ("collect 6 cherries, drop them
in the basket, then do the funny action" without the funny action) or gives a step to the
wrong robot. A command that is a plain list of steps ("robot 2 go to quadrant 2 and wait 3
seconds there", "R1 ..., R2 ..., then both go home") can be planned clause by clause instead:
:func:`split_command` cuts it at its connectives, names each clause's robot (a clause that
names none is the previous clause's robot's; "both" is both robots), and :func:`join_plans`
joins the clause plans the way the bt data writes a compound plan (one flat ``Sequence`` per
robot; a robot first addressed after another robot's steps with "then" waits for them:
``Signal signal="robotN_done"`` / ``WaitForSignal``).

A part that alone would lose what it needs stays with the clause before it: a place ("go to
holder 1 and take 4 cherries"), the stacks of its legendary cakes, the cherries "them" are,
the cake "it" is. A part without a verb repeats the verb before it when it names the same
kinds of places ("take the yellow stack from quadrant 2 to plate 2, the pink stack from
quadrant 2 to plate 2"); "there" is the place the robot's last clause went to. A part whose
first word is no skill's verb ("then both of you fly home") is a clause of its own, for the
model to reply to.

Only plain lists are split: a command with a condition ("if", "otherwise", "unless"), a
hand-over by words ("when", "once", "until", "after robot 1 has ..."), "each" or "the same", a
load shared ("together", "split ... between"), a correction ("plate 3, no wait, plate 4":
cut apart, the taking back would be a clause of its own, replied to or planned as words to
say), or a clause that points back past another robot's clause, is left whole
(:func:`split_command` returns ``None``). The assistant treats the joined plan as one more
candidate plan (:mod:`llm_mars.assistant`).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace

from llm_mars import vocabulary as V
from llm_mars.bt.model import Node, Plan
from llm_mars.language.grounding import LOOSE_ROBOT_NUMBER, robots_named
from llm_mars.language.lexicon import (CORRECTION, NUMBER_WORDS, ORDINALS, PLACE_WORDS,
                                       words_of_kind)
from llm_mars.language.normaliser import Said, as_said

SIGNAL_SUFFIX = "_done"
"""A hand-over signal is the first robot's name and this ("robot1_done"); the bt data
(:mod:`llm_mars.training.plan_data`) writes hand-overs the same way."""

_CONNECTIVE = re.compile(
    r"\s+(?=(?:and then|then|after that|afterwards|and finally|finally|next(?! to)|and|"
    r"after you|after having|but first|meanwhile)\s)")
_NOT_A_LIST = re.compile(
    r"\b(?:if|otherwise|unless|else|when|whenever|once|until|till|wait for|waits for|"
    r"wait until|waits until|while|before|as soon as|in case|as long as|each|either|"
    r"still|gone|instead|same|as well|together|between|split|share)\b")
_AFTER_SOMEONE = re.compile(r"\bafter (?!that\b|you\b|having\b)")
_REFERENCE = re.compile(r"\b(?:it|them|those|these|there|one|that cake|that stack)\b")
_BOTH = re.compile(r"\b(?:both|you two|the two robots)\b")
_PLACE = re.compile(rf"\b(?:{'|'.join(PLACE_WORDS)})\b")
_NUMBERED_PLACE = re.compile(r"\b(?:plate|tray|quadrant|holder) \d\b")  # what "there" may be
_PLATE = re.compile(rf"\b(?:{'|'.join(words_of_kind('plate'))})\b")
_ANTECEDENT = re.compile(rf"\b(?:cakes?|stacks?|layers?|{'|'.join(V.COLORS)}|legendary|cherry|"
                         r"cherries|everything)\b")
_QUADRANT = re.compile(rf"\b(?:{'|'.join(words_of_kind('quadrant'))})\b")
_NO_PLACE_NEEDED = frozenset({"wait", "stay", "remain", "do", "show", "say", "announce",
                              "report", "finish", "end", "wrap", "hang", "sit", "idle", "keep",
                              "pull", "run", "trigger", "close"})
_SEQUENTIAL = frozenset({"then", "after that", "afterwards", "finally", "next", "after you",
                         "after having", "but first"})
_BEFORE_PREVIOUS = frozenset({"after you", "after having", "but first"})

# leading words that a clause may have before its verb: address, politeness, connectives
_LEAD_WORDS = frozenset(
    "robot robots bot bots r1 r2 r number 1 2 one two first second the other of you both "
    "hey ok okay so now please and then also next finally afterwards after that having "
    "meanwhile but i want tell have let use should needs need to will can could would just "
    "you've youve go ahead listen alright right someone somebody everyone lastly subsequently "
    "simultaneously concurrently whichever yo pls is".split())
# polite or ordering phrases a clause may have before its verb (their words are no lead words
# alone: "a stack from quadrant 2" is a gapped clause, "be" no verb)
_LEAD_PHRASES = tuple(p.split() for p in ("be a dear", "be so kind as to", "last of all"))
# first words of a part that is no clause of its own ("the pink one", "thx"), though no verb
_NOT_VERBS = frozenset((
    "the a an this that these those all every each some more other another any "
    "it them its their your my our "
    "from to at in on into onto with of for by over up down back out off near next "
    "cake cakes stack stacks layer layers cherry cherries plate plates "
    "tray quadrant quad holder dispenser basket home base yourself "
    "thanks thank thx cheers please kindly quickly right away asap ok okay uh um er "
    "operator serving top remaining me as").split()
    + [word for word, n in NUMBER_WORDS.items() if 1 <= n <= 10] + list(V.COLORS)
    + list(ORDINALS))
_VERB_FORMS: dict[str, str] = {}
for _base, _forms in {
    "go": "goes went gone going", "drive": "drives drove driven driving",
    "head": "heads headed heading", "move": "moves moved moving",
    "return": "returns returned returning", "come": "comes came coming",
    "park": "parks parked parking", "navigate": "navigates navigated",
    "bring": "brings brought bringing", "take": "takes took taken taking",
    "carry": "carries carried carrying", "deliver": "delivers delivered delivering",
    "transport": "transports transported", "put": "puts putting",
    "place": "places placed placing", "set": "sets", "drop": "drops dropped dropping",
    "deposit": "deposits deposited", "unload": "unloads unloaded", "empty": "empties emptied",
    "pick": "picks picked picking", "grab": "grabs grabbed grabbing",
    "get": "gets got gotten getting", "fetch": "fetches fetched fetching",
    "collect": "collects collected collecting", "load": "loads loaded loading",
    "gather": "gathers gathered", "fill": "fills filled filling",
    "build": "builds built building", "make": "makes made making",
    "stack": "stacks stacked", "assemble": "assembles assembled",
    "wait": "waits waited waiting", "pause": "pauses paused",
    "do": "does did done doing", "perform": "performs performed",
    "say": "says said saying", "announce": "announces announced",
    "finish": "finishes finished finishing", "end": "ends ended", "wrap": "wraps wrapped",
    "report": "reports reported", "show": "shows showed",
    "position": "positions positioned", "roll": "rolls rolled", "stop": "stops stopped",
    "dump": "dumps dumped", "crown": "crowns crowned", "decorate": "decorates decorated",
    "proceed": "proceeds proceeded", "travel": "travels travelled traveled",
    "visit": "visits visited", "hurry": "hurries hurried", "rush": "rushes rushed",
    "retrieve": "retrieves retrieved", "transfer": "transfers transferred",
    "stay": "stays stayed", "remain": "remains remained", "try": "tries tried trying",
    "retry": "retries retried retrying", "sort": "sorts sorted sorting",
    "use": "uses used using", "stand": "stands stood standing", "add": "adds added adding",
    "hold": "holds held holding", "give": "gives gave given giving",
}.items():
    _VERB_FORMS[_base] = _base
    _VERB_FORMS.update({form: _base for form in _forms.split()})
_SKILL_VERB_FORMS = frozenset(_VERB_FORMS)  # what a typing slip is read as ("colect")
# verbs that say a skill only beside a word of the field ("nip over to holder 2", "pop it on
# plate 3", "run the funny action"; not "run away", "leave the field", "close the door"); never
# read into a slip ("sing" is no "swing")
_FIELD_BOUND: dict[str, str] = {
    "nip": "nips nipped", "pop": "pops popped", "swing": "swings swung",
    "snag": "snags snagged", "nab": "nabs nabbed", "scoop": "scoops scooped",
    "relocate": "relocates relocated", "shift": "shifts shifted", "ferry": "ferries ferried",
    "haul": "hauls hauled", "serve": "serves served", "leave": "leaves left",
    "stick": "sticks stuck", "tip": "tips tipped", "top": "tops topped",
    "stock": "stocks stocked", "keep": "keeps kept", "pull": "pulls pulled",
    "run": "runs ran", "trigger": "triggers triggered", "close": "closes closed",
    "hang": "hangs hung", "sit": "sits sat", "idle": "idles idled",
    "scoot": "scoots scooted", "station": "stations stationed", "retreat": "retreats",
    "max": "maxes maxed",
}
for _base, _forms in _FIELD_BOUND.items():
    _VERB_FORMS[_base] = _base
    _VERB_FORMS.update({form: _base for form in _forms.split()})
_FIELD_WORD = re.compile(
    rf"\b(?:{'|'.join(PLACE_WORDS)}|cakes?|stacks?|layers?|{'|'.join(V.COLORS)}|legendary|"
    r"cherry|cherries|them|it|funny|disguise|match|seconds?|secs?|minutes?|\d+\s*s)\b")


def _mistyped_verb(word: str) -> str | None:
    """The verb form ``word`` is one typing slip away from ("colect" -> collect, "birng" ->
    bring), or ``None``. A slip keeps the first letter and the word at 4+ letters (as the
    typos of the training data do), so "sing" is not "bring" and "fly" stays unknown: a
    clause whose verb is unknown may be replied to, and a slip must not refuse a command."""
    if len(word) < 4:
        return None
    for form in _SKILL_VERB_FORMS:
        if form[0] == word[0] and abs(len(form) - len(word)) <= 1 and _one_slip(word, form):
            return form
    return None


def _one_slip(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` differ by one dropped, added, changed or swapped letter."""
    if len(a) > len(b):
        a, b = b, a
    i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), len(a))
    if len(a) < len(b):
        return a[i:] == b[i + 1:]
    swapped = a[i:i + 2] == b[i:i + 2][::-1] and a[i + 2:] == b[i + 2:]
    return a[i + 1:] == b[i + 1:] or swapped


@dataclass(frozen=True)
class Clause:
    """One step list of a compound command, for one robot or both."""

    text: str  # what the bt adapter is asked: "robot 2 wait 3 seconds there"
    robots: tuple[str, ...]
    sequential: bool  # said to come after the clause before it ("then", "after that")
    known_verb: bool = True  # False: its verb is no skill's ("fly"); a reply to it is believed

    @functools.cached_property
    def said(self) -> Said:
        """The clause as an utterance of its own (what grounding and mentions read)."""
        return as_said(self.text)


@dataclass
class _Piece:
    words: list[str]
    connective: str  # the connective the piece started with ("then", "and", "" ...)
    robots: set[str]
    verb_at: int | None  # index of the first verb after lead words, None: no verb
    known: bool = True  # whether that verb names something a skill does ("throw" does not)


def _piece(text: str) -> _Piece:
    words = text.split()
    connective = ""
    for candidate in ("and then", "after that", "after you've", "after you", "after having",
                      "but first", "and finally", "then", "afterwards", "finally", "next",
                      "and", "meanwhile"):
        if " ".join(words[:len(candidate.split())]) == candidate:
            connective = "after you" if candidate == "after you've" else candidate
            break
    verb_at, known, phrase_end = None, True, 0
    for i, word in enumerate(words):
        if i < phrase_end:
            continue
        phrase = next((p for p in _LEAD_PHRASES if words[i:i + len(p)] == p), None)
        if phrase is not None:
            phrase_end = i + len(phrase)
            continue
        if word in _VERB_FORMS and not (word == "go" and words[i + 1:i + 2] in (["and"],
                                                                                ["ahead"])) \
                and not (word == "use" and robots_named(" ".join(words[i + 1:i + 4]))) \
                and (_VERB_FORMS[word] not in _FIELD_BOUND
                     or _FIELD_WORD.search(" ".join(words[i + 1:]))):
            verb_at = i  # "use quadrant 2 to ...", but "use robot 2 to ..." is an address
            break
        if word not in _LEAD_WORDS:
            if word.isalpha() and word not in _NOT_VERBS \
                    and not LOOSE_ROBOT_NUMBER.match(" ".join(words[i:i + 2])):
                # "fly home"; not "robto 2", a robot mistyped; "colect" is collect mistyped
                typed = _mistyped_verb(word)
                if typed is not None:
                    words = [*words[:i], typed, *words[i + 1:]]
                verb_at, known = i, typed is not None
            break
    lead = " ".join(words[:verb_at] if verb_at is not None else words)
    robots = robots_named(lead)
    if _BOTH.search(lead):
        robots |= set(V.ROBOTS)
    return _Piece(words, connective.replace("and then", "then").replace("and finally",
                                                                         "finally"),
                  robots, verb_at, known)


def _is_address(piece: _Piece) -> bool:
    """"robot 1", "hey robot one", "robot 1 and robot 2", "and": who or a connective, without
    a verb."""
    return piece.verb_at is None and all(w in _LEAD_WORDS for w in piece.words)


def split_command(command: str | Said) -> list[Clause] | None:
    """The clauses of a command that is a plain list of steps, in the order they are to be
    done; ``None`` when it is one step, or not a plain list (see the module docstring)."""
    chunks = list(as_said(command).phrases)
    text = " ".join(chunks)
    if _NOT_A_LIST.search(text) or _AFTER_SOMEONE.search(text) or CORRECTION.search(text):
        return None
    clauses: list[_Piece] = []
    address: _Piece | None = None
    robots: set[str] = {V.ROBOTS[0]}  # a command that names no robot is robot 1's
    for chunk in filter(None, chunks):
        for n, text in enumerate(_CONNECTIVE.split(chunk)):
            piece = _piece(text)
            if _is_address(piece):  # "robot 1,", "and", "robot 2, and then"
                if address is not None:
                    piece.robots |= address.robots
                    piece.connective = address.connective or piece.connective
                address = piece
                continue
            if address is not None:
                piece.robots = piece.robots or address.robots
                piece.connective = piece.connective or address.connective
                address = None
            named = bool(piece.robots)
            piece.robots = piece.robots or robots
            _resolve_there(piece, clauses)
            if clauses and not named and _gapped(piece, clauses[-1]):
                piece = _with_verb_of(piece, clauses[-1])
            elif clauses and _belongs_to_previous(piece, clauses[-1]):
                if named and piece.robots != clauses[-1].robots:
                    return None  # "..., then both of you fly home", "R2 put three"
                if _REFERENCE.search(_action(piece)) \
                        and not _ANTECEDENT.search(_action(clauses[-1])):
                    return None  # "drive to plate 5 and put a cherry on it": on what?
                if n == 0:
                    clauses[-1].words[-1] += ","
                clauses[-1].words += piece.words
                continue
            if piece.verb_at is None or robots_named(_action(piece)) \
                    or (clauses and _needs_previous(piece, clauses[-1])):
                return None  # no verb; a robot named inside; "its one" of another clause
            clauses.append(piece)
            robots = piece.robots
    if address is not None or len(clauses) < 2:
        return None
    out: list[Clause] = []
    for i, piece in enumerate(clauses):
        verb = piece.words[piece.verb_at]
        action = " ".join([_VERB_FORMS.get(verb, verb), *piece.words[piece.verb_at + 1:]])
        who = tuple(r for r in V.ROBOTS if r in piece.robots)
        name = "both robots" if len(who) > 1 else f"robot {V.ROBOTS.index(who[0]) + 1}"
        sequential = piece.connective in _SEQUENTIAL or "then" in piece.words[:piece.verb_at]
        clause = Clause(f"{name} {action}", who, sequential, piece.known)
        if piece.connective in _BEFORE_PREVIOUS and i == len(clauses) - 1:
            out.insert(len(out) - 1, clause)  # "go home after you collect 5 cherries"
            out[-1] = replace(out[-1], sequential=True)
        else:
            out.append(clause)
    return out


def _action(piece: _Piece) -> str:
    return " ".join(piece.words[piece.verb_at or 0:])


def _belongs_to_previous(piece: _Piece, previous: _Piece) -> bool:
    """Whether ``piece`` is no clause of its own but goes with the one before it: it has no
    verb ("the pink one from quadrant 2"), or alone it would lose a place, the stacks its
    legendary cakes are made of, or what "them" is ("go to holder 1 and take 4 cherries",
    "take 2 cherries and put one on the cake")."""
    if piece.verb_at is None:
        return True
    if not piece.known:
        return False  # "and throw them at the other team": planned alone, to be replied
    action, before = _action(piece), _action(previous)
    if "legendary" in action and not _QUADRANT.search(action):
        return True  # built from the stacks an earlier clause took
    if "legendary" in before and not _PLATE.search(before):
        return True  # "make legendary cakes from quadrant 2 and put them on plate 3"
    if not _PLACE.search(action) \
            and _VERB_FORMS[piece.words[piece.verb_at]] not in _NO_PLACE_NEEDED:
        return True
    return piece.robots == previous.robots and bool(_REFERENCE.search(action)) \
        and "cherr" in _action(previous) and "cherr" not in action


def _place_kinds(text: str) -> set[str]:
    return {PLACE_WORDS[m.group(0)] for m in _PLACE.finditer(text)}


def _gapped(piece: _Piece, previous: _Piece) -> bool:
    """"..., the pink stack from quadrant 2 to plate 2": the verb of the clause before left
    out, the same kinds of places said again (not "bring brown from quadrant 1, yellow from
    quadrant 2 to plate 3", whose plate is both stacks')."""
    if piece.verb_at is not None:
        return False
    kinds = _place_kinds(" ".join(piece.words))
    return bool(kinds) and kinds == _place_kinds(_action(previous))


def _with_verb_of(piece: _Piece, previous: _Piece) -> _Piece:
    at = previous.verb_at
    verb = previous.words[at:at + 2] if previous.words[at + 1:at + 2] == ["up"] \
        else previous.words[at:at + 1]
    words = piece.words[:len(piece.connective.split())] + verb \
        + piece.words[len(piece.connective.split()):]
    return _Piece(words, piece.connective, piece.robots,
                  len(piece.connective.split()), previous.known)


def _resolve_there(piece: _Piece, clauses: list[_Piece]) -> None:
    """"robot 1 go to quadrant 1, robot 2 go to quadrant 4, robot 1 take the pink stack
    there": "there" is the place the same robot's last clause went to, said in its stead
    ("... the pink stack at quadrant 1") when the clause needs a place and names none."""
    if piece.verb_at is None or not piece.known or "there" not in piece.words \
            or _PLACE.search(_action(piece)) \
            or _VERB_FORMS[piece.words[piece.verb_at]] in _NO_PLACE_NEEDED:
        return
    mine = [c for c in clauses if c.robots == piece.robots]
    places = list(_NUMBERED_PLACE.finditer(_action(mine[-1]))) if mine else []
    if places:
        at = piece.words.index("there")
        piece.words[at:at + 1] = ["at", *places[-1].group(0).split()]


def _needs_previous(piece: _Piece, previous: _Piece) -> bool:
    """A clause that points back ("puts that one on plate 3") past another robot's clause."""
    return bool(_REFERENCE.search(_action(piece))) and piece.robots != previous.robots


def _steps(node: Node) -> list[Node]:
    return list(node.children) if node.tag == "Sequence" else [node]


def join_plans(clauses: list[Clause], plans: list[Plan]) -> Plan | None:
    """One plan doing each clause's plan in turn; ``None`` when a clause's plan is not for
    exactly the clause's robots."""
    steps: dict[str, list[Node]] = {}
    last: tuple[str, ...] = ()
    for clause, plan in zip(clauses, plans, strict=True):
        if set(plan.robots) != set(clause.robots):
            return None
        for robot in clause.robots:
            if clause.sequential and robot not in steps and len(last) == 1 and last[0] != robot:
                signal = last[0] + SIGNAL_SUFFIX  # with two robots, there is one hand-over
                steps[last[0]].append(Node("Signal", (("signal", signal),)))
                steps[robot] = [Node("WaitForSignal", (("signal", signal),))]
            steps.setdefault(robot, []).extend(_steps(plan.tree(robot)))
        last = clause.robots
    return Plan(tuple((robot, nodes[0] if len(nodes) == 1 else Node("Sequence",
                                                                    children=tuple(nodes)))
                      for robot, nodes in ((r, steps[r]) for r in V.ROBOTS if r in steps)))
