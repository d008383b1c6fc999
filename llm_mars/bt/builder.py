"""Turning typed plan trees into py_trees behaviour trees bound to robots.

Node kinds map to behaviours like this (see ``controls`` and ``decorators`` for why some are
ours and not py_trees' stock ones):

=====================  ==================================================================
Sequence, Fallback     :class:`llm_mars.bt.controls.Sequence`, ``Fallback``
ReactiveSequence       :class:`llm_mars.bt.controls.ReactiveSequence`
ReactiveFallback       :class:`llm_mars.bt.controls.ReactiveFallback`
Parallel               :class:`llm_mars.bt.controls.Parallel` (BT.CPP thresholds)
SequenceWithMemory     :class:`llm_mars.bt.controls.SequenceWithMemory`
IfThenElse             :class:`llm_mars.bt.controls.IfThenElse`
WhileDoElse            :class:`llm_mars.bt.controls.WhileDoElse`
Inverter               :class:`llm_mars.bt.decorators.Inverter`
ForceSuccess           :class:`llm_mars.bt.decorators.ForceSuccess`
ForceFailure           :class:`llm_mars.bt.decorators.ForceFailure`
RetryUntilSuccessful   :class:`llm_mars.bt.decorators.RetryUntilSuccessful`
Repeat                 :class:`llm_mars.bt.decorators.Repeat`
Timeout                :class:`llm_mars.bt.decorators.Timeout` (injectable clock)
KeepRunningUntilFailure  :class:`llm_mars.bt.decorators.KeepRunningUntilFailure`
RunOnce                :class:`llm_mars.bt.decorators.RunOnce`
Delay                  :class:`llm_mars.bt.decorators.Delay` (injectable clock)
Precondition           :class:`llm_mars.bt.decorators.Precondition`
AlwaysSuccess/Failure  :class:`llm_mars.bt.leaves.Constant`
Sleep                  :class:`llm_mars.bt.leaves.Sleep` (injectable clock)
Script                 :class:`llm_mars.bt.leaves.Script`
ScriptCondition        :class:`llm_mars.bt.leaves.ScriptCondition`
SetBlackboard          :class:`llm_mars.bt.leaves.SetBlackboard`
Switch2 .. Switch6     :class:`llm_mars.bt.controls.Switch`
SubTree                :class:`llm_mars.bt.decorators.SubTree` around the expanded body
skills, conditions     ``llm_mars.bt.behaviours.BEHAVIOUR_CLASSES[tag]``
=====================  ==================================================================

All of them tick as BT.CPP 4.8 does (llm_mars/bt/tick.py), SKIPPED included; a node's
condition scripts (``_skipIf``, ``_while``, ...) are attached to its behaviour and run on
the blackboard of the tree (or subtree use) the node is written in.

Subtree bodies are expanded with ``{port}`` references replaced by the values given at the
``<SubTree>`` use (or the declared defaults). Registry defaults of omitted optional ports
are filled in by the skill behaviours.

Each built tree has its own :class:`~llm_mars.bt.script.Blackboard`, which its scripts share;
as in BT.CPP, each subtree use gets one of its own holding its ports' text (a ``{port}``
passed on shares the outer entry), and ``@name`` reaches the tree's.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from py_trees.behaviour import Behaviour
from py_trees.common import Status

from llm_mars.bt import controls, decorators, leaves
from llm_mars.bt.behaviours import BEHAVIOUR_CLASSES
from llm_mars.bt.library import SubtreeLibrary, load_library
from llm_mars.bt.model import Node, Plan, PortRef, format_value
from llm_mars.bt.registry import ENTRY_TYPES, REGISTRY, SWITCHES, Port
from llm_mars.bt.robot import RobotInterface
from llm_mars.bt.script import Blackboard, Entry, entry_key
from llm_mars.bt.tick import SKIPPED, Conditions
from llm_mars.errors import PlanValidationError, Problem, UnknownRobotError

Clock = Callable[[], float]
_CONTROLS = {"Sequence": controls.Sequence, "Fallback": controls.Fallback,
             "ReactiveSequence": controls.ReactiveSequence,
             "ReactiveFallback": controls.ReactiveFallback,
             "SequenceWithMemory": controls.SequenceWithMemory,
             "IfThenElse": controls.IfThenElse, "WhileDoElse": controls.WhileDoElse}
_DECORATORS = {"Inverter": decorators.Inverter, "ForceSuccess": decorators.ForceSuccess,
               "ForceFailure": decorators.ForceFailure,
               "KeepRunningUntilFailure": decorators.KeepRunningUntilFailure}


class _Builder:
    def __init__(self, robot: RobotInterface, library: SubtreeLibrary, clock: Clock):
        self.robot = robot
        self.library = library
        self.clock = clock

    def fail(self, node: Node, message: str, code: str) -> PlanValidationError:
        return PlanValidationError([Problem(message, node.tag, node.line, node.column,
                                            None, code)])

    def build(self, node: Node, env: Mapping[str, Any], board: Blackboard) -> Behaviour:
        behaviour = self.behaviour(node, env, board)
        behaviour.conditions = Conditions.of(node.conditions, board)
        return behaviour

    def behaviour(self, node: Node, env: Mapping[str, Any], board: Blackboard) -> Behaviour:
        values = {name: self.resolve(node, name, value, env) for name, value in node.ports}
        if node.tag == "SubTree":
            return self.subtree(node, values, board)
        if node.tag not in REGISTRY:
            raise self.fail(node, f"unknown node kind <{node.tag}>", "unknown_tag")
        self.create_entries(node, board)
        children = [self.build(child, env, board) for child in node.children]
        name = Node(node.tag, tuple(values.items()), name=node.name).label
        tag = node.tag
        if tag in BEHAVIOUR_CLASSES:
            return BEHAVIOUR_CLASSES[tag](values, self.robot, name)
        if tag in ("AlwaysSuccess", "AlwaysFailure"):
            return leaves.Constant(name, Status.SUCCESS if tag == "AlwaysSuccess"
                                   else Status.FAILURE)
        if tag == "Sleep":
            return leaves.Sleep(name, values["msec"], self.clock)
        if tag == "Script":
            return leaves.Script(name, values["code"], board)
        if tag == "ScriptCondition":
            return leaves.ScriptCondition(name, values["code"], board)
        if tag == "SetBlackboard":
            return leaves.SetBlackboard(name, values["value"], values["output_key"], board)
        if tag in _CONTROLS:
            return _CONTROLS[tag](name, children)
        if tag in SWITCHES:
            cases = tuple(values.get(f"case_{i}") for i in range(1, SWITCHES[tag] + 1))
            return controls.Switch(name, children, values.get("variable"), cases, board)
        if tag == "Parallel":
            kind = REGISTRY[tag]
            return controls.Parallel(
                name, children,
                values.get("success_count", kind.port("success_count").default),
                values.get("failure_count", kind.port("failure_count").default))
        if len(children) != 1:
            raise self.fail(node, f"{tag} needs exactly 1 child, has {len(children)}",
                            "child_count")
        child = children[0]
        if tag in _DECORATORS:
            return _DECORATORS[tag](name, child)
        if tag == "RetryUntilSuccessful":
            return decorators.RetryUntilSuccessful(name, child, values["num_attempts"])
        if tag == "Repeat":
            return decorators.Repeat(name, child, values["num_cycles"])
        if tag == "Timeout":
            return decorators.Timeout(name, child, values["msec"], self.clock)
        if tag == "RunOnce":
            then_skip = values.get("then_skip", REGISTRY[tag].port("then_skip").default)
            return decorators.RunOnce(name, child, then_skip)
        if tag == "Delay":
            return decorators.Delay(name, child, values["delay_msec"], self.clock)
        if tag == "Precondition":
            otherwise = values.get("else", REGISTRY[tag].port("else").default)
            status = SKIPPED if otherwise == SKIPPED.name else Status[otherwise]
            return decorators.Precondition(name, child, values["if"], status, board)
        raise self.fail(node, f"no behaviour for <{tag}>", "unknown_tag")

    def create_entries(self, node: Node, board: Blackboard) -> None:
        """The entries the node's ``{key}`` ports name, created (without a value) as BT.CPP
        creates them while loading the tree, parents before children, typed by the port."""
        kind = REGISTRY[node.tag]
        for name, value in node.ports:
            entry_type = ENTRY_TYPES.get(kind.port(name).type)
            key = entry_key(value) if entry_type is not None else None
            if key is not None:
                board.create(key, entry_type)

    def resolve(self, node: Node, name: str, value: Any, env: Mapping[str, Any]) -> Any:
        if not isinstance(value, PortRef):
            return value
        if value.name not in env:
            raise self.fail(node, f"{node.tag}.{name}: {value} is not bound", "port_reference")
        bound = env[value.name]
        target = self.target_port(node, name)
        # the library checked that the declared port fits the target; this converts e.g.
        # an int subtree port into a float skill port
        return target.parse(format_value(bound)) if target is not None else bound

    def target_port(self, node: Node, name: str) -> Port | None:
        if node.tag == "SubTree":
            definition = self.library.get(node.port("ID"))
            return definition.port(name) if definition is not None else None
        kind = REGISTRY.get(node.tag)
        return kind.port(name) if kind is not None else None

    def subtree(self, node: Node, values: dict[str, Any], outer: Blackboard) -> Behaviour:
        subtree_id = values.pop("ID", None)
        definition = self.library.get(subtree_id) if subtree_id is not None else None
        if definition is None:
            raise self.fail(node, f"unknown subtree {subtree_id!r}", "unknown_subtree")
        env = {}
        board = Blackboard(outer)
        for port in definition.ports:
            written = node.port(port.name)
            if isinstance(written, PortRef):  # BT.CPP remaps the port to the outer entry
                board.entries[port.name] = outer.create(written.name)
            elif written is not None:
                board.entries[port.name] = Entry(node.text(port.name, written))
            elif port.default is not None:
                board.entries[port.name] = Entry(format_value(port.default))
            if port.name in values:
                env[port.name] = values[port.name]
            elif port.default is not None:
                env[port.name] = port.default
        body = self.build(definition.root, env, board)
        label = Node("SubTree", (("ID", subtree_id), *values.items()), name=node.name).label
        return decorators.SubTree(label, body, subtree_id)


def build_tree(root: Node, robot: RobotInterface, library: SubtreeLibrary | None = None,
               name: str | None = None, clock: Clock = time.monotonic) -> Behaviour:
    """The py_trees tree of one robot's plan tree, its skills bound to ``robot``.

    ``clock`` (seconds) drives ``Timeout``; pass the simulator's match clock when the world
    runs faster than real time. ``name``, if given, names the root behaviour.
    """
    library = load_library() if library is None else library
    behaviour = _Builder(robot, library, clock).build(root, {}, Blackboard())
    if name is not None:
        behaviour.name = name
    return behaviour


def build_plan(plan: Plan, robots: Mapping[str, RobotInterface],
               library: SubtreeLibrary | None = None,
               clock: Clock = time.monotonic) -> dict[str, Behaviour]:
    """One py_trees tree per robot addressed by ``plan`` (robot name -> root behaviour)."""
    for robot in plan.robots:
        if robot not in robots:
            raise UnknownRobotError(robot, list(robots))
    library = load_library() if library is None else library
    return {robot: build_tree(root, robots[robot], library, clock=clock)
            for robot, root in plan.trees}
