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

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

from llm_mars.session.match import Match

HERE = Path(__file__).resolve().parent
STATES_DIR = HERE / "states"


def _first_set_script():
    """The first set's make_states.py: its plan, ticking and writing helpers serve both sets."""
    spec = importlib.util.spec_from_file_location(
        "_handmade_make_states", HERE.parent / "handmade" / "make_states.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_shared = _first_set_script()
SEED, DT_S, State = _shared.SEED, _shared.DT_S, _shared.State
plan, finish, match_ticks = _shared.plan, _shared.finish, _shared.match_ticks
until_time, idle_until, robot = _shared.until_time, _shared.idle_until, _shared.robot


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


def build_states() -> dict[str, str]:
    """Every state file's name and text."""
    return _shared.build_states(STATES)


if __name__ == "__main__":
    sys.exit(_shared.main(None, STATES, STATES_DIR, __doc__))
