"""BehaviorTree.CPP v4 itself (PyPI ``behaviortreepy``) as the oracle for plans and semantics.

The binding registers Python leaves without ports (``register_simple_action(name, tick)``,
``register_simple_stateful_action`` for skills, which may be RUNNING),
and BT.CPP refuses a port attribute its registered node does not provide. So this project's
skills are registered from the ``<TreeNodesModel>`` the file itself carries (Action or
Condition, as the model says), each skill attribute is checked here against that entry's
input ports, the same check BT.CPP makes against ``providedPorts()``, and then removed before
BT.CPP reads the file. Everything else (document, ``main_tree_to_execute``, subtree copies and
their port remapping with the model's defaults, built-ins, their ports and child counts, the
instance names) is BT.CPP's own reading of the file as written.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

import behaviortreepy as bt

from llm_mars.bt.registry import CONDITION_SCRIPTS

Tick = Callable[[str, str], bt.NodeStatus]
"""A leaf's tick: (its tag, its instance name) -> status."""

MODEL_PORTS = ("input_port", "output_port", "inout_port")


class PortNotInModel(AssertionError):
    """A skill attribute the file's TreeNodesModel does not declare (BT.CPP would refuse it)."""


def without_skill_ports(text: str) -> tuple[str, dict[str, str]]:
    """The document with each modelled leaf's port attributes checked and removed, and the
    model's leaves (ID -> Action or Condition)."""
    root = ET.fromstring(text)
    model = root.find("TreeNodesModel")
    entries = {} if model is None else {
        entry.get("ID"): (entry.tag, {p.get("name") for p in entry if p.tag in MODEL_PORTS})
        for entry in model if entry.tag in ("Action", "Condition")}
    for element in root.iter():
        if element.tag in entries and element is not model and element.get("ID") is None:
            ports = entries[element.tag][1]
            for name in list(element.attrib):
                if name == "name" or name in CONDITION_SCRIPTS:  # any node's, not ports
                    continue
                if name not in ports:
                    raise PortNotInModel(f"<{element.tag}> has {name}=, the model declares "
                                         f"{sorted(ports)}")
                del element.attrib[name]
    return ET.tostring(root, encoding="unicode"), {i: kind for i, (kind, _) in entries.items()}


_FACTORIES: list[bt.BehaviorTreeFactory] = []
"""Every factory a tree was made with, kept: a node reads its port model (``manifest``, a
pointer into the factory) when a port is left out, e.g. a Switch's case, and a freed one
crashed the process."""


def load(text: str, tick: Tick | None = None) -> bt.Tree:
    """BT.CPP's tree of a document that carries its TreeNodesModel (``createTreeFromText``)."""
    loadable, leaves = without_skill_ports(text)
    factory = bt.BehaviorTreeFactory()
    _FACTORIES.append(factory)
    for leaf_id, kind in leaves.items():
        def run(node, leaf_id=leaf_id):
            return bt.NodeStatus.SUCCESS if tick is None else tick(leaf_id, node.name())
        if kind == "Action":  # skills are asynchronous: RUNNING until their goal ends
            factory.register_simple_stateful_action(leaf_id, run, run)
        else:
            factory.register_simple_condition(leaf_id, run)
    return factory.create_tree_from_text(loadable)
