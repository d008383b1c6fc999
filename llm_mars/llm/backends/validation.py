"""Plans from backends that constrain decoding elsewhere (a remote server, vLLM) are parsed
and validated here again: a plan reaches the robots only if this process validated it."""
from __future__ import annotations

from llm_mars.bt.model import Plan, Reply
from llm_mars.bt.parser import parse_bt_output
from llm_mars.errors import ConstraintError, PlanValidationError


def validated_plan(text: str, source: str) -> Plan | Reply:
    """The plan (or reply) ``text`` holds; ConstraintError (caused by the PlanValidationError
    with every problem) if it is not one. ``source`` names the backend for the message."""
    try:
        return parse_bt_output(text)
    except PlanValidationError as exc:
        raise ConstraintError(f"{source} returned an output that is not a valid plan or reply:"
                              f"\n{exc}") from exc
