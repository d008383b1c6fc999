"""Make the world states of the hand-made question set (``states/hs01.json`` ...).

Every state is a real simulator state: hand-written plans (BehaviorTree.CPP v4 XML) run on
the simulated field through :class:`llm_mars.session.match.Match`, and the state JSON is taken
at a chosen moment (the start, a robot between places, a robot waiting, right after a
failure or a cancel, the end of the match, ...). Nothing is edited by hand afterwards.

Everything is deterministic: seed 0, the default 0.1 s step, and moments chosen by match time
or by what the robots are doing, never by wall time.

    .venv/bin/python test/eval/handmade/make_states.py          # (re)write states/*.json
    .venv/bin/python test/eval/handmade/make_states.py --check  # exit 1 if a file differs
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


def hs01() -> State:
    """The start: nothing has happened yet."""
    return Match(SEED, DT_S).state_dict()


def hs02() -> State:
    """Both robots busy early on: robot 1 under way to quadrant 3 for the pink stack, robot 2
    at holder 4 taking six cherries (not in its storage yet)."""
    match = Match(SEED, DT_S)
    match.load(plan(
        robot1="""
            <PickCake color="pink" quadrant="3"/>
            <PickCake color="yellow" quadrant="3"/>
            <PlaceCakes plate="3" sort="false"/>
            <MoveTo target="home"/>""",
        robot2="""
            <CollectCherries holder="4" count="6"/>
            <DropCherries/>
            <MoveTo target="home"/>"""))
    until_time(match, 3.0)
    return match.state_dict()


def hs03() -> State:
    """Deliveries done: three legendary cakes from quadrant 2 on plate 2 (robot 1 then went
    home); ten cherries from holder 2 in the basket (robot 2 stays at the basket)."""
    match = Match(SEED, DT_S)
    match.execute(plan(
        robot1="""
            <PickCake color="brown" quadrant="2"/>
            <PickCake color="yellow" quadrant="2"/>
            <PickCake color="pink" quadrant="2"/>
            <PlaceCakes plate="2" sort="true"/>
            <MoveTo target="home"/>""",
        robot2="""
            <CollectCherries holder="2"/>
            <DropCherries/>"""))
    return match.state_dict()


def hs04() -> State:
    """Stack already taken: robot 2 put a pink (quadrant 3) and a yellow (quadrant 4) cake on
    plate 3 and went home; then robot 1 took the brown stack of quadrant 3 and failed to take
    its pink one. Robot 1 is left at quadrant 3 with the brown stack."""
    match = Match(SEED, DT_S)
    match.execute(plan(robot2="""
        <PickCake color="pink" quadrant="3"/>
        <PickCake color="yellow" quadrant="4"/>
        <PlaceCakes plate="3" sort="false"/>
        <MoveTo target="home"/>"""))
    match.execute(plan(robot1="""
        <PickCake color="brown" quadrant="3"/>
        <PickCake color="pink" quadrant="3"/>
        <PlaceCakes plate="5" sort="true"/>
        <MoveTo target="home"/>"""))
    return match.state_dict()


def hs05() -> State:
    """Robot full, both robots: robot 1 holds all three stacks of quadrant 1 and was asked for
    a fourth; robot 2 holds ten cherries from holder 1 and was asked for three more."""
    match = Match(SEED, DT_S)
    match.execute(plan(
        robot1="""
            <PickCake color="brown" quadrant="1"/>
            <PickCake color="yellow" quadrant="1"/>
            <PickCake color="pink" quadrant="1"/>
            <PickCake color="brown" quadrant="4"/>
            <PlaceCakes plate="4" sort="true"/>""",
        robot2="""
            <CollectCherries holder="1"/>
            <CollectCherries holder="4" count="3"/>
            <DropCherries/>"""))
    return match.state_dict()


def hs06() -> State:
    """No cake for a cherry: robot 2 took two cherries from holder 3 and tried to crown a cake
    on plate 5, which is empty; its tree failed there. At that moment robot 1 stands at
    plate 1 unloading the yellow and brown stacks of quadrant 2 (sorted)."""
    match = Match(SEED, DT_S)
    match.load(plan(
        robot1="""
            <PickCake color="yellow" quadrant="2"/>
            <PickCake color="brown" quadrant="2"/>
            <PlaceCakes plate="1" sort="true"/>
            <MoveTo target="home"/>""",
        robot2="""
            <CollectCherries holder="3" count="2"/>
            <PutCherry plate="5"/>
            <PutCherry plate="5"/>"""))
    match_ticks(match, lambda m: robot(m, "robot2")["tree_status"] == "FAILURE")
    return match.state_dict()


def hs07() -> State:
    """A cancelled tree: robot 1 was taking the brown and pink stacks of quadrant 4 to plate 4
    when the operator stopped it halfway; robot 2 had driven to quadrant 1 and back home and
    done the funny action."""
    match = Match(SEED, DT_S)
    match.load(plan(
        robot1="""
            <PickCake color="brown" quadrant="4"/>
            <PickCake color="pink" quadrant="4"/>
            <PlaceCakes plate="4" sort="false"/>
            <MoveTo target="home"/>""",
        robot2="""
            <MoveTo target="quadrant_1"/>
            <MoveTo target="home"/>
            <FunnyAction/>"""))

    def halfway_to_plate_4(m: Match) -> bool:
        r1 = robot(m, "robot1")
        return r1["active"] == "PlaceCakes 4" and r1["location"] is None and r1["y_mm"] <= 440

    match_ticks(match, halfway_to_plate_4)
    match.cancel("robot1")
    finish(match)
    return match.state_dict()


def hs08() -> State:
    """Waiting for a signal: robot 2 holds three cherries at holder 4 and waits for
    ``cakes_ready``; robot 1 carries the three stacks of quadrant 1 towards plate 5, where it
    will build legendary cakes and then raise the signal."""
    match = Match(SEED, DT_S)
    match.load(plan(
        robot1="""
            <PickCake color="brown" quadrant="1"/>
            <PickCake color="yellow" quadrant="1"/>
            <PickCake color="pink" quadrant="1"/>
            <PlaceCakes plate="5" sort="true"/>
            <Signal signal="cakes_ready"/>
            <MoveTo target="home"/>""",
        robot2="""
            <CollectCherries holder="4" count="3"/>
            <WaitForSignal signal="cakes_ready"/>
            <PutCherry plate="5"/>
            <PutCherry plate="5"/>
            <PutCherry plate="5"/>
            <MoveTo target="home"/>"""))

    def on_the_way(m: Match) -> bool:
        r1, r2 = robot(m, "robot1"), robot(m, "robot2")
        return (r1["active"] == "PlaceCakes 5" and r1["x_mm"] >= 1800
                and r2["active"] == "WaitForSignal cakes_ready")

    match_ticks(match, on_the_way)
    return match.state_dict()


def hs09() -> State:
    """Cherries on cakes: robot 1 built three legendary cakes on plate 3 from quadrant 3,
    signalled and went home for the funny action; robot 2 waited for the signal, crowned two
    of the cakes, dropped its last cherry in the basket and went home."""
    match = Match(SEED, DT_S)
    match.execute(plan(
        robot1="""
            <PickCake color="brown" quadrant="3"/>
            <PickCake color="yellow" quadrant="3"/>
            <PickCake color="pink" quadrant="3"/>
            <PlaceCakes plate="3" sort="true"/>
            <Signal signal="plate3_done"/>
            <MoveTo target="home"/>
            <FunnyAction/>""",
        robot2="""
            <CollectCherries holder="3" count="3"/>
            <WaitForSignal signal="plate3_done"/>
            <PutCherry plate="3"/>
            <PutCherry plate="3"/>
            <DropCherries/>
            <MoveTo target="home"/>"""))
    return match.state_dict()


def hs10() -> State:
    """Many kinds of cakes, after two commands: plate 1 has three legendary cakes, plate 4 a
    brown and a pink cake, plate 5 two yellow cakes; robot 1 went home, robot 2 waits at
    holder 4 with a brown and a pink stack it has not placed."""
    match = Match(SEED, DT_S)
    match.execute(plan(
        robot1="""
            <PickCake color="brown" quadrant="1"/>
            <PickCake color="yellow" quadrant="1"/>
            <PickCake color="pink" quadrant="1"/>
            <PlaceCakes plate="1" sort="true"/>""",
        robot2="""
            <PickCake color="brown" quadrant="4"/>
            <PickCake color="pink" quadrant="4"/>
            <PlaceCakes plate="4" sort="false"/>"""))
    match.execute(plan(
        robot1="""
            <PickCake color="yellow" quadrant="4"/>
            <PickCake color="yellow" quadrant="3"/>
            <PlaceCakes plate="5" sort="false"/>
            <MoveTo target="home"/>""",
        robot2="""
            <PickCake color="brown" quadrant="3"/>
            <PickCake color="pink" quadrant="2"/>
            <MoveTo target="holder_4"/>"""))
    return match.state_dict()


def hs11() -> State:
    """The match is over and cut robot 1 off: it emptied holders 1 and 4 into the basket,
    waited, and was on its way to quadrant 2 for a pink stack when the clock ran out. Robot 2
    built cakes from quadrant 4 on plate 4 and finished at home with the funny action."""
    match = Match(SEED, DT_S)
    match.execute(plan(
        robot1="""
            <CollectCherries holder="1"/>
            <DropCherries/>
            <CollectCherries holder="4"/>
            <DropCherries/>
            <Wait seconds="70"/>
            <PickCake color="pink" quadrant="2"/>
            <PlaceCakes plate="2" sort="false"/>
            <MoveTo target="home"/>""",
        robot2="""
            <PickCake color="brown" quadrant="4"/>
            <PickCake color="yellow" quadrant="4"/>
            <PickCake color="pink" quadrant="4"/>
            <PlaceCakes plate="4" sort="true"/>
            <MoveTo target="home"/>
            <FunnyAction/>"""))
    return match.state_dict()


def hs12() -> State:
    """A clean finished match (the clock ran to 100 s after both trees were done): legendary
    cakes on plate 4, a pink and a yellow cake on plate 1, all 20 cherries of holders 2 and 4
    in the basket, both robots home with the funny action."""
    match = Match(SEED, DT_S)
    match.execute(plan(
        robot1="""
            <PickCake color="brown" quadrant="4"/>
            <PickCake color="yellow" quadrant="4"/>
            <PickCake color="pink" quadrant="4"/>
            <PlaceCakes plate="4" sort="true"/>
            <PickCake color="pink" quadrant="1"/>
            <PickCake color="yellow" quadrant="1"/>
            <PlaceCakes plate="1" sort="false"/>
            <MoveTo target="home"/>
            <FunnyAction/>""",
        robot2="""
            <CollectCherries holder="2"/>
            <DropCherries/>
            <CollectCherries holder="4"/>
            <DropCherries/>
            <MoveTo target="home"/>
            <FunnyAction/>"""))
    idle_until(match, 100.0)
    return match.state_dict()


def hs13() -> State:
    """An empty holder: robot 1 emptied holder 3 into the basket and went home; then robot 2
    was sent to holder 3 for five cherries, found it empty, took five from holder 1 instead
    (a fallback) and dropped them in the basket, where it stays."""
    match = Match(SEED, DT_S)
    match.execute(plan(robot1="""
        <CollectCherries holder="3"/>
        <DropCherries/>
        <MoveTo target="home"/>"""))
    match.execute(plan(robot2="""
        <Fallback>
          <CollectCherries holder="3" count="5"/>
          <CollectCherries holder="1" count="5"/>
        </Fallback>
        <DropCherries/>"""))
    return match.state_dict()


def hs14() -> State:
    """The basket partly full: robot 2 already dropped five cherries from holder 2; now it
    drives seven cherries from holder 4 to the basket while robot 1, back home after putting
    a pink cake on plate 1, does the funny action."""
    match = Match(SEED, DT_S)
    match.execute(plan(robot2="""
        <CollectCherries holder="2" count="5"/>
        <DropCherries/>"""))
    match.load(plan(
        robot1="""
            <PickCake color="pink" quadrant="1"/>
            <PlaceCakes plate="1" sort="false"/>
            <MoveTo target="home"/>
            <FunnyAction/>""",
        robot2="""
            <CollectCherries holder="3" count="7"/>
            <DropCherries/>
            <MoveTo target="home"/>"""))

    def both_busy(m: Match) -> bool:
        r1, r2 = robot(m, "robot1"), robot(m, "robot2")
        return (r1["active"] == "FunnyAction" and r2["active"] == "DropCherries"
                and r2["location"] is None)

    match_ticks(match, both_busy)
    return match.state_dict()


def hs15() -> State:
    """Late in the match, after a pause: robot 2 had filled the basket from holder 1 and put
    a brown cake on plate 2; at 62 s it is told to fill the basket from holder 4 only if 40 s
    are left, says it has not the time, and is driving home. Robot 1 is waiting at plate 5."""
    match = Match(SEED, DT_S)
    match.execute(plan(
        robot1="""
            <MoveTo target="plate_5"/>""",
        robot2="""
            <CollectCherries holder="1"/>
            <DropCherries/>
            <PickCake color="brown" quadrant="2"/>
            <PlaceCakes plate="2" sort="false"/>"""))
    idle_until(match, 62.0)
    match.load(plan(
        robot1="""
            <Wait seconds="20"/>
            <MoveTo target="home"/>""",
        robot2="""
            <Fallback>
              <Sequence>
                <TimeLeft seconds="40"/>
                <CollectCherries holder="4"/>
                <DropCherries/>
              </Sequence>
              <Say text="Not enough time left for holder 4."/>
            </Fallback>
            <MoveTo target="home"/>"""))
    match_ticks(match, lambda m: robot(m, "robot2")["location"] is None
                and robot(m, "robot2")["x_mm"] <= 700)
    return match.state_dict()


def hs16() -> State:
    """A robot waiting for a place: robot 1 is at quadrant 2 taking its stacks one by one;
    robot 2, sent for the pink stack of quadrant 2, waits at home until the quadrant is free."""
    match = Match(SEED, DT_S)
    match.load(plan(
        robot1="""
            <PickCake color="brown" quadrant="2"/>
            <PickCake color="yellow" quadrant="2"/>
            <PickCake color="pink" quadrant="2"/>
            <PlaceCakes plate="2" sort="true"/>
            <MoveTo target="home"/>""",
        robot2="""
            <PickCake color="pink" quadrant="2"/>
            <PlaceCakes plate="1" sort="false"/>"""))
    match_ticks(match, lambda m: robot(m, "robot1")["active"] == "PickCake pink 2"
                and robot(m, "robot2")["waiting_for"] == "robot1")
    return match.state_dict()


def hs17() -> State:
    """A cherry already on top, after two commands: robot 2 put a brown cake on plate 2 and
    went home while robot 1 moved seven cherries of holder 4 to the basket; then robot 1 went
    back for six more (holder 4 had only three), crowned the brown cake and failed to crown it
    a second time. It stands at plate 2 with two cherries."""
    match = Match(SEED, DT_S)
    match.execute(plan(
        robot1="""
            <CollectCherries holder="4" count="7"/>
            <DropCherries/>""",
        robot2="""
            <PickCake color="brown" quadrant="2"/>
            <PlaceCakes plate="2" sort="false"/>
            <MoveTo target="home"/>"""))
    match.execute(plan(robot1="""
        <CollectCherries holder="4" count="6"/>
        <PutCherry plate="2"/>
        <PutCherry plate="2"/>
        <MoveTo target="home"/>"""))
    return match.state_dict()


def hs18() -> State:
    """Late in the match, after a long pause: both robots took cherries at the start (robot 1
    six from holder 4, robot 2 four from holder 1). At 70 s robot 1 is told to place cakes on
    plate 3, carries none and fails at once; robot 2 is bringing the yellow stack of
    quadrant 2 to plate 2, where it is to put a cherry on it, then go home."""
    match = Match(SEED, DT_S)
    match.execute(plan(
        robot1="""
            <CollectCherries holder="4" count="6"/>""",
        robot2="""
            <CollectCherries holder="1" count="4"/>"""))
    idle_until(match, 70.0)
    match.load(plan(
        robot1="""
            <PlaceCakes plate="3" sort="false"/>
            <MoveTo target="home"/>""",
        robot2="""
            <PickCake color="yellow" quadrant="2"/>
            <PlaceCakes plate="2" sort="false"/>
            <PutCherry plate="2"/>
            <MoveTo target="home"/>"""))
    match_ticks(match, lambda m: robot(m, "robot2")["active"] == "PlaceCakes 2"
                and robot(m, "robot2")["y_mm"] >= 1550)
    return match.state_dict()


STATES: dict[str, Callable[[], State]] = {
    f.__name__: f for f in (hs01, hs02, hs03, hs04, hs05, hs06, hs07, hs08, hs09, hs10,
                            hs11, hs12, hs13, hs14, hs15, hs16, hs17, hs18)
}


def render(state: State) -> str:
    """A state file's text: the simulator's JSON (as ``run-tree --json`` prints it)."""
    return json.dumps(state, indent=2) + "\n"


def build_states(states: dict[str, Callable[[], State]] = STATES) -> dict[str, str]:
    """Every state file's name and text."""
    return {f"{name}.json": render(make()) for name, make in states.items()}


def main(argv: list[str] | None = None, states: dict[str, Callable[[], State]] = STATES,
         states_dir: Path = STATES_DIR, description: str = __doc__) -> int:
    """Write (or with ``--check`` compare) the files of ``states`` in ``states_dir``; the
    second set's script (``../handmade2/make_states.py``) runs this with its own states."""
    parser = argparse.ArgumentParser(description=description.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed files instead of writing them")
    args = parser.parse_args(argv)
    built = build_states(states)
    if args.check:
        stale = [n for n, text in built.items()
                 if not (states_dir / n).exists()
                 or (states_dir / n).read_text(encoding="utf-8") != text]
        for name in stale:
            print(f"{name} differs from what make_states.py builds", file=sys.stderr)
        return 1 if stale else 0
    states_dir.mkdir(exist_ok=True)
    for name, text in built.items():
        (states_dir / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(built)} states to {states_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
