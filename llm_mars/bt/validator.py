"""Checking XML elements against the registry and turning them into typed :class:`Node` trees.

The checker never stops at the first mistake: it walks the whole document, collects every
:class:`~llm_mars.errors.Problem` (with line, column, node path, a ``code`` and, where one is
close, a "did you mean" suggestion) and only then raises one
:class:`~llm_mars.errors.PlanValidationError`.

Problem codes: ``bad_root``, ``bad_format``, ``unknown_attribute``, ``unexpected_element``,
``unexpected_text``, ``missing_id``, ``unknown_robot``, ``duplicate_tree``, ``no_tree``,
``tree_children``, ``unknown_tag``, ``child_count``, ``unknown_port``, ``missing_port``,
``bad_value``, ``port_reference``, ``port_type_mismatch``, ``bad_threshold``,
``unknown_subtree``, ``unsupported_feature`` (a BT.CPP built-in, attribute or ``<include>``
this project does not run), ``bad_main_tree``, ``subtree_differs``, ``model_mismatch`` (plus
the reader's ``syntax``, ``too_large``, ``too_deep``,
``too_many_nodes``, ``bad_encoding``, ``forbidden_dtd`` and the library's ``cyclic_subtree``,
``bad_subtree_file``, ``bad_port_declaration``; the reply's ``bad_reply``).
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from llm_mars import vocabulary as V
from llm_mars.bt.model import Node, Plan, PortRef
from llm_mars.bt.registry import (CONDITION_SCRIPTS, ENTRY_TYPES, REGISTRY,
                                  UNSUPPORTED_BTCPP_ATTRIBUTES, UNSUPPORTED_BTCPP_NODES,
                                  Category, Port, PortType)
from llm_mars.bt.safe_xml import Element
from llm_mars.bt.script import blackboard_pointer, parse_script
from llm_mars.errors import PlanValidationError, Problem, ScriptSyntaxError, UnsupportedValueError

PORT_REFERENCE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
BTCPP_FORMAT = "4"
UNSUPPORTED = "a BehaviorTree.CPP feature this project does not support"
INSTANCE_NAME = "name"
"""The attribute every BT.CPP node may carry: its instance name, never a port."""


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate ``word`` was most likely meant to be (case-insensitive), if any is close."""
    candidates = list(candidates)
    lowered = {c.lower(): c for c in candidates}
    if word.lower() in lowered:
        return lowered[word.lower()]
    compact = {c.lower().replace("_", ""): c for c in candidates}
    if word.lower().replace("_", "").replace("-", "") in compact:
        return compact[word.lower().replace("_", "").replace("-", "")]
    # only a close match is worth suggesting: not Action -> FunnyAction, Spin -> Signal
    match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.75)
    return lowered[match[0]] if match else None


def port_fits(declared: Port, target: Port) -> bool:
    """True when every value ``declared`` accepts is also legal for ``target``.

    A subtree port passed on as ``{name}`` to a node's port must fit it, so a subtree that
    validates can never expand into an invalid node.
    """
    if declared.type is PortType.ENUM or target.type is PortType.ENUM:
        return (declared.type is target.type is PortType.ENUM
                and set(declared.choices) <= set(target.choices))
    numeric = (PortType.INT, PortType.FLOAT)
    if target.type in numeric:
        if declared.type is not target.type and not (
            declared.type is PortType.INT and target.type is PortType.FLOAT
        ):
            return False
        if target.minimum is not None and (declared.minimum is None
                                           or declared.minimum < target.minimum):
            return False
        if target.maximum is not None and (declared.maximum is None
                                           or declared.maximum > target.maximum):
            return False
        return True
    if declared.type is not target.type:
        return False
    if target.type is PortType.STRING and target.max_length is not None:
        return declared.max_length is not None and declared.max_length <= target.max_length
    return True


def _children_rule(kind_tag: str, minimum: int, maximum: int | None) -> str:
    if maximum == 0:
        return f"{kind_tag} takes no children"
    if maximum == minimum:
        return f"{kind_tag} needs exactly {minimum} child{'ren' if minimum != 1 else ''}"
    if maximum is None:
        return f"{kind_tag} needs at least {minimum} child{'ren' if minimum != 1 else ''}"
    return f"{kind_tag} needs {minimum} to {maximum} children"


class NodeChecker:
    """Checks one element subtree; collects problems in :attr:`problems`.

    ``subtrees`` maps each known subtree ID to its declared ports. ``scope`` is the declared
    ports of the subtree being defined (``{name}`` references may name them); ``None`` in a
    plan, where references are not allowed.
    """

    def __init__(self, subtrees: Mapping[str, tuple[Port, ...]],
                 scope: Mapping[str, Port] | None = None,
                 problems: list[Problem] | None = None):
        self.subtrees = subtrees
        self.scope = scope
        self.problems: list[Problem] = [] if problems is None else problems

    def report(self, element: Element, path: str, message: str, code: str,
               suggestion: str | None = None) -> None:
        self.problems.append(Problem(message, path, element.line, element.column,
                                     suggestion, code))

    def check_text(self, element: Element, path: str) -> None:
        if element.text.strip():
            self.problems.append(Problem(
                f"unexpected text {element.text.strip()[:40]!r} inside <{element.tag}>", path,
                element.text_line, element.text_column, None, "unexpected_text"))

    def node(self, element: Element, path: str) -> Node | None:
        """The typed node of ``element`` (``None`` if its tag is unknown); problems recorded."""
        self.check_text(element, path)
        kind = REGISTRY.get(element.tag)
        children = [self.node(child, f"{path}/{child.tag}[{i}]")
                    for i, child in enumerate(element.children)]
        if kind is None:
            if element.tag in UNSUPPORTED_BTCPP_NODES:
                self.report(element, path, f"<{element.tag}> is {UNSUPPORTED}",
                            "unsupported_feature")
            elif element.tag in self.subtrees:
                use = f'SubTree ID="{element.tag}"'
                self.report(element, path, f"subtree {element.tag} must be used as <{use} .../>",
                            "unknown_tag", use)
            else:
                self.report(element, path, f"unknown node kind <{element.tag}>", "unknown_tag",
                            closest(element.tag, [*REGISTRY.tags, *self.subtrees]))
            return None
        n = len(element.children)
        if n < kind.min_children or (kind.max_children is not None and n > kind.max_children):
            rule = _children_rule(kind.tag, kind.min_children, kind.max_children)
            self.report(element, path, f"{rule}, has {n}", "child_count")
        if kind.category is Category.SUBTREE:
            ports = self._subtree_ports(element, path)
        else:
            ports = self._ports(element, path, kind.tag, kind.ports)
        if kind.tag == "Parallel":
            self._check_thresholds(element, path, dict(ports), n, kind.ports)
        if any(child is None for child in children):
            return None
        written = tuple((name, value, element.attributes[name]) for name, value in ports
                        if not isinstance(value, PortRef) and name in element.attributes)
        return Node(kind.tag, ports, tuple(children), element.attributes.get(INSTANCE_NAME),
                    element.line, element.column, tuple(element.comments),
                    tuple(element.end_comments), written, self._conditions(element, path))

    def _conditions(self, element: Element, path: str) -> tuple[tuple[str, str], ...]:
        """The node's condition scripts (``_skipIf`` ...), each read as BT.CPP reads it."""
        conditions = []
        for name in CONDITION_SCRIPTS:
            text = element.attributes.get(name)
            if text is None:
                continue
            try:
                parse_script(text)
            except ScriptSyntaxError as exc:
                self.report(element, path, f"{element.tag}.{name}: {exc}", "bad_value")
                continue
            conditions.append((name, text))
        return tuple(conditions)

    def _ports(self, element: Element, path: str, owner: str,
               declared: tuple[Port, ...]) -> tuple[tuple[str, Any], ...]:
        values: dict[str, Any] = {}
        by_name = {p.name: p for p in declared}
        for name, text in element.attributes.items():
            if name == INSTANCE_NAME or name in CONDITION_SCRIPTS:
                continue
            if name in UNSUPPORTED_BTCPP_ATTRIBUTES:
                self.report(element, path, f"attribute {name} is {UNSUPPORTED}",
                            "unsupported_feature")
                continue
            port = by_name.get(name)
            if port is None:
                known = ", ".join(by_name) or "none"
                self.report(element, path, f"{owner} has no port {name!r} (its ports: {known})",
                            "unknown_port", closest(name, by_name))
                continue
            value = self._value(element, path, owner, port, text)
            if value is not None:
                values[name] = value
        for port in declared:
            if port.required and port.name not in element.attributes:
                self.report(element, path,
                            f"{owner} needs port {port.name} ({port.describe()})", "missing_port")
        return tuple((p.name, values[p.name]) for p in declared if p.name in values)

    def _value(self, element: Element, path: str, owner: str, port: Port, text: str) -> Any:
        blackboard = port.type in ENTRY_TYPES or port.type is PortType.KEY
        if blackboard and self.scope is not None and (
                port.type is PortType.KEY or blackboard_pointer(text)):
            # a subtree's own blackboard (remapped ports, shadowed entries) is not modelled
            self.report(element, path, f"{owner}.{port.name}: a blackboard entry inside a "
                        f"subtree definition is {UNSUPPORTED}", "unsupported_feature")
            return None
        reference = None if blackboard else PORT_REFERENCE.fullmatch(text.strip())
        if reference:
            name = reference.group(1)
            if self.scope is None:
                self.report(element, path,
                            f"{owner}.{port.name}: the blackboard entry {{{name}}} is "
                            f"{UNSUPPORTED} (a {{port}} reference is allowed only inside a "
                            "subtree definition)", "port_reference")
                return None
            declared = self.scope.get(name)
            if declared is None:
                self.report(element, path,
                            f"{owner}.{port.name}: {{{name}}} is not a port of this subtree",
                            "port_reference", closest(name, self.scope))
                return None
            if not port_fits(declared, port):
                self.report(element, path,
                            f"{owner}.{port.name} ({port.describe()}) cannot take subtree port "
                            f"{name} ({declared.describe()})", "port_type_mismatch")
                return None
            return PortRef(name)
        try:
            return port.parse(text)
        except UnsupportedValueError as exc:
            self.report(element, path, f"{owner}.{port.name}={text!r}: {exc} is {UNSUPPORTED}",
                        "unsupported_feature")
            return None
        except ValueError as exc:
            suggestion = closest(text, port.choices) if port.type is PortType.ENUM else None
            self.report(element, path, f"{owner}.{port.name}: {exc}", "bad_value", suggestion)
            return None

    def _subtree_ports(self, element: Element, path: str) -> tuple[tuple[str, Any], ...]:
        subtree_id = element.attributes.get("ID")
        if subtree_id is None:
            self.report(element, path, "SubTree needs port ID (the subtree name)", "missing_port")
            return ()
        declared = self.subtrees.get(subtree_id)
        if declared is None:
            known = ", ".join(self.subtrees) or "none"
            self.report(element, path, f"unknown subtree {subtree_id!r} (known: {known})",
                        "unknown_subtree", closest(subtree_id, self.subtrees))
            return (("ID", subtree_id),)
        others = Element(element.tag, {k: v for k, v in element.attributes.items() if k != "ID"},
                         element.line, element.column)
        return (("ID", subtree_id), *self._ports(others, path, f"SubTree {subtree_id}", declared))

    def _check_thresholds(self, element: Element, path: str, values: dict[str, Any],
                          n_children: int, ports: tuple[Port, ...]) -> None:
        # BT.CPP refuses a Parallel whose thresholds exceed its number of children.
        for port in ports:
            value = values.get(port.name, port.default)
            if isinstance(value, int) and value > n_children:
                self.report(element, path,
                            f"Parallel.{port.name}={value} but it has only {n_children} "
                            "children", "bad_threshold")


MAIN_TREE = "main_tree_to_execute"
"""The ``<root>`` attribute naming the tree BT.CPP runs when a file holds several."""
MODEL_ENTRIES = {"Action": (Category.ACTION, Category.LEAF),
                 "Condition": (Category.CONDITION, Category.LEAF),  # BT.CPP's ScriptCondition
                 "Control": (Category.CONTROL,), "Decorator": (Category.DECORATOR,),
                 "SubTree": (Category.SUBTREE,)}
"""The entries of a Groot2 ``<TreeNodesModel>``, by the registry category they describe."""
MODEL_PORTS = ("input_port", "output_port", "inout_port")


def check_root(element: Element, problems: list[Problem], main_tree: bool = False) -> None:
    """The ``<root BTCPP_format="4">`` element itself (not its children); ``main_tree``:
    it may name the tree to run (``main_tree_to_execute``)."""
    if element.tag != "root":
        problems.append(Problem(f"the document element must be <root>, not <{element.tag}>",
                                "", element.line, element.column, "root", "bad_root"))
    allowed = ["BTCPP_format", *([MAIN_TREE] if main_tree else [])]
    for name, value in element.attributes.items():
        if name == "BTCPP_format":
            if value != BTCPP_FORMAT:
                problems.append(Problem(f"BTCPP_format must be \"4\", not {value!r}", "",
                                        element.line, element.column, BTCPP_FORMAT, "bad_format"))
        elif name not in allowed:
            problems.append(Problem(f"<root> has no attribute {name!r}", "", element.line,
                                    element.column, closest(name, allowed),
                                    "unknown_attribute"))
    if "BTCPP_format" not in element.attributes:
        problems.append(Problem("<root> needs BTCPP_format=\"4\"", "", element.line,
                                element.column, None, "bad_format"))


def check_nodes_model(model: Element, subtrees: Mapping[str, tuple[Port, ...]],
                      problems: list[Problem]) -> None:
    """A ``<TreeNodesModel>`` a document carries (Groot2 reads it): each entry that names a
    registry node or a library subtree must agree with it in kind and port names. Entries
    for nodes this project does not have are left alone: a Groot2 palette may hold more
    nodes than the file uses, and a tree that uses one is reported at that node."""
    def report(element: Element, message: str, code: str = "model_mismatch",
               suggestion: str | None = None) -> None:
        problems.append(Problem(message, "TreeNodesModel", element.line, element.column,
                                suggestion, code))

    for entry in model.children:
        categories = MODEL_ENTRIES.get(entry.tag)
        if categories is None:
            report(entry, f"a <TreeNodesModel> holds {', '.join(MODEL_ENTRIES)} entries, not "
                   f"<{entry.tag}>", "unexpected_element", closest(entry.tag, MODEL_ENTRIES))
            continue
        node_id = entry.attributes.get("ID")
        if node_id is None:
            report(entry, f"<{entry.tag}> in the <TreeNodesModel> needs ID", "missing_id")
            continue
        if categories == (Category.SUBTREE,):
            if node_id not in subtrees:
                report(entry, f"the model declares subtree {node_id!r}, which is not in the "
                       f"subtree library (known: {', '.join(subtrees) or 'none'})",
                       "unknown_subtree", closest(node_id, subtrees))
                continue
            declared = subtrees[node_id]
        else:
            kind = REGISTRY.get(node_id)
            if kind is None:
                continue
            if kind.category not in categories:
                report(entry, f"the model declares {node_id} as <{entry.tag}>, but it is a "
                       f"{kind.category.value}")
                continue
            declared = kind.ports
        names = [p.name for p in declared]
        for port in entry.children:
            if port.tag not in MODEL_PORTS:
                continue
            name = port.attributes.get("name", "")
            if port.tag != "input_port" or name not in names:
                report(port, f"the model gives {node_id} the {port.tag} {name!r}; its ports are "
                       f"the input ports {', '.join(names) or 'none'}", suggestion=closest(
                           name, names))


def check_include(element: Element, subtrees: Mapping[str, tuple[Port, ...]],
                  problems: list[Problem]) -> None:
    """``<include path="..."/>``: a file of the subtree library (``.../subtrees/ID.xml``), whose
    definitions every plan already has; other files are not read."""
    path = element.attributes.get("path")
    extra = [name for name in element.attributes if name != "path"]
    stem = (path or "").replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".xml")
    if extra or path is None or not path.endswith(".xml") or stem not in subtrees:
        what = f"attribute {extra[0]}" if extra else f"including {path!r}"
        problems.append(Problem(
            f"{what}: {UNSUPPORTED} (a plan may "
            "include only files of the subtree library, trees/subtrees/ID.xml)", "include",
            element.line, element.column, closest(stem, subtrees) if not extra else None,
            "unsupported_feature"))


def check_plan(element: Element, subtrees: Mapping[str, tuple[Port, ...]],
               bodies: Mapping[str, Node] | None = None) -> Plan:
    """The typed :class:`Plan` of a ``<root>`` element, or PlanValidationError with all problems.

    Besides one tree per robot the document may hold what makes it a file BT.CPP loads as it
    is and Groot2 opens: ``main_tree_to_execute``, copies of library subtrees (``bodies``:
    each must equal the library's), ``<include>`` of library files and a ``<TreeNodesModel>``.
    """
    checker = NodeChecker(subtrees)
    problems = checker.problems
    check_root(element, problems, main_tree=True)
    checker.check_text(element, "")
    trees: dict[str, Node] = {}
    tree_comments: dict[str, tuple[str, ...]] = {}
    seen: set[str] = set()
    tree_elements = 0
    for child in element.children:
        if child.tag == "TreeNodesModel":
            check_nodes_model(child, subtrees, problems)
            continue
        if child.tag == "include":
            check_include(child, subtrees, problems)
            continue
        if child.tag != "BehaviorTree":
            checker.report(child, "", f"a plan holds <BehaviorTree>, <TreeNodesModel> and "
                           f"<include> elements, not <{child.tag}>", "unexpected_element",
                           closest(child.tag, ["BehaviorTree", "TreeNodesModel", "include"]))
            continue
        robot = child.attributes.get("ID")
        path = robot or "BehaviorTree"
        for name in child.attributes:
            if name != "ID":
                checker.report(child, path, f"<BehaviorTree> has no attribute {name!r}",
                               "unknown_attribute", closest(name, ["ID"]))
        if robot in subtrees and bodies is not None and robot in bodies:
            _check_subtree_copy(child, robot, subtrees, bodies[robot], problems)
            continue
        tree_elements += 1
        if robot is None:
            checker.report(child, path, "<BehaviorTree> needs ID (robot1 or robot2)",
                           "missing_id")
        elif robot not in V.ROBOTS:
            checker.report(child, path, f"unknown robot {robot!r} (robots: "
                           f"{', '.join(V.ROBOTS)}; other trees must be copies of library "
                           "subtrees)", "unknown_robot", closest(robot, [*V.ROBOTS, *subtrees]))
        elif robot in seen:
            checker.report(child, path, f"a second tree for {robot}", "duplicate_tree")
        checker.check_text(child, path)
        if len(child.children) != 1:
            checker.report(child, path, f"a <BehaviorTree> needs exactly one root node, has "
                           f"{len(child.children)}", "tree_children")
        nodes = [checker.node(node, f"{path}/{node.tag}[{i}]")
                 for i, node in enumerate(child.children)]
        if robot in V.ROBOTS and robot not in seen and len(nodes) == 1 and nodes[0] is not None:
            trees[robot] = nodes[0]
            tree_comments[robot] = tuple(child.comments)
        if robot is not None:
            seen.add(robot)
    main = element.attributes.get(MAIN_TREE)
    if main is not None and main not in seen:
        problems.append(Problem(f"{MAIN_TREE}={main!r} names no robot tree of this document",
                                "", element.line, element.column,
                                closest(main, sorted(seen)), "bad_main_tree"))
    if not tree_elements:
        problems.append(Problem("the plan has no <BehaviorTree ID=\"robot1\"> or "
                                "<BehaviorTree ID=\"robot2\">", "", element.line, element.column,
                                None, "no_tree"))
    if problems:
        raise PlanValidationError(sorted(problems, key=lambda p: (p.line or 0, p.column or 0)))
    robots = [robot for robot in V.ROBOTS if robot in trees]
    return Plan(tuple((robot, trees[robot]) for robot in robots), tuple(element.comments),
                tuple((robot, tree_comments[robot]) for robot in robots if tree_comments[robot]))


def _check_subtree_copy(tree: Element, subtree_id: str,
                        subtrees: Mapping[str, tuple[Port, ...]], body: Node,
                        problems: list[Problem]) -> None:
    """A library subtree written out in a plan (as an export does): it must say what the
    library's does, so the file runs the same in BT.CPP as here."""
    checker = NodeChecker(subtrees, {p.name: p for p in subtrees[subtree_id]}, problems)
    before = len(problems)
    nodes = [checker.node(node, f"{subtree_id}/{node.tag}[{i}]")
             for i, node in enumerate(tree.children)]
    if len(problems) == before and nodes != [body]:
        problems.append(Problem(f"this copy of subtree {subtree_id} differs from the library's "
                                f"(trees/subtrees/{subtree_id}.xml)", subtree_id, tree.line,
                                tree.column, None, "subtree_differs"))
