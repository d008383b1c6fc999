"""What each skill does to the world, as a program of timed phases.

A skill program is a generator: it checks its preconditions against the world, yields the
timed phases it needs (drive to a place, manipulate, sleep, wait for a signal), and finally
returns either a :class:`Failure` with a reason or an *effect*: a function that changes the
world in one go when the work is done (``None``: nothing to change). The simulator runs the
phases in simulated time; keeping the effect separate lets an injected fault or a cancel stop a
skill without half-applying it.

Preconditions that a robot knows about itself (what it carries) are checked before it drives;
what it can only see on arrival (a stack taken by the other robot, an empty holder, the cakes
on a plate) is checked when it gets there. Everything else about a skill (its ports, whether
it uses the robot's body, its label, where it drives) is the registry's
(:mod:`llm_mars.bt.registry`).
"""
from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any

from llm_mars import vocabulary as V
from llm_mars.bt.registry import REGISTRY
from llm_mars.errors import SkillArgumentError
from llm_mars.world.state import HISTORY_KEPT, Cake, RobotState, WorldState

# Failure reasons (they end up in the robot's history, e.g. "PickCake pink 1: FAILURE (...)").
ROBOT_FULL = "robot full"
STACK_TAKEN = "stack already taken"
NO_COLOUR_LEFT = "no such stack colour left"
NOTHING_TO_PLACE = "nothing to place"
HOLDER_EMPTY = "holder empty"
NO_CHERRIES = "no cherries carried"
NO_CAKE = "no cake on plate"
CHERRY_ON_TOP = "cherry already on top"
# reasons the simulator gives
PLACE_BLOCKED = "place blocked"
INJECTED_FAULT = "injected fault"
MATCH_OVER = "match over"
ROBOT_BUSY = "robot busy"
DEADLOCK = "deadlock"


@dataclass(frozen=True)
class Drive:
    """Drive to a place (for ``home``: the robot's own slot), waiting or detouring as needed."""

    place: str


@dataclass(frozen=True)
class Manipulate:
    """Use the arms for about ``vocabulary.MANIPULATION_S`` seconds (jittered by the seed)."""


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class AwaitSignal:
    name: str


@dataclass(frozen=True)
class Failure:
    reason: str


Phase = Drive | Manipulate | Sleep | AwaitSignal
Effect = Callable[[], None]
Program = Generator[Phase, None, "Failure | Effect | None"]


def read_args(skill: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """``args`` as the registry ports of ``skill`` read them (a goal runs on the values a plan
    node would hold); :class:`SkillArgumentError` unless they fit.

    Optional ports may be absent; the programs apply their defaults.
    """
    kind = REGISTRY[skill]
    for name in args:
        if kind.port(name) is None:
            raise SkillArgumentError(skill, name, "no such port")
    read = {}
    for port in kind.ports:
        if port.name not in args or (args[port.name] is None and not port.required):
            if port.required:
                raise SkillArgumentError(skill, port.name, "missing")
            continue
        try:
            read[port.name] = port.read(args[port.name])
        except ValueError as exc:
            raise SkillArgumentError(skill, port.name, str(exc)) from None
    return read


def _place(skill: str, args: Mapping[str, Any]) -> str:
    """Where a step of ``skill`` drives (the registry's ``drives_to``)."""
    return REGISTRY[skill].destination(args)


def _move_to(world: WorldState, robot: RobotState, args: Mapping[str, Any]) -> Program:
    yield Drive(_place("MoveTo", args))
    return None


def _pick_cake(world: WorldState, robot: RobotState, args: Mapping[str, Any]) -> Program:
    color, quadrant = args["color"], _place("PickCake", args)
    if len(robot.stacks) >= V.MAX_STACKS_CARRIED:
        return Failure(ROBOT_FULL)
    yield Drive(quadrant)
    if not world.quadrants[quadrant][color]:
        anywhere = any(stacks[color] for stacks in world.quadrants.values())
        return Failure(STACK_TAKEN if anywhere else NO_COLOUR_LEFT)
    yield Manipulate()

    def take() -> None:
        world.quadrants[quadrant][color] -= 1
        robot.stacks.append(color)
    return take


def build_cakes(stacks: list[str], sort: bool) -> list[Cake]:
    """The cakes that carried ``stacks`` make on a plate.

    ``sort=False``: one cake per stack (its three layers). ``sort=True``: three cakes, each
    with one layer from every stack, bottom to top in legendary order (brown, yellow, pink).
    """
    if not sort:
        return [Cake([color] * V.LAYERS_PER_STACK) for color in stacks]
    ordered = sorted(stacks, key=V.COLORS.index)
    return [Cake(list(ordered)) for _ in range(V.LAYERS_PER_STACK)]


def _place_cakes(world: WorldState, robot: RobotState, args: Mapping[str, Any]) -> Program:
    plate = _place("PlaceCakes", args)
    if not robot.stacks:
        return Failure(NOTHING_TO_PLACE)
    yield Drive(plate)
    yield Manipulate()

    def unload() -> None:
        world.plates[plate].extend(build_cakes(robot.stacks, bool(args.get("sort", False))))
        robot.stacks.clear()
    return unload


def _collect_cherries(world: WorldState, robot: RobotState, args: Mapping[str, Any]) -> Program:
    """Takes ``count`` cherries, or fewer if the holder or the robot's storage runs out."""
    holder = _place("CollectCherries", args)
    room = V.MAX_CHERRIES_CARRIED - robot.cherries
    if room <= 0:
        return Failure(ROBOT_FULL)
    yield Drive(holder)
    if world.holders[holder] <= 0:
        return Failure(HOLDER_EMPTY)
    yield Manipulate()
    wanted = args.get("count")
    taken = min(room, world.holders[holder], room if wanted is None else int(wanted))

    def take() -> None:
        world.holders[holder] -= taken
        robot.cherries += taken
    return take


def _drop_cherries(world: WorldState, robot: RobotState, args: Mapping[str, Any]) -> Program:
    if robot.cherries <= 0:
        return Failure(NO_CHERRIES)
    yield Drive(_place("DropCherries", args))
    yield Manipulate()

    def drop() -> None:
        world.basket += robot.cherries
        robot.cherries = 0
    return drop


def _put_cherry(world: WorldState, robot: RobotState, args: Mapping[str, Any]) -> Program:
    """Crowns the first cake on the plate that has no cherry yet."""
    plate = _place("PutCherry", args)
    if robot.cherries <= 0:
        return Failure(NO_CHERRIES)
    yield Drive(plate)
    cakes = world.plates[plate]
    if not cakes:
        return Failure(NO_CAKE)
    bare = [cake for cake in cakes if not cake.cherry]
    if not bare:
        return Failure(CHERRY_ON_TOP)
    yield Manipulate()

    def crown() -> None:
        bare[0].cherry = True
        robot.cherries -= 1
    return crown


def _funny_action(world: WorldState, robot: RobotState, args: Mapping[str, Any]) -> Program:
    yield Manipulate()

    def disguise() -> None:
        robot.funny_action = True
    return disguise


def _wait(world: WorldState, robot: RobotState, args: Mapping[str, Any]) -> Program:
    yield Sleep(float(args["seconds"]))
    return None


def _signal(world: WorldState, robot: RobotState, args: Mapping[str, Any]) -> Program:
    name = args["signal"]

    def raise_signal() -> None:
        if name not in world.signals:
            world.signals.append(name)
    return raise_signal
    yield  # a generator with no phases: it finishes on the first step


def _wait_for_signal(world: WorldState, robot: RobotState, args: Mapping[str, Any]) -> Program:
    yield AwaitSignal(args["signal"])
    return None


def _say(world: WorldState, robot: RobotState, args: Mapping[str, Any]) -> Program:
    text = args["text"]

    def speak() -> None:
        robot.said.append(text)
        del robot.said[:-HISTORY_KEPT]
    return speak
    yield  # a generator with no phases: it finishes on the first step


PROGRAMS: Mapping[str, Callable[[WorldState, RobotState, Mapping[str, Any]], Program]] = {
    "MoveTo": _move_to,
    "PickCake": _pick_cake,
    "PlaceCakes": _place_cakes,
    "CollectCherries": _collect_cherries,
    "DropCherries": _drop_cherries,
    "PutCherry": _put_cherry,
    "FunnyAction": _funny_action,
    "Wait": _wait,
    "Signal": _signal,
    "WaitForSignal": _wait_for_signal,
    "Say": _say,
}
