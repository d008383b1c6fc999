"""Parsing plan documents (BT.CPP v4 XML) and the bt adapter's output into typed structures.

``parse_plan`` accepts exactly one ``<root BTCPP_format="4">`` with one
``<BehaviorTree ID="robot1">`` and/or ``<BehaviorTree ID="robot2">``, each holding one root
node; every tag, port and value is checked against the registry and subtree uses against the
subtree library. The same reader takes what a BT.CPP or Groot2 file adds: a
``main_tree_to_execute``, copies of library subtrees, ``<include>`` of library files and a
``<TreeNodesModel>`` (:func:`~llm_mars.bt.validator.check_plan`). All problems are reported
together in one :class:`~llm_mars.errors.PlanValidationError`. Ports keep what was written
(no defaults filled), so ``parse_plan(serialize_plan(p)) == p``.

``parse_bt_output`` additionally accepts ``<reply>TEXT</reply>``: the model's answer to the
operator when a command cannot be expressed with the skills. Output is never repaired: text
around the document, code fences or a second document are errors.
"""
from __future__ import annotations

from llm_mars.bt.library import SubtreeLibrary, load_library
from llm_mars.bt.model import Plan, Reply
from llm_mars.bt.safe_xml import read_xml
from llm_mars.bt.validator import check_plan
from llm_mars.errors import PlanValidationError, Problem

MAX_VALID_REPLY_CHARS = 2000
"""The longest reply a plan document may carry and still validate (the grammar has the model
write far shorter ones: :data:`llm_mars.llm.grammar.MAX_GENERATED_REPLY_CHARS`)."""


def parse_plan(xml: str | bytes, library: SubtreeLibrary | None = None) -> Plan:
    """The typed plan of ``xml`` (bytes are read as UTF-8); raises PlanValidationError
    carrying every problem found. ``library`` defaults to :func:`load_library`."""
    library = load_library() if library is None else library
    return check_plan(read_xml(xml), library.ports, library.bodies)


def parse_bt_output(text: str | bytes, library: SubtreeLibrary | None = None) -> Plan | Reply:
    """A plan document or a ``<reply>`` (its text stripped of surrounding whitespace);
    raises PlanValidationError for anything else."""
    element = read_xml(text)
    if element.tag != "reply":
        library = load_library() if library is None else library
        return check_plan(element, library.ports, library.bodies)
    problems = []
    where = {"line": element.line, "column": element.column, "path": "reply"}
    if element.attributes:
        problems.append(Problem(f"<reply> takes no attributes, got "
                                f"{', '.join(element.attributes)}", code="bad_reply", **where))
    if element.children:
        problems.append(Problem("<reply> holds plain text, not elements", code="bad_reply",
                                **where))
    answer = element.text.strip()
    if not answer:
        problems.append(Problem("<reply> is empty", code="bad_reply", **where))
    elif len(answer) > MAX_VALID_REPLY_CHARS:
        problems.append(Problem(f"<reply> is longer than {MAX_VALID_REPLY_CHARS} characters",
                                code="bad_reply", **where))
    if problems:
        raise PlanValidationError(problems)
    return Reply(answer)
