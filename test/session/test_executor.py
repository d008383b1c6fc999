"""The plan executor on the simulated world: validation, preemption, queueing, cancel."""
from __future__ import annotations

import pytest

from llm_mars.errors import PlanValidationError
from llm_mars.payloads import PlanDispatch
from llm_mars.robots.sim_robot import SimRobot
from llm_mars.session.executor import MAX_QUEUED_PLANS, SKIPPED_REASON, PlanExecutor
from llm_mars.world.simulator import Simulator

DT = 0.1


def plan(body: str, robot: str = "robot1") -> str:
    return (f'<root BTCPP_format="4"><BehaviorTree ID="{robot}">{body}</BehaviorTree></root>')


@pytest.fixture
def world():
    return Simulator(seed=0)


@pytest.fixture
def executor(world):
    return PlanExecutor("robot1", SimRobot(world, "robot1"), clock=world.clock)


def run(executor, world, max_ticks=2000):
    for _ in range(max_ticks):
        if not executor.running:
            return
        executor.tick()
        world.step(DT)
    raise AssertionError("plan did not finish")


def test_runs_a_plan_to_success(executor, world):
    executor.submit(PlanDispatch("p1", plan('<MoveTo target="plate_3"/>')))
    assert executor.snapshot().status == "RUNNING"
    executor.tick()
    assert executor.snapshot().active == "MoveTo target=plate_3"
    run(executor, world)
    snap = executor.snapshot()
    assert (snap.status, snap.plan_id, snap.active) == ("SUCCESS", "p1", None)
    assert world.state_dict()["robots"]["robot1"]["location"] == "plate_3"


def test_failure_reason_is_reported(executor, world):
    executor.submit(PlanDispatch("p1", plan('<PlaceCakes plate="2"/>')))
    run(executor, world)
    snap = executor.snapshot()
    assert snap.status == "FAILURE"
    assert "PlaceCakes" in snap.reason


@pytest.mark.parametrize("xml", [
    plan('<PickCake color="purple" quadrant="2"/>'),
    plan('<Fly/>'),
    "<root>",
    plan('<MoveTo target="home"/>', robot="robot2"),
])
def test_invalid_or_foreign_plan_is_rejected_and_nothing_moves(executor, world, xml):
    with pytest.raises(PlanValidationError):
        executor.submit(PlanDispatch("bad", xml))
    assert not executor.running
    assert executor.snapshot().status == "IDLE"
    world.step(1.0)
    assert world.state_dict()["robots"]["robot1"]["location"] == "home"


def test_replace_preempts_the_running_plan(executor, world):
    executor.submit(PlanDispatch("p1", plan('<MoveTo target="plate_5"/>')))
    for _ in range(5):
        executor.tick()
        world.step(DT)
    executor.submit(PlanDispatch("p2", plan('<MoveTo target="basket"/>')))
    run(executor, world)
    state = world.state_dict()["robots"]["robot1"]
    assert executor.snapshot().plan_id == "p2"
    assert state["location"] == "basket"
    assert any("MoveTo plate_5" in h and "CANCELLED" in h for h in state["history"])


def test_queue_runs_after_the_current_plan(executor, world):
    executor.submit(PlanDispatch("p1", plan('<MoveTo target="plate_1"/>')))
    executor.submit(PlanDispatch("p2", plan('<MoveTo target="plate_2"/>'), "queue"))
    assert executor.snapshot().queued == 1
    run(executor, world)
    history = world.state_dict()["robots"]["robot1"]["history"]
    assert history == ["MoveTo plate_1: SUCCESS", "MoveTo plate_2: SUCCESS"]


def test_queue_on_idle_robot_starts_at_once(executor):
    executor.submit(PlanDispatch("p1", plan('<MoveTo target="plate_1"/>'), "queue"))
    assert executor.running and executor.snapshot().queued == 0


def test_queue_is_bounded(executor):
    executor.submit(PlanDispatch("p0", plan('<Wait seconds="50"/>')))
    for i in range(MAX_QUEUED_PLANS):
        executor.submit(PlanDispatch(f"q{i}", plan('<Wait seconds="1"/>'), "queue"))
    with pytest.raises(PlanValidationError):
        executor.submit(PlanDispatch("one-too-many", plan('<Wait seconds="1"/>'), "queue"))


def test_cancel_halts_within_one_tick_and_drops_queue(executor, world):
    executor.submit(PlanDispatch("p1", plan('<MoveTo target="plate_5"/>')))
    executor.submit(PlanDispatch("p2", plan('<MoveTo target="home"/>'), "queue"))
    for _ in range(5):
        executor.tick()
        world.step(DT)
    assert executor.cancel("operator said stop")
    where = world.state_dict()["robots"]["robot1"]
    world.step(1.0)
    after = world.state_dict()["robots"]["robot1"]
    assert (after["x_mm"], after["y_mm"]) == (where["x_mm"], where["y_mm"])
    snap = executor.snapshot()
    assert (snap.status, snap.reason, snap.queued) == ("CANCELLED", "operator said stop", 0)
    assert not executor.cancel()


class _BrokenRobot(SimRobot):
    """A robot whose condition check raises, as one fed a state without 'carrying' did."""

    def check_condition(self, condition, args):
        raise KeyError("carrying")


def test_a_tick_that_raises_fails_the_plan_with_its_reason_and_starts_the_next(world):
    executor = PlanExecutor("robot1", _BrokenRobot(world, "robot1"), clock=world.clock)
    executor.submit(PlanDispatch("p1", plan('<IsCarrying item="cake"/>')))
    executor.submit(PlanDispatch("p2", plan('<IsCarrying item="cake"/>'), "queue"))
    error = executor.tick()
    assert isinstance(error, KeyError)
    snap = executor.snapshot()
    assert (snap.status, snap.plan_id) == ("RUNNING", "p2")
    executor.tick()
    snap = executor.snapshot()
    assert (snap.status, snap.plan_id) == ("FAILURE", "p2") and "carrying" in snap.reason


def test_a_skipped_tree_ends_the_plan_as_bt_cpp_ends_its_tick(executor, world):
    """BT.CPP's tickWhileRunning returns SKIPPED: the plan is over, nothing failed."""
    executor.submit(PlanDispatch("p1", plan(
        '<Sequence _skipIf="1 &lt; 2"><MoveTo target="plate_3"/></Sequence>')))
    executor.tick()
    snap = executor.snapshot()
    assert (snap.status, snap.reason) == ("SUCCESS", SKIPPED_REASON)
    assert world.state_dict()["robots"]["robot1"]["location"] == "home"  # nothing moved


def test_a_while_condition_turning_false_halts_the_running_skill(executor, world):
    executor.submit(PlanDispatch("p1", plan(
        '<Sequence><Script code="n := 0"/><MoveTo target="plate_3" _while="n += 1; n &lt; 3"/>'
        '<MoveTo target="plate_1"/></Sequence>')))
    executor.tick()
    executor.tick()
    assert executor.snapshot().active == "MoveTo target=plate_3"
    executor.tick()  # the _while is false: plate_3 is halted and skipped, plate_1 starts
    assert executor.snapshot().active == "MoveTo target=plate_1"
    run(executor, world)
    assert world.state_dict()["robots"]["robot1"]["location"] == "plate_1"


class _CountingRobot(SimRobot):
    """Records every goal started and cancelled."""

    def __init__(self, world, name):
        super().__init__(world, name)
        self.started, self.cancelled = [], []

    def start_skill(self, skill, args):
        goal = super().start_skill(skill, args)
        self.started.append(goal)
        return goal

    def cancel_skill(self, goal):
        self.cancelled.append(goal)
        super().cancel_skill(goal)


@pytest.fixture
def counted(world):
    robot = _CountingRobot(world, "robot1")
    return robot, PlanExecutor("robot1", robot, clock=world.clock)


@pytest.mark.parametrize("end", ["cancel", "replace"])
def test_a_failing_on_halted_script_still_halts_every_skill_and_ends_the_plan(counted, world, end):
    """An _onHalted that raises must neither stop the halt part-way (a sibling's goal left
    running) nor leave the plan RUNNING to restart its skill next tick."""
    robot, executor = counted
    executor.submit(PlanDispatch("p1", plan(
        '<Parallel><Sleep msec="100000" _onHalted="nope = 1"/>'
        '<MoveTo target="plate_3" _onHalted="nope = 1"/></Parallel>')))
    executor.tick()
    world.step(DT)
    assert len(robot.started) == 1
    if end == "cancel":
        assert executor.cancel("operator said stop")
        snap = executor.snapshot()
        assert snap.status == "CANCELLED" and "nope" in snap.reason and not executor.running
    else:
        executor.submit(PlanDispatch("p2", plan('<Wait seconds="1"/>')))
        assert executor.snapshot().plan_id == "p2"
    assert robot.cancelled == robot.started[:1]
    where = world.state_dict()["robots"]["robot1"]
    executor.tick()
    world.step(5.0)
    after = world.state_dict()["robots"]["robot1"]
    assert (after["x_mm"], after["y_mm"]) == (where["x_mm"], where["y_mm"])
    assert [g for g in robot.started if g not in robot.cancelled] == robot.started[1:]


def test_a_goal_started_in_a_tick_that_raises_is_cancelled(counted, world):
    """The Precondition never says RUNNING before its child's tick raises; the halt must
    still reach the goal the Parallel started in that tick."""
    robot, executor = counted
    executor.submit(PlanDispatch("p1", plan(
        '<Precondition if="true"><Parallel><MoveTo target="plate_3"/><Script code="nope = 1"/>'
        '</Parallel></Precondition>')))
    error = executor.tick()
    assert error is not None and executor.snapshot().status == "FAILURE"
    assert robot.started and robot.cancelled == robot.started
    world.step(20.0)
    assert world.state_dict()["robots"]["robot1"]["location"] == "home"  # it never left


def test_a_timeout_names_itself_as_the_failure_reason(executor, world):
    executor.submit(PlanDispatch("p1", plan('<Timeout msec="300"><MoveTo target="plate_5"/></Timeout>')))
    run(executor, world)
    snap = executor.snapshot()
    assert snap.status == "FAILURE" and "timed out after 300 ms" in snap.reason
