"""Expected-status tables over several ticks (py_trees style) for trees built from XML.

Leaves are named by what they do: ``"a"`` is the node ``<Say text="a"/>``, ``"home"`` the
condition ``<IsAt target="home"/>``; any other key is a behaviour's full name.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from py_trees.behaviour import Behaviour
from py_trees.common import Status

from llm_mars.bt.builder import build_tree
from llm_mars.bt.library import SubtreeLibrary, load_library
from llm_mars.bt.parser import parse_plan
from llm_mars.bt.tick import SKIPPED

STATUS = {"R": Status.RUNNING, "S": Status.SUCCESS, "F": Status.FAILURE, "-": Status.INVALID,
          "K": SKIPPED}

Row = tuple[str, Mapping[str, str]]  # (root result, {leaf: status}) after one tick


def plan_xml(node_xml: str, robot: str = "robot1") -> str:
    return (f'<root BTCPP_format="4"><BehaviorTree ID="{robot}">{node_xml}'
            "</BehaviorTree></root>")


def build(node_xml: str, robot, library: SubtreeLibrary | None = None,
          clock: Callable[[], float] | None = None) -> Behaviour:
    library = load_library() if library is None else library
    plan = parse_plan(plan_xml(node_xml), library)
    kwargs = {} if clock is None else {"clock": clock}
    return build_tree(plan.tree("robot1"), robot, library, **kwargs)


def _find(names: Mapping[str, Behaviour], key: str) -> Behaviour:
    for name in (key, f"Say text={key}", f"IsAt target={key}"):
        if name in names:
            return names[name]
    raise KeyError(f"no behaviour {key!r} in {sorted(names)}")


def run_table(root: Behaviour, rows: Sequence[Row],
              before_tick: Callable[[int], None] | None = None) -> None:
    """Tick ``root`` once per row and compare what the root returned (``K``: SKIPPED) and
    the named leaves' statuses (``-`` for a skipped one)."""
    names = {b.name: b for b in root.iterate()}
    for tick, (expected_root, leaves) in enumerate(rows, 1):
        if before_tick is not None:
            before_tick(tick)
        root.tick_once()
        expected = (STATUS[expected_root], {k: STATUS[v] for k, v in leaves.items()})
        actual = (root.tick_result, {k: _find(names, k).status for k in leaves})
        assert actual == expected, f"tick {tick}: expected {expected}, got {actual}"


def starts(robot, key: str) -> int:
    """How many goals the robot started for the leaf ``key`` (``"a"`` = ``Say text=a``)."""
    return sum(1 for skill, args in robot.started
               if (skill, args) == ("Say", {"text": key}) or skill == key)
