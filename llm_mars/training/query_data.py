"""Training pairs for the ``qa`` adapter: an operator's question (and the query before it, in
a session) -> the state query it means (:mod:`llm_mars.qa.query`).

The adapter never sees the state: it only writes the query, and
:mod:`llm_mars.qa.answers` answers it from the state. So a pair is language only, and a seeded
generator words every kind of query through *phrasing families*: each :class:`Family` is one
way of asking one query (a few templates that share their wording), and a query kind has
several. A share of the families is **held out** (``held_out=True``): their questions never
appear in training and measure how the adapter copes with wordings it has not seen
(:func:`held_out_examples`, ``bench/bench_qa.py``, docs/evaluation.md).

Slots in a question template (the query template names the canonical value):

=========  ====================  ===================================================
slot       query                 said as (:class:`llm_mars.training.phrasing.Style`)
=========  ====================  ===================================================
``{r}``    ``{robot}``           robot 1, robot one, R1, the first robot, bot 1, ...
``{r2}``   ``{other}``           the other robot, named the same ways
``{p}``    ``{plate}``           plate 3, tray three, the third plate, ...
``{p2}``   ``{plate2}``          another plate
``{h}``    ``{holder}``          holder 2, dispenser two, cherry holder 2, ...
``{q}``    ``{quadrant}``        quadrant 1, quad one, ...
``{place}``  ``{place}``         any place (home, the basket, plate 2, ...)
``{c}``    ``{color}``           brown, yellow, pink
``{n}``    ``{n}``               a number (digits or words) in the family's range
``{part}`` ``{part}``            a part of the score (the cakes, the end zone, ...)
=========  ====================  ===================================================

In a session the previous query is given with the question ("Previous: robot1.location"), so
a follow-up ("and robot two?", "what about plate 3?", "and the yellow one?") is written as the
previous query with one thing changed; a full question ignores it. Questions the state cannot
answer (the future, the other team, a robot's battery) are written ``unknown``; one that names a
robot, place or colour the world does not have ("where is robot 3") is answered before the
model is asked (:func:`llm_mars.language.grounding.absent_thing`), so the data never teaches
that "robot 2" and "robot 3" in the same words mean different kinds of query.
"""
from __future__ import annotations

import functools
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from llm_mars import vocabulary as V
from llm_mars.qa.query import (Check, Describe, Extreme, Query, Ref, Predicate, Which, format_query,
                               parse_query)
from llm_mars.training.phrasing import Style, speech_text, typo


@dataclass(frozen=True)
class Family:
    """One way of asking one query: ``templates`` share their wording; ``numbers`` is the
    range ``{n}`` is drawn from."""

    name: str
    query: str
    templates: tuple[str, ...]
    held_out: bool = False
    numbers: tuple[int, int] = (1, 10)


def F(name: str, query: str, *templates: str, held_out: bool = False,
      numbers: tuple[int, int] = (1, 10)) -> Family:
    return Family(name, query, tuple(templates), held_out, numbers)


H = True  # held out

# Unanswerable questions in the shapes of answerable ones, so that what is asked about (a fact
# the state of DESIGN.md section 3 does not hold, a time other than now, the other team), not
# the shape of the sentence, makes a question ``unknown``. Written from the state schema; the
# held-out unknown family's shapes ("how much ... is left in", "what will ... do after",
# "going to be", "ahead of") are kept out. A robot's facts the state lacks are only its
# consumables: frames with other properties ("what is the {a} of {r}") also turned answerable
# questions with an unfamiliar noun into "can't tell" (docs/evaluation.md).
_CONSUMABLES = ("battery", "power", "fuel", "energy")
_LATER = ("at the end of the match", "in ten seconds", "in a minute", "tomorrow",
          "in the next match", "when time runs out", "once the match is over",
          "by the final whistle", "in thirty seconds", "later on")
_LATER_QUESTIONS = ("where will {r} be", "what will {r} be carrying", "how many cherries will {h} "
                    "hold", "how many cakes will {p} have", "what will be in the basket",
                    "which robot will be at {place}", "will {r} still be busy",
                    "what will {r} be doing", "how many points will we have",
                    "will the cake on {p} have a cherry")
_OPPONENTS = ("the other team", "the opponents", "our opponents", "the rival team",
              "the other side", "the opposing team")
_OPPONENT_QUESTIONS = ("what's the score of {t}", "how many points do {t} have",
                       "where are the robots of {t}", "what are {t} doing",
                       "how many cakes have {t} built", "are {t} winning",
                       "are we beating {t}", "did {t} put cherries in their basket",
                       "have {t} parked at home")


def _not_held_questions() -> tuple[str, ...]:
    return tuple(t.format(a=a, r="{r}") for a in _CONSUMABLES for t in (
        "is {r} low on {a}", "does {r} have enough {a}", "how much {a} has {r} got",
        "what's {r}'s {a} level", "is {r} running out of {a}"))


def _future_questions() -> tuple[str, ...]:
    return tuple(f"{q} {when}" for q in _LATER_QUESTIONS for when in _LATER)


def _opponent_questions() -> tuple[str, ...]:
    return tuple(q.replace("{t}", t) for q in _OPPONENT_QUESTIONS for t in _OPPONENTS)


FAMILIES: tuple[Family, ...] = (
    # --- where a robot is -----------------------------------------------------------------
    F("where", "{robot}.location", "where is {r}", "where's {r}", "where is {r} now",
      "where is {r} right now", "where is {r} at the moment", "where is {r} currently"),
    F("where-you", "{robot}.location", "{r}, where are you", "{r} where are you now",
      "{r}, tell me where you are", "{r} where are you right now"),
    F("where-located", "{robot}.location", "where is {r} located", "in which place is {r}",
      "do you know where {r} is", "I need {r}'s location", "where would I find {r} now"),
    F("where-location", "{robot}.location", "what is the location of {r}", "location of {r}",
      "what's {r}'s location", "{r} location", "what is {r}'s current position"),
    F("where-find", "{robot}.location", "where can I find {r}", "where has {r} got to",
      "where did {r} end up", "what place is {r} at", held_out=H),
    F("where-spot", "{robot}.location", "which spot is {r} standing on",
      "at which place is {r} right now", "tell me where {r} is parked", held_out=H),
    # --- where a robot is going -----------------------------------------------------------
    F("going", "{robot}.destination", "where is {r} going", "where is {r} headed",
      "where is {r} driving to", "what is {r}'s destination", "where is {r} off to"),
    F("going-bound", "{robot}.destination", "where is {r} bound", "which place is {r} going to",
      "what place is {r} driving to", "where's {r} going next", "where will {r} end up"),
    F("going-you", "{robot}.destination", "{r}, where are you going",
      "{r} where are you headed", "{r}, where are you driving"),
    F("going-was", "{robot}.destination", "where was {r} going", "where was {r} headed",
      "where was {r} trying to go", "where was {r} driving to"),
    F("going-taking", "{robot}.destination", "where is {r} taking the {c} cake",
      "where is {r} taking its stacks", "where is {r} bringing the cake",
      "where is {r} taking the cherries", "where was {r} taking the {c} stack"),
    F("going-towards", "{robot}.destination", "what's {r} heading for",
      "where is {r} on its way to", "which place is {r} driving towards",
      "what is the target of {r}", held_out=H),
    # --- what a robot is doing ------------------------------------------------------------
    F("doing", "{robot}.doing", "what is {r} doing", "what's {r} doing",
      "what is {r} doing right now", "what is {r} up to", "what's {r} up to now"),
    F("doing-you", "{robot}.doing", "{r}, what are you doing", "{r} what are you up to",
      "{r}, what's going on", "{r} what are you doing now"),
    F("doing-now", "{robot}.doing", "what's {r} busy doing", "what is {r} currently doing",
      "can you tell me what {r} is doing", "what is {r} doing at the moment",
      "is {r} doing something right now, and what"),
    F("doing-task", "{robot}.doing", "what is {r} working on", "what task is {r} on",
      "what job is {r} doing", "what is {r} busy with", "what is {r} doing and why"),
    F("doing-why", "{robot}.doing", "why isn't {r} moving", "why is {r} standing still",
      "why is {r} not moving", "what is {r} waiting for", "why is {r} waiting",
      "why has {r} stopped"),
    F("doing-activity", "{robot}.doing", "what activity is {r} performing",
      "what's {r} currently occupied with", "tell me what {r} is doing",
      "describe what {r} is doing", held_out=H),
    F("doing-stuck", "{robot}.doing", "how come {r} is stopped", "what's {r} waiting on",
      "what is holding {r} up", "why is {r} just sitting there", held_out=H),
    # --- what it is about to do -----------------------------------------------------------
    F("next", "{robot}.next", "what is {r} about to do", "what is {r} going to do",
      "what will {r} do next", "what's {r}'s next move", "what is {r} doing next"),
    F("next-cherries", "{robot}.next", "how many cherries is {r} going to collect",
      "how many cherries will {r} take", "how many cherries is {r} about to pick up",
      "how many cherries is {r} collecting"),
    F("next-build", "{robot}.next", "what is {r} about to build",
      "what is {r} going to build and where", "where is {r} going to place its cakes",
      "what is {r} about to build, and where", "what cakes will {r} make"),
    F("next-plan", "{robot}.next", "what's {r} planning to do", "what is {r} about to pick up",
      "what's the next thing {r} will do", "what is {r} preparing to do", held_out=H),
    # --- plan status ------------------------------------------------------------------------
    F("status", "{robot}.status", "what is the status of {r}", "status of {r}", "{r} status",
      "what's {r}'s status", "how is {r} doing", "how's {r} getting on"),
    F("status-happened", "{robot}.status", "what happened to {r}",
      "what happened to {r}'s plan", "what happened to {r}'s last task",
      "how did {r}'s plan go"),
    F("status-state", "{robot}.status", "how did {r}'s mission go",
      "what state is {r}'s plan in", "what became of {r}'s job", "how is {r}'s plan going",
      held_out=H),
    F("finished", "check {robot}.status = succeeded", "has {r} finished", "is {r} done",
      "did {r} finish its job", "is {r} finished", "did {r} complete its plan",
      "did {r}'s plan succeed"),
    F("finished-through", "check {robot}.status = succeeded",
      "has {r} completed everything", "is {r} through with its work",
      "did {r} get its job done", held_out=H),
    F("plan-failed", "check {robot}.status = failed", "did {r}'s plan fail",
      "has {r}'s plan failed", "did {r}'s mission fail"),
    F("cancelled", "check {robot}.status = cancelled", "was {r} cancelled",
      "was {r}'s plan cancelled", "did someone cancel {r}", "has {r} been stopped"),
    F("running", "check {robot}.status = running", "is {r} still running its plan",
      "is {r}'s plan running", "is {r}'s plan still going", "is {r} still on its plan"),
    # --- what it carries --------------------------------------------------------------------
    F("carries", "{robot}.carrying", "what does {r} carry", "what is {r} carrying",
      "what is {r} holding", "what's {r} got", "what has {r} loaded", "what's on {r}"),
    F("carries-on-board", "{robot}.carrying", "what does {r} have on board",
      "what is {r} carrying right now", "what has {r} got with it", "what does {r} have with it",
      "tell me what {r} is carrying"),
    F("carries-you", "{robot}.carrying", "{r}, what are you carrying", "{r} what do you have",
      "{r}, what's on board", "{r} what are you holding"),
    F("carries-cargo", "{robot}.carrying", "what cargo does {r} have",
      "what is {r} transporting", "what's in {r}'s load", "what is {r} hauling", held_out=H),
    F("carries-any", "check {robot}.carrying", "is {r} carrying anything",
      "does {r} have anything", "is {r} loaded", "is {r} still carrying something",
      "does {r} carry something", "{r}, are you carrying anything"),
    F("carries-any-held", "check {robot}.carrying", "is {r} holding anything",
      "has {r} got something on board", "is there anything on {r}", held_out=H),
    F("stacks", "{robot}.stacks", "how many stacks does {r} carry",
      "which stacks does {r} have", "what cakes is {r} carrying", "how many cakes does {r} have",
      "which cake stacks is {r} holding", "how many stacks does {r} have"),
    F("stacks-colours", "{robot}.stacks", "which colours is {r} carrying",
      "how many cake stacks are on {r}", "what colour stacks has {r} got", held_out=H),
    F("stacks-any", "check {robot}.stacks", "is {r} carrying a cake", "does {r} have a stack",
      "is {r} carrying any stacks", "does {r} have cakes", "is {r} holding a cake"),
    F("stacks-has", "check {robot}.stacks has {color}", "is {r} carrying the {c} stack",
      "does {r} have the {c} cake", "is {r} holding a {c} stack", "does {r} carry {c}",
      "does {r} have a {c} cake"),
    F("stacks-has-held", "check {robot}.stacks has {color}", "has {r} got the {c} one",
      "is the {c} stack on {r}", "is {r} the one with the {c} cake", held_out=H),
    F("stacks-room", "check {robot}.stacks < 3", "can {r} take another stack",
      "does {r} have room for another cake", "can {r} pick up one more stack"),
    F("cherries", "{robot}.cherries", "how many cherries does {r} have",
      "how many cherries does {r} carry", "how many cherries is {r} carrying",
      "how many cherries has {r} got", "how many cherries does {r} still carry"),
    F("cherries-held", "{robot}.cherries", "how many cherries is {r} holding",
      "how many cherries has {r} got on board", "count of cherries {r} carries",
      "tell me how many cherries {r} has"),
    F("cherries-you", "{robot}.cherries", "{r}, how many cherries do you have",
      "{r} how many cherries are you carrying", "{r}, how many cherries have you got"),
    F("cherries-count", "{robot}.cherries", "what's {r}'s cherry count",
      "number of cherries on {r}", "cherries on {r}", "how many cherries are on {r}",
      held_out=H),
    F("cherries-any", "check {robot}.cherries > 0", "does {r} have cherries",
      "is {r} carrying cherries", "does {r} carry any cherries", "has {r} got any cherries"),
    F("cherries-more", "check {robot}.cherries > {n}", "does {r} have more than {n} cherries",
      "is {r} carrying more than {n} cherries", "does {r} carry over {n} cherries",
      numbers=(1, 9)),
    F("cherries-least", "check {robot}.cherries >= {n}",
      "does {r} have at least {n} cherries", "is {r} carrying at least {n} cherries",
      numbers=(1, 10)),
    F("cherries-fewer", "check {robot}.cherries < {n}", "does {r} have fewer than {n} cherries",
      "is {r} carrying less than {n} cherries", numbers=(1, 10)),
    F("cherries-exactly", "check {robot}.cherries = {n}",
      "does {r} have exactly {n} cherries", "is {r} carrying {n} cherries",
      "does {r} carry {n} cherries", numbers=(0, 10)),
    F("cherries-over-held", "check {robot}.cherries > {n}", "has {r} got over {n} cherries",
      "is {r}'s cherry count above {n}", held_out=H, numbers=(1, 9)),
    F("cherries-full", "check {robot}.cherries = 10", "is {r} full of cherries",
      "can {r} carry any more cherries", "has {r} got a full load of cherries"),
    # --- what it has done -------------------------------------------------------------------
    F("done", "{robot}.history", "what has {r} done", "what did {r} do",
      "what has {r} done so far", "list what {r} did", "what did {r} do during the match",
      "tell me what {r} did", "how many steps has {r} done"),
    F("done-list", "{robot}.history", "list {r}'s steps", "which steps has {r} done",
      "what has {r} been doing", "show me what {r} has done", "what actions did {r} take"),
    F("done-you", "{robot}.history", "{r}, what have you done", "{r} what did you do",
      "{r}, what have you done so far"),
    F("done-recap", "{robot}.history", "give me {r}'s history", "what's {r} been up to",
      "recap {r}'s actions", "summarize what {r} has done", held_out=H),
    F("picked", "{robot}.history(PickCake)", "which stacks did {r} pick",
      "what did {r} pick up", "where did {r} get its cakes", "where did {r} get its cakes from",
      "where did {r} pick up its stacks", "how many stacks has {r} picked",
      "which cakes did {r} take"),
    F("picked-held", "{robot}.history(PickCake)", "from where did {r} collect its stacks",
      "what stacks has {r} grabbed", "which cake stacks did {r} fetch", held_out=H),
    F("picked-color", "check {robot}.history(PickCake {color})", "did {r} pick the {c} stack",
      "has {r} picked up the {c} cake", "did {r} take a {c} stack", "did {r} get the {c} cake"),
    F("picked-color-where", "{robot}.history(PickCake {color})",
      "where did {r} pick up the {c} stack", "where did {r} get the {c} cake",
      "where did {r} take the {c} stack from"),
    F("picked-at", "check {robot}.history(PickCake {color} {quadrant})",
      "did {r} pick the {c} stack from {q}", "did {r} take the {c} cake at {q}",
      "has {r} picked up the {c} stack in {q}"),
    F("placed", "{robot}.history(PlaceCakes)", "what did {r} build", "what has {r} built",
      "which cakes did {r} make", "what did {r} put on the plates",
      "where did {r} place its cakes", "where did {r} put the cakes"),
    F("placed-held", "{robot}.history(PlaceCakes)", "what cakes has {r} assembled",
      "which plates did {r} deliver to", "where have {r}'s cakes ended up", held_out=H),
    F("placed-on", "check {robot}.history(PlaceCakes {plate})", "did {r} place cakes on {p}",
      "has {r} put anything on {p}", "did {r} build on {p}", "did {r} deliver a cake to {p}"),
    F("placed-what", "{robot}.history(PlaceCakes {plate})", "what did {r} put on {p}",
      "what did {r} build on {p}", "which cake did {r} place on {p}"),
    F("collected-where", "{robot}.history(CollectCherries)", "where did {r} get its cherries",
      "where did {r} collect cherries", "which holders did {r} use",
      "where do {r}'s cherries come from", "where did {r} pick up its cherries"),
    F("collected-where-held", "{robot}.history(CollectCherries)",
      "which dispensers has {r} visited for cherries", "from which holder did {r} take cherries",
      held_out=H),
    F("collected-at", "check {robot}.history(CollectCherries {holder})",
      "did {r} take cherries from {h}", "has {r} collected cherries at {h}",
      "did {r} get cherries from {h}"),
    F("collected-at-count", "{robot}.history(CollectCherries {holder})",
      "how many cherries did {r} take from {h}", "how many cherries did {r} get at {h}",
      "how many cherries did {r} collect from {h}"),
    F("collected-any", "check {robot}.history(CollectCherries)", "did {r} collect cherries",
      "has {r} collected any cherries", "did {r} pick up cherries"),
    F("dropped-did", "check {robot}.history(DropCherries)",
      "did {r} drop cherries in the basket", "has {r} emptied its cherries into the basket",
      "did {r} fill the basket", "has {r} put cherries in the basket"),
    F("put-cherry", "check {robot}.history(PutCherry)", "did {r} put a cherry on a cake",
      "did {r} manage to put a cherry on a cake", "has {r} crowned a cake",
      "did {r} decorate a cake with a cherry"),
    F("put-cherry-on", "check {robot}.history(PutCherry {plate})",
      "did {r} put a cherry on {p}", "has {r} put a cherry on the cake on {p}"),
    F("been-to", "check {robot}.history({place})", "has {r} been to {place}",
      "did {r} go to {place}", "did {r} visit {place}", "was {r} at {place} earlier"),
    F("done-at", "{robot}.history({place})", "what did {r} do at {place}",
      "what has {r} done at {place}", "why did {r} go to {place}",
      "how many times has {r} been to {place}"),
    F("placed-on-count", "{robot}.history(PlaceCakes {plate})",
      "how many stacks did {r} place on {p}", "how many cakes did {r} deliver to {p}"),
    F("signalled", "check {robot}.history(Signal)", "did {r} send a signal",
      "has {r} raised its signal", "did {r} signal the other robot"),
    F("got-signal", "check {robot}.history(WaitForSignal)", "did {r} get the signal",
      "has {r} received the signal", "did {r} get the go-ahead"),
    F("waited", "{robot}.history(Wait)", "how long did {r} wait", "did {r} wait anywhere",
      "when did {r} wait"),
    F("said", "{robot}.history(Say)", "what did {r} say", "did {r} say anything",
      "what has {r} reported"),
    F("funny", "check {robot}.funny", "did {r} do the funny action",
      "has {r} done its disguise", "did {r} do the disguise", "has {r} done the funny action",
      "did {r} dress up"),
    F("funny-held", "check {robot}.funny", "has {r} put on its costume",
      "did {r} perform the end-of-match gag", held_out=H),
    F("failed", "{robot}.history(failed)", "what went wrong with {r}", "why did {r} fail",
      "what failed for {r} and why", "any failures on {r}", "why did {r} stop",
      "what was the problem with {r}", "how many times did {r} fail"),
    F("failed-errors", "{robot}.history(failed)", "what errors did {r} have",
      "which of {r}'s steps failed", "what did {r} get wrong", held_out=H),
    F("failed-did", "check {robot}.history(failed)", "did {r} fail",
      "did something go wrong with {r}", "did {r} have any problem", "has {r} had a failure"),
    F("succeeded", "{robot}.history(ok)", "what did {r} manage to do",
      "which of {r}'s steps succeeded", "what has {r} done successfully"),
    F("done-color", "{robot}.history({color})", "what did {r} do with the {c} stack",
      "what happened with {r}'s {c} cake"),
    F("collected", "{robot}.collected", "how many cherries did {r} collect in total",
      "how many cherries has {r} collected", "how many cherries has {r} gathered so far",
      "total cherries collected by {r}", "how many cherries did {r} pick up in all"),
    F("collected-held", "{robot}.collected", "what's {r}'s cherry haul",
      "how many cherries has {r} harvested overall", held_out=H),
    F("dropped", "{robot}.dropped", "how many cherries did {r} put in the basket",
      "how many cherries has {r} dropped in the basket",
      "how many cherries did {r} deliver to the basket", "how many cherries did {r} score"),
    F("dropped-held", "{robot}.dropped", "how many cherries has {r} scored in the basket",
      "how many of the basket's cherries came from {r}", held_out=H),
    F("position", "{robot}.position", "what are {r}'s coordinates", "where exactly is {r}",
      "give me {r}'s x and y", "{r} position in millimetres"),
    # --- busy / idle / moving / waiting ------------------------------------------------------
    F("busy", "check {robot}.busy", "is {r} busy", "is {r} working", "is {r} doing anything",
      "is {r} doing something", "is {r} active", "{r}, are you busy"),
    F("busy-task", "check {robot}.busy", "does {r} have a task", "is {r} working on something",
      "is {r} running a step", "has {r} got work to do"),
    F("busy-held", "check {robot}.busy", "is {r} occupied", "has {r} got something to do",
      "is {r} in the middle of a task", held_out=H),
    F("idle", "check {robot}.idle", "is {r} idle", "is {r} doing nothing", "is {r} free",
      "is {r} available"),
    F("moving", "check {robot}.moving", "is {r} moving", "is {r} driving",
      "is {r} on the move", "is {r} on its way somewhere"),
    F("moving-held", "check {robot}.moving", "is {r} rolling", "is {r} travelling right now",
      held_out=H),
    F("waiting", "check {robot}.waiting", "is {r} waiting", "is {r} waiting for a signal",
      "is {r} waiting for the other robot", "is {r} stuck waiting"),
    F("all-busy", "check all robots.busy", "are both robots busy", "are the robots working",
      "are both robots doing something", "are both robots active"),
    F("all-busy-held", "check all robots.busy", "is each robot working on something",
      "have both robots got a task", held_out=H),
    F("any-idle", "check any robots.idle", "is any robot idle", "is one of the robots free",
      "is a robot available", "is either robot idle"),
    F("all-idle", "check all robots.idle", "are both robots idle", "are the robots doing nothing",
      "are both robots free"),
    F("any-moving", "check any robots.moving", "is anyone moving", "is either robot driving",
      "is any robot moving"),
    F("any-waiting", "check any robots.waiting", "is anybody waiting", "is a robot waiting",
      "is either robot waiting"),
    F("which-busy", "which robots.busy", "which robot is busy", "who is working",
      "which robot is doing something"),
    F("which-idle", "which robots.idle", "which robot is idle", "which robot is free",
      "who is available"),
    F("which-moving", "which robots.moving", "which robot is moving", "who is driving",
      "which robot is on the move"),
    F("which-waiting", "which robots.waiting", "which robot is waiting", "who is waiting"),
    # --- both robots ------------------------------------------------------------------------
    F("both-where", "robots.location", "where are the robots", "where are both robots",
      "where is everyone", "where are {r} and {r2}", "where are the two robots"),
    F("both-where-held", "robots.location", "what are the robots' positions",
      "give me the location of each robot", held_out=H),
    F("both-doing", "robots.doing", "what are the robots doing", "what are both robots doing",
      "status report", "what is everyone doing", "what are {r} and {r2} doing",
      "what are the two robots doing"),
    F("both-doing-held", "robots.doing", "what's each robot up to", "team update please",
      held_out=H),
    F("both-carry", "robots.carrying", "what are the robots carrying",
      "what do both robots carry", "what are {r} and {r2} each carrying",
      "what does each robot have"),
    F("both-done", "robots.history", "what have the robots done", "what has been done so far",
      "what did both robots do", "what have {r} and {r2} done"),
    F("both-failed", "robots.history(failed)", "what went wrong", "any failures",
      "what failed and why", "were there any problems", "what errors happened"),
    F("both-failed-held", "robots.history(failed)", "tell me about any failures",
      "has anything gone wrong so far, and why", held_out=H),
    F("any-failed", "check any robots.history(failed)", "did anything fail",
      "did anything go wrong", "were there any failures", "did any robot fail"),
    F("both-going", "robots.destination", "where are the robots going",
      "where are both robots headed"),
    F("both-status", "robots.status", "what's the status of both robots",
      "how are the robots' plans going"),
    F("both-cherries", "robots.cherries", "how many cherries do the robots have",
      "how many cherries does each robot carry"),
    F("which-funny", "which robots.funny", "which robot did the funny action",
      "who did the disguise", "which robot has done its funny action"),
    F("any-funny", "check any robots.funny", "has anyone done the funny action",
      "did any robot do the funny action"),
    F("all-funny", "check all robots.funny", "did both robots do the funny action",
      "have both robots done the disguise"),
    F("which-failed", "which robots.history(failed)", "which robot failed",
      "who had a problem", "which robot had a failure"),
    F("which-cherries", "which robots.cherries > 0", "which robot has cherries",
      "who is carrying cherries", "which robot carries cherries"),
    F("which-stack", "which robots.stacks has {color}", "which robot is carrying the {c} stack",
      "who has the {c} stack", "which robot holds the {c} cake"),
    F("which-picked", "which robots.history(PickCake {color})",
      "which robot picked a {c} stack", "who picked up the {c} cake"),
    F("which-placed", "which robots.history(PlaceCakes {plate})",
      "which robot placed cakes on {p}", "who built the cakes on {p}",
      "which robot delivered to {p}"),
    F("which-collected", "which robots.history(CollectCherries {holder})",
      "which robot collected cherries from {h}", "who took cherries from {h}",
      "who emptied {h}"),
    F("which-dropped", "which robots.history(DropCherries)",
      "which robot dropped cherries in the basket", "who put cherries in the basket"),
    F("which-finished", "which robots.status = succeeded", "which robot finished its plan",
      "which robot is done", "who has finished"),
    # --- where robots are, as yes/no and which ----------------------------------------------
    F("at", "check {robot}.location = {place}", "is {r} at {place}",
      "is {r} still at {place}", "{r}, are you at {place}", "has {r} reached {place}",
      "is {r} standing at {place}", "did {r} make it to {place}"),
    F("at-held", "check {robot}.location = {place}", "has {r} arrived at {place}",
      "is {r} parked at {place}", "is {r} sitting at {place}", held_out=H),
    F("home", "check {robot}.location = home", "is {r} home", "is {r} back home",
      "is {r} at home", "has {r} gone home", "is {r} back at base"),
    F("going-to", "check {robot}.destination = {place}", "is {r} going to {place}",
      "is {r} heading to {place}", "is {r} driving to {place}",
      "was {r} on its way to {place}"),
    F("going-to-held", "check {robot}.destination = {place}", "is {place} where {r} is headed",
      "is {r} on course for {place}", held_out=H),
    F("all-at", "check all robots.location = {place}", "are the robots at {place}",
      "are both robots at {place}", "are both robots home", "are the robots home"),
    F("any-at", "check any robots.location = {place}", "is either robot at {place}",
      "is anyone at {place}", "is there a robot at {place}", "is a robot at {place}"),
    F("which-at", "which robots.location = {place}", "which robot is at {place}",
      "who is at {place}", "which robot is home", "who is standing at {place}"),
    F("which-at-held", "which robots.location = {place}", "which of the robots is at {place}",
      "who's parked at {place}", held_out=H),
    F("which-going", "which robots.destination = {place}", "which robot is going to {place}",
      "who is heading to {place}", "which robot is on its way to {place}"),
    # --- comparisons between robots -----------------------------------------------------------
    F("more-cherries", "check {robot}.cherries > {other}.cherries",
      "does {r} carry more cherries than {r2}", "does {r} have more cherries than {r2}",
      "has {r} got more cherries than {r2}"),
    F("fewer-cherries", "check {robot}.cherries < {other}.cherries",
      "does {r} have fewer cherries than {r2}", "does {r} carry less cherries than {r2}"),
    F("same-cherries", "check {robot}.cherries = {other}.cherries",
      "do {r} and {r2} carry the same number of cherries",
      "does {r} have as many cherries as {r2}"),
    F("more-stacks", "check {robot}.stacks > {other}.stacks",
      "does {r} carry more stacks than {r2}", "does {r} have more cakes than {r2}"),
    F("more-collected", "check {robot}.collected > {other}.collected",
      "has {r} collected more cherries than {r2}", "did {r} gather more cherries than {r2}"),
    F("more-steps", "check {robot}.history > {other}.history",
      "has {r} done more than {r2}", "has {r} done more steps than {r2}"),
    F("more-cherries-held", "check {robot}.cherries > {other}.cherries",
      "is {r}'s cherry load bigger than {r2}'s", "is {r} ahead of {r2} on cherries carried",
      held_out=H),
    F("most-cherries", "most robots.cherries", "which robot carries more cherries",
      "who has more cherries", "which robot has the most cherries",
      "which robot is carrying more cherries"),
    F("least-cherries", "least robots.cherries", "which robot has fewer cherries",
      "who has the fewest cherries", "which robot carries less cherries"),
    F("most-stacks", "most robots.stacks", "which robot carries more stacks",
      "who has more cakes on board"),
    F("most-collected", "most robots.collected", "who collected more cherries",
      "which robot has collected the most cherries"),
    F("most-dropped", "most robots.dropped", "who put more cherries in the basket",
      "which robot dropped more cherries in the basket"),
    F("most-steps", "most robots.history", "which robot has done more",
      "who has done the most work", "which robot did more steps"),
    F("most-failed", "most robots.history(failed)", "which robot failed more often",
      "who had more failures"),
    F("most-picked", "most robots.history(PickCake)", "which robot has picked more stacks",
      "who picked up more cakes"),
    F("most-held", "most robots.cherries", "which robot is carrying the bigger cherry load",
      "whose cherry load is larger", held_out=H),
    # --- two things at once ------------------------------------------------------------------
    F("where-carry", "{robot}.location and {robot}.carrying",
      "where is {r} and what is it carrying", "{r}, where are you and what are you carrying",
      "where is {r} and what does it have"),
    F("doing-carry", "{robot}.doing and {robot}.carrying",
      "what is {r} doing and what does it carry", "{r} what are you doing and what do you have",
      "what is {r} doing and what is it holding"),
    F("where-doing", "{robot}.location and {robot}.doing", "where is {r} and what is it doing",
      "{r}, where are you and what are you doing"),
    F("score-time", "score.total and time.left", "what's the score and how much time is left",
      "score and time left please", "how many points do we have and how long is left"),
    F("basket-score", "basket.cherries and score.total",
      "how many cherries are in the basket and what's the score"),
    F("two-held", "{robot}.location and {robot}.carrying",
      "tell me {r}'s location and its cargo", "{r}: position and load?", held_out=H),
    # --- holders ----------------------------------------------------------------------------
    F("holder", "{holder}.cherries", "how many cherries are left in {h}", "how full is {h}",
      "how many cherries does {h} have", "how many cherries are in {h}", "what's left in {h}",
      "cherries in {h}"),
    F("holder-left", "{holder}.cherries", "how many cherries does {h} still have",
      "what is left at {h}", "count the cherries in {h}", "how many cherries can we still take "
      "from {h}"),
    F("holder-remain", "{holder}.cherries", "how many cherries remain at {h}",
      "what's the count at {h}", "how many cherries are still at {h}", held_out=H),
    F("holder-empty", "check {holder}.cherries = 0", "is {h} empty", "has {h} run out",
      "is {h} out of cherries", "is {h} used up"),
    F("holder-full", "check {holder}.cherries = 10", "is {h} full", "is {h} still full",
      "has {h} still got all its cherries", "is {h} untouched"),
    F("holder-any", "check {holder}.cherries > 0", "does {h} still have cherries",
      "are there cherries left in {h}", "can we still get cherries from {h}"),
    F("holder-least", "check {holder}.cherries >= {n}",
      "does {h} have at least {n} cherries", "are there still {n} cherries in {h}"),
    F("holder-more", "check {holder}.cherries > {n}", "are there more than {n} cherries in {h}",
      "does {h} have over {n} cherries", numbers=(1, 9)),
    F("holder-fewer", "check {holder}.cherries < {n}", "are there fewer than {n} cherries in {h}",
      "does {h} have less than {n} cherries"),
    F("holder-empty-held", "check {holder}.cherries = 0", "is {h} depleted",
      "is there nothing left in {h}", held_out=H),
    F("which-holder-empty", "which holders.cherries = 0", "which holder is empty",
      "which dispensers are empty", "which holders are empty", "which holder has run out"),
    F("which-holder-full", "which holders.cherries = 10", "which holders are full",
      "which holders have not been touched", "which dispensers are still full"),
    F("which-holder-any", "which holders.cherries > 0", "which holders still have cherries",
      "where can we still get cherries", "which dispensers are not empty"),
    F("which-holder-held", "which holders.cherries = 0", "which dispenser has been emptied",
      "which holders have no cherries left", held_out=H),
    F("holders", "holders.cherries", "how many cherries are left in the holders",
      "how many cherries are in the dispensers", "status of the holders",
      "how full are the holders", "how many cherries are left on the field"),
    F("holders-all-full", "check all holders.cherries = 10", "are all holders full",
      "are the dispensers all still full", "are all the holders untouched"),
    F("holders-any-empty", "check any holders.cherries = 0", "is any holder empty",
      "has a dispenser run out", "is there an empty holder"),
    F("holder-most", "most holders.cherries", "which holder has the most cherries",
      "which dispenser is fullest"),
    F("holder-least-count", "least holders.cherries", "which holder has the fewest cherries",
      "which dispenser has the least left"),
    # --- quadrants and stacks ---------------------------------------------------------------
    F("quadrant", "{quadrant}.stacks", "which stacks are left in {q}", "what is left in {q}",
      "how many stacks are left in {q}", "what's in {q}", "what remains at {q}",
      "which colours are still in {q}"),
    F("quadrant-left", "{quadrant}.stacks", "which stacks are still at {q}",
      "what stacks does {q} have left", "tell me what is left at {q}",
      "which cake stacks remain in {q}"),
    F("quadrant-held", "{quadrant}.stacks", "what does {q} still hold", "inventory of {q}",
      "which cakes can still be picked at {q}", held_out=H),
    F("quadrant-empty", "check {quadrant}.stacks = 0", "is {q} empty",
      "have all the stacks in {q} been taken", "is there nothing left in {q}"),
    F("quadrant-full", "check {quadrant}.stacks = 3", "does {q} still have all its stacks",
      "is {q} untouched", "is {q} still full"),
    F("stack-there", "check {quadrant}.{color}", "is the {c} stack still in {q}",
      "is there still a {c} stack at {q}", "does {q} still have its {c} stack",
      "is the {c} cake at {q} still there", "can we still get the {c} stack from {q}"),
    F("stack-there-held", "check {quadrant}.{color}", "has the {c} stack in {q} been left alone",
      "is {q}'s {c} cake still available", held_out=H),
    F("stack-where", "{quadrant}.{color}", "where is the {c} stack from {q}",
      "where did the {c} cake of {q} go", "who took the {c} stack from {q}",
      "what happened to the {c} stack in {q}", "where is the {c} cake from {q} now"),
    F("stack-where-held", "{quadrant}.{color}", "what became of {q}'s {c} stack",
      "where has the {c} cake from {q} ended up", held_out=H),
    F("which-quadrant-empty", "which quadrants.stacks = 0", "which quadrant is empty",
      "which quadrants are empty", "which quadrants have been emptied"),
    F("which-quadrant-color", "which quadrants.{color}", "which quadrants still have a {c} stack",
      "where can I still find a {c} stack", "where is there still a {c} cake"),
    F("which-quadrant-full", "which quadrants.stacks = 3", "which quadrants are untouched",
      "which quadrants still have all their stacks"),
    F("quadrants", "quadrants.stacks", "which stacks have been taken", "what stacks are gone",
      "what's left in the quadrants", "how many stacks are left",
      "how many cake stacks remain on the field"),
    F("quadrants-held", "quadrants.stacks", "give me the state of the quadrants",
      "what cakes are still available on the field", held_out=H),
    F("quadrants-color", "quadrants.{color}", "where are the {c} stacks",
      "how many {c} stacks are left", "what happened to the {c} stacks"),
    F("quadrant-most", "most quadrants.stacks", "which quadrant has the most stacks left"),
    # --- plates and cakes --------------------------------------------------------------------
    F("plate", "{plate}.cakes", "what is on {p}", "how many cakes are on {p}", "what's on {p}",
      "which cakes are on {p}", "what has been built on {p}", "describe {p}"),
    F("plate-built", "{plate}.cakes", "what cakes are on {p}", "what's been placed on {p}",
      "tell me what is on {p}", "count the cakes on {p}", "which cakes sit on {p}"),
    F("plate-held", "{plate}.cakes", "what does {p} hold", "what's sitting on {p}",
      "how many cakes does {p} have", held_out=H),
    F("plate-legendary", "{plate}.cakes(legendary)", "how many legendary cakes are on {p}",
      "how many legendary cakes does {p} have"),
    F("plate-cherry", "{plate}.cakes(cherry)", "how many cakes with a cherry are on {p}",
      "how many cakes on {p} have a cherry"),
    F("plate-color", "{plate}.cakes({color})", "how many {c} cakes are on {p}",
      "are there {c} cakes on {p} and how many"),
    F("plate-any", "check {plate}.cakes", "is there a cake on {p}", "does {p} have a cake",
      "is anything on {p}", "has anything been built on {p}"),
    F("plate-empty", "check {plate}.cakes = 0", "is {p} empty", "is {p} still empty",
      "is {p} free"),
    F("plate-has-cherry", "check {plate}.cakes(cherry)", "is there a cherry on the cake on {p}",
      "does the cake on {p} have a cherry", "are there cherries on {p}",
      "is the cake on {p} crowned"),
    F("plate-has-cherry-held", "check {plate}.cakes(cherry)", "has {p} got a cherry on top",
      "is any cake on {p} topped with a cherry", held_out=H),
    F("plate-has-legendary", "check {plate}.cakes(legendary)",
      "is there a legendary cake on {p}", "is one of the cakes on {p} legendary",
      "did we make a legendary cake on {p}"),
    # "all" of a plate's cakes: its cakes of a kind against all its cakes
    F("plate-all-cherry", "check {plate}.cakes(cherry) = {plate}.cakes",
      "does every cake on {p} have a cherry", "are all cakes on {p} topped with a cherry",
      "have all the cakes on {p} got cherries", "do the cakes on {p} all have cherries",
      "is every single cake on {p} topped"),
    F("plate-all-cherry-held", "check {plate}.cakes(cherry) = {plate}.cakes",
      "is there a cherry on every cake on {p}", "has each cake on {p} got its cherry",
      held_out=H),
    F("plate-all-legendary", "check {plate}.cakes(legendary) = {plate}.cakes",
      "are the cakes on {p} legendary", "are all the cakes on {p} legendary",
      "is every cake on {p} legendary", "are all cakes on {p} legendary ones"),
    F("all-cakes-cherry", "check all plates.cakes(cherry) = plates.cakes",
      "does every cake have a cherry", "have all the cakes got a cherry",
      "are all our cakes topped with a cherry", "is every cake crowned with a cherry"),
    F("all-cakes-cherry-held", "check all plates.cakes(cherry) = plates.cakes",
      "has every cake been given a cherry", "is there a cherry on each of our cakes",
      held_out=H),
    F("all-cakes-legendary", "check all plates.cakes(legendary) = plates.cakes",
      "are all the cakes legendary", "is every cake we built legendary",
      "are all our cakes legendary ones"),
    F("which-plate-all-cherry", "which plates.cakes(cherry) = plates.cakes",
      "which plates have a cherry on every cake", "on which plates are all cakes topped",
      "which plates have all their cakes crowned"),
    F("plate-has-color", "check {plate}.cakes({color})", "is there a {c} cake on {p}",
      "does {p} have a {c} cake"),
    F("plate-more", "check {plate}.cakes > {n}", "does {p} have more than {n} cakes",
      "are there over {n} cakes on {p}", numbers=(1, 5)),
    F("plate-count", "check {plate}.cakes = {n}", "are there {n} cakes on {p}",
      "does {p} have exactly {n} cakes", numbers=(1, 6)),
    F("plates", "plates.cakes", "how many cakes are on the plates", "how many cakes have we made",
      "how many cakes are there", "what's on the plates", "what have we built"),
    F("plates-held", "plates.cakes", "give me a cake count", "how many cakes have been built in total",
      held_out=H),
    F("plates-legendary", "plates.cakes(legendary)", "how many legendary cakes do we have",
      "how many legendary cakes are there", "how many legendary cakes have we built"),
    F("plates-cherry", "plates.cakes(cherry)", "how many cakes have a cherry",
      "how many cakes have a cherry on top", "how many cherry-topped cakes are there"),
    F("plates-cherry-held", "plates.cakes(cherry)", "how many cakes are crowned with a cherry",
      "count the cakes with cherries", held_out=H),
    F("plates-color", "plates.cakes({color})", "how many {c} cakes are there",
      "how many {c} cakes have we made"),
    F("which-plate-legendary", "which plates.cakes(legendary)",
      "which plate has the legendary cakes", "where are the legendary cakes",
      "which plates have legendary cakes"),
    F("which-plate-legendary-held", "which plates.cakes(legendary)",
      "on which plate did the legendary cakes go", "where were the legendary cakes built",
      held_out=H),
    F("which-plate-used", "which plates.cakes", "which plates have cakes",
      "which plates are used", "where are the cakes"),
    F("which-plate-empty", "which plates.cakes = 0", "which plates are empty",
      "which plates are still free"),
    F("which-plate-cherry", "which plates.cakes(cherry)", "which plate has a cherry",
      "where are the cherry-topped cakes", "which plates have cakes with cherries"),
    F("which-plate-color", "which plates.cakes({color})", "where are the {c} cakes",
      "which plate has the {c} cake"),
    F("any-legendary", "check any plates.cakes(legendary)", "are there any legendary cakes",
      "do we have a legendary cake", "have we built a legendary cake"),
    F("any-plate-empty", "check any plates.cakes = 0", "is any plate empty",
      "is there an empty plate"),
    F("all-plates-empty", "check all plates.cakes = 0", "are all plates empty",
      "are the plates all still empty"),
    F("any-cakes", "check any plates.cakes", "do we have any cakes", "have we built any cakes",
      "is there a cake anywhere"),
    F("any-cherry-cake", "check any plates.cakes(cherry)", "does any cake have a cherry",
      "is there a cake with a cherry"),
    F("plate-most", "most plates.cakes", "which plate has the most cakes",
      "which plate is fullest"),
    F("plate-compare", "check {plate}.cakes > {plate2}.cakes",
      "are there more cakes on {p} than on {p2}", "does {p} have more cakes than {p2}"),
    # --- basket -----------------------------------------------------------------------------
    F("basket", "basket.cherries", "how many cherries are in the basket", "what's in the basket",
      "how full is the basket", "basket count", "cherries in the basket",
      "how many cherries have we put in the basket"),
    F("basket-count", "basket.cherries", "count the cherries in the basket",
      "how many cherries did we get into the basket", "what's the basket count",
      "tell me how many cherries the basket holds"),
    F("basket-held", "basket.cherries", "what's the basket tally",
      "how many cherries has the basket got", "how many cherries ended up in the basket",
      held_out=H),
    F("basket-empty", "check basket.cherries = 0", "is the basket empty",
      "is the basket still empty"),
    F("basket-any", "check basket.cherries > 0", "are there cherries in the basket",
      "has anyone put cherries in the basket", "is there anything in the basket"),
    F("basket-least", "check basket.cherries >= {n}",
      "are there at least {n} cherries in the basket", "does the basket have {n} cherries yet",
      numbers=(1, 20)),
    F("basket-more", "check basket.cherries > {n}",
      "are there more than {n} cherries in the basket",
      "does the basket hold more than {n} cherries", numbers=(1, 20)),
    # --- score ------------------------------------------------------------------------------
    F("score", "score.total", "what's the score", "what is the score", "how many points do we have",
      "current score", "score please", "how many points so far", "what is the final score",
      "score", "what's our total"),
    F("score-points", "score.total", "what's our score", "points?", "give me the score",
      "how many points are we on", "what is the total score", "tell me our points"),
    F("score-held", "score.total", "where do we stand on points", "how are we scoring",
      "what's the points tally", "how many points have we earned", held_out=H),
    F("score-part", "score.{part}", "how many points do {part} give",
      "how many points come from {part}", "how many points for {part}",
      "what did {part} score", "points from {part}"),
    F("score-part-held", "score.{part}", "what do {part} add to the score",
      "how much are {part} worth right now", held_out=H),
    F("score-more", "check score.total > {n}", "do we have more than {n} points",
      "have we scored over {n} points", "is the score above {n}", numbers=(5, 100)),
    F("score-least", "check score.total >= {n}", "do we have at least {n} points",
      "have we reached {n} points", numbers=(5, 100)),
    F("score-any", "check score.total > 0", "did we score any points", "do we have any points"),
    # --- time -------------------------------------------------------------------------------
    F("time-left", "time.left", "how much time is left", "how many seconds are left",
      "time left", "how long until the match ends", "how much time do we have",
      "how many seconds remain", "what's the remaining time", "how long is left in the match"),
    F("time-remaining", "time.left", "how much time remains", "remaining time",
      "how many seconds do we have left", "how long before the match is over",
      "tell me the time left"),
    F("time-left-held", "time.left", "how long do we still have", "seconds to go",
      "how long till the end", "how much of the match remains", held_out=H),
    F("time-played", "time.elapsed", "how long has the match been running",
      "how much time has passed", "how many seconds have gone by", "what's the match time",
      "how far into the match are we", "elapsed time", "how many seconds have we played",
      "how long ago did the match start", "what time is it in the match"),
    F("time-passed", "time.elapsed", "how much of the match has gone",
      "how many seconds has the match lasted so far", "how long since the match began",
      "what's the elapsed time"),
    F("time-played-held", "time.elapsed", "how long have we been playing", "time played so far",
      "how many seconds since the start", held_out=H),
    F("over", "check time.over", "is the match over", "has the match ended",
      "is the game finished", "is time up", "is the match still going", "is the game over"),
    F("over-held", "check time.over", "are we out of time", "has the final whistle gone",
      held_out=H),
    F("time-more", "check time.left > {n}", "do we have more than {n} seconds left",
      "is there more than {n} seconds left", numbers=(5, 95)),
    F("time-least", "check time.left >= {n}", "are there at least {n} seconds left",
      "do we still have {n} seconds", numbers=(5, 95)),
    F("time-less", "check time.left < {n}", "are there less than {n} seconds left",
      "is there under {n} seconds to go", numbers=(5, 95)),
    F("time-played-more", "check time.elapsed > {n}",
      "has the match been running for more than {n} seconds",
      "have more than {n} seconds passed", numbers=(5, 95)),
    # --- signals ------------------------------------------------------------------------------
    F("signals", "signals.sent", "which signals have been sent", "what signals were raised",
      "list the signals", "what signals are out"),
    F("signals-any", "check signals.sent", "has any signal been sent", "was a signal raised"),
    # --- what the state cannot tell -----------------------------------------------------------
    F("unknown-future", "unknown", "what will the final score be",
      "how many points will we have at the end", "will we win", "will {r} finish in time",
      "when will {r} arrive", "how long until {r} gets to {place}",
      "how many cherries will be in the basket at the end", "which robot will finish first",
      "what will be on {p} at the end", "will {h} run out"),
    F("unknown-other-team", "unknown", "are we winning", "what's the opponent's score",
      "how many points does the other team have", "where is the other team's robot",
      "what is the opponent doing", "who is winning"),
    F("unknown-robot", "unknown", "how fast is {r} going", "what's {r}'s battery level",
      "how much battery does {r} have", "what colour is {r}", "how heavy is {r}",
      "what is {r} thinking", "who built {r}", "what's the temperature of {r}'s motors",
      "is {r} happy", "can {r} fly"),
    F("unknown-world", "unknown", "what's the weather like", "what time is it",
      "what day is it", "how many matches have we won", "who is the referee",
      "how much does a cake weigh", "what's the best strategy", "should {r} go home",
      "what should {r} do next", "who gave {r} its orders", "why did the operator cancel {r}"),
    F("unknown-guess", "unknown", "who will win", "predict the final score",
      "how many cakes will we have built at the end", "will {r} make it back home in time",
      "what's {r}'s top speed", "how old is {r}", "who is the best robot",
      "what did the other team score", "is {r} going to fail", "how many cherries will {r} "
      "collect later"),
    F("unknown-not-held", "unknown", *_not_held_questions()),
    F("unknown-when", "unknown", *_future_questions()),
    F("unknown-opponents", "unknown", *_opponent_questions()),
    F("unknown-held", "unknown", "how much charge is left in {r}",
      "what will {r} do after the match", "is the other team ahead of us",
      "what's the score going to be", held_out=H),
)

# --- follow-ups --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUp:
    """A question that means the previous query with one thing changed: ``change`` is
    ``robot`` (another robot, or the other one), ``both`` (both robots), ``plate`` /
    ``holder`` / ``quadrant`` (another of the same kind), ``color``, or ``same``."""

    name: str
    change: str
    templates: tuple[str, ...]
    held_out: bool = False


FOLLOW_UPS: tuple[FollowUp, ...] = (
    FollowUp("robot", "robot", ("and {r}", "and {r}?", "what about {r}", "how about {r}",
                                "same for {r}", "and what about {r}", "{r}?")),
    FollowUp("robot-other", "other", ("and the other robot", "what about the other one",
                                      "and the other one?", "how about the other robot",
                                      "same question for the other robot")),
    FollowUp("robot-held", "robot", ("now ask the same of {r}", "{r} too?", "likewise for {r}"),
             held_out=H),
    FollowUp("both", "both", ("and both robots?", "what about both of them",
                              "and the two robots", "for both robots please")),
    FollowUp("plate", "plate", ("and {p}?", "what about {p}", "how about {p}", "same for {p}",
                                "and on {p}")),
    FollowUp("holder", "holder", ("and {h}?", "what about {h}", "how about {h}",
                                  "same for {h}")),
    FollowUp("quadrant", "quadrant", ("and {q}?", "what about {q}", "how about {q}",
                                      "same for {q}")),
    FollowUp("place-held", "plate", ("and for {p}", "{p} as well?", "check {p} too"),
             held_out=H),
    FollowUp("color", "color", ("and the {c} one?", "what about {c}", "and {c}?",
                                "how about the {c} stack", "same for {c}")),
    FollowUp("same", "same", ("and now?", "what about now", "again?", "and now",
                              "how about now")),
)

# --- surface forms -----------------------------------------------------------------------------

SCORE_PARTS: dict[str, tuple[str, ...]] = {
    "cakes": ("the cakes", "cakes", "the plates"),
    "basket": ("the basket", "the cherries in the basket", "the cherry basket"),
    "end_zone": ("the end zone", "robots at home", "parking at home", "being home"),
    "funny": ("the funny action", "the disguise", "the funny actions"),
}
_HOMOPHONES = {"one": ("won",), "two": ("to", "too"), "three": ("tree",), "four": ("for",)}
_OPENERS = ("hey ", "ok ", "so ", "um ", "quick question: ", "tell me, ", "can you tell me ",
            "please tell me ", "I'd like to know ", "remind me ", "do you know ", "uh ",
            "alright, ", "one question: ", "I want to know ", "let me know ", "could you check ",
            "and ")
_CLOSERS = (" please", " right now", " at the moment", " currently", " now", ", thanks",
            " exactly", " actually")
_CONTRACTIONS = (("what is ", "what's "), ("where is ", "where's "), ("how is ", "how's "),
                 ("who is ", "who's "), ("does not ", "doesn't "), ("is not ", "isn't "),
                 ("has not ", "hasn't "), ("did not ", "didn't "), ("are not ", "aren't "))


def _vary(question: str, rng: random.Random) -> str:
    """Surface variation that never changes what is asked: contractions written out or
    made, a closing word, a dropped "the" (as speech recognition drops it)."""
    if rng.random() < 0.3:
        for long, short in _CONTRACTIONS:
            if long in question and rng.random() < 0.5:
                question = question.replace(long, short)
            elif short in question and rng.random() < 0.5:
                question = question.replace(short, long)
    if rng.random() < 0.1:
        question = question.rstrip("?") + rng.choice(_CLOSERS)
    if rng.random() < 0.08:
        question = re.sub(r"\bthe ", "", question, count=1)
    return question


@dataclass
class _Slots:
    """One draw of every slot: canonical values and how the question says them."""

    values: dict[str, str] = field(default_factory=dict)
    said: dict[str, str] = field(default_factory=dict)


def _draw_slots(rng: random.Random, style: Style, numbers: tuple[int, int]) -> _Slots:
    s = _Slots()
    robot = rng.choice(V.ROBOTS)
    other = next(r for r in V.ROBOTS if r != robot)
    plate, plate2 = rng.sample(range(1, V.N_PLATES + 1), 2)
    holder = rng.randint(1, V.N_HOLDERS)
    quadrant = rng.randint(1, V.N_QUADRANTS)
    place = rng.choice(V.PLACES + (V.HOME, V.BASKET))
    color = rng.choice(V.COLORS)
    n = rng.randint(*numbers)
    part = rng.choice(tuple(SCORE_PARTS))
    s.values = {"robot": robot, "other": other, "plate": f"plate_{plate}",
                "plate2": f"plate_{plate2}", "holder": f"holder_{holder}",
                "quadrant": f"quadrant_{quadrant}", "place": place, "color": color,
                "n": str(n), "part": part}
    s.said = {"r": style.robot(robot), "r2": style.robot(other), "p": style.plate(plate),
              "p2": style.plate(plate2), "h": style.holder(holder),
              "q": style.quadrant(quadrant), "place": _place_said(place, style),
              "c": color, "n": style.number(n), "part": rng.choice(SCORE_PARTS[part])}
    return s


def _place_said(place: str, style: Style) -> str:
    if place == V.HOME:
        return style.home()
    if place == V.BASKET:
        return style.basket()
    kind, n = place.rsplit("_", 1)
    return getattr(style, kind)(int(n))


def _fill(template: str, said: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: said[m.group(1)], template)


def _finish(question: str, rng: random.Random, style: Style, opener: bool = True) -> str:
    """Openers, typos, homophones and the typed or spoken form of one question."""
    question = _vary(question.rstrip("?"), rng).rstrip("?")
    if opener and rng.random() < 0.15:
        question = rng.choice(_OPENERS) + question
    if rng.random() < 0.05:
        words = question.split(" ")
        i = rng.randrange(len(words))
        words[i] = typo(words[i], rng)
        question = " ".join(words)
    if style.speech:
        text = speech_text(question)
        if rng.random() < 0.3:  # what a recogniser makes of spoken numbers
            text = " ".join(rng.choice(_HOMOPHONES[w]) if w in _HOMOPHONES and rng.random() < 0.5
                            else w for w in text.split(" "))
        return text
    question = question[:1].upper() + question[1:]
    return question + ("?" if rng.random() < 0.85 else "")


@dataclass(frozen=True)
class QueryExample:
    question: str
    query: str  # canonical query text
    family: str
    previous: str | None = None  # the previous query in the session, if any

    def to_json(self) -> dict[str, str | None]:
        return {"question": self.question, "query": self.query, "family": self.family,
                "previous": self.previous}


def _query(family: Family, slots: _Slots) -> str:
    return _fill(family.query, slots.values)


def ask(family: Family, rng: random.Random, template: str | None = None) -> QueryExample:
    """One question of ``family`` (one of its templates, or ``template``) with its query."""
    style = Style.draw(rng)
    slots = _draw_slots(rng, style, family.numbers)
    template = template or rng.choice(family.templates)
    question = _finish(_fill(template, slots.said), rng, style)
    text = _query(family, slots)
    parse_query(text)  # a family that writes a malformed query is a bug here
    return QueryExample(question, text, family.name)


# --- follow-up changes to a query ----------------------------------------------------------


def _swap(ref: Ref, old: str, new: str) -> Ref:
    subject = new if ref.subject == old else ref.subject
    filters = tuple(new if f == old else f for f in ref.filters)
    attribute = new if ref.attribute == old else ref.attribute
    return Ref(subject, attribute, filters)


def _swap_value(value, old: str, new: str):
    if isinstance(value, Ref):
        return _swap(value, old, new)
    return new if value == old else value


def substitute(query: Query, old: str, new: str) -> Query:
    """``query`` with every ``old`` (a subject, place, colour) replaced by ``new``."""
    if isinstance(query, Describe):
        return Describe(tuple(_swap(r, old, new) for r in query.refs))
    if isinstance(query, Check):
        test = Predicate(query.test.op, _swap_value(query.test.value, old, new))
        return replace(query, ref=_swap(query.ref, old, new), test=test)
    if isinstance(query, Which):
        return Which(_swap(query.ref, old, new),
                     Predicate(query.test.op, _swap_value(query.test.value, old, new)))
    if isinstance(query, Extreme):
        return replace(query, ref=_swap(query.ref, old, new))
    return query


def _mentions(query: Query) -> list[str]:
    """Subjects, places and colours a query names, in order."""
    text = format_query(query)
    return re.findall(r"robot[12]|plate_\d|holder_\d|quadrant_\d|brown|yellow|pink", text)


def both_robots(query: Query) -> Query | None:
    """A one-robot query asked of both robots (``None`` if it is not about one robot)."""
    if isinstance(query, Describe) and all(r.subject in V.ROBOTS for r in query.refs):
        return Describe(tuple(Ref("robots", r.attribute, r.filters) for r in query.refs))
    if isinstance(query, Check) and query.ref.subject in V.ROBOTS and \
            not isinstance(query.test.value, Ref):
        return Check(Ref("robots", query.ref.attribute, query.ref.filters), query.test, "all")
    return None


def follow_up(previous: Query, follow: FollowUp, rng: random.Random
              ) -> QueryExample | None:
    """A follow-up question to ``previous`` and the query it means; ``None`` when this kind
    of follow-up does not fit the previous query."""
    style = Style.draw(rng)
    slots = _draw_slots(rng, style, (1, 10))
    named = _mentions(previous)
    change = follow.change
    if change == "same":
        new = previous
    elif change == "both":
        new = both_robots(previous)
        if new is None:
            return None
    else:
        kind = {"robot": "robot", "other": "robot"}.get(change, change)
        olds = [m for m in named if (m in V.COLORS) == (kind == "color")
                and (kind == "color" or m.startswith(kind))]
        if len(set(olds)) != 1:
            return None
        old = olds[0]
        pool = {"robot": V.ROBOTS, "plate": V.PLATES, "holder": V.HOLDERS,
                "quadrant": V.QUADRANTS, "color": V.COLORS}[kind]
        choices = [x for x in pool if x != old]
        target = choices[0] if change == "other" else rng.choice(choices)
        new = substitute(previous, old, target)
        number = target.rsplit("_", 1)[-1]
        slots.said.update({"r": style.robot(target) if kind == "robot" else slots.said["r"],
                           "p": style.plate(int(number)) if kind == "plate" else slots.said["p"],
                           "h": style.holder(int(number)) if kind == "holder" else slots.said["h"],
                           "q": style.quadrant(int(number)) if kind == "quadrant" else
                           slots.said["q"], "c": target if kind == "color" else slots.said["c"]})
    question = _finish(_fill(rng.choice(follow.templates), slots.said), rng, style, opener=False)
    return QueryExample(question, format_query(new), f"follow-{follow.name}",
                        format_query(previous))


# --- data sets -----------------------------------------------------------------------------


def families(held_out: bool) -> tuple[Family, ...]:
    return tuple(f for f in FAMILIES if f.held_out == held_out)


def trained_families(unknown_shapes: bool) -> tuple[Family, ...]:
    """The families a training draws from (:data:`SHAPED_UNKNOWNS` only with
    ``unknown_shapes``)."""
    return tuple(f for f in families(False) if unknown_shapes or f.name not in SHAPED_UNKNOWNS)


def follow_ups(held_out: bool) -> tuple[FollowUp, ...]:
    return tuple(f for f in FOLLOW_UPS if f.held_out == held_out)


def _intents(chosen: tuple[Family, ...]) -> dict[str, list[Family]]:
    """Families grouped by what they ask (the query template)."""
    out: dict[str, list[Family]] = {}
    for f in chosen:
        out.setdefault(f.query, []).append(f)
    return out


UNKNOWN_WEIGHT = 4.0
"""How much more often than another query kind the unknown kind is asked (it has many
families of its own, and it is the one answer that must never be guessed)."""
SHAPED_UNKNOWNS = ("unknown-not-held", "unknown-when", "unknown-opponents")
"""The unknown families in the shapes of answerable questions: trained only with
``unknown_shapes`` (the data without them is the data the adapters before them had)."""
SHAPED_UNKNOWN_WEIGHT = 2.7
"""The unknown kind's weight with those families (their many templates would otherwise make
it a sixth of the data; with this, about a tenth)."""
FOLLOW_TRIES = 12


def _examples(rng: random.Random, chosen: tuple[Family, ...],
              follows: tuple[FollowUp, ...], previous_share: float,
              follow_share: float, unknown_weight: float) -> Iterator[QueryExample]:
    """Endless examples: a query kind (weighted by the square root of its templates, so a
    kind with more wordings is asked a little more), then one of its families and templates;
    in a share of them a previous query (a full question ignores it; a follow-up changes
    it)."""
    intents = list(_intents(chosen).items())
    weights = [(unknown_weight if query == "unknown" else 1.0)
               * sum(len(f.templates) for f in fams) ** 0.5 for query, fams in intents]
    pool = [f for f in FAMILIES if not f.held_out and f.query != "unknown"]
    while True:
        roll = rng.random()
        if roll < follow_share and follows:
            follow = rng.choice(follows)
            for _ in range(FOLLOW_TRIES):
                base = ask(rng.choice(pool), rng)
                made = follow_up(parse_query(base.query), follow, rng)
                if made is not None:
                    yield made
                    break
            continue
        family = rng.choice(rng.choices(intents, weights)[0][1])
        example = ask(family, rng)
        if roll < follow_share + previous_share:
            example = replace(example, previous=ask(rng.choice(pool), rng).query)
        yield example


def generate_query_examples(count: int, seed: int, previous_share: float = 0.3,
                            follow_share: float = 0.12, unknown_shapes: bool = False
                            ) -> list[QueryExample]:
    """``count`` distinct training examples from the trained families only (with
    ``unknown_shapes``, :data:`SHAPED_UNKNOWNS` too), the same for the same seed."""
    rng = random.Random(seed)
    seen: set[tuple[str | None, str]] = set()
    out: list[QueryExample] = []
    weight = SHAPED_UNKNOWN_WEIGHT if unknown_shapes else UNKNOWN_WEIGHT
    for example in _examples(rng, trained_families(unknown_shapes), follow_ups(False),
                             previous_share, follow_share, weight):
        key = (example.previous, example.question.lower())
        if key in seen:
            continue
        seen.add(key)
        out.append(example)
        if len(out) == count:
            return out
    raise AssertionError("unreachable")


def held_out_examples(count: int, seed: int, previous_share: float = 0.25,
                      follow_share: float = 0.15) -> list[QueryExample]:
    """``count`` examples from the held-out families and follow-ups only (the questions the
    adapter never trained on), the same for the same seed."""
    rng = random.Random(seed)
    out: list[QueryExample] = []
    seen: set[tuple[str | None, str]] = set()
    for example in _examples(rng, families(True), follow_ups(True), previous_share,
                             follow_share, UNKNOWN_WEIGHT):
        key = (example.previous, example.question.lower())
        if key not in seen:
            seen.add(key)
            out.append(example)
        if len(out) == count:
            return out
    raise AssertionError("unreachable")


def plain_text(text: str) -> str:
    """``text`` lower-cased, punctuation as spaces (slot braces kept), spaces collapsed."""
    return " ".join(re.sub(r"[^a-z0-9'{} ]", " ", text.lower()).split())


def template_pattern(template: str) -> re.Pattern:
    """A template as a pattern over plain text (:func:`plain_text`), each slot any words."""
    return re.compile(re.sub(r"\\\{\w+\\\}", r"[\\w' ]+?", re.escape(plain_text(template))))


@functools.lru_cache(maxsize=2)
def _trained_wordings(unknown_shapes: bool) -> tuple[re.Pattern, ...]:
    return tuple(template_pattern(t) for f in trained_families(unknown_shapes)
                 for t in f.templates)


def trained_wording(question: str, unknown_shapes: bool = False) -> bool:
    """Whether a trained family's template words ``question`` (slot values, case and
    punctuation aside; ``unknown_shapes`` as the adapter's data had it): a hand-written
    question that one does measures the slots and the template, not language the adapter
    never saw (the evaluation reports both parts)."""
    plain = plain_text(question)
    return any(rx.fullmatch(plain) for rx in _trained_wordings(unknown_shapes))


def query_user_text(question: str, previous: str | None) -> str:
    """The user message of a query request (:func:`llm_mars.llm.prompts.query_messages`)."""
    from llm_mars.llm.prompts import query_messages

    return query_messages(question, previous)[-1]["content"]

