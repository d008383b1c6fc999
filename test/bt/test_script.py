"""BehaviorTree.CPP's script language: reading (errors located), values and the blackboard.

Each expected value here was checked against BT.CPP 4.8.2 (behaviortreepy); generated scripts
are compared with it in test_btcpp_oracle.py."""
from __future__ import annotations

import math

import pytest

from llm_mars.bt.script import EMPTY, Blackboard, parse_script, truth
from llm_mars.errors import ScriptRuntimeError, ScriptSyntaxError


def run(text: str, board: Blackboard | None = None) -> object:
    return parse_script(text).run(Blackboard() if board is None else board)


@pytest.mark.parametrize("text, value", [
    ("1 + 2 * 3", 7.0),
    ("(1 + 2) * 3", 9.0),
    ("7 - 2 - 1", 6.0),  # BT.CPP 4.8 groups + - * / to the right
    ("8 / 2 / 2", 8.0),
    ("10 - 2 * 3 + 1", 3.0),
    ("8 / 2 * 2", 2.0),
    ("1 | 2 ^ 3", 0.0),  # the others to the left
    ("0 && 0 || 1", 1.0),
    ("- -1", 1.0),
    ("+3", 3),
    ("0x1F", 31),
    ("1e3", 1000.0),
    ("true", 1),
    ("1 < 2 < 3", 1.0),
    ("3 > 2 > 2", 0.0),
    ("1 == 1.00000001", 1.0),  # a float epsilon
    ("1 || 0 && 0", 0.0),  # || and && are equal, left to right
    ("!0", 1.0),
    ("!!2", 1.0),
    ("~~1", 1.0),
    ("6 & 3 | 8", 10.0),
    ("1 ? 'yes' : 'no'", "yes"),
    ("1 ? 0 : 1 == 0", 0),  # the else branch is the comparison
    ("'a' .. 'b'", "ab"),
    ("'a' + 'b'", "ab"),
    ("'a' .. 1", "a1"),
    ("'a' .. 1.5", "a1.500000"),
    ("1 .. 2", EMPTY),
    ("'5' == 5", 1.0),
    ("'true' == 1", 1.0),
    ("' 1x' == 1", 1.0),  # std::stod reads what it can
    ("'B' < 'a'", 1.0),
    ("1 / 0 > 1", 1.0),
    ("x := 1; x += 1; x", 2),
    ("x := 1.5; x = '2'; x", 2.0),
    ("x := 1; x = '2.5'; x", 2.5),  # a string into a number entry makes it a real
    ("x := 'a'; x += 'b'; x", "ab"),
    ("(x := 3) + 1", 4.0),
    ("@x := 1; x", 1),
])
def test_values_are_bt_cpps(text, value):
    assert run(text) == value and type(run(text)) is type(value)


@pytest.mark.parametrize("text", [
    "y", "x = 1", "x := y", "'a' + 1", "'a' - 'b'", "-'a'", "2.5 & 3", "x := 1; x = 2.5",
    "x := 1; x /= 2", "x := true; x = 2.5", "x := 'a'; x = 1", "x := 'a'; x -= 'b'",
    "x := 'a'; x += 1", "x := 1; x += 'a'", "x := 1; x = 'abc'", "'a' == 'a' == 1",
    "'abc' < 9", "'a' ? 1 : 0", "'' ? 1 : 0", "2 && 1", "x := y; x + 1",
    "9223372036854775807 == 1", "1 - 1 := 2",
])
def test_runtime_errors_are_bt_cpps(text):
    with pytest.raises(ScriptRuntimeError):
        run(text)


@pytest.mark.parametrize("text", ["0 .. 0 && (a := 0)", "(a := 0) && (0 .. 0)"])
def test_both_operands_run_before_an_empty_one_fails_as_in_bt_cpp(text):
    board = Blackboard()
    with pytest.raises(ScriptRuntimeError):
        run(text, board)
    assert board.values() == {"a": 0}


def test_a_failed_create_leaves_an_entry_without_value_as_in_bt_cpp():
    board = Blackboard()
    with pytest.raises(ScriptRuntimeError):
        run("x := y", board)
    assert board.values() == {"x": EMPTY}
    with pytest.raises(ScriptRuntimeError):
        run("x == 1", board)
    assert run("x = 2; x", board) == 2


@pytest.mark.parametrize("value, expected", [(0, False), (1, True), (0.0, False), (0.5, True),
                                             (math.nan, True)])
def test_truth_is_bt_cpps_cast_to_bool(value, expected):
    assert truth(value) is expected


@pytest.mark.parametrize("value", [2, -1, -0.5, "1", "", EMPTY])
def test_what_is_not_a_boolean(value):
    with pytest.raises(ScriptRuntimeError):
        truth(value)


@pytest.mark.parametrize("text, position, problem", [
    ("", 0, "an empty script"),
    ("   ", 0, "an empty script"),
    ("x := 1;", 6, "a ';' with no statement after it"),
    (";x := 1", 0, "expected an operand"),
    ("x := 1;; y := 2", 7, "expected an operand"),
    ("1 + 2 & 3", 6, "cannot be mixed"),
    ("!0 == -1", 6, "cannot be mixed"),
    ("-1 < 0 && !0", 10, "cannot be mixed"),
    ("1 + 2 .. 'a'", 6, "cannot be mixed"),
    ("0 ? 1 : 0 ? 1 : 1", 10, "cannot be chained"),
    ("x := y := 1", 7, "cannot be chained"),
    ("x += 1 += 2", 7, "cannot be chained"),
    ("(1", 2, "expected ')'"),
    ("1 )", 2, "expected ';'"),
    ("1..2", 1, "invalid suffix on integer literal"),
    ("1.", 1, "invalid suffix on integer literal"),
    ("3foo", 1, "invalid suffix on integer literal"),
    ("1.5x", 3, "invalid suffix on double literal"),
    (".5", 0, "unexpected character"),
    ("99999999999999999999", 0, "overflows"),
    ("1e400", 0, "out of the range"),
    ("'open", 0, "closing quote"),
    ("'é'", 1, "ASCII"),
    ("truex := 1", 4, "expected ';'"),  # BT.CPP reads true, then x
    ("1 and 1", 2, "expected ';'"),  # no and/or/not in BT.CPP 4.8
    ("not 0", 4, "expected ';'"),
    ("+ 3", 0, "expected an operand"),
    ("1\r", 1, "unexpected character"),
    ("x # 1", 2, "unexpected character"),
])
def test_syntax_errors_say_where(text, position, problem):
    with pytest.raises(ScriptSyntaxError) as info:
        parse_script(text)
    assert info.value.position == position and problem in info.value.problem


@pytest.mark.parametrize("text", ["(" * 5000 + "1" + ")" * 5000, "-" * 5000 + "1",
                                  " + ".join(["1"] * 5000)])
def test_deep_nesting_is_a_located_syntax_error_not_a_crash(text):
    with pytest.raises(ScriptSyntaxError) as info:
        parse_script(text)
    assert "nested deeper" in info.value.problem and info.value.position > 0
    parse_script("(" * 20 + "1" + ")" * 20)  # what people write is read


@pytest.mark.parametrize("text", ["x:=1;\tx==1", "x := 1\n; x", "(1\r\n)", "1 +\\\n 1",
                                  "@a := 1", "(!0) == -1", "x := !0",
                                  "1 == (2 > 1)", "1 ? x := 1 : 0"])
def test_what_bt_cpp_reads_is_read(text):
    parse_script(text)


def test_subtree_blackboards_are_their_own_and_at_reaches_the_root():
    root = Blackboard()
    inner = Blackboard(root)
    run("x := 1; @y := 2", inner)
    assert inner.values() == {"x": 1} and root.values() == {"y": 2}
    with pytest.raises(ScriptRuntimeError):
        run("x", root)
