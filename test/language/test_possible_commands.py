"""The world check never refuses a possible command, and grounding keeps what it asks for.

Commands are generated from the vocabulary (every way of naming a robot, counts said as digits
or words, a number right after a robot's name, counts across holders, both robots at once,
something the world lacks taken back by a correction)
and the property is the one the operator sees: no reply in place of a plan (nor a clause asked alone whose verb no skill
has, whose reply would be the command's), no robot the
command addresses left out of the robots a plan may command, no count it says left out of
the numbers a plan may use.
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_mars import vocabulary as V
from llm_mars.language.decomposition import split_command
from llm_mars.language.grounding import ground, out_of_world
from llm_mars.language.lexicon import CORRECTIONS, ORDINALS, ROBOT_WORDS, number_word

ROBOT_NUMBERS = st.integers(1, len(V.ROBOTS))
SEPARATORS = st.sampled_from([": ", ", ", " ", " - ", "; ", ". "])


@st.composite
def number(draw, lo: int, hi: int) -> tuple[int, str]:
    n = draw(st.integers(lo, hi))
    return n, draw(st.sampled_from([str(n), number_word(n)]))


@st.composite
def designator(draw, n: int) -> str:
    """Every form the vocabulary gives a robot's name: robot 2, Robot two, bot2, robot number
    2, R2, r2, the second robot, second bot."""
    noun = draw(st.sampled_from(ROBOT_WORDS))
    noun = draw(st.sampled_from([noun, noun.capitalize()]))
    said = draw(st.sampled_from([str(n), number_word(n)]))
    return draw(st.sampled_from([
        f"{noun} {said}", f"{noun}{n}", f"{noun} number {said}", f"R{n}", f"r{n}",
        f"the {ORDINALS[n]} {noun}", f"{ORDINALS[n]} {noun}", f"The {ORDINALS[n]} {noun}"]))


@st.composite
def cherries(draw, lo: int = 1, hi: int = V.MAX_CHERRIES_CARRIED) -> tuple[int, str]:
    n, said = draw(number(lo, hi))
    return n, f"{said} {'cherry' if n == 1 else 'cherries'}"


@st.composite
def one_robot_command(draw) -> tuple[str, set[str], set[int]]:
    """(command, robots it addresses, counts and numbered places it says)."""
    r = draw(ROBOT_NUMBERS)
    who = draw(designator(r))
    sep = draw(SEPARATORS)
    h1, h2 = draw(st.integers(1, V.N_HOLDERS)), draw(st.integers(1, V.N_HOLDERS))
    q, p = draw(st.integers(1, V.N_QUADRANTS)), draw(st.integers(1, V.N_PLATES))
    kind = draw(st.sampled_from(["count first", "verb", "two holders", "stacks", "wait",
                                 "preposition"]))
    if kind == "count first":  # "Second robot: two cherries into the basket"
        n, what = draw(cherries())
        where = draw(st.sampled_from(["into the basket", f"from holder {h1}",
                                      f"from holder {h1} to the basket", "on plate 2"]))
        return f"{who}{sep}{what} {where}", {r}, {n}
    if kind == "verb":
        n, what = draw(cherries())
        verb = draw(st.sampled_from(["take", "collect", "grab", "get", "pick up", "load"]))
        return f"{who}{sep}{verb} {what} from holder {h1}", {r}, {n, h1}
    if kind == "two holders":  # "3 from holder 1 and 4 from holder 4", one load
        a, a_said = draw(number(1, V.MAX_CHERRIES_CARRIED - 1))
        b, b_said = draw(number(1, V.MAX_CHERRIES_CARRIED - a))
        when = draw(st.sampled_from(["", " at once", " together", " at the same time",
                                     " in one go"]))
        tail = draw(st.sampled_from(["", " and put them on the cakes",
                                     " then put one on each of the 4 cakes"]))
        return (f"{who}{sep}take {a_said} cherries from holder {h1} and {b_said} from holder "
                f"{h2}{when}{tail}", {r}, {a, b, h1, h2})
    if kind == "stacks":
        k, k_said = draw(number(1, V.MAX_STACKS_CARRIED))
        noun = draw(st.sampled_from(["stacks", "cakes", "cake stacks", "brown stacks"]))
        if k == 1:
            noun = noun[:-1]
        when = draw(st.sampled_from([" at once", " at the same time", " together", ""]))
        return f"{who}{sep}{k_said} {noun} from quadrant {q}{when} to plate {p}", {r}, \
            {k, q, p}
    if kind == "wait":  # a wait at a place between two actions
        s, s_said = draw(number(1, 20))
        return (f"{who}{sep}go to plate {p}, wait {s_said} seconds there, then go to holder "
                f"{h1}", {r}, {s, p, h1})
    # a preposition that sounds like a number, right after a robot noun that names no robot
    n, what = draw(cherries())
    lead = draw(st.sampled_from(["robot, for the basket,", "robot for the basket", "robot, to",
                                 "robot to"]))
    return f"{lead} take {what} from holder {h1}", set(), {n, h1}


@st.composite
def two_robot_command(draw) -> tuple[str, set[str], set[int]]:
    kind = draw(st.sampled_from(["each", "together", "list"]))
    if kind == "together":  # what two robots carry between them
        k, k_said = draw(number(1, len(V.ROBOTS) * V.MAX_STACKS_CARRIED))
        n, what = draw(cherries(1, len(V.ROBOTS) * V.MAX_CHERRIES_CARRIED))
        both = draw(st.sampled_from(["both robots together", "robot 1 and robot 2 together",
                                     "robot 1 and 2, together", "the two robots at once",
                                     "robots one and two together"]))
        body = draw(st.sampled_from([f"take {k_said} stacks at once",
                                     f"collect {what} at the same time"]))
        return f"{both} {body}", {1, 2}, {k if "stacks" in body else n}
    if kind == "each":  # "robot 1 and 2: 5 cherries each"
        n, what = draw(cherries())
        both = draw(st.sampled_from(["robot 1 and robot 2", "robot 1 and 2", "robots 1 and 2",
                                     "robot one and two", "bots one and two"]))
        return f"{both}{draw(SEPARATORS)}{what} each to the basket", {1, 2}, {n}
    a, b = draw(ROBOT_NUMBERS), draw(ROBOT_NUMBERS)
    first, second = draw(designator(a)), draw(designator(b))
    n, what = draw(cherries())
    m, other = draw(cherries())
    h1, h2 = draw(st.integers(1, V.N_HOLDERS)), draw(st.integers(1, V.N_HOLDERS))
    return (f"{first}{draw(SEPARATORS)}{what} from holder {h1}{draw(SEPARATORS)}{second} "
            f"{other} from holder {h2} at the same time", {a, b}, {n, m, h1, h2})


@st.composite
def corrected_command(draw) -> tuple[str, set[str], set[int]]:
    """A possible command whose first try named what the world lacks and was taken back:
    "robot 1 go to plate 7, no wait, plate 4", "robot 3, sorry, robot 2, take 15 cherries, I
    mean 5"."""
    said, robots, counts = draw(one_robot_command())
    correction = draw(st.sampled_from(CORRECTIONS))
    kind = draw(st.sampled_from(["place", "robot", "count"]))
    if kind == "place":
        noun = draw(st.sampled_from(["plate", "quadrant", "holder"]))
        wrong = draw(st.integers(6, 12))
        right = draw(st.integers(1, 4))
        return (f"{said}, then go to {noun} {wrong}, {correction}, {noun} {right}", robots,
                counts | {right})
    if kind == "robot":
        r = draw(ROBOT_NUMBERS)
        wrong = draw(designator(draw(st.integers(len(V.ROBOTS) + 1, 9))))
        right = draw(designator(r))
        return f"{wrong}, {correction}, {right}{draw(SEPARATORS)}go home", {r}, set()
    wrong, right = draw(cherries(V.MAX_CHERRIES_CARRIED + 1, 30)), draw(cherries())
    return (f"{said}, then take {wrong[1]}, {correction}, {right[1]} from holder 2", robots,
            counts | {right[0], 2})


def _check(command: str, robots: set[int], counts: set[int]) -> None:
    assert out_of_world(command) is None, command
    # a clause with a verb no skill has may be replied to, and its reply refuses the command
    assert all(c.known_verb for c in split_command(command) or ()), command
    grounding = ground(command)
    allowed = grounding.allowed_robots()
    assert {V.ROBOTS[r - 1] for r in robots} <= set(allowed), (command, allowed)
    assert {n for n in counts if n > 1} <= grounding.numbers, (command, grounding.numbers)


@settings(max_examples=600, deadline=None)
@given(one_robot_command())
def test_possible_one_robot_commands_are_never_refused(case):
    _check(*case)


@settings(max_examples=300, deadline=None)
@given(two_robot_command())
def test_possible_two_robot_commands_are_never_refused(case):
    _check(*case)


@settings(max_examples=300, deadline=None)
@given(corrected_command())
def test_possible_commands_with_a_correction_are_never_refused(case):
    _check(*case)


@pytest.mark.parametrize("command, robots, counts", [
    # the false refusals the independent set found
    ("Second robot: two cherries from holder 1 into the basket", {2}, {2, 1}),
    ("Second robot: three cherries into the basket", {2}, {3}),
    ("the first robot four cherries from holder 3 to the basket", {1}, {4, 3}),
    ("robot 1 take 4 cherries from holder 1 and 4 from holder 4 at once, then put them on "
     "the 4 cakes", {1}, {4, 1}),
    ("both robots together take four stacks at once", {1, 2}, {4}),
    ("robot 1 and robot 2 together collect 16 cherries", {1, 2}, {16}),
    ("robot 1 and 2 go home", {1, 2}, set()),
    ("robot for the basket take 4 cherries from holder 2", set(), {4, 2}),
    ("robot 2 go to the plate ten seconds wait", {2}, {10}),
])
def test_the_false_refusals_found_by_the_independent_set_are_gone(command, robots, counts):
    _check(command, robots, counts)


def test_a_mistyped_designator_beside_an_ordinal_one_keeps_both_robots():
    _check("the second robot move the pink cake from quadrant 2 to plate 1, robpt 1 go home",
           {1, 2}, set())
