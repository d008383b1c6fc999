"""Output constraints by name, for the code that sends a grammar to a decoder elsewhere or
receives one: the ``openai`` and ``vllm`` backends and the OpenAI-compatible server. (The
in-process engine builds the same constraints itself: ``DEFAULT_CONSTRAINTS`` in
:mod:`llm_mars.llm.engine`.)

===================  =============================================  =========================
name                 grammar                                        the returned text
===================  =============================================  =========================
``plan``/``plan:K``  the plan grammar (:mod:`llm_mars.llm.grammar`)  a validated plan or reply
``query``            the state query grammar (:mod:`llm_mars.qa.query`)  a parsed query
===================  =============================================  =========================
"""
from __future__ import annotations

from typing import Any

from llm_mars.errors import ConstraintError, QueryError, RequestError
from llm_mars.llm.grammar import plan_constraint_of_grammar, plan_grammar_for
from llm_mars.llm.requests import PLAN_CONSTRAINT, split_constraint
from llm_mars.qa.query import QUERY_CONSTRAINT, parse_query, query_grammar_ebnf

NAMES = (PLAN_CONSTRAINT, QUERY_CONSTRAINT)


def grammar_for(constraint: str) -> str:
    """The grammar text of a constraint name; RequestError for an unknown or malformed one."""
    if constraint == QUERY_CONSTRAINT:
        return query_grammar_ebnf()
    if split_constraint(constraint)[0] != PLAN_CONSTRAINT:
        raise RequestError(f"unknown output constraint {constraint!r}; known: "
                           f"{', '.join(NAMES)}")
    return plan_grammar_for(constraint)


def constraint_of_grammar(text: str) -> str | None:
    """The constraint name of a grammar text exactly as :func:`grammar_for` gives it;
    ``None`` if the text is no grammar of ours."""
    if text.strip() == query_grammar_ebnf().strip():
        return QUERY_CONSTRAINT
    return plan_constraint_of_grammar(text)


def checked_output(constraint: str, text: str, source: str) -> Any:
    """What a text decoded elsewhere under ``constraint`` holds (a plan or reply, or a
    query), checked here again; ConstraintError if it is not one. ``source`` names the
    backend for the message."""
    if constraint == QUERY_CONSTRAINT:
        try:
            return parse_query(text)
        except QueryError as exc:
            raise ConstraintError(f"{source} returned an output that is not a state query: "
                                  f"{exc}") from exc
    from llm_mars.llm.backends.validation import validated_plan

    return validated_plan(text, source)
