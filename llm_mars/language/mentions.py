"""Whether a plan covers what its command mentions, to choose among candidate plans.

The bt adapter's commonest mistake on long commands is a dropped step: "go to quadrant 2 and
wait 3 seconds there" planned as the wait alone, "put 4 cherries in the basket" as the whole
fill-the-basket subtree. Such a plan leaves out something the command names: a number, a cake
colour, a robot, home (for each robot when both are to go), the basket, the funny action,
legendary (sorted) cakes, a cherry on a cake, collecting cherries, or a number of cherries ("4
cherries" is a collection's count, or as many cherries put on cakes; not holder 4).
:func:`missing_mentions` lists those; the assistant (:class:`llm_mars.assistant.Assistant`)
samples a few more plans when the plans it has miss something, and keeps the first plan that
misses least.

A mention counts as covered when a step of the plan, with library subtrees expanded, uses it.
"One" is never required (it is "a cherry" as often as a number). The check is a heuristic for
ranking: it never rejects a plan on its own.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from llm_mars import vocabulary as V
from llm_mars.bt.library import SubtreeLibrary, load_library
from llm_mars.bt.model import Node, Plan, PortRef
from llm_mars.language.grounding import cherry_counts, ground, robots_named
from llm_mars.language.normaliser import Said, as_said

_SORTED = "PlaceCakes sort=true"
_BOTH = re.compile(r"\b(?:both (?:robots|bots|of you)|you both|you two|two robots|each of you"
                   r"|everyone|(?:then|and) both (?:go|drive|head|return|come|park|do|finish))\b")
_BOTH_HOME = re.compile(r"\b(?:both|you two|each of you|everyone)\b(?:\s+\w+){0,3}?\s+"
                        r"(?:go|goes|drive|head|return|come|park)\s+(?:back\s+)?(?:to\s+)?"
                        r"(?:the\s+)?(?:home|base)\b")
_CONCEPTS: dict[str, tuple[re.Pattern[str], frozenset[str]]] = {
    # mention -> (words that name it, targets or skills that do it)
    "home": (re.compile(r"\bhome\b"), frozenset({"home"})),
    "basket": (re.compile(r"\bbasket\b"), frozenset({"basket", "DropCherries"})),
    "funny action": (re.compile(r"\b(?:funny|disguise|costume)\b"), frozenset({"FunnyAction"})),
    "cherry on a cake": (re.compile(r"\b(?:cherry|cherries)\s+on\b|\bon top\b"),
                         frozenset({"PutCherry"})),
    # "legendary cakes", "put them sorted": cakes placed in legendary order
    "legendary order": (re.compile(r"\b(?:legendary|sorted|sort)\b"), frozenset({_SORTED})),
    # "collect cherries from holder 2 and drop them": a verb of taking, then cherries
    "collecting cherries": (re.compile(r"\b(?:collect|grab|get|take|pick up|fetch|load)\s+"
                                       r"(?:\w+\s+){0,3}cherr"),
                            frozenset({"CollectCherries"})),
}


def _bound(value: Any, bindings: Mapping[str, Any]) -> Any:
    return bindings.get(value.name) if isinstance(value, PortRef) else value


def _steps(node: Node, library: SubtreeLibrary,
           bindings: Mapping[str, Any] | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """(tag, ports) of every node under ``node``, subtree uses replaced by their bodies."""
    bindings = bindings or {}
    ports = {name: _bound(value, bindings) for name, value in node.ports}
    if node.tag == "SubTree" and ports.get("ID") in library:
        definition = library[ports["ID"]]
        inner = {p.name: p.default for p in definition.ports}
        inner.update({k: v for k, v in ports.items() if k != "ID"})
        yield from _steps(definition.root, library, inner)
        return
    yield node.tag, ports
    for child in node.children:
        yield from _steps(child, library, bindings)


def _numbers(value: Any, port: str) -> set[int]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return set()
    if port == "msec":
        return {int(value) // 1000}
    return {int(value)} if float(value).is_integer() else set()


def missing_mentions(command: str | Said, plan: Plan,
                     library: SubtreeLibrary | None = None) -> set[str]:
    """What ``command`` mentions that no step of ``plan`` uses (``"3"``, ``"pink"``,
    ``"robot2"``, ``"home"``, ...); empty when the plan covers it all."""
    library = library or load_library()
    command = as_said(command)
    text = command.canonical
    mentioned = ground(command)
    used: set[Any] = set()
    cherries_handled: set[Any] = set()  # collection counts, cherries put on cakes
    home_of: set[str] = set()  # robots whose tree goes home
    for robot, root in plan.trees:
        counts: dict[str, int] = {}
        for tag, ports in _steps(root, library):
            used.add(tag)
            if ports.get("target") == V.HOME:
                home_of.add(robot)
            counts[tag] = counts.get(tag, 0) + 1
            if tag == "CollectCherries":
                cherries_handled.add(ports.get("count"))
            if tag == "PlaceCakes" and ports.get("sort") is True:
                used.add(_SORTED)
            for name, value in ports.items():
                used.add(value)
                used.update(_numbers(value, name))
                if isinstance(value, str) and "_" in value:  # plate_3 -> 3
                    n = value.rpartition("_")[2]
                    if n.isdigit():
                        used.add(int(n))
        used.update(counts.values())  # "take two stacks", "put cherries on three cakes"
        cherries_handled.add(counts.get("PutCherry"))  # "put 2 cherries on the cakes"
    missing = {str(n) for n in mentioned.numbers if n != 1 and n not in used}
    missing |= {f"{n} cherries" for n in cherry_counts(command)
                if n != 1 and n not in cherries_handled}
    missing |= {c for c in mentioned.colors or () if c not in used}
    robots = robots_named(command)
    if _BOTH.search(text):
        robots |= set(V.ROBOTS)
    missing |= robots - set(plan.robots)
    missing |= {name for name, (words, doers) in _CONCEPTS.items()
                if words.search(text) and not doers & used}
    if _BOTH_HOME.search(text):  # "then both of you go home": each robot's tree
        missing |= {f"home for {robot}" for robot in V.ROBOTS if robot not in home_of}
    return missing
