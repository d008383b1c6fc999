"""Training pairs for the ``bt`` adapter: an operator command and the plan (or reply) it means.

A seeded generator composes commands from *tasks* (one operator intent each: deliver a cake,
fill the basket, go home, ...), gives them to one robot, to both, to nobody in particular
(then ``robot1`` does it) or to both with a hand-over (Signal / WaitForSignal), and words them
through a :class:`~llm_mars.training.phrasing.Style`. The target is the canonical document
``serialize_plan`` writes, so the same intent always has the same shape:

* the steps of one robot are one flat ``Sequence`` (a single step stands alone);
* "bring the brown cake from quadrant 2 to plate 3" is ``PickCake brown 2, PlaceCakes 3``;
* one-verb intents that a library subtree does exactly use the subtree ("fill the basket from
  holder 3" -> ``CherriesToBasket``; "legendary cakes from quadrant 1 on plate 2" ->
  ``BuildLegendaryCakes``; "finish the match" -> ``FinishMatch``); spelled-out steps stay steps;
* "if X is gone take Y" is a ``Fallback``; a time condition guards with ``TimeLeft``;
* a hand-over is ``Signal signal="robotN_done"`` after the first robot's steps and
  ``WaitForSignal`` at the matching point of the other's, whatever words say it ("when the
  other robot has finished", "once robot 1 is done", "robot 2 after it": ``HANDOVER_FORMS``);
* a retry or time limit said of one step ("..., retrying the pick-up up to 3 times, then put
  it on plate 2") wraps that step alone; a wait at a place is ``MoveTo`` then ``Wait``;
* counted cherries stay counted: "the rest" of a holder is a second collection of what it
  still has, "one on each cake" as many ``PutCherry`` as the plate has cakes; with the rest
  forms on (``rest_forms``), "the rest" is said after any counted load that leaves room for it
  ("take 3 from holder 2, then the rest of it") and every rest is planned as a collection with
  no count (all that fit, which is all the holder has left), so the adapter never works out
  ``10 - k``;
* an unstated holder is holder 2 (next to the basket).

Speech-style commands carry recognition noise some of the time (number homophones after a
numbered thing, "plate to", "holder for"; dropped articles), besides typos and numbers as
words (:mod:`llm_mars.training.phrasing`). The held-out phrasing families
(:data:`HELD_OUT_FAMILIES`) are never drafted for training.

A ledger of what the command has used (stacks, cherries, cakes on plates, places) keeps every
generated plan executable from the initial field, except examples tagged ``continuation``
("now put them on plate 2"), which only make sense after an earlier command. Commands that the
skills cannot express (robot 3, quadrant 7, a green cake, flying, 15 cherries, four stacks at
once, the kitchen) get ``<reply>what is wrong</reply>``; if any part of a command is impossible
the whole command gets the reply.
"""
from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from llm_mars import vocabulary as V
from llm_mars.bt.model import Node, Plan, Reply
from llm_mars.bt.registry import REGISTRY
from llm_mars.bt.serializer import serialize_plan, serialize_reply
from llm_mars.evaluation.expectations import MAX_TASKS
from llm_mars.language.decomposition import SIGNAL_SUFFIX
from llm_mars.language.grounding import (cherries_reply, colour_reply, place_reply,
                                         robot_count_reply, robot_reply, stacks_reply,
                                         unknown_place_reply)
from llm_mars.language.lexicon import CORRECTIONS, OFF_FIELD_PLACES, ORDINALS, UNKNOWN_COLOURS
from llm_mars.language.normaliser import normalise
from llm_mars.training.phrasing import Style, corrected, third_person

IMPOSSIBLE_ACTIONS = (  # (imperative, what the reply says the robots cannot do)
    ("fly to {plate}", "fly"),
    ("fly over the field", "fly"),
    ("jump over the cakes", "jump"),
    ("jump to {quadrant}", "jump"),
    ("swim to {holder}", "swim"),
    ("teleport to {plate}", "teleport"),
    ("teleport home", "teleport"),
    ("throw the {color} cake at {plate}", "throw things"),
    ("throw cherries at the other team", "throw things"),
    ("make me a coffee", "make coffee"),
    ("bake a new cake", "bake cakes"),
    ("eat the cherries", "eat"),
    ("climb onto {plate}", "climb"),
    ("paint the {color} cake green", "paint"),
    ("open the door", "open doors"),
    ("push the other team's robot", "push other robots"),
    ("sing a song", "sing"),
    ("cook dinner", "cook"),
    ("bring me a coffee", "make coffee"),
    ("wash the floor", "clean"),
    ("clean the table", "clean"),
    ("take a photo of {plate}", "take photos"),
    ("play some music", "play music"),
    ("turn on the lights", "switch lights"),
    ("call my phone", "make calls"),
    ("water the plants", "water plants"),
    ("fetch my keys", "fetch things off the field"),
    ("build a new robot", "build robots"),
    ("pour me a drink", "pour drinks"),
    ("steal the other team's cherries", "take the other team's things"),
)
CHITCHAT = ("tell me a joke", "what is the capital of France", "how are you today",
            "write me a poem", "what's the weather like", "order a pizza")
SAY_TEXTS = ("hello", "ready", "done", "cake delivered", "basket filled", "on my way",
             "mission complete", "good luck", "starting now", "all set", "task finished",
             "hello team", "cherries collected", "going home")
SAY_WORDS = tuple("""hello team ready go done cake cakes delivered basket full cherries on my way
mission complete good luck start now all set finished here we are nice job watch out coming
through sorry excuse me thanks the plate is ready bonjour let's win point points score win
robot one two almost there wait for it yes no maybe great work over and out""".split())


# --- held-out phrasing families -------------------------------------------------------------
# Ways of saying a command that the training commands never use: ``llm-mars eval
# plans-held-out`` (llm_mars.training.plan_held_out) measures the bt adapter on them. A
# command is said in one of them only when drafted with ``family`` set
# (:func:`held_out_plan_examples`); :func:`generate_plan_examples` never sets it, and
# ``test/training/test_plan_held_out.py`` checks that no training command says a family's
# marker. Each family: (the generator slot it fills, a regex on the canonical command that only
# that family's wording matches).

HELD_OUT_FAMILIES: dict[str, tuple[str, str]] = {
    "job-for": ("address", r"\bjob for\b|'s job\b"),
    "over-to-you": ("address", r"\bover to you\b"),
    "that-ones-for": ("address", r"\bthat(?: one)?'s for\b"),
    "what-i-need": ("sentence", r"\bwhat i need is\b"),
    "your-task": ("sentence", r"\byour task is\b"),
    "once-thats-done": ("connective", r"\b(?:once|when) that's done\b"),
    "next-up": ("connective", r"\bnext up\b"),
    "with-that-done": ("connective", r"\bwith that done\b"),
    "takes-over": ("coordination", r"\btakes over\b"),
    "hold-off": ("coordination", r"\bhold off\b"),
    "as-for": ("order", r"\bas for\b"),
}

HELD_OUT_STEP_WORDINGS: dict[str, tuple[str, ...]] = {
    # wordings of one step that no training command uses (step forms included): ``llm-mars eval
    # plans-held-out --step-wordings`` measures them. {what}: the stacks; {pt}, {basket}: places;
    # {source}: " from holder N" or nothing
    "order": ("line {what} up in legendary order on {pt}",
              "put {what} on {pt} with brown at the bottom and pink on top"),
    "basket": ("load up on cherries{source} and tip them into {basket}",
               "fill up with cherries{source} and unload them into {basket}"),
}
HELD_OUT_STEP_MARKER = r"\bline (?:\w+ ){1,3}up in legendary order\b|\bbrown at the bottom\b" \
                       r"|\bload up on cherries\b|\bfill up with cherries\b"
HELD_OUT_GAP_WORDINGS: tuple[str, ...] = (
    # ways of giving the second robot the first one's kind of task without its verb that no
    # training command uses (ellipsis forms included): ``llm-mars eval plans-held-out
    # --gap-wordings`` measures them. {b}: the second robot; {step}: its step, verb left out
    "{b} ditto, {step}", "same goes for {b}: {step}", "{b} repeats that with {step}",
)
HELD_OUT_GAP_MARKER = r"\bditto\b|\bsame goes for\b|\brepeats that with\b"
_FAMILY_MARKERS = {name: re.compile(marker) for name, (_, marker) in HELD_OUT_FAMILIES.items()}
_FAMILY_MARKERS["step-wording"] = re.compile(HELD_OUT_STEP_MARKER)
_FAMILY_MARKERS["gap-wording"] = re.compile(HELD_OUT_GAP_MARKER)
HELD_OUT_CORRECTION = re.compile(r"\b(?:scratch that|strike that|correction|my bad)\b")
"""The ways of taking a word back (of ``lexicon.CORRECTIONS``) that no training command uses;
``llm-mars eval plans-held-out --corrections`` measures them."""
TRAINED_CORRECTIONS = tuple(w for w in CORRECTIONS if not HELD_OUT_CORRECTION.search(w))
HELD_OUT_CORRECTIONS = tuple(w for w in CORRECTIONS if HELD_OUT_CORRECTION.search(w))
_HELD_OUT_ADDRESSES: dict[str, tuple[str, ...]] = {  # {r}: the robot, {tasks}: what it does
    "job-for": ("job for {r}: {tasks}", "{r}'s job: {tasks}", "a job for {r}, {tasks}"),
    "over-to-you": ("over to you {r}, {tasks}", "{r}, over to you: {tasks}"),
    "that-ones-for": ("{tasks}, that one's for {r}", "{tasks} - that's for {r}"),
    "what-i-need": ("what I need is for {r} to {tasks}", "what I need is {r} to {tasks}"),
    "your-task": ("{r}, your task is to {tasks}", "your task is to {tasks}, {r}"),
}
_HELD_OUT_CONNECTIVES: dict[str, tuple[str, ...]] = {
    "once-thats-done": (", and once that's done, ", " and when that's done ",
                        ". Once that's done, "),
    "next-up": (". Next up, ", ", next up ", "; next up: "),
    "with-that-done": (", with that done, ", ". With that done, "),
}
_HELD_OUT_HANDOVERS: dict[str, tuple[str, ...]] = {  # {a} hands over to {b}
    "takes-over": ("{b} takes over when {a} is through and should {post}",
                   "when {a} is through, {b} takes over: {post}"),
    "hold-off": ("{b}, hold off until {a} is through, then {post}",
                 "{b} should hold off till {a} is through and then {post}"),
}


# --- plan pieces ----------------------------------------------------------------------------


def skill(tag: str, **ports: Any) -> Node:
    """A leaf with its ports in registry declaration order (the canonical order)."""
    kind = REGISTRY[tag]
    unknown = set(ports) - set(kind.port_names)
    if unknown:
        raise ValueError(f"{tag} has no ports {sorted(unknown)}")
    return Node(tag, tuple((p.name, ports[p.name]) for p in kind.ports if p.name in ports))


def subtree(subtree_id: str, **ports: Any) -> Node:
    """A ``<SubTree>`` use; ports in the order given (the library declaration order)."""
    return Node("SubTree", (("ID", subtree_id), *ports.items()))


def control(tag: str, *children: Node, **ports: Any) -> Node:
    kind = REGISTRY[tag]
    return Node(tag, tuple((p.name, ports[p.name]) for p in kind.ports if p.name in ports),
                tuple(children))


def sequence_of(nodes: list[Node]) -> Node:
    """One node alone, several in a flat Sequence."""
    return nodes[0] if len(nodes) == 1 else control("Sequence", *nodes)


# --- examples -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanExample:
    """One training pair: the command and the exact text the adapter must write."""

    command: str
    output: str  # serialize_plan(...) or serialize_reply(...)
    kind: str  # "plan" | "reply"
    tasks: int
    tags: tuple[str, ...] = ()

    @property
    def executable(self) -> bool:
        """Whether the plan should run from the initial field without a failed step."""
        return self.kind == "plan" and "continuation" not in self.tags

    def to_json(self) -> dict[str, Any]:
        return {"command": self.command, "output": self.output, "kind": self.kind,
                "tasks": self.tasks, "tags": list(self.tags)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlanExample:
        return cls(data["command"], data["output"], data["kind"], int(data["tasks"]),
                   tuple(data.get("tags", ())))


@dataclass
class Task:
    """One operator intent for one robot: its steps and how it is said (imperative, verb first)."""

    nodes: list[Node]
    text: str
    inflect: bool = True  # the text starts with its verb, so "robot 2 brings ..." can be made
    tags: tuple[str, ...] = ()
    count: int = 1  # tasks as the operator states them
    # said with its verb left out (ellipsis forms, only where they are on): ``elided`` right
    # after the robot's name ("robot 2, the yellow from quadrant 1"), ``gapped`` after the
    # other robot's task of the same kind ("robot 1 take 5 cherries from holder 1 and robot 2
    # 5 from holder 2"; the same as ``elided`` unless the task says it otherwise)
    elided: str | None = None
    gapped: str | None = None
    bare: str | None = None  # said as a bare follow-up with the rest forms: "then the rest of it"

    def said_after_its_kind(self) -> str | None:
        return self.gapped or self.elided

    def third_person(self) -> str:
        verb, _, rest = self.text.partition(" ")
        return f"{third_person(verb)} {rest}".strip()


@dataclass
class Ledger:
    """What the command has used so far, so its plan runs from the initial field."""

    stacks: set[tuple[str, int]] = field(
        default_factory=lambda: {(c, q) for c in V.COLORS for q in range(1, V.N_QUADRANTS + 1)})
    holders: dict[int, int] = field(
        default_factory=lambda: {h: V.CHERRIES_PER_HOLDER for h in range(1, V.N_HOLDERS + 1)})
    bare_cakes: dict[int, int] = field(default_factory=dict)  # plate -> cakes without cherry
    plate_owner: dict[int, str] = field(default_factory=dict)
    carrying: dict[str, list[str]] = field(default_factory=lambda: {r: [] for r in V.ROBOTS})
    cherries: dict[str, int] = field(default_factory=lambda: {r: 0 for r in V.ROBOTS})
    places: dict[str, set[str]] = field(default_factory=lambda: {r: set() for r in V.ROBOTS})
    last_plate: dict[str, int] = field(default_factory=dict)  # robot -> plate it placed on last
    # robot -> the holders it took a counted load from, each as the words said it ("" unsaid)
    counted: dict[str, list[tuple[int, str]]] = field(
        default_factory=lambda: {r: [] for r in V.ROBOTS})

    def other(self, robot: str) -> str:
        return next(r for r in V.ROBOTS if r != robot)

    def free(self, robot: str, place: str) -> bool:
        """A place the other robot does not use in this command (home is always free)."""
        return place == V.HOME or place not in self.places[self.other(robot)]

    def use(self, robot: str, place: str) -> None:
        if place != V.HOME:
            self.places[robot].add(place)


# --- the generator --------------------------------------------------------------------------


class _Command:
    """Builds one command: draws values (through the ledger), tasks and their wording."""

    def __init__(self, rng: random.Random, poison: str | None = None,
                 family: str | None = None, step_forms: float = 0.0, ellipsis: float = 0.0,
                 rest_forms: float = 0.0):
        self.rng = rng
        self.family = family  # a held-out phrasing family this command is said in, if any
        self.step_forms = step_forms  # see generate_plan_examples
        self.ellipsis = ellipsis  # see generate_plan_examples
        self.rest_forms = rest_forms  # see generate_plan_examples
        self.held_out_steps = family == "step-wording"  # HELD_OUT_STEP_WORDINGS where they fit
        self.style = Style.draw(rng)
        self.ledger = Ledger()
        self.poison = poison  # the slot that gets an impossible value, if any
        self.reply: str | None = None
        self.continuation = False

    def said_in_step_form(self) -> bool:
        """Whether this step is said in one of the step forms (draws nothing when they are
        off, so a config without them makes the same examples as before)."""
        return bool(self.step_forms) and self.rng.random() < self.step_forms

    def said_elliptically(self) -> bool:
        """Whether this step is said with its verb left out, where it can be (draws nothing
        when the ellipsis forms are off)."""
        return bool(self.ellipsis) and self.rng.random() < self.ellipsis

    # values ---------------------------------------------------------------------------------

    def _poisoned(self, slot: str) -> bool:
        return self.poison == slot and self.reply is None

    def quadrant(self, robot: str, color: str | None = None) -> int:
        """A quadrant number this robot may use (with ``color`` still there, if given)."""
        if self._poisoned("quadrant"):
            n = self.rng.choice((5, 6, 7, 8, 9, 0))
            self.reply = place_reply("quadrant", n)
            return n
        options = [q for q in range(1, V.N_QUADRANTS + 1)
                   if self.ledger.free(robot, f"quadrant_{q}")
                   and (color is None or (color, q) in self.ledger.stacks)]
        if not options:
            raise _NoRoom
        return self.rng.choice(options)

    def plate(self, robot: str) -> int:
        if self._poisoned("plate"):
            n = self.rng.choice((6, 7, 8, 9, 0, 6, 7))
            self.reply = place_reply("plate", n)
            return n
        options = [p for p in range(1, V.N_PLATES + 1) if self.ledger.free(robot, f"plate_{p}")]
        if not options:
            raise _NoRoom
        return self.rng.choice(options)

    def holder(self, robot: str, wanted: int = 1) -> int:
        if self._poisoned("holder"):
            n = self.rng.choice((5, 6, 0, 5, 7, 8))
            self.reply = place_reply("holder", n)
            return n
        options = [h for h in range(1, V.N_HOLDERS + 1)
                   if self.ledger.free(robot, f"holder_{h}") and self.ledger.holders[h] >= wanted]
        if not options:
            raise _NoRoom
        return self.rng.choice(options)

    def holder_or_unstated(self, robot: str, wanted: int, share: float) -> tuple[int, bool]:
        """A holder, and whether the command leaves it unstated (then it is holder 2, the
        plan format's default): ``share`` of the commands that may use holder 2 do."""
        if not self._poisoned("holder") and self.rng.random() < share \
                and self.ledger.free(robot, f"holder_{V.DEFAULT_HOLDER}") \
                and self.ledger.holders[V.DEFAULT_HOLDER] >= wanted:
            return V.DEFAULT_HOLDER, True
        return self.holder(robot, wanted), False

    def color(self, robot: str) -> str:
        if self._poisoned("colour"):
            c = self.rng.choice(UNKNOWN_COLOURS)
            self.reply = colour_reply(c)
            return c
        return self.rng.choice(V.COLORS)

    def stack(self, robot: str) -> tuple[str, int]:
        """A colour and quadrant still available to this robot."""
        color = self.color(robot)
        if self.reply is not None and self.poison == "colour":
            return color, self.quadrant(robot)
        return color, self.quadrant(robot, color)

    def take_stack(self, robot: str, color: str, q: int) -> None:
        self.ledger.stacks.discard((color, q))
        self.ledger.carrying[robot].append(color)
        self.ledger.use(robot, f"quadrant_{q}")

    def room(self, robot: str) -> int:
        return V.MAX_STACKS_CARRIED - len(self.ledger.carrying[robot])

    # words ------------------------------------------------------------------------------------

    def say_robot(self, robot: str, start: bool = False) -> str:
        if self._poisoned("robot"):
            n = self.rng.choice((3, 3, 4, 5))
            form = self.rng.choice((f"robot {self.style.number(n)}", f"robot {n}",
                                    f"the {ORDINALS[n]} robot", f"R{n}", f"bot {n}"))
            self.reply = robot_reply(f"{ORDINALS[n]} robot" if ORDINALS[n] in form
                                     else f"robot {n}")
            return form
        return self.style.robot(robot, start)


class _NoRoom(Exception):
    """The ledger has nothing left for this maker; try another."""


Maker = Callable[[_Command, str], Task]


def _cake_words(c: _Command, color: str) -> tuple[str, str]:
    noun, pronoun = c.style.cake()
    return f"the {color} {noun}", pronoun


def _deliver(c: _Command, robot: str) -> Task:
    if c.room(robot) < 1:
        raise _NoRoom
    color, q = c.stack(robot)
    p = c.plate(robot)
    s = c.style
    cake, it = _cake_words(c, color)
    qt, pt = s.quadrant(q), s.plate(p)
    templates = [
        (f"bring {cake} from {qt} to {pt}", True),
        (f"take {cake} from {qt} to {pt}", True),
        (f"take {cake} from {qt} and put {it} on {pt}", True),
        (f"carry {cake} from {qt} to {pt}", True),
        (f"move {cake} from {qt} to {pt}", True),
        (f"deliver {cake} from {qt} to {pt}", True),
        (f"fetch {cake} at {qt} and bring {it} to {pt}", True),
        (f"pick up {cake} in {qt} and place {it} on {pt}", True),
        (f"grab {cake} from {qt} and drop {it} on {pt}", True),
        (f"get {cake} from {qt} onto {pt}", True),
        (f"put {cake} from {qt} on {pt}", True),
        (f"bring {pt} {cake} from {qt}", True),
        (f"from {qt}, bring {cake} to {pt}", False),
        (f"to {pt}, bring {cake} from {qt}", False),
        (f"{cake} from {qt} goes to {pt}", False),
    ]
    text, inflect = c.rng.choice(templates)
    if c.family == "as-for":
        text = f"as for {cake} in {qt}, {c.rng.choice(('bring', 'take', 'move'))} {it} to {pt}"
        inflect = False
    elided = c.rng.choice((f"{cake} from {qt} to {pt}", f"{cake} from {qt} onto {pt}",
                           f"{cake} in {qt} to {pt}")) if c.ellipsis else None
    c.take_stack(robot, color, q)
    c.ledger.carrying[robot].clear()
    _placed(c, robot, p, 1)
    return Task([skill("PickCake", color=color, quadrant=q), skill("PlaceCakes", plate=p)],
                text, inflect, ("deliver",), elided=elided)


def _placed(c: _Command, robot: str, plate: int, cakes: int) -> None:
    c.ledger.bare_cakes[plate] = c.ledger.bare_cakes.get(plate, 0) + cakes
    c.ledger.plate_owner[plate] = robot
    c.ledger.last_plate[robot] = plate
    c.ledger.use(robot, f"plate_{plate}")


def _colour_list(colors: list[str], style: Style) -> str:
    if len(colors) == 3 and style.rng.random() < 0.3:
        return style.rng.choice(("all three", "all the", "the three"))
    if len(colors) == 2 and style.rng.random() < 0.3:
        return f"the {colors[0]} and the {colors[1]}"
    joined = " and ".join(colors) if len(colors) == 2 else \
        style.rng.choice((f"{colors[0]}, {colors[1]} and {colors[2]}",
                          f"{colors[0]}, {colors[1]}, and {colors[2]}"))
    return "the " + joined


def _deliver_several(c: _Command, robot: str) -> Task:
    """Two or three colours from one quadrant to one plate (sorted on request)."""
    n = c.rng.choice((2, 2, 3))
    if c.room(robot) < n:
        raise _NoRoom
    q = c.quadrant(robot)
    available = [col for col in V.COLORS if (col, q) in c.ledger.stacks]
    if c.poison == "colour" and c.reply is None:
        colors = [c.color(robot), c.rng.choice(V.COLORS)]
        c.rng.shuffle(colors)
    else:
        if len(available) < n:
            raise _NoRoom
        colors = c.rng.sample(available, n)
    p = c.plate(robot)
    s = c.style
    sort = c.rng.random() < 0.3
    if len(colors) == 3 and c.rng.random() < 0.4:
        colors = list(V.COLORS)
    words = _colour_list(colors, s)
    if words.startswith(("all", "the three")):
        colors = list(V.COLORS)
    noun, _ = s.cake(plural=True)
    qt, pt = s.quadrant(q), s.plate(p)
    text = c.rng.choice([
        f"bring {words} {noun} from {qt} to {pt}",
        f"take {words} {noun} from {qt} and put them on {pt}",
        f"carry {words} {noun} in {qt} over to {pt}",
        f"pick up {words} {noun} at {qt} and place them on {pt}",
        f"move {words} {noun} from {qt} to {pt}",
        f"get {words} {noun} from {qt} onto {pt}",
    ])
    if sort and c.held_out_steps:
        text = f"take {words} {noun} from {qt} and " + c.rng.choice(
            HELD_OUT_STEP_WORDINGS["order"]).format(what="them", pt=pt)
    elif sort and c.said_in_step_form():  # the order said before the plate
        text = c.rng.choice([
            f"take {words} {noun} from {qt} and put them sorted on {pt}",
            f"bring {words} {noun} from {qt} to {pt} and stack them in order",
            f"move {words} {noun} from {qt} in legendary order onto {pt}",
            f"pick up {words} {noun} at {qt} and sort them onto {pt}",
        ])
    elif sort:
        text += c.rng.choice((" in legendary order", " and sort them", ", sorted",
                              " sorted into legendary cakes", " in order"))
    for col in colors:
        c.take_stack(robot, col, q)
    c.ledger.carrying[robot].clear()
    cakes = 3 if sort else len(colors)
    _placed(c, robot, p, cakes)
    if sort and len(colors) == 3:
        nodes = [subtree("BuildLegendaryCakes", quadrant=q, plate=p)]
    else:
        nodes = [*(skill("PickCake", color=col, quadrant=q) for col in colors),
                 skill("PlaceCakes", plate=p, sort=True) if sort else skill("PlaceCakes", plate=p)]
    return Task(nodes, text, True, ("deliver", "several"))


def _gather(c: _Command, robot: str) -> Task:
    """A list of stacks, each from its own quadrant ("brown from quadrant 1, yellow from
    quadrant 2"), usually then placed on one plate (sorted when legendary cakes are asked for)."""
    n = c.rng.choice((2, 2, 3))
    if c.room(robot) < n:
        raise _NoRoom
    colors = list(V.COLORS) if n == 3 and c.rng.random() < 0.6 else c.rng.sample(V.COLORS, n)
    picks = []
    for col in colors:
        q = c.quadrant(robot, col)
        if any(q == x for _, x in picks) and c.rng.random() < 0.7:
            raise _NoRoom
        picks.append((col, q))
        c.take_stack(robot, col, q)
    s = c.style
    parts = [c.rng.choice((f"{col} from {s.quadrant(q)}", f"the {col} {s.cake()[0]} from "
                           f"{s.quadrant(q)}", f"the {col} one in {s.quadrant(q)}"))
             for col, q in picks]
    listed = ", ".join(parts[:-1]) + c.rng.choice((" and ", ", and ")) + parts[-1]
    text = c.rng.choice(("take ", "pick up ", "grab ", "collect ", "get ")) + listed
    nodes = [skill("PickCake", color=col, quadrant=q) for col, q in picks]
    count = n
    if c.rng.random() < 0.75:
        p = c.plate(robot)
        sort = n == 3 and colors == list(V.COLORS) and c.rng.random() < 0.5
        pt = s.plate(p)
        if sort:
            text += c.rng.choice((f" and build legendary cakes on {pt}",
                                  f", then make legendary cakes with them on {pt}",
                                  f" and put them on {pt} in legendary order"))
        else:
            text += c.rng.choice((f" and put them on {pt}", f", then bring them to {pt}",
                                  f" and deliver them all to {pt}", f" to {pt}"))
        c.ledger.carrying[robot].clear()
        _placed(c, robot, p, 3 if sort else n)
        nodes.append(skill("PlaceCakes", plate=p, sort=True) if sort else skill("PlaceCakes", plate=p))
        count += 1
    return Task(nodes, text, True, ("gather",), count=min(count, 4))


def _legendary(c: _Command, robot: str) -> Task:
    if c.room(robot) < 3:
        raise _NoRoom
    q = c.quadrant(robot)
    if any((col, q) not in c.ledger.stacks for col in V.COLORS) and c.reply is None:
        raise _NoRoom
    p = c.plate(robot)
    s = c.style
    qt, pt = s.quadrant(q), s.plate(p)
    text = c.rng.choice([
        f"build legendary cakes from {qt} on {pt}",
        f"make legendary cakes on {pt} from {qt}",
        f"make three legendary cakes on {pt} using the stacks in {qt}",
        f"build the legendary cakes on {pt} with the stacks of {qt}",
        f"assemble legendary cakes on {pt} from {qt}",
        f"use {qt} to build legendary cakes on {pt}",
        f"make legendary cakes from {qt} and put them on {pt}",
    ])
    gapped = c.rng.choice((f"the same on {pt} from {qt}", f"the same with {qt} on {pt}",
                           f"likewise from {qt} onto {pt}", f"the same from {qt} to {pt}")) \
        if c.ellipsis else None
    for col in V.COLORS:
        c.take_stack(robot, col, q)
    c.ledger.carrying[robot].clear()
    _placed(c, robot, p, 3)
    return Task([subtree("BuildLegendaryCakes", quadrant=q, plate=p)], text, True, ("legendary",),
                gapped=gapped)


def _pick(c: _Command, robot: str) -> Task:
    n = 1 if c.rng.random() < 0.75 else 2
    if c.room(robot) < n:
        raise _NoRoom
    s = c.style
    if n == 1:
        color, q = c.stack(robot)
        cake, _ = _cake_words(c, color)
        colors = [color]
    else:
        q = c.quadrant(robot)
        colors = [col for col in V.COLORS if (col, q) in c.ledger.stacks]
        if len(colors) < 2:
            raise _NoRoom
        colors = c.rng.sample(colors, 2)
        cake = f"{_colour_list(colors, s)} {s.cake(plural=True)[0]}"
    qt = s.quadrant(q)
    text = c.rng.choice([f"pick up {cake} in {qt}", f"grab {cake} from {qt}",
                         f"take {cake} at {qt}", f"collect {cake} from {qt}",
                         f"get {cake} in {qt}", f"load {cake} from {qt}",
                         f"go to {qt} and pick up {cake}", f"go get {cake} from {qt}",
                         f"fetch {cake} from {qt}"])
    elided = c.rng.choice((f"{cake} from {qt}", f"{cake} in {qt}", f"{cake} at {qt}")) \
        if c.ellipsis else None
    for col in colors:
        c.take_stack(robot, col, q)
    return Task([skill("PickCake", color=col, quadrant=q) for col in colors], text, True,
                ("pick",), elided=elided)


def _place(c: _Command, robot: str) -> Task:
    if not c.ledger.carrying[robot] and not c.continuation:
        raise _NoRoom
    p = c.plate(robot)
    s = c.style
    pt = s.plate(p)
    sort = c.rng.random() < 0.2
    what = c.rng.choice(("it", "them", "the cakes", "the stacks", "what you carry",
                         "everything you carry", "your stacks", "the layers"))
    text = c.rng.choice([f"put {what} on {pt}", f"place {what} on {pt}",
                         f"drop {what} on {pt}", f"deliver {what} to {pt}",
                         f"unload on {pt}", f"bring {what} to {pt}"])
    if sort and c.held_out_steps:
        text = c.rng.choice(HELD_OUT_STEP_WORDINGS["order"]).format(what=what, pt=pt)
    elif sort and c.said_in_step_form():  # the order said before the plate
        text = c.rng.choice([f"put {what} sorted on {pt}", f"place {what} in order on {pt}",
                             f"stack {what} in legendary order on {pt}",
                             f"put {what} on {pt} sorted by colour",
                             f"sort {what} onto {pt}"])
    elif sort:
        text += c.rng.choice((" in legendary order", " sorted", " and sort them"))
    carried = len(c.ledger.carrying[robot])
    c.ledger.carrying[robot].clear()
    _placed(c, robot, p, 3 if sort else max(carried, 1))
    node = skill("PlaceCakes", plate=p, sort=True) if sort else skill("PlaceCakes", plate=p)
    return Task([node], text, True, ("place",))


def _cherry_count(c: _Command, robot: str) -> int | None:
    if c._poisoned("cherries"):
        n = c.rng.choice((11, 12, 15, 20, 14, 25))
        c.reply = cherries_reply(n)
        return n
    room = V.MAX_CHERRIES_CARRIED - c.ledger.cherries[robot]
    if room <= 0:
        raise _NoRoom
    return None if c.rng.random() < 0.55 else c.rng.randint(1, room)


def _collect(c: _Command, robot: str) -> Task:
    count = _cherry_count(c, robot)
    h, implicit = c.holder_or_unstated(robot, 1 if count is None else min(count, 10), 0.2)
    s = c.style
    ht = s.holder(h)
    what = s.cherries(count)
    if implicit:
        text = c.rng.choice([f"collect {what}", f"grab {what}", f"get {what}",
                             f"pick up {what}", f"go get {what}"])
    else:
        text = c.rng.choice([f"collect {what} from {ht}", f"grab {what} at {ht}",
                             f"take {what} from {ht}", f"pick up {what} from {ht}",
                             f"get {what} from {ht}", f"load {what} at {ht}",
                             f"go to {ht} and collect {what}"])
    if c.reply is None:
        room = V.MAX_CHERRIES_CARRIED - c.ledger.cherries[robot]
        taken = min(room, c.ledger.holders[h], room if count is None else count)
        c.ledger.holders[h] -= taken
        c.ledger.cherries[robot] += taken
        c.ledger.use(robot, f"holder_{h}")
        if count is not None:
            c.ledger.counted[robot].append((h, "" if implicit else ht))
    elided = gapped = None
    if c.ellipsis and not implicit:
        elided = c.rng.choice((f"{what} from {ht}", f"{what} at {ht}"))
        if count is not None and count > 1:  # "... and robot 2 5 from holder 2"
            gapped = c.rng.choice((elided, f"{s.number(count)} from {ht}",
                                   f"{s.number(count)} at {ht}"))
    node = skill("CollectCherries", holder=h) if count is None else \
        skill("CollectCherries", holder=h, count=count)
    return Task([node], text, True, ("cherries",), elided=elided, gapped=gapped)


def _fill_basket(c: _Command, robot: str) -> Task:
    if not c.ledger.free(robot, V.BASKET):
        raise _NoRoom
    count = _cherry_count(c, robot) if c.rng.random() < 0.55 or c.poison == "cherries" else None
    h, implicit = c.holder_or_unstated(robot, 1 if count is None else min(count, 10), 0.4)
    s = c.style
    basket, ht = s.basket(), s.holder(h)
    source = "" if implicit else f" from {ht}"  # where the step forms name the holder
    if count is not None and implicit:  # "put 4 cherries in the basket": from holder 2
        what = s.cherries(count)
        text = c.rng.choice([f"put {what} in {basket}", f"bring {what} to {basket}",
                             f"drop {what} in {basket}", f"get {what} into {basket}",
                             f"deliver {what} to {basket}", f"load {what} into {basket}"])
    elif count is not None:
        what = s.cherries(count)
        text = c.rng.choice([f"put {what} from {ht} in {basket}",
                             f"bring {what} from {ht} to {basket}",
                             f"take {what} from {ht} to {basket}",
                             f"collect {what} at {ht} and put them in {basket}",
                             f"drop {what} from {ht} into {basket}",
                             f"collect {what} from {ht} and drop them in {basket}",
                             f"grab {what} at {ht} then put them in {basket}",
                             f"get {what} from {ht} and dump them into {basket}"])
    elif c.held_out_steps:
        text = c.rng.choice(HELD_OUT_STEP_WORDINGS["basket"]).format(source=source,
                                                                     basket=basket)
    elif c.said_in_step_form():  # collect then drop, no count: all that fit
        text = c.rng.choice([f"collect cherries{source} and drop them in {basket}",
                             f"get cherries{source} and put them in {basket}",
                             f"take the cherries{source} to {basket}",
                             f"grab cherries{source}, then empty them into {basket}"])
    elif implicit:
        text = c.rng.choice([f"fill {basket} with cherries", f"fill {basket}",
                             f"put some cherries in {basket}", f"bring cherries to {basket}"])
    else:
        text = c.rng.choice([f"fill {basket} with cherries from {ht}",
                             f"fill {basket} from {ht}",
                             f"bring the cherries from {ht} to {basket}",
                             f"empty {ht} into {basket}",
                             f"put the cherries of {ht} in {basket}",
                             f"use {ht} to fill {basket}"])
    if c.reply is None:
        room = V.MAX_CHERRIES_CARRIED - c.ledger.cherries[robot]
        if room <= 0:
            raise _NoRoom
        taken = min(room, c.ledger.holders[h], room if count is None else count)
        c.ledger.holders[h] -= taken
        c.ledger.use(robot, f"holder_{h}")
        c.ledger.use(robot, V.BASKET)
        c.ledger.cherries[robot] = 0
    if count is None:
        nodes = [subtree("CherriesToBasket", holder=h)]
    else:
        nodes = [skill("CollectCherries", holder=h, count=count), skill("DropCherries")]
    return Task(nodes, text, True, ("basket",))


def _drop(c: _Command, robot: str) -> Task:
    if (not c.ledger.cherries[robot] and not c.continuation) or not c.ledger.free(robot, V.BASKET):
        raise _NoRoom
    basket = c.style.basket()
    text = c.rng.choice([f"drop the cherries in {basket}", f"put your cherries in {basket}",
                         f"unload the cherries into {basket}", f"empty your cherries into {basket}",
                         f"dump them in {basket}", f"put them in {basket}",
                         f"drop them into {basket}"])
    c.ledger.cherries[robot] = 0
    c.ledger.use(robot, V.BASKET)
    return Task([skill("DropCherries")], text, True, ("basket",))


def _put_cherry(c: _Command, robot: str) -> Task:
    plates = [p for p, n in c.ledger.bare_cakes.items()
              if n > 0 and c.ledger.plate_owner.get(p) == robot]
    have = c.ledger.cherries[robot]
    if not plates or have <= 0:
        raise _NoRoom
    p = c.rng.choice(plates)
    n = min(have, c.ledger.bare_cakes.get(p, 3) or 3, c.rng.choice((1, 1, 1, 2, 3)))
    s = c.style
    pt = s.plate(p)
    if n == 1 and c.ledger.last_plate.get(robot) == p and c.rng.random() < 0.4:
        text = c.rng.choice(["put a cherry on it", "put a cherry on top of it",
                             "add a cherry on top", "crown it with a cherry"])
    elif n == 1:
        text = c.rng.choice([f"put a cherry on the cake on {pt}", f"put a cherry on {pt}",
                             f"place a cherry on top of the cake on {pt}",
                             f"add a cherry to the cake on {pt}",
                             f"crown the cake on {pt} with a cherry",
                             f"top the cake on {pt} with a cherry"])
    else:
        text = c.rng.choice([f"put {s.number(n)} cherries on the cakes on {pt}",
                             f"put a cherry on {s.number(n)} cakes on {pt}",
                             f"add cherries to {s.number(n)} of the cakes on {pt}"])
    c.ledger.bare_cakes[p] = max(0, c.ledger.bare_cakes.get(p, 0) - n)
    c.ledger.cherries[robot] = max(0, c.ledger.cherries[robot] - n)
    return Task([skill("PutCherry", plate=p)] * n, text, True, ("cherry-on-cake",))


def _cherry_on_cake(c: _Command, robot: str) -> Task:
    """"put a cherry from holder 1 on the cake on plate 3": collect exactly as many cherries as
    go on cakes, then put them (the cake is this robot's, or from an earlier command)."""
    plates = [p for p, n in c.ledger.bare_cakes.items()
              if n > 0 and c.ledger.plate_owner.get(p) == robot]
    if not plates:
        if c.rng.random() < 0.5:
            raise _NoRoom
        c.continuation = True  # the cake was placed by an earlier command
        plates = [c.plate(robot)]
    p = c.rng.choice(plates)
    n = min(c.ledger.bare_cakes.get(p, 3) or 3, c.rng.choice((1, 1, 1, 1, 2, 3)))
    if c.ledger.cherries[robot] + n > V.MAX_CHERRIES_CARRIED:
        raise _NoRoom
    h, unstated = c.holder_or_unstated(robot, n, 0.35)
    s = c.style
    pt, ht = s.plate(p), s.holder(h)
    on_it = c.ledger.last_plate.get(robot) == p and c.rng.random() < 0.4
    if unstated:  # "put a cherry on it": from holder 2
        target = c.rng.choice(("on it", "on top", "on top of it")) if on_it else \
            c.rng.choice((f"on the cake on {pt}", f"on {pt}", f"on top of the cake on {pt}"))
        text = c.rng.choice([f"put a cherry {target}", f"add a cherry {target}",
                             f"place a cherry {target}", f"put one cherry {target}"]) \
            if n == 1 else f"put {s.number(n)} cherries {'on them' if on_it else 'on ' + pt}"
    elif n == 1:
        cherry = c.rng.choice(("a cherry", "one cherry", f"{s.number(1)} cherry"))
        target = c.rng.choice(("on it", "on top of it")) if on_it else \
            c.rng.choice((f"on the cake on {pt}", f"on {pt}", f"on top of the cake on {pt}"))
        text = c.rng.choice([f"put {cherry} from {ht} {target}",
                             f"take {cherry} from {ht} and put it {target}",
                             f"get {cherry} at {ht} and place it {target}",
                             f"grab {cherry} from {ht}, then put it {target}",
                             f"crown the cake on {pt} with a cherry from {ht}",
                             f"decorate the cake on {pt} with a cherry from {ht}"])
    else:
        target = "on them" if on_it else f"on the cakes on {pt}"
        text = c.rng.choice([f"put {s.number(n)} cherries from {ht} {target}",
                             f"take {s.number(n)} cherries from {ht} and put them {target}",
                             f"get {s.number(n)} cherries at {ht} and put one on each of "
                             f"{s.number(n)} cakes on {pt}"])
    tags = ("cherry-on-cake",)
    if n >= 2 and n == c.ledger.bare_cakes.get(p) and c.rng.random() < 0.5:
        # "one on each cake": as many cherries as the plate has cakes, counted by the operator
        source = "" if unstated else f" from {ht}"
        text = c.rng.choice([f"put a cherry{source} on each cake on {pt}",
                             f"put one cherry{source} on every cake on {pt}",
                             f"take cherries{source} and put one on each cake on {pt}",
                             f"take {s.cherries(n)}{source} and put one on each cake on {pt}",
                             f"give each cake on {pt} a cherry{source}"])
        tags += ("each-cake",)
    c.ledger.holders[h] -= n
    c.ledger.use(robot, f"holder_{h}")
    c.ledger.bare_cakes[p] = max(0, c.ledger.bare_cakes.get(p, n) - n)
    return Task([skill("CollectCherries", holder=h, count=n), *[skill("PutCherry", plate=p)] * n],
                text, True, tags, count=1)


def _decorate(c: _Command, robot: str) -> Task:
    plates = [p for p, n in c.ledger.bare_cakes.items()
              if n >= 3 and c.ledger.plate_owner.get(p) == robot]
    if not plates or c.ledger.cherries[robot] > V.MAX_CHERRIES_CARRIED - 3:
        raise _NoRoom
    p = c.rng.choice(plates)
    h = c.holder(robot, 3)
    s = c.style
    pt, ht = s.plate(p), s.holder(h)
    text = c.rng.choice([f"decorate the cakes on {pt} with cherries from {ht}",
                         f"decorate {pt} with cherries from {ht}",
                         f"put cherries from {ht} on the three cakes on {pt}",
                         f"use cherries from {ht} to decorate the cakes on {pt}"])
    c.ledger.holders[h] -= 3
    c.ledger.use(robot, f"holder_{h}")
    c.ledger.bare_cakes[p] -= 3
    return Task([subtree("DecorateCakes", holder=h, plate=p)], text, True, ("decorate",))


def _move(c: _Command, robot: str) -> Task:
    s = c.style
    if c._poisoned("place"):
        name = c.rng.choice(OFF_FIELD_PLACES)
        c.reply = (f"I can only use our own basket, not {name.removeprefix('the ')}."
                   if "basket" in name else unknown_place_reply(name.removeprefix("the ")))
        place_text, place = name, V.HOME
    else:
        kind = c.rng.choice(("plate", "quadrant", "holder", "basket", "plate", "quadrant"))
        if kind == "basket":
            if not c.ledger.free(robot, V.BASKET):
                raise _NoRoom
            place, place_text = V.BASKET, s.basket()
        elif kind == "plate":
            n = c.plate(robot)
            place, place_text = f"plate_{n}", s.plate(n)
        elif kind == "quadrant":
            n = c.quadrant(robot)
            place, place_text = f"quadrant_{n}", s.quadrant(n)
        else:
            n = c.holder(robot, 0)
            place, place_text = f"holder_{n}", s.holder(n)
    c.ledger.use(robot, place)
    node = skill("MoveTo", target=place)
    if c.rng.random() < 0.12:  # "R1 to holder 3 now": no verb, so no "robot 1 goes ..."
        return Task([node], c.rng.choice((f"to {place_text}", f"to {place_text} now",
                                          f"over to {place_text}")), False, ("move",))
    text = c.rng.choice((f"{c.rng.choice(_GO)} to {place_text}",
                         f"{c.rng.choice(_GO)} to {place_text}",
                         f"{c.rng.choice(_STAND)} {place_text}"))
    return Task([node], text, True, ("move",))


_GO = ("go", "drive", "move", "head", "go over", "navigate", "get over", "roll", "get yourself")
_STAND = ("park at", "park next to", "go wait at", "go and stand at", "stop at", "wait at",
          "position yourself at", "go stand next to")


def _home(c: _Command, robot: str) -> Task:
    text = c.rng.choice(["go home", "go home", "return home", "go back home", "drive home",
                         "head back home", "come back home", "go back to base",
                         f"return to {c.style.home()}", f"go to {c.style.home()}",
                         f"drive back to {c.style.home()}", "park at home",
                         "head home"])
    return Task([skill("MoveTo", target=V.HOME)], text, True, ("home",))


def _funny(c: _Command, robot: str) -> Task:
    text = c.rng.choice(["do the funny action", "do your funny action", "put on the disguise",
                         "do the disguise", "perform the funny action",
                         "do the end of match disguise", "show your disguise",
                         "put on your disguise", "do the funny thing",
                         "do the disguise thing", "do your little dance", "do the costume thing"])
    return Task([skill("FunnyAction")], text, True, ("funny",))


def _finish(c: _Command, robot: str) -> Task:
    text = c.rng.choice(["finish the match", "wrap up the match", "end the match",
                         "do the end of match routine", "finish up the game",
                         "wrap up the game"])
    return Task([subtree("FinishMatch")], text, True, ("finish",))


def _wait(c: _Command, robot: str) -> Task:
    seconds = c.rng.choice((1, 2, 3, 5, 5, 10, 4, 8, 15, 20, c.rng.randint(1, 30)))
    s = c.style
    text = c.rng.choice([f"wait {s.seconds(seconds)}", f"pause for {s.seconds(seconds)}",
                         f"wait there for {s.seconds(seconds)}", f"wait {s.seconds(seconds)} there",
                         f"stay there {s.seconds(seconds)}",
                         f"wait for {s.seconds(seconds)}", f"hold on for {s.seconds(seconds)}",
                         f"stay put for {s.seconds(seconds)}"])
    return Task([skill("Wait", seconds=float(seconds))], text, True, ("wait",))


def _say(c: _Command, robot: str) -> Task:
    said = c.rng.choice(SAY_TEXTS) if c.rng.random() < 0.4 else \
        " ".join(c.rng.choice(SAY_WORDS) for _ in range(c.rng.randint(1, 5)))
    quoted = said if c.style.speech else f'"{said}"'
    text = c.rng.choice([f"say {quoted}", f"announce {quoted}", f"tell the operator {quoted}",
                         f"report {quoted}", f"say {quoted} to me"])
    return Task([skill("Say", text=said)], text, True, ("say",))


def _fallback_pick(c: _Command, robot: str) -> Task:
    """"take the pink from quadrant 1, if it is gone the yellow" (the first is there)."""
    if c.room(robot) < 1:
        raise _NoRoom
    first, q = c.stack(robot)
    s = c.style
    if c.rng.random() < 0.7:
        second, q2 = c.rng.choice([col for col in V.COLORS if col != first]), q
    else:
        second = first
        q2 = c.rng.choice([x for x in range(1, V.N_QUADRANTS + 1)
                           if x != q and c.ledger.free(robot, f"quadrant_{x}")] or [q])
        if q2 == q:
            raise _NoRoom
    noun, it = s.cake()
    qt = s.quadrant(q)
    alt = f"the {second} one" if q2 == q else f"the {second} {noun} from {s.quadrant(q2)}"
    alt_short = f"the {second}" if q2 == q else f"the one in {s.quadrant(q2)}"
    text = c.rng.choice([
        f"take the {first} {noun} from {qt}, or {alt} if {it} is gone",
        f"take the {first} {noun} from {qt}; if {it} is gone take {alt}",
        f"pick up the {first} {noun} in {qt}, if {it}'s not there {alt_short}",
        f"grab the {first} {noun} at {qt}, otherwise {alt}",
        f"try the {first} {noun} in {qt} and fall back to {alt}",
        f"get the {first} {noun} from {qt} and if that fails {alt_short}",
    ])
    nodes = [control("Fallback", skill("PickCake", color=first, quadrant=q),
                     skill("PickCake", color=second, quadrant=q2))]
    c.take_stack(robot, first, q)
    c.ledger.stacks.discard((second, q2))
    c.ledger.use(robot, f"quadrant_{q2}")
    tags = ("condition", "fallback")
    if c.rng.random() < 0.7:
        p = c.plate(robot)
        text += c.rng.choice((f", and bring it to {s.plate(p)}", f", then put it on {s.plate(p)}",
                              f" and deliver it to {s.plate(p)}"))
        c.ledger.carrying[robot].clear()
        _placed(c, robot, p, 1)
        nodes.append(skill("PlaceCakes", plate=p))
    return Task(nodes, text, True, tags)


def _fallback_collect(c: _Command, robot: str) -> Task:
    if c.ledger.cherries[robot] >= V.MAX_CHERRIES_CARRIED:
        raise _NoRoom
    h1 = c.holder(robot, 1)
    h2 = c.rng.choice([h for h in range(1, V.N_HOLDERS + 1)
                       if h != h1 and c.ledger.free(robot, f"holder_{h}")] or [h1])
    if h2 == h1:
        raise _NoRoom
    s = c.style
    t1, t2 = s.holder(h1), s.holder(h2)
    room = V.MAX_CHERRIES_CARRIED - c.ledger.cherries[robot]
    count = c.rng.randint(1, room) if c.rng.random() < 0.4 else None
    what = "cherries" if count is None else s.cherries(count)
    text = c.rng.choice([f"collect {what} at {t1}, or at {t2} if it is empty",
                         f"take {what} from {t1}; if it's empty use {t2}",
                         f"get {what} from {t1}, otherwise from {t2}",
                         f"grab {what} at {t1} and if that fails at {t2}",
                         f"collect {what} from {t1}, if it is empty use {t2}"])
    taken = min(room, c.ledger.holders[h1], room if count is None else count)
    c.ledger.holders[h1] -= taken
    c.ledger.cherries[robot] += taken
    c.ledger.use(robot, f"holder_{h1}")
    c.ledger.use(robot, f"holder_{h2}")
    ports = {} if count is None else {"count": count}
    return Task([control("Fallback", skill("CollectCherries", holder=h1, **ports),
                         skill("CollectCherries", holder=h2, **ports))],
                text, True, ("condition", "fallback"))


def _if_carrying(c: _Command, robot: str) -> Task:
    """"if you carry cherries, drop them in the basket" / "if you have a cake, put it on plate
    2": ``Fallback[Inverter[IsCarrying], step]`` (nothing to do is not a failure)."""
    item = "cake" if c.ledger.carrying[robot] else "cherries"
    if item == "cherries" and not c.ledger.cherries[robot] and not c.continuation:
        raise _NoRoom
    inner = _place(c, robot) if item == "cake" else _drop(c, robot)
    have = c.rng.choice(("carry", "have", "are carrying", "still have", "hold"))
    what = c.rng.choice(("a cake", "any stacks", "a stack", "cakes")) if item == "cake" else \
        c.rng.choice(("cherries", "any cherries", "some cherries"))
    if c.rng.random() < 0.35:  # "..., otherwise go home": the check guards the step
        home = _home(c, robot)
        text = c.rng.choice((f"if you {have} {what}, {inner.text}, otherwise {home.text}",
                             f"if you {have} {what} {inner.text} otherwise {home.text}",
                             f"{inner.text} if you {have} {what}, else {home.text}"))
        node = control("Fallback", sequence_of([skill("IsCarrying", item=item), *inner.nodes]),
                       *home.nodes)
        return Task([node], text, False, ("condition", "if-carrying"))
    text = c.rng.choice((f"if you {have} {what}, {inner.text}", f"{inner.text} if you {have} {what}"))
    node = control("Fallback", control("Inverter", skill("IsCarrying", item=item)), *inner.nodes)
    return Task([node], text, False, ("condition", "if-carrying"))


def _unless_there(c: _Command, robot: str) -> Task:
    """"go to the basket unless you are already there": ``Fallback[IsAt, MoveTo]``."""
    inner = c.rng.choice((_move, _home))(c, robot)
    target = inner.nodes[0].port("target")
    text = c.rng.choice((f"{inner.text} unless you are already there",
                         f"{inner.text} if you are not there yet",
                         f"{inner.text}, unless you're already there"))
    node = control("Fallback", skill("IsAt", target=target), *inner.nodes)
    return Task([node], text, inner.inflect, ("condition", "if-at"))


def _time_guard(c: _Command, robot: str) -> Task:
    inner = c.rng.choice(_GUARDABLE)(c, robot)
    seconds = c.rng.choice((10, 15, 20, 30, 40, 50))
    s = c.style
    body = inner.nodes
    if c.rng.random() < 0.5:
        text = c.rng.choice([
            f"if at least {s.seconds(seconds)} are left, {inner.text}, otherwise go home",
            f"if there are {s.seconds(seconds)} left {inner.text}, else go home",
            f"{inner.text} if {s.seconds(seconds)} remain, otherwise return home",
        ])
        nodes = [control("Fallback", sequence_of([skill("TimeLeft", seconds=float(seconds)),
                                                  *body]), skill("MoveTo", target=V.HOME))]
        if nodes[0].children[0].tag != "Sequence":
            raise _NoRoom
    else:
        text = c.rng.choice([
            f"only if at least {s.seconds(seconds)} are left, {inner.text}",
            f"if {s.seconds(seconds)} or more remain, {inner.text}",
            f"{inner.text}, but only if there are still {s.seconds(seconds)} left",
        ])
        nodes = [skill("TimeLeft", seconds=float(seconds)), *body]
    return Task(nodes, text, False, ("condition", "time"))


def _retry(c: _Command, robot: str) -> Task:
    inner = c.rng.choice(_GUARDABLE)(c, robot)
    n = c.rng.choice((2, 3, 3, 5))
    s = c.style
    text = c.rng.choice([f"try up to {s.number(n)} times to {inner.text}",
                         f"{inner.text}, retrying up to {s.number(n)} times if it fails",
                         f"{inner.text} and retry {s.number(n)} times if needed"])
    return Task([control("RetryUntilSuccessful", sequence_of(inner.nodes), num_attempts=n)],
                text, text.startswith("try"), ("retry",))


def _timeout(c: _Command, robot: str) -> Task:
    inner = c.rng.choice(_GUARDABLE)(c, robot)
    seconds = c.rng.choice((20, 30, 40, 60))
    s = c.style
    text = c.rng.choice([f"{inner.text} within {s.seconds(seconds)}",
                         f"{inner.text}, but give up after {s.seconds(seconds)}",
                         f"{inner.text} in at most {s.seconds(seconds)}"])
    return Task([control("Timeout", sequence_of(inner.nodes), msec=seconds * 1000)], text,
                inner.inflect, ("timeout",))


def _step_guard(c: _Command, robot: str) -> Task:
    """A retry or a time limit on the one step the words name ("..., retrying the pick-up up
    to 3 times, then put it on plate 2"): the decorator wraps that step alone, never the steps
    around it, which must not run twice."""
    s = c.style
    kind = c.rng.choice(("deliver", "deliver", "cherries", "move"))
    retry = c.rng.random() < 0.6
    n, seconds = c.rng.choice((2, 3, 3, 5)), c.rng.choice((10, 20, 30, 40))
    tries, limit = s.number(n), s.seconds(seconds)
    if kind == "deliver":
        first, second = _deliver(c, robot).nodes
        color, q, p = first.port("color"), first.port("quadrant"), second.port("plate")
        cake, it = _cake_words(c, color)
        qt, pt = s.quadrant(q), s.plate(p)
        on_place = retry and c.rng.random() < 0.3
        guarded = 1 if on_place else 0
        if on_place:
            text = c.rng.choice([f"pick up {cake} from {qt}, then put {it} on {pt}, retrying "
                                 f"the placing up to {tries} times",
                                 f"take {cake} from {qt} and try up to {tries} times to put "
                                 f"{it} on {pt}"])
        elif retry:
            text = c.rng.choice([f"pick up {cake} from {qt}, trying up to {tries} times, then "
                                 f"put {it} on {pt}",
                                 f"take {cake} from {qt} to {pt}, and if the pick-up fails, "
                                 f"retry it up to {tries} times",
                                 f"try up to {tries} times to pick up {cake} in {qt}, then "
                                 f"place {it} on {pt}"])
        else:
            text = c.rng.choice([f"pick up {cake} from {qt} within {limit}, then put {it} on "
                                 f"{pt}",
                                 f"bring {cake} from {qt} to {pt}, giving the pick-up at most "
                                 f"{limit}"])
        steps = [first, second]
    elif kind == "cherries":
        count = c.rng.randint(2, V.MAX_CHERRIES_CARRIED - c.ledger.cherries[robot]) \
            if c.ledger.cherries[robot] < V.MAX_CHERRIES_CARRIED - 1 else None
        if count is None or not c.ledger.free(robot, V.BASKET):
            raise _NoRoom
        h = c.holder(robot, count)
        ht, basket, what = s.holder(h), s.basket(), s.cherries(count)
        c.ledger.holders[h] -= count
        c.ledger.use(robot, f"holder_{h}")
        c.ledger.use(robot, V.BASKET)
        guarded = 0
        text = c.rng.choice([f"collect {what} from {ht}, retrying up to {tries} times, then "
                             f"drop them in {basket}",
                             f"collect {what} at {ht} and retry that up to {tries} times if "
                             f"it fails, then put them in {basket}"] if retry else
                            [f"collect {what} from {ht} within {limit}, then drop them in "
                             f"{basket}",
                             f"take {what} from {ht}, but give up on that after {limit}, and "
                             f"put them in {basket}"])
        steps = [skill("CollectCherries", holder=h, count=count), skill("DropCherries")]
    else:
        move, place = _move_to_place(c, robot)
        wait = c.rng.choice((2, 3, 5))
        text = f"go to {place}, retrying up to {tries} times, then wait {s.seconds(wait)}" \
            if retry else f"go to {place} within {limit}, then wait {s.seconds(wait)}"
        guarded = 0
        steps = [move, skill("Wait", seconds=float(wait))]
    steps[guarded] = control("RetryUntilSuccessful", steps[guarded], num_attempts=n) if retry \
        else control("Timeout", steps[guarded], msec=seconds * 1000)
    return Task(steps, text, True, ("retry-step" if retry else "timeout-step",))


def _move_to_place(c: _Command, robot: str) -> tuple[Node, str]:
    """A ``MoveTo`` of :func:`_move` and how the command names its place ("plate three")."""
    if c.poison == "place":
        raise _NoRoom  # its reply names a place these words do not
    move = _move(c, robot).nodes[0]
    kind, _, n = move.port("target").partition("_")
    s = c.style
    named = {"plate": s.plate, "quadrant": s.quadrant, "holder": s.holder}
    return move, named[kind](int(n)) if n else s.basket()


def _wait_at(c: _Command, robot: str) -> Task:
    """A wait at a place ("wait 5 seconds at plate 3", "stop at holder 2 for 3 seconds"): go
    there, then wait; the words name both."""
    move, place = _move_to_place(c, robot)
    seconds = c.rng.choice((2, 3, 5, 5, 10, c.rng.randint(1, 20)))
    sec = c.style.seconds(seconds)
    text = c.rng.choice([f"wait {sec} at {place}", f"go to {place} and wait {sec} there",
                         f"stop at {place} for {sec}", f"stay at {place} for {sec}",
                         f"park at {place} for {sec}", f"go wait at {place} for {sec}",
                         f"pause at {place} for {sec}"])
    return Task([move, skill("Wait", seconds=float(seconds))], text, True, ("wait-at",))


def _rest_of_holder(c: _Command, robot: str) -> Task:
    """Counted cherries and "the rest": "put 4 cherries from holder 1 in the basket, then the
    rest too": the rest is what the holder still has, in a second load."""
    if c.ledger.cherries[robot] or not c.ledger.free(robot, V.BASKET):
        raise _NoRoom
    h = c.holder(robot, V.CHERRIES_PER_HOLDER)
    k = c.rng.randint(2, V.CHERRIES_PER_HOLDER - 2)
    rest = V.CHERRIES_PER_HOLDER - k
    s = c.style
    ht, basket, what = s.holder(h), s.basket(), s.cherries(k)
    text = c.rng.choice([f"put {what} from {ht} in {basket}, then bring the rest too",
                         f"collect {what} at {ht} and drop them in {basket}, then collect the "
                         f"rest of {ht} and drop those as well",
                         f"take {what} from {ht} to {basket} and after that the remaining "
                         f"cherries of {ht}",
                         f"bring {what} from {ht} to {basket}, then go back for the rest"])
    c.ledger.holders[h] = 0
    c.ledger.use(robot, f"holder_{h}")
    c.ledger.use(robot, V.BASKET)
    return Task([skill("CollectCherries", holder=h, count=k), skill("DropCherries"),
                 _collect_rest(c, h, rest), skill("DropCherries")], text, True,
                ("rest", "basket"), count=2)


def _collect_rest(c: _Command, holder: int, rest: int) -> Node:
    """An empty robot's collection of the ``rest`` cherries a holder still has: with the rest
    forms, all that fit (no count to work out), before them the count."""
    return skill("CollectCherries", holder=holder) if c.rest_forms else \
        skill("CollectCherries", holder=holder, count=rest)


def _rest_left(c: _Command, robot: str) -> tuple[int, str] | None:
    """The holder this robot last took a counted load from (and how the words said it, "" if
    they did not), if it still has cherries and the robot has room for all of them (the rest
    forms' follow-up)."""
    for h, said in reversed(c.ledger.counted[robot]):
        if c.ledger.holders[h] > 0:
            room = V.MAX_CHERRIES_CARRIED - c.ledger.cherries[robot]
            return (h, said) if c.ledger.holders[h] <= room else None
    return None


def _rest_of_collected(c: _Command, robot: str) -> Task:
    """The rest forms' "then the rest of it" after a counted load: what the holder still has,
    collected with no count (all that fit, which is all of it: :func:`_rest_left`). ``text``
    names the holder, as the load did or, where the load left it unsaid, as the default holder;
    only ``bare``, which :func:`_join` uses right after the load, calls it "it" or leaves it
    unsaid."""
    found = _rest_left(c, robot)
    if found is None:
        raise _NoRoom
    h, said = found
    rng = c.rng

    def rest(place: str) -> str:
        if not place:
            return rng.choice(("the rest", "whatever is left", "what's left",
                               "the remaining cherries"))
        return rng.choice((f"the rest of {place}", f"whatever is left in {place}",
                           f"what's left in {place}", f"the rest from {place}",
                           *((f"the remaining cherries of {place}",) if place != "it" else ())))

    verb = rng.choice(("take", "grab", "collect", "get", "pick up", "load"))
    text = f"{verb} {rest(said or c.style.holder(h))}"
    bare = rest(rng.choice((said, "it")) if said else "")
    bare = rng.choice((bare, f"{bare} too", f"{bare} as well"))
    c.ledger.cherries[robot] += c.ledger.holders[h]
    c.ledger.holders[h] = 0
    return Task([skill("CollectCherries", holder=h)], text, True, ("rest", "cherries"),
                bare=bare)


def _is_load_of(task: Task, holder: int) -> bool:
    """Whether a task is a counted load of ``holder`` and nothing else, so that what follows it
    can call the holder "it" ("take 3 from holder 2, then the rest of it")."""
    return len(task.nodes) == 1 and task.nodes[0].tag == "CollectCherries" \
        and task.nodes[0].port("holder") == holder and task.nodes[0].port("count") is not None


def _rest_of_load(c: _Command, robot: str) -> Task:
    """One counted load shared out: "take 6 cherries from holder 1, put one on each cake on
    plate 3 and the rest in the basket" (the cakes are this robot's)."""
    plates = [p for p, n in c.ledger.bare_cakes.items()
              if n > 0 and c.ledger.plate_owner.get(p) == robot]
    if not plates or c.ledger.cherries[robot] or not c.ledger.free(robot, V.BASKET):
        raise _NoRoom
    p = c.rng.choice(plates)
    cakes = c.ledger.bare_cakes[p]
    k = c.rng.randint(cakes + 1, V.MAX_CHERRIES_CARRIED)
    h = c.holder(robot, k)
    s = c.style
    what, ht, pt, basket = s.cherries(k), s.holder(h), s.plate(p), s.basket()
    text = c.rng.choice([f"take {what} from {ht}, put one on each cake on {pt} and the rest in "
                         f"{basket}",
                         f"collect {what} at {ht}, give every cake on {pt} one and drop the "
                         f"rest in {basket}",
                         f"get {what} from {ht}, one for each cake on {pt}, the rest into "
                         f"{basket}"])
    c.ledger.holders[h] -= k
    c.ledger.use(robot, f"holder_{h}")
    c.ledger.use(robot, V.BASKET)
    c.ledger.bare_cakes[p] = 0
    return Task([skill("CollectCherries", holder=h, count=k), *[skill("PutCherry", plate=p)] *
                 cakes, skill("DropCherries")], text, True, ("rest-of-load", "cherry-on-cake"),
                count=2)


# makers a condition or decorator can wrap
_GUARDABLE: tuple[Maker, ...] = (_deliver, _deliver, _collect, _fill_basket, _move, _legendary)

# (maker, weight) for the first task of a robot; follow-ups depend on what it carries
_MAKERS: tuple[tuple[Maker, float], ...] = (
    (_deliver, 14), (_deliver_several, 5), (_legendary, 5), (_gather, 3), (_pick, 5), (_collect, 6),
    (_fill_basket, 7), (_move, 7), (_home, 5), (_funny, 3), (_finish, 2), (_wait, 2),
    (_say, 2), (_fallback_pick, 3.5), (_fallback_collect, 1.5), (_time_guard, 2), (_retry, 1.2),
    (_timeout, 0.8), (_unless_there, 0.6),
    (_cherry_on_cake, 3), (_step_guard, 1.5), (_wait_at, 2), (_rest_of_holder, 1),
)
_CARRY_FOLLOW_UPS: tuple[tuple[Maker, float], ...] = ((_place, 6), (_if_carrying, 0.5), (_move, 2))
_CHERRY_FOLLOW_UPS: tuple[tuple[Maker, float], ...] = ((_drop, 6), (_put_cherry, 3),
                                                       (_if_carrying, 0.5))
_POISON_MAKERS: dict[str, tuple[Maker, ...]] = {
    "quadrant": (_deliver, _pick, _legendary, _deliver_several, _fallback_pick, _gather),
    "plate": (_deliver, _legendary, _deliver_several),
    "holder": (_collect, _fill_basket),
    "colour": (_deliver, _pick, _deliver_several, _fallback_pick),
    "cherries": (_collect, _fill_basket),
    "place": (_move,),
    "robot": (),
    "action": (),
    "stacks": (),
    "chitchat": (),
}


def _weighted(rng: random.Random, table: tuple[tuple[Maker, float], ...]) -> Maker:
    makers, weights = zip(*table)
    return rng.choices(makers, weights)[0]


def _next_task(c: _Command, robot: str, previous: Task | None, budget: int = 4) -> Task:
    """A task for ``robot``, favouring the natural follow-up of what it carries."""
    ledger = c.ledger
    for _ in range(30):
        own_cakes = any(n > 0 and ledger.plate_owner.get(p) == robot
                        for p, n in ledger.bare_cakes.items())
        if ledger.carrying[robot] and c.rng.random() < 0.75:
            maker = _weighted(c.rng, _CARRY_FOLLOW_UPS)
        elif ledger.cherries[robot] and c.rng.random() < 0.7:
            bare = [p for p, n in ledger.bare_cakes.items()
                    if n >= 3 and ledger.plate_owner.get(p) == robot]
            maker = _decorate if bare and c.rng.random() < 0.3 else \
                _weighted(c.rng, _CHERRY_FOLLOW_UPS)
            if c.rest_forms and _rest_left(c, robot) is not None \
                    and c.rng.random() < c.rest_forms:
                maker = _rest_of_collected
        elif own_cakes and previous is not None and c.rng.random() < 0.3:
            maker = _rest_of_load if c.rng.random() < 0.25 else _cherry_on_cake
        elif previous is not None and "move" in previous.tags and c.rng.random() < 0.25:
            maker = _wait  # "go to plate 1 and wait there 5 seconds"
        else:
            maker = _weighted(c.rng, _MAKERS)
        if previous is not None and maker in (_home, _finish) and c.rng.random() < 0.3:
            continue
        snapshot = _snapshot(c)
        try:
            task = maker(c, robot)
        except _NoRoom:
            _restore(c, snapshot)
            continue
        if task.count <= budget:
            return task
        _restore(c, snapshot)
    raise _NoRoom


def _snapshot(c: _Command) -> tuple:
    led = c.ledger
    return (set(led.stacks), dict(led.holders), dict(led.bare_cakes), dict(led.plate_owner),
            {r: list(v) for r, v in led.carrying.items()}, dict(led.cherries),
            {r: set(v) for r, v in led.places.items()}, dict(led.last_plate),
            {r: list(v) for r, v in led.counted.items()}, c.reply, c.continuation)


def _restore(c: _Command, snap: tuple) -> None:
    led = c.ledger
    (led.stacks, led.holders, led.bare_cakes, led.plate_owner, led.carrying, led.cherries,
     led.places, led.last_plate, led.counted, c.reply, c.continuation) = snap


# --- joining tasks into a command -----------------------------------------------------------

_THEN = (", then ", " then ", " and then ", ", and then ", ", after that ", ". After that, ",
         "; then ", " and ", ", next ", ". Then ", ", afterwards ")
_LAST = (", and finally ", " and finally ", ", then finally ", ". Finally, ")


def _join(c: _Command, tasks: list[Task], third: bool = False,
          elide_first: bool = False) -> str:
    """The tasks said one after the other; with the ellipsis forms on, the first said with its
    verb left out where ``elide_first`` (it comes right after the robot's name), and a task
    after one of its kind ("deliver the brown ... to plate 1 and the pink ... to plate 3")."""
    texts = [t.third_person() if third and t.inflect else t.text for t in tasks]
    rng = c.rng
    if len(texts) == 2 and not third and rng.random() < 0.15 and not tasks[1].bare:
        a, b = texts
        return rng.choice((f"{b}, but first {a}", f"{b} after you {a}", f"first {a}, then {b}",
                           f"before you {b}, {a}"))
    if elide_first and tasks[0].elided and c.said_elliptically():
        texts[0] = tasks[0].elided
    for i in range(1, len(tasks)) if c.ellipsis else ():
        after = tasks[i].said_after_its_kind()
        if after and tasks[i].tags[:1] == tasks[i - 1].tags[:1] and c.said_elliptically():
            texts[i] = after
    for i in range(1, len(tasks)) if c.rest_forms else ():
        # "take 3 from holder 2 then the rest of it": only right after the load it is the rest of
        if tasks[i].bare and _is_load_of(tasks[i - 1], tasks[i].nodes[0].port("holder")) \
                and rng.random() < 0.5:
            texts[i] = tasks[i].bare
    if len(texts) == 1:
        return texts[0]
    out = ("first " if rng.random() < 0.1 and not third else "") + texts[0]
    for i, text in enumerate(texts[1:], 1):
        sep = rng.choice(_LAST) if i == len(texts) - 1 and i >= 2 and rng.random() < 0.4 \
            else rng.choice(_THEN)
        if i == 1 and c.family in _HELD_OUT_CONNECTIVES:
            sep = rng.choice(_HELD_OUT_CONNECTIVES[c.family])
        out += sep + text
    return out


def _address(c: _Command, robot: str, tasks: list[Task], follows: Sequence[Task] = ()) -> str:
    """"Robot 1, bring ...", "have R1 bring ...", "robot one should bring ...", "R1 brings ...".
    ``follows``: the other robot's tasks said right before (or that may be): a first step said
    without its verb after one of another kind would borrow that verb ("robot 2 put cherries in
    the basket, robot 1 the brown one in quadrant 3"), so it keeps its verb then."""
    name = c.say_robot(robot, start=True)
    rng = c.rng
    if c.family in _HELD_OUT_ADDRESSES:
        return rng.choice(_HELD_OUT_ADDRESSES[c.family]).format(r=name, tasks=_join(c, tasks))
    style = rng.random()
    # only right after the name: "robot 2, the yellow from quadrant 1"
    elide = bool(c.ellipsis) and all(t.tags[:1] == tasks[0].tags[:1] for t in follows)
    if style < 0.4:
        return f"{name}, {_join(c, tasks, elide_first=elide)}"
    if style < 0.55:
        return f"{name} {_join(c, tasks, elide_first=elide)}"
    if style < 0.62:
        return f"{name}: {_join(c, tasks, elide_first=elide)}"
    if style < 0.85:
        lead = rng.choice(("{r} should ", "I want {r} to ", "tell {r} to ", "have {r} ",
                           "let {r} ", "{r} needs to ", "{r} will ", "use {r} to ", "{r} please ",
                           "{r} you have to ", "{r} go and "))
        return lead.format(r=name) + _join(c, tasks)
    if all(t.inflect for t in tasks):
        return f"{name} {_join(c, tasks, third=True)}"
    return f"{name}, {_join(c, tasks)}"


def _tasks_for(c: _Command, robot: str, n: int) -> list[Task]:
    tasks: list[Task] = []
    while sum(t.count for t in tasks) < n:
        tasks.append(_next_task(c, robot, tasks[-1] if tasks else None,
                                n - sum(t.count for t in tasks)))
    return tasks


def _nodes(tasks: list[Task]) -> list[Node]:
    return [node for t in tasks for node in t.nodes]


@dataclass
class _Draft:
    trees: dict[str, list[Node]]
    text: str
    tasks: int
    tags: set[str]


def _single(c: _Command, n: int, addressed: bool) -> _Draft:
    robot = "robot1" if not addressed else c.rng.choice(V.ROBOTS)
    tasks = _tasks_for(c, robot, n)
    if addressed:
        text = _address(c, robot, tasks)
        tags = {"one-robot"}
    else:
        lead = c.rng.choice(("", "", "", "", "someone ", "one of you ", "somebody ",
                             "one robot should ", "can someone "))
        text = lead + _join(c, tasks)
        tags = {"unaddressed"}
    return _Draft({robot: _nodes(tasks)}, text, n, tags | _task_tags(tasks))


def _task_tags(tasks: list[Task]) -> set[str]:
    return {tag for t in tasks for tag in t.tags}


def _two(c: _Command, n: int) -> _Draft:
    rng = c.rng
    shared_end = n >= 3 and rng.random() < 0.3
    k = n - 1 if shared_end else n
    a = rng.randint(1, k - 1)
    first, second = ("robot1", "robot2") if rng.random() < 0.7 else ("robot2", "robot1")
    ta = _tasks_for(c, first, a)
    tb = _tasks_for(c, second, k - a)
    text_a = _address(c, first, ta)
    if rng.random() < 0.15:
        other = rng.choice(("the other robot", "the other one", "the other bot"))
        text_b = f"{other} {_join(c, tb, third=all(t.inflect for t in tb))}" \
            if rng.random() < 0.5 else f"{other} should {_join(c, tb)}"
    else:
        # said after the first robot's tasks, or after its first alone (below)
        text_b = _address(c, second, tb, follows=(ta[0], ta[-1]))
    sep = rng.choice(("; ", ". ", ", and ", " and ", ", meanwhile ", ". Meanwhile, ",
                      " while ", ", at the same time ", "; at the same time ", " - "))
    text = text_a + sep + text_b
    if len(ta) >= 2 and rng.random() < 0.25:  # "R1 ..., R2 ..., and R1 then ...": one tree each
        text = (_address(c, first, ta[:1]) + sep + text_b
                + rng.choice((", then ", ", and ", ". Then ", "; after that ", " and then "))
                + _address(c, first, ta[1:], follows=tb[-1:]))
    trees = {first: _nodes(ta), second: _nodes(tb)}
    if shared_end:
        end = rng.choice((_home, _home, _funny, _finish))(c, first)
        both = rng.choice(("then both of you ", "then both robots ", "after that both ",
                           "and then you both ", "finally both robots "))
        text += ", " + both + end.text
        for robot in V.ROBOTS:
            trees[robot] = trees[robot] + end.nodes
    tags = {"both-robots"} | _task_tags(ta + tb)
    if "meanwhile" in sep.lower() or "same time" in sep or "while" in sep:
        tags.add("meanwhile")
    return _Draft(trees, text, n, tags)


GAPPED_SHARE = 0.15
"""Of the commands of two or more tasks, the share (times the config's ``ellipsis``) drafted by
:func:`_gapped`."""


def _gapped(c: _Command, n: int) -> _Draft:
    """Both robots given a task of one kind, the second's said with its verb left out: "robot 1
    take 5 cherries from holder 1 and robot 2 5 from holder 2", "robot 1, build legendary cakes
    on plate 2 from quadrant 2; robot 2, the same on plate 3 from quadrant 3"."""
    rng = c.rng
    held_out = c.family == "gap-wording"  # HELD_OUT_GAP_WORDINGS, around a verbless step
    maker = rng.choice((_deliver, _deliver, _pick, _collect, _collect) +
                       (() if held_out else (_legendary,)))
    first, second = ("robot1", "robot2") if rng.random() < 0.7 else ("robot2", "robot1")
    ta = maker(c, first)
    tb = maker(c, second)
    gapped = tb.elided if held_out else tb.said_after_its_kind()
    if gapped is None:  # a task that cannot be said so (cherries from an unstated holder)
        raise _NoRoom
    if held_out and ta.nodes[0].port("count") != tb.nodes[0].port("count"):
        raise _NoRoom  # "ditto, the cherries from holder 4" after 5 cherries: 5, or all?
    sep = rng.choice((" and ", ", and ", ", ", "; ", ". "))
    name_a = c.say_robot(first, start=True)
    name_b = c.say_robot(second, start=sep == ". ")
    said_b = rng.choice(HELD_OUT_GAP_WORDINGS).format(b=name_b, step=gapped) if held_out else \
        rng.choice((f"{name_b} {gapped}", f"{name_b}, {gapped}", f"{name_b}: {gapped}"))
    text = rng.choice((f"{name_a}, {ta.text}", f"{name_a} {ta.text}", f"{name_a}: {ta.text}")) \
        + sep + said_b
    trees = {first: list(ta.nodes), second: list(tb.nodes)}
    tasks = 2
    if n >= 3 and rng.random() < 0.5:
        end = rng.choice((_home, _home, _funny, _finish))(c, first)
        text += rng.choice((", then both of you ", " then you both ", ", and then both robots ",
                            ". Then both ")) + end.text
        for robot in V.ROBOTS:
            trees[robot] = trees[robot] + end.nodes
        tasks = 3
    return _Draft(trees, text, tasks, {"both-robots", "ellipsis"} | _task_tags([ta, tb]))


def _shared_count(c: _Command) -> _Draft:
    """A count of cherries the two robots share: "robot 1 and robot 2 together collect 16
    cherries, from holder 1 and holder 3" is 8 each, each robot from its own holder."""
    rng, s = c.rng, c.style
    each = rng.randint(2, V.MAX_CHERRIES_CARRIED)
    h1 = c.holder("robot1", each)
    c.ledger.use("robot1", f"holder_{h1}")
    h2 = c.holder("robot2", each)
    who = rng.choice(("both robots", "robot 1 and robot 2", "you two", "the two robots",
                      f"{c.say_robot('robot1')} and {c.say_robot('robot2')}"))
    total = s.cherries(2 * each)
    text = rng.choice((f"{who} together collect {total}, from {s.holder(h1)} and "
                       f"{s.holder(h2)}",
                       f"split {total} between {who}: the first from {s.holder(h1)}, the "
                       f"second from {s.holder(h2)}",
                       f"{who}, share the job of collecting {total}, one from {s.holder(h1)} "
                       f"and the other from {s.holder(h2)}"))
    trees = {"robot1": [skill("CollectCherries", holder=h1, count=each)],
             "robot2": [skill("CollectCherries", holder=h2, count=each)]}
    return _Draft(trees, text, 2, {"both-robots", "shared-count", "cherries"})


def _both_same(c: _Command) -> _Draft:
    rng = c.rng
    if rng.random() < 0.2:
        return _shared_count(c)
    task = rng.choice((_home, _home, _funny, _finish, _wait, _say))(c, "robot1")
    who = rng.choice(("both robots", "both of you", "you two", "both bots", "the two robots",
                      "everyone", "robots", "both"))
    text = rng.choice((f"{who}, {task.text}", f"{who} {task.text}", f"{who} should {task.text}",
                       f"{task.text}, both of you", f"I want both robots to {task.text}"))
    return _Draft({r: list(task.nodes) for r in V.ROBOTS}, text, 1, {"both-robots"} | set(task.tags))


HANDOVER_FORMS: tuple[str, ...] = (
    # how an operator tells {b} to wait for {a} ({done}: "is done", "has finished", ...);
    # each is planned as Signal after {a}'s steps and WaitForSignal before {b}'s
    "when the other robot has finished, {b} should {post}",
    "{b}, once the other robot is done, {post}",
    "{b}, when the other one {done}, {post}",
    "{b}, after it, {post}",
    "and {b} after it: {post}",
    "{b}, when it has finished, {post}",
    "as soon as {a} {done}, {b}, {post}",
    "{b}, when {a} {done}, {post}",
    "{b} waits for {a} and then should {post}",
    "{b}, wait till {a} {done} and {post}",
    "{b} goes next: {post}",
    "{b} starts when {a} {done}: {post}",
)


def _handover(c: _Command, n: int) -> _Draft:
    """One robot waits for the other: Signal after the first's steps, WaitForSignal before the
    second's dependent steps."""
    rng = c.rng
    first, second = ("robot1", "robot2") if rng.random() < 0.7 else ("robot2", "robot1")
    signal = first + SIGNAL_SUFFIX
    a = max(1, n - 1 - (rng.random() < 0.4 and n >= 3))
    ta = _tasks_for(c, first, a)
    # the second robot may need the first robot's places: the first goes home afterwards
    goes_home = rng.random() < 0.5
    if goes_home:
        home = _home(c, first)
        ta.append(home)
    pre: list[Task] = []  # done before waiting: not at the first robot's places
    if n - a >= 2 and rng.random() < 0.5:
        pre = _tasks_for(c, second, 1)
    post_count = max(1, n - a - len(pre))
    decorates = False  # the second robot puts cherries on the first one's cakes
    if goes_home and rng.random() < 0.5 and c.ledger.bare_cakes:
        plates = [p for p, k in c.ledger.bare_cakes.items() if k > 0]
        if plates and not c.ledger.cherries[second] and not pre:
            c.ledger.plate_owner.update({p: second for p in plates})
            pre = [_collect(c, second)] if rng.random() < 0.4 else []
            decorates = True
    if goes_home:
        c.ledger.places[first] = set()  # after the signal, its places are free
    if decorates and pre:
        post = [_put_cherry(c, second)]
    elif decorates and rng.random() < 0.6:
        post = [_cherry_on_cake(c, second)]
    else:
        post = _tasks_for(c, second, post_count)
    name_a, name_b = c.say_robot(first), c.say_robot(second)
    text_a = f"{name_a}, {_join(c, ta)}"
    done = rng.choice(("is done", "has finished", "is finished", "is back", "has delivered",
                       "finishes", "has arrived", "is there", "gets there", "has done that"))
    post_text = _join(c, post)
    if pre:
        pre_text = _join(c, pre)
        text_b = rng.choice((
            f"{name_b}, {pre_text}, then wait for {name_a} and {post_text}",
            f"{name_b}, {pre_text}; once {name_a} {done}, {post_text}",
        ))
    else:
        text_b = rng.choice((
            f"when {name_a} {done}, {name_b} should {post_text}",
            f"once {name_a} {done}, {name_b}, {post_text}",
            f"{name_b}, wait until {name_a} {done}, then {post_text}",
            f"{name_b}, wait for {name_a} to finish before you {post_text}",
            f"after {name_a} {done}, {name_b} {_join(c, post, third=True)}"
            if all(t.inflect for t in post) else f"after that, {name_b}, {post_text}",
            *(form.format(a=name_a, b=name_b, done=done, post=post_text)
              for form in rng.sample(HANDOVER_FORMS, 3)),
        ))
    if c.family in _HELD_OUT_HANDOVERS and not pre:
        text_b = rng.choice(_HELD_OUT_HANDOVERS[c.family]).format(a=name_a, b=name_b,
                                                                  post=post_text)
    text = text_a + rng.choice(("; ", ". ", ", and ")) + text_b
    if not pre and c.family is None and rng.random() < 0.4:  # "robot 1 ..., then robot 2"
        text = text_a + rng.choice((", then ", ". Then ", " and then ", ", after that ",
                                    "; afterwards ")) + rng.choice(
            (f"{name_b} {post_text}", f"{name_b}, {post_text}", f"{name_b} should {post_text}",
             f"{name_b} {_join(c, post, third=True)}" if all(t.inflect for t in post)
             else f"{name_b} will {post_text}"))
    trees = {
        first: _nodes(ta) + [skill("Signal", signal=signal)],
        second: _nodes(pre) + [skill("WaitForSignal", signal=signal)] + _nodes(post),
    }
    tags = {"both-robots", "coordination"} | _task_tags(ta + pre + post)
    return _Draft(trees, text, min(MAX_TASKS, len(ta) + len(pre) + len(post)), tags)


def _shared_holder(c: _Command) -> _Draft:
    """Two robots empty one holder into the basket: the first a counted load, the second,
    after it, "the rest" (what the holder still has)."""
    rng, s = c.rng, c.style
    first, second = ("robot1", "robot2") if rng.random() < 0.6 else ("robot2", "robot1")
    h = c.holder(first, V.CHERRIES_PER_HOLDER)
    k = rng.randint(2, V.CHERRIES_PER_HOLDER - 2)
    a, b = c.say_robot(first, start=True), c.say_robot(second)
    what, ht, basket = s.cherries(k), s.holder(h), s.basket()
    text_a = rng.choice((f"{a}, put {what} from {ht} in {basket}",
                         f"{a} take {what} from {ht} to {basket}",
                         f"{a}: {what} from {ht} into {basket}"))
    text_b = rng.choice((f"when it is done, {b} brings the rest of {ht} to {basket}",
                         f"{b}, once {a} is done, bring the rest to {basket}",
                         f"then {b} takes the remaining cherries of {ht} to {basket}",
                         f"{b} after it: the rest of {ht} into {basket}"))
    signal = first + SIGNAL_SUFFIX
    trees = {first: [skill("CollectCherries", holder=h, count=k), skill("DropCherries"),
                     skill("Signal", signal=signal)],
             second: [skill("WaitForSignal", signal=signal),
                      _collect_rest(c, h, V.CHERRIES_PER_HOLDER - k), skill("DropCherries")]}
    text = text_a + rng.choice(("; ", ". ", ", and ")) + text_b
    return _Draft(trees, text, 4, {"both-robots", "coordination", "rest", "basket"})


def _continuation(c: _Command) -> _Draft:
    """A follow-up that only makes sense after an earlier command ("now put them on plate 2").
    "Put a cherry on plate 3" is not one: a cherry the command does not say the robot has
    comes from holder 2 (``_cherry_on_cake``)."""
    c.continuation = True
    robot = c.rng.choice(V.ROBOTS)
    task = c.rng.choice((_place, _place, _drop))(c, robot)
    lead = c.rng.choice(("now ", "next ", "", "ok now ", "and now "))
    if c.rng.random() < 0.6:
        text = _address(c, robot, [task])
        text = lead + text if lead and c.rng.random() < 0.3 else text
    else:
        robot = "robot1"
        text = lead + task.text
    return _Draft({robot: list(task.nodes)}, text, 1, {"continuation"} | set(task.tags))


def _impossible_task(c: _Command, kind: str, robot: str) -> Task:
    s = c.style
    if kind == "action":
        template, cannot = c.rng.choice(IMPOSSIBLE_ACTIONS)
        text = template.format(plate=s.plate(c.rng.randint(1, 5)),
                               quadrant=s.quadrant(c.rng.randint(1, 4)),
                               holder=s.holder(c.rng.randint(1, 4)),
                               color=c.rng.choice(V.COLORS))
        c.reply = f"The robots cannot {cannot}: no skill does that."
        return Task([], text, True)
    if kind == "stacks":
        n = c.rng.choice((4, 4, 5, 6))
        color = c.rng.choice(V.COLORS)
        text = c.rng.choice((f"pick up all four {color} stacks at once",
                             f"carry {s.number(n)} stacks at the same time",
                             f"take {s.number(n)} cakes at once to {s.plate(c.rng.randint(1, 5))}",
                             f"grab all the {color} stacks in one go"))
        c.reply = stacks_reply()
        return Task([], text, True)
    c.reply = "I can only turn commands for robot 1 and robot 2 into plans."
    return Task([], c.rng.choice(CHITCHAT), False)


POISONS: tuple[tuple[str, float], ...] = (
    ("robot", 3), ("quadrant", 2), ("plate", 2), ("holder", 1.5), ("colour", 2.5),
    ("place", 1.5), ("action", 3), ("cherries", 1.5), ("stacks", 1), ("chitchat", 0.5),
)


def _impossible(c: _Command) -> _Draft:
    """A command with one impossible part (sometimes beside possible ones)."""
    rng = c.rng
    kind = c.poison
    robot = rng.choice(V.ROBOTS)
    if kind == "robot":
        others = _tasks_for(c, "robot1", rng.choice((1, 1, 2)))
        text = _address(c, robot, others)
        if rng.random() < 0.25:
            text = rng.choice(("all three robots ", "the three robots ")) + _join(c, others)
            c.reply = robot_count_reply()
        return _Draft({}, text, len(others), {"impossible"})
    if kind in ("action", "stacks", "chitchat"):
        bad = _impossible_task(c, kind, robot)
        tasks = [bad]
        if kind != "chitchat" and rng.random() < 0.5:
            tasks.insert(rng.randrange(2), _next_task(c, robot, None))
        text = _address(c, robot, tasks) if kind != "chitchat" and rng.random() < 0.6 \
            else _join(c, tasks)
        return _Draft({}, text, len(tasks), {"impossible"})
    maker = rng.choice(_POISON_MAKERS[kind])
    bad = maker(c, robot)
    tasks = [bad]
    if rng.random() < 0.35:
        tasks.insert(rng.randrange(2), _next_task(c, robot, None))
    if rng.random() < 0.5:
        text = _address(c, robot, tasks)
    else:
        text = _join(c, tasks)
    if rng.random() < 0.2:
        other = c.ledger.other(robot)
        text += rng.choice(("; ", ". ", " and ")) + _address(c, other, _tasks_for(c, other, 1),
                                                             follows=tasks[-1:])
    return _Draft({}, text, len(tasks), {"impossible"})


_TASK_COUNTS = ((1, 0.36), (2, 0.30), (3, 0.21), (4, 0.13))


def _draft(rng: random.Random, reply_share: float, family: str | None = None,
           step_forms: float = 0.0, ellipsis: float = 0.0,
           rest_forms: float = 0.0) -> tuple[_Command, _Draft]:
    if rng.random() < reply_share:
        kinds, weights = zip(*POISONS)
        c = _Command(rng, poison=rng.choices(kinds, weights)[0], family=family,
                     step_forms=step_forms, ellipsis=ellipsis, rest_forms=rest_forms)
        return c, _impossible(c)
    c = _Command(rng, family=family, step_forms=step_forms, ellipsis=ellipsis,
                 rest_forms=rest_forms)
    counts, weights = zip(*_TASK_COUNTS)
    n = rng.choices(counts, weights)[0]
    if family == "gap-wording":
        return c, _gapped(c, max(2, n))
    if n >= 2 and ellipsis and rng.random() < ellipsis * GAPPED_SHARE:
        return c, _gapped(c, n)
    if family in HELD_OUT_FAMILIES and HELD_OUT_FAMILIES[family][0] == "coordination":
        return c, _handover(c, max(2, n))
    mode = rng.random()
    if mode < 0.05:
        return c, _continuation(c)
    if mode < 0.10:
        return c, _both_same(c)
    if n >= 2 and mode < 0.21:
        return c, _handover(c, n) if rng.random() < 0.9 else _shared_holder(c)
    if n >= 2 and mode < 0.60:
        return c, _two(c, n)
    return c, _single(c, n, addressed=mode > 0.62 or rng.random() < 0.5)


def make_example(rng: random.Random, reply_share: float = 0.12,
                 family: str | None = None, correction_share: float = 0.0,
                 corrections: tuple[str, ...] = TRAINED_CORRECTIONS,
                 step_forms: float = 0.0, ellipsis: float = 0.0,
                 rest_forms: float = 0.0) -> PlanExample:
    """One example (said in the held-out phrasing ``family`` where the draft has a place for
    it; a plan's command, with probability ``correction_share``, says a place, count or colour
    wrong first and takes it back with one of ``corrections``); retries drafts that ran out of
    resources; ``step_forms``, ``ellipsis``, ``rest_forms``: see
    :func:`generate_plan_examples`."""
    for _ in range(100):
        try:
            c, draft = _draft(rng, reply_share, family, step_forms, ellipsis, rest_forms)
        except _NoRoom:
            continue
        text = draft.text
        tags = set(draft.tags)
        if correction_share and c.poison is None and rng.random() < correction_share:
            said = corrected(text, rng, corrections)
            if said is not None:
                text = said
                tags.add("correction")
        command = c.style.finish(text)
        if c.style.speech:
            tags.add("speech")
        if c.style.words:
            tags.add("number-words")
        if c.style.typos:
            tags.add("typos")
        if c.style.noise:
            tags.add("noise")
        if c.continuation:
            tags.add("continuation")
        if c.poison is not None:
            if c.reply is None:
                continue  # the poisoned slot was never drawn
            return PlanExample(command, serialize_reply(Reply(c.reply)), "reply",
                               max(1, min(draft.tasks, MAX_TASKS)), tuple(sorted(tags)))
        plan = Plan(tuple((r, sequence_of(draft.trees[r])) for r in V.ROBOTS if draft.trees.get(r)))
        return PlanExample(command, serialize_plan(plan), "plan",
                           max(1, min(draft.tasks, MAX_TASKS)), tuple(sorted(tags)))
    raise RuntimeError("the generator could not make an example in 100 drafts")


def generate_plan_examples(count: int, seed: int, reply_share: float = 0.12,
                           exclude: set[str] | None = None,
                           correction_share: float = 0.0,
                           step_forms: float = 0.0,
                           ellipsis: float = 0.0,
                           rest_forms: float = 0.0) -> list[PlanExample]:
    """``count`` distinct examples (by command text), the same for the same seed.

    ``exclude``: command texts that must not appear (e.g. a held-out set).
    ``correction_share``: the share of plans whose command takes a word back (0 draws nothing
    more from the seed, so a config without corrections makes the same examples as before).
    ``step_forms``: the share of the steps that have them said in the later step forms (the
    order of a placement said before its plate, "put them sorted on plate 1"; cherries
    collected and dropped in the basket with no count, which means all that fit); 0 draws
    nothing more from the seed, as for corrections.
    ``ellipsis``: the share of the steps that can be said with their verb left out that are
    (right after the robot's name, "robot 2, the yellow from quadrant 1", or after a step of
    their kind, "... and the pink from quadrant 2 to plate 3"); with it, a share
    ``ellipsis * GAPPED_SHARE`` of the commands of two or more tasks give both robots a task of
    one kind, the second said so ("robot 1 take 5 cherries from holder 1 and robot 2 5 from
    holder 2"). 0 draws nothing more, as above.
    ``rest_forms``: when a robot carrying a counted load from a holder that has room for the
    rest is given a step that follows from its cherries (seven times in ten), the share of
    those steps that are "the rest" of that holder ("take 3 from holder 2, then the rest of
    it"; right after the load, half of them said without a verb); with it on, every "rest" is
    planned with no count (all that fit), also in the older "put 4 in the basket, then the rest
    too" form. 0 draws nothing more, as above.
    """
    rng = random.Random(seed)
    seen = set(exclude or ())
    out: list[PlanExample] = []
    attempts = 0
    while len(out) < count:
        attempts += 1
        if attempts > count * 20:
            raise RuntimeError(f"only {len(out)} distinct examples after {attempts} attempts")
        example = make_example(rng, reply_share, correction_share=correction_share,
                               step_forms=step_forms, ellipsis=ellipsis, rest_forms=rest_forms)
        key = example.command.lower()
        if key in seen or held_out_family(example.command) is not None:
            continue  # a held-out family's wording, met by chance, is not trained on
        seen.add(key)
        out.append(example)
    return out


def held_out_family(command: str) -> str | None:
    """The held-out phrasing family whose wording ``command`` uses, or ``None``."""
    text = normalise(command)
    return next((name for name, pattern in _FAMILY_MARKERS.items() if pattern.search(text)),
                None)


def held_out_plan_examples(count: int, seed: int,
                           reply_share: float = 0.12) -> list[PlanExample]:
    """``count`` distinct examples said in the held-out phrasing families (each family in
    turn), tagged ``family:NAME``: the commands the bt adapter never trained on."""
    rng = random.Random(seed)
    names = list(HELD_OUT_FAMILIES)
    seen: set[str] = set()
    out: list[PlanExample] = []
    for _ in range(count * 400):
        if len(out) == count:
            return out
        family = names[len(out) % len(names)]
        example = make_example(rng, reply_share, family)
        if example.command.lower() in seen or held_out_family(example.command) != family:
            continue  # the draft had no place for the family's wording
        seen.add(example.command.lower())
        out.append(replace(example, tags=tuple(sorted({*example.tags, f"family:{family}"}))))
    raise RuntimeError(f"only {len(out)} held-out examples in {count * 400} drafts")


def held_out_correction_examples(count: int, seed: int) -> list[PlanExample]:
    """``count`` distinct plan examples whose command takes a word back with a held-out form
    (:data:`HELD_OUT_CORRECTIONS`), tagged ``family:correction``."""
    rng = random.Random(seed)
    return _distinct_draws(
        count, count * 40, "correction",
        lambda: make_example(rng, 0.0, correction_share=1.0, corrections=HELD_OUT_CORRECTIONS),
        lambda e: "correction" in e.tags)


def held_out_step_examples(count: int, seed: int) -> list[PlanExample]:
    """``count`` distinct plan examples with a step said in a held-out wording
    (:data:`HELD_OUT_STEP_WORDINGS`: a sorted placement or a basket fill), tagged
    ``family:step-wording``."""
    # most drafts have no sorted placement or basket fill
    return _held_out_wording_examples(count, seed, "step-wording", tries_each=100)


def held_out_gap_examples(count: int, seed: int) -> list[PlanExample]:
    """``count`` distinct two-robot plan examples whose second robot's task is said in a
    held-out way of leaving its verb out (:data:`HELD_OUT_GAP_WORDINGS`), tagged
    ``family:gap-wording``."""
    return _held_out_wording_examples(count, seed, "gap-wording", tries_each=20, ellipsis=1.0)


def _held_out_wording_examples(count: int, seed: int, family: str, tries_each: int,
                               ellipsis: float = 0.0) -> list[PlanExample]:
    """Plan examples drawn in the held-out wording ``family`` and said in it (a draft with no
    place for it is drawn again), ``count * tries_each`` draws at most."""
    rng = random.Random(seed)
    return _distinct_draws(
        count, count * tries_each, family,
        lambda: make_example(rng, 0.0, family=family, ellipsis=ellipsis),
        lambda e: held_out_family(e.command) == family)


def _distinct_draws(count: int, tries: int, family: str, draw: Callable[[], PlanExample],
                    wanted: Callable[[PlanExample], bool]) -> list[PlanExample]:
    """The first ``count`` distinct ``wanted`` examples of at most ``tries`` draws, tagged
    ``family:FAMILY``."""
    seen: set[str] = set()
    out: list[PlanExample] = []
    for _ in range(tries):
        if len(out) == count:
            return out
        example = draw()
        if not wanted(example) or example.command.lower() in seen:
            continue
        seen.add(example.command.lower())
        out.append(replace(example, tags=tuple(sorted({*example.tags, f"family:{family}"}))))
    raise RuntimeError(f"only {len(out)} {family} examples in {tries} drafts")
