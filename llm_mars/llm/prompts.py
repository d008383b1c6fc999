"""Chat prompts of the adapters: ``bt`` (command -> plan), ``qa`` (question -> query or answer)
and ``describe`` (plan -> command).

The ``bt`` system prompt carries the skill catalogue, generated from the registry, the
vocabulary and the subtree library, so it never drifts from what the parser accepts. Each
system prompt is a fixed prefix shared by every request of its adapter (the engine computes
its KV cache once), and the per-request text goes in the user message. Both are kept short:
every prompt token is paid for on a two-core CPU.
"""
from __future__ import annotations

import functools
import re

from llm_mars import vocabulary as V
from llm_mars.bt.library import SubtreeLibrary, load_library
from llm_mars.bt.model import Node, Plan
from llm_mars.bt.registry import REGISTRY, Category, Port, PortType, Registry
from llm_mars.bt.serializer import serialize_plan

PLACE = "PLACE"
"""How the catalogue writes an enum port whose choices are the named places."""

EXAMPLE_COMMAND = "Robot 1, bring the pink cake from quadrant 2 to plate 3; robot 2, go home."
EXAMPLE_PLAN = Plan((
    ("robot1", Node("Sequence", children=(
        Node("PickCake", (("color", "pink"), ("quadrant", 2))),
        Node("PlaceCakes", (("plate", 3),)),
    ))),
    ("robot2", Node("MoveTo", (("target", V.HOME),))),
))

_PARENTHESIS = re.compile(r" \([^)]*\)")


def _port_type(port: Port) -> str:
    if port.type is PortType.ENUM:
        return PLACE if tuple(port.choices) == V.PLACES else "|".join(port.choices)
    if port.type is PortType.BOOL:
        return "true|false"
    if port.type is PortType.STRING:
        return "text"
    lo = "" if port.minimum is None else f"{port.minimum:g}"
    hi = "" if port.maximum is None else f"{port.maximum:g}"
    return f"{lo}..{hi}"


def _ports(ports: tuple[Port, ...]) -> str:
    return "".join(f" {p.name}={_port_type(p)}" if p.required else f" [{p.name}={_port_type(p)}]"
                   for p in ports)


def _entry(name: str, ports: tuple[Port, ...], description: str) -> str:
    """``Tag port=type [optional=type]: description`` without parenthetical remarks."""
    return f"{name}{_ports(ports)}: {_PARENTHESIS.sub('', description)}"


def bt_system_prompt(registry: Registry = REGISTRY, library: SubtreeLibrary | None = None) -> str:
    """The ``bt`` adapter's system prompt: format, skill catalogue, reply form and an example."""
    library = load_library() if library is None else library
    registry = registry.planned  # hand-written BT.CPP built-ins are not the adapter's

    def tags(category: Category) -> str:
        return ", ".join(f"{k.tag}{_ports(k.ports)}" for k in registry.of(category))

    lines = [
        f"Write the operator's command as a BehaviorTree.CPP v4 plan: <root BTCPP_format=\"4\"> "
        f"with one <BehaviorTree ID=\"robotN\"> ({'/'.join(V.ROBOTS)}) per robot the command "
        "addresses, each with one root node.",
        "Skills:",
        *(_entry(k.tag, k.ports, k.description) for k in registry.of(Category.ACTION)),
        "Conditions:",
        *(_entry(k.tag, k.ports, k.description) for k in registry.of(Category.CONDITION)),
        f"Controls (1+ children): {tags(Category.CONTROL)}",
        f"Decorators (1 child): {tags(Category.DECORATOR)}",
    ]
    if len(library):
        lines.append('Subtrees, used as <SubTree ID="Name" port="value"/>:')
        lines += [_entry(d.id, d.ports, d.description) for d in library]
    lines += [
        f"{PLACE}: {' '.join(V.PLACES)}",
        "If the skills cannot do the command (unknown robot, place or colour, impossible "
        "request), write only <reply>short reason</reply>.",
        f"Example: {EXAMPLE_COMMAND}",
        serialize_plan(EXAMPLE_PLAN).rstrip("\n"),
    ]
    return "\n".join(lines)


QA_SYSTEM_PROMPT = (
    f"You answer an operator's questions about the Eurobot robots {' and '.join(V.ROBOTS)} "
    "using only the state summary given with the question. Answer in one or two short "
    "sentences with exact names and numbers; if the summary does not say, say so."
)


QUERY_SYSTEM_PROMPT = "Write the operator's question as a query over the robots' state."
"""The ``qa`` adapter's system prompt (the one it is trained with is kept in its folder)."""


@functools.lru_cache(maxsize=1)
def _default_bt_system_prompt() -> str:
    return bt_system_prompt()


def bt_messages(command: str) -> list[dict[str, str]]:
    """Chat messages asking the ``bt`` adapter for the plan (or reply) of ``command``."""
    return [{"role": "system", "content": _default_bt_system_prompt()},
            {"role": "user", "content": command.strip()}]


DESCRIBE_SYSTEM_PROMPT = "Write the operator's command that this BehaviorTree plan carries out."
"""The ``describe`` adapter's system prompt (the one it is trained with is kept in its folder)."""


def describe_messages(plan_text: str) -> list[dict[str, str]]:
    """Chat messages asking the ``describe`` adapter for the command of a plan document (its
    reply is scored, never generated, by the reranker)."""
    return [{"role": "system", "content": DESCRIBE_SYSTEM_PROMPT},
            {"role": "user", "content": plan_text.strip()}]


def qa_messages(question: str, state_summary: str) -> list[dict[str, str]]:
    """Chat messages asking the ``qa`` adapter to answer ``question`` from ``state_summary``."""
    return [{"role": "system", "content": QA_SYSTEM_PROMPT},
            {"role": "user", "content": f"State:\n{state_summary.strip()}\nQuestion: {question.strip()}"}]


def query_messages(question: str, previous: str | None = None) -> list[dict[str, str]]:
    """Chat messages asking the ``qa`` adapter for the state query of ``question``
    (:mod:`llm_mars.qa.query`); ``previous`` is the query of the question before it in the
    session, which a follow-up ("and robot two?") changes."""
    user = question.strip() if previous is None else \
        f"Previous: {previous.strip()}\nQuestion: {question.strip()}"
    return [{"role": "system", "content": QUERY_SYSTEM_PROMPT}, {"role": "user", "content": user}]
