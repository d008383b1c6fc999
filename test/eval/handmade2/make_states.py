"""Make the world states of the second hand-made question set (``states/ks01.json`` ...).

Every state is a real simulator state: hand-written plans (BehaviorTree.CPP v4 XML) run on
the simulated field through :class:`llm_mars.session.match.Match`, and the state JSON is taken
at a chosen moment (a robot between the two branches of a fallback, a retry under way, both
robots waiting, right after a time-limit guard fired, in the middle of a sorted placement, the
last seconds of the match, ...). Nothing is edited by hand afterwards.

Everything is deterministic: seed 0, the default 0.1 s step, and moments chosen by match time
or by what the robots are doing, never by wall time. The moments differ from the first set's
(``../handmade/make_states.py``).

    .venv/bin/python test/eval/handmade2/make_states.py          # (re)write states/*.json
    .venv/bin/python test/eval/handmade2/make_states.py --check  # exit 1 if a file differs
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llm_mars.session.match import Match

HERE = Path(__file__).resolve().parent
STATES_DIR = HERE / "states"
SEED = 0
DT_S = 0.1
MAX_TICKS = 20_000  # far more than a 100 s match needs at 0.1 s a tick

State = dict[str, Any]


# --- plans ----------------------------------------------------------------------------------


def plan(robot1: str | None = None, robot2: str | None = None) -> str:
    """A plan document with one ``Sequence`` per addressed robot (the steps as XML lines)."""
    trees = []
    for robot, steps in (("robot1", robot1), ("robot2", robot2)):
        if steps is not None:
            trees.append(f'  <BehaviorTree ID="{robot}">\n    <Sequence>\n'
                         f'{_indent(steps, 6)}\n    </Sequence>\n  </BehaviorTree>')
    return '<root BTCPP_format="4">\n' + "\n".join(trees) + "\n</root>\n"


def _indent(steps: str, spaces: int) -> str:
    lines = [line.strip() for line in steps.strip().splitlines() if line.strip()]
    return "\n".join(" " * spaces + line for line in lines)


# --- running to a moment ----------------------------------------------------------------------


def finish(match: Match) -> None:
    """Run the loaded trees to the end (or to the end of the match)."""
    match_ticks(match, lambda m: not m.running)


def match_ticks(match: Match, done: Callable[[Match], bool]) -> None:
    """Tick the running trees until ``done(match)`` holds (checked before every tick)."""
    for _ in range(MAX_TICKS):
        if done(match):
            return
        if not match.running:
            raise RuntimeError("the trees finished before the moment was reached")
        match.tick()
    raise RuntimeError("the moment was never reached")


def until_time(match: Match, time_s: float) -> None:
    """Tick the running trees until the match clock reaches ``time_s``."""
    match_ticks(match, lambda m: m.world.time_s >= time_s - 1e-6)


def idle_until(match: Match, time_s: float) -> None:
    """Let the match clock run with no tree running (the operator is still talking)."""
    assert not match.running
    while match.world.time_s < time_s - 1e-6 and not match.world.match_over:
        match.world.step(min(DT_S, time_s - match.world.time_s))


def robot(match: Match, name: str) -> dict[str, Any]:
    return match.state_dict()["robots"][name]


# --- the states -------------------------------------------------------------------------------


def ks01() -> State:
    """Mid-fallback: robot 2 took the brown and yellow stacks of quadrant 4 to plate 4
    (sorted) and went home. Then robot 1 was sent for a brown stack, quadrant 4 first and
    quadrant 3 if that fails, to put it on plate 5; it found quadrant 4's brown gone and is
    now driving to quadrant 3. Robot 2 meanwhile takes four cherries from holder 2."""
    match = Match(SEED, DT_S)
    match.execute(plan(robot2="""
        <PickCake color="brown" quadrant="4"/>
        <PickCake color="yellow" quadrant="4"/>
        <PlaceCakes plate="4" sort="true"/>
        <MoveTo target="home"/>"""))
    match.load(plan(
        robot1="""
            <Fallback>
              <PickCake color="brown" quadrant="4"/>
              <PickCake color="brown" quadrant="3"/>
            </Fallback>
            <PlaceCakes plate="5" sort="false"/>""",
        robot2="""
            <CollectCherries holder="2" count="4"/>
            <DropCherries/>"""))
    match_ticks(match, lambda m: robot(m, "robot1")["active"] == "PickCake brown 3"
                and robot(m, "robot1")["location"] is None
                and robot(m, "robot1")["y_mm"] >= 1000)
    return match.state_dict()


def ks02() -> State:
    """A retry under way: robot 2 was told to take five cherries from holder 1 and put one on
    plate 1, trying up to three times. Plate 1 was still empty on its first try (no cake on
    plate); on its second try it is driving back to holder 1 with the five cherries it still
    carries. Robot 1 meanwhile brings the pink and yellow stacks of quadrant 3 to plate 1."""
    match = Match(SEED, DT_S)
    match.load(plan(
        robot1="""
            <PickCake color="pink" quadrant="3"/>
            <PickCake color="yellow" quadrant="3"/>
            <PlaceCakes plate="1" sort="false"/>
            <MoveTo target="home"/>""",
        robot2="""
            <RetryUntilSuccessful num_attempts="3">
              <Sequence>
                <CollectCherries holder="1" count="5"/>
                <PutCherry plate="1"/>
              </Sequence>
            </RetryUntilSuccessful>
            <MoveTo target="home"/>"""))
    match_ticks(match, lambda m: robot(m, "robot2")["active"] == "CollectCherries 1 5"
                and any("FAILURE" in e for e in robot(m, "robot2")["history"])
                and robot(m, "robot2")["location"] is None)
    until_time(match, match.world.time_s + 1.0)
    return match.state_dict()


def ks03() -> State:
    """Both robots waiting: robot 1 put a yellow cake on plate 3 and now waits 15 s there;
    robot 2 holds eight cherries from holder 1 and waits at the holder for the signal
    ``plate3_ready``, which robot 1 has not raised yet."""
    match = Match(SEED, DT_S)
    match.load(plan(
        robot1="""
            <PickCake color="yellow" quadrant="3"/>
            <PlaceCakes plate="3" sort="false"/>
            <Wait seconds="15"/>
            <Signal signal="plate3_ready"/>
            <MoveTo target="home"/>""",
        robot2="""
            <CollectCherries holder="1" count="8"/>
            <WaitForSignal signal="plate3_ready"/>
            <PutCherry plate="3"/>
            <DropCherries/>"""))
    match_ticks(match, lambda m: robot(m, "robot1")["active"] == "Wait 15"
                and robot(m, "robot2")["active"] == "WaitForSignal plate3_ready"
                and m.world.time_s >= 16.0)
    return match.state_dict()


def ks04() -> State:
    """A time limit that fired: robot 1 emptied holder 4 into the basket; then it was given
    7 s to bring the brown, yellow and pink stacks of quadrant 2 to plate 2. The time ran
    out while it was taking the pink one, which was cancelled, and its tree failed; it stands
    at quadrant 2 with two stacks. Robot 2 was never given anything to do."""
    match = Match(SEED, DT_S)
    match.execute(plan(robot1="""
        <CollectCherries holder="4"/>
        <DropCherries/>"""))
    match.execute(plan(robot1="""
        <Timeout msec="7000">
          <Sequence>
            <PickCake color="brown" quadrant="2"/>
            <PickCake color="yellow" quadrant="2"/>
            <PickCake color="pink" quadrant="2"/>
            <PlaceCakes plate="2" sort="true"/>
          </Sequence>
        </Timeout>"""))
    return match.state_dict()


def ks05() -> State:
    """A sorted placement half done: robot 1 stands at plate 3 unloading the pink, brown and
    yellow stacks of quadrant 3 (sorted, so three legendary cakes will appear); one second in,
    the stacks are still on the robot and the plate is empty. Robot 2 dropped seven cherries
    of holder 4 in the basket and is driving back to holder 4 for the rest."""
    match = Match(SEED, DT_S)
    match.load(plan(
        robot1="""
            <PickCake color="pink" quadrant="3"/>
            <PickCake color="brown" quadrant="3"/>
            <PickCake color="yellow" quadrant="3"/>
            <PlaceCakes plate="3" sort="true"/>
            <MoveTo target="home"/>""",
        robot2="""
            <CollectCherries holder="4" count="7"/>
            <DropCherries/>
            <CollectCherries holder="4"/>
            <DropCherries/>"""))
    match_ticks(match, lambda m: robot(m, "robot1")["active"] == "PlaceCakes 3"
                and robot(m, "robot1")["location"] == "plate_3")
    until_time(match, match.world.time_s + 1.0)
    return match.state_dict()


def ks06() -> State:
    """Cherries spread over the holders, after two commands: robot 1 took three from
    holder 1 and four from holder 2, dropped the seven in the basket and drove to plate 1;
    robot 2 emptied holder 4 into the basket, then took six from holder 1 and two from
    holder 2 and holds those eight at holder 2. Both trees have finished."""
    match = Match(SEED, DT_S)
    match.execute(plan(
        robot1="""
            <CollectCherries holder="1" count="3"/>
            <CollectCherries holder="2" count="4"/>""",
        robot2="""
            <CollectCherries holder="4"/>
            <DropCherries/>
            <CollectCherries holder="1" count="6"/>"""))
    match.execute(plan(
        robot1="""
            <DropCherries/>
            <MoveTo target="plate_1"/>""",
        robot2="""
            <CollectCherries holder="2" count="2"/>"""))
    return match.state_dict()


def ks07() -> State:
    """A session of three commands: (1) robot 1 brings the brown stack of quadrant 1 to
    plate 2; robot 2 fills the basket from holder 3. (2) robot 2 brings the yellow and pink
    stacks of quadrant 1 to plate 2 (one cake each). (3) robot 1 crowns two cakes of plate 2
    with cherries from holder 1 and goes home; robot 2 goes home and does the funny action."""
    match = Match(SEED, DT_S)
    match.execute(plan(
        robot1="""
            <PickCake color="brown" quadrant="1"/>
            <PlaceCakes plate="2" sort="false"/>""",
        robot2="""
            <CollectCherries holder="3"/>
            <DropCherries/>"""))
    match.execute(plan(robot2="""
        <PickCake color="yellow" quadrant="1"/>
        <PickCake color="pink" quadrant="1"/>
        <PlaceCakes plate="2" sort="false"/>"""))
    match.execute(plan(
        robot1="""
            <CollectCherries holder="1" count="2"/>
            <PutCherry plate="2"/>
            <PutCherry plate="2"/>
            <MoveTo target="home"/>""",
        robot2="""
            <MoveTo target="home"/>
            <FunnyAction/>"""))
    return match.state_dict()


def ks08() -> State:
    """The last seconds, with points still moving: robot 1 built three legendary cakes on
    plate 2 and signalled; robot 2 crowned all three with cherries from holder 2 and kept two.
    After a long pause, at 88 s, robot 1 is sent home for the funny action (after a 3 s wait)
    and robot 2 to drop its cherries and go home. At 94 s robot 1 is doing the funny action
    at home and robot 2 is on its way home from the basket."""
    match = Match(SEED, DT_S)
    match.execute(plan(
        robot1="""
            <PickCake color="brown" quadrant="2"/>
            <PickCake color="yellow" quadrant="2"/>
            <PickCake color="pink" quadrant="2"/>
            <PlaceCakes plate="2" sort="true"/>
            <Signal signal="cakes_up"/>""",
        robot2="""
            <CollectCherries holder="2" count="5"/>
            <WaitForSignal signal="cakes_up"/>
            <PutCherry plate="2"/>
            <PutCherry plate="2"/>
            <PutCherry plate="2"/>"""))
    idle_until(match, 88.0)
    match.load(plan(
        robot1="""
            <MoveTo target="home"/>
            <Wait seconds="3"/>
            <FunnyAction/>""",
        robot2="""
            <DropCherries/>
            <MoveTo target="home"/>"""))
    until_time(match, 94.0)
    return match.state_dict()


def ks09() -> State:
    """Giving way: robot 2 put a pink cake on plate 5 and its tree has finished there; robot 1
    was then sent to plate 5 with a cherry from holder 4, and robot 2, idle, is driving aside
    to let it in."""
    match = Match(SEED, DT_S)
    match.execute(plan(robot2="""
        <PickCake color="pink" quadrant="4"/>
        <PlaceCakes plate="5" sort="false"/>"""))
    match.load(plan(robot1="""
        <CollectCherries holder="4" count="1"/>
        <PutCherry plate="5"/>
        <MoveTo target="home"/>"""))
    match_ticks(match, lambda m: robot(m, "robot2")["giving_way_to"] == "robot1"
                and robot(m, "robot2")["location"] is None)
    until_time(match, match.world.time_s + 0.5)
    return match.state_dict()


def ks10() -> State:
    """No stack of that colour left, and nothing to drop, after three commands: (1) robot 1
    built three legendary cakes on plate 1 from quadrant 1 while robot 2 put the brown stacks
    of quadrants 2 and 3 on plate 2 as two brown cakes; (2) robot 1 took the last brown stack
    (quadrant 4) and a yellow one of quadrant 2 to plate 3, one cake each, and went home;
    (3) robot 2 was sent for a brown stack of quadrant 1 (none left anywhere; the failure is
    forced to success) and then to drop its cherries (it has none), so its tree failed."""
    match = Match(SEED, DT_S)
    match.execute(plan(
        robot1="""
            <PickCake color="brown" quadrant="1"/>
            <PickCake color="yellow" quadrant="1"/>
            <PickCake color="pink" quadrant="1"/>
            <PlaceCakes plate="1" sort="true"/>""",
        robot2="""
            <PickCake color="brown" quadrant="2"/>
            <PickCake color="brown" quadrant="3"/>
            <PlaceCakes plate="2" sort="false"/>"""))
    match.execute(plan(robot1="""
        <PickCake color="brown" quadrant="4"/>
        <PickCake color="yellow" quadrant="2"/>
        <PlaceCakes plate="3" sort="false"/>
        <MoveTo target="home"/>"""))
    match.execute(plan(robot2="""
        <ForceSuccess>
          <PickCake color="brown" quadrant="1"/>
        </ForceSuccess>
        <DropCherries/>"""))
    return match.state_dict()


STATES: dict[str, Callable[[], State]] = {
    f.__name__: f for f in (ks01, ks02, ks03, ks04, ks05, ks06, ks07, ks08, ks09, ks10)
}


def render(state: State) -> str:
    """A state file's text: the simulator's JSON (as ``run-tree --json`` prints it)."""
    return json.dumps(state, indent=2) + "\n"


def build_states() -> dict[str, str]:
    """Every state file's name and text."""
    return {f"{name}.json": render(make()) for name, make in STATES.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed files instead of writing them")
    args = parser.parse_args(argv)
    built = build_states()
    if args.check:
        stale = [n for n, text in built.items()
                 if not (STATES_DIR / n).exists()
                 or (STATES_DIR / n).read_text(encoding="utf-8") != text]
        for name in stale:
            print(f"{name} differs from what make_states.py builds", file=sys.stderr)
        return 1 if stale else 0
    STATES_DIR.mkdir(exist_ok=True)
    for name, text in built.items():
        (STATES_DIR / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(built)} states to {STATES_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
