"""The hostile-input XML reader: positions, limits, forbidden DTDs."""
from __future__ import annotations

import pytest

from llm_mars.bt.safe_xml import read_xml
from llm_mars.errors import PlanValidationError


def test_elements_keep_attributes_in_order_positions_and_text():
    root = read_xml('<a z="1" y="&lt;2&gt;">\n  <b/>x &amp;\n y<c>t</c>\n</a>')
    assert (root.tag, root.attributes, root.line, root.column) == ("a", {"z": "1", "y": "<2>"},
                                                                   1, 1)
    b, c = root.children
    assert (b.line, b.column, c.line, c.column) == (2, 3, 3, 3)
    assert root.text.split() == ["x", "&", "y"] and (root.text_line, root.text_column) == (2, 7)
    assert b.text == "" and b.text_line is None


@pytest.mark.parametrize("limits, text, code", [
    ({"max_bytes": 10}, "<a>" + " " * 10 + "</a>", "too_large"),
    ({"max_depth": 2}, "<a><b><c/></b></a>", "too_deep"),
    ({"max_elements": 3}, "<a><b/><b/><b/></a>", "too_many_nodes"),
])
def test_limits_are_enforced_while_streaming(limits, text, code):
    with pytest.raises(PlanValidationError) as info:
        read_xml(text, **limits)
    assert [p.code for p in info.value.problems] == [code]


def test_limits_allow_documents_at_the_limit():
    assert read_xml("<a><b/></a>", max_bytes=11, max_depth=2, max_elements=2).children[0].tag == "b"


def test_billion_laughs_is_refused_before_any_expansion():
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
                      for i in range(1, 10))
            + ']><lolz>&lol9;</lolz>')
    with pytest.raises(PlanValidationError) as info:
        read_xml(bomb)
    [problem] = info.value.problems
    assert problem.code == "forbidden_dtd" and problem.line == 1


def test_a_lone_surrogate_is_located():
    with pytest.raises(PlanValidationError) as info:
        read_xml('<a>\n  <b t="\udcff"/></a>')
    [problem] = info.value.problems
    assert (problem.code, problem.line, problem.column) == ("bad_encoding", 2, 9)


def test_comments_are_kept_with_the_element_they_precede_or_close():
    root = read_xml("<!--a--><root><!--b--><x/><!--c--><y><!--d--></y></root><!--e-->")
    x, y = root.children
    assert (root.comments, x.comments, y.comments, y.end_comments, root.end_comments) == (
        ["a"], ["b"], ["c"], ["d"], [])
