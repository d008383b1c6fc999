"""The output constraints by name for backends that decode elsewhere (llm_mars.llm.outputs)."""
import pytest

from llm_mars.errors import ConstraintError, RequestError
from llm_mars.llm.grammar import plan_grammar_ebnf
from llm_mars.llm.outputs import checked_output, constraint_of_grammar, grammar_for
from llm_mars.qa.query import Describe, Ref, query_grammar_ebnf


def test_each_constraint_has_its_grammar_and_each_grammar_its_name():
    assert grammar_for("query") == query_grammar_ebnf()
    assert grammar_for("plan") == plan_grammar_ebnf()
    assert constraint_of_grammar(query_grammar_ebnf()) == "query"
    assert constraint_of_grammar(plan_grammar_ebnf()) == "plan"
    assert constraint_of_grammar("root ::= \"x\"") is None
    with pytest.raises(RequestError):
        grammar_for("json")


def test_returned_texts_are_checked_here_again():
    assert checked_output("query", "robot1.location", "server") == \
        Describe((Ref("robot1", "location"),))
    with pytest.raises(ConstraintError):
        checked_output("query", "robot1.locatio", "server")
    with pytest.raises(ConstraintError):
        checked_output("plan", "<root>", "server")
