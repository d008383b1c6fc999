"""Parsing plans and bt-adapter output: typed trees, every problem located, hostile XML."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llm_mars.bt.export import export_robot
from llm_mars.bt.library import SubtreeLibrary, load_library
from llm_mars.bt.model import Node, Plan, Reply
from llm_mars.bt.parser import parse_bt_output, parse_plan
from llm_mars.bt.serializer import serialize_plan
from llm_mars.errors import PlanValidationError, SubtreeLibraryError

from .strategies import plans
from .tables import plan_xml
from .test_library import subtree

DATA = Path(__file__).parent / "data"


def problems_of(text: str, parse=parse_plan):
    with pytest.raises(PlanValidationError) as info:
        parse(text)
    return info.value.problems


def test_a_plan_becomes_typed_nodes_with_positions_in_robot_order():
    text = """<root BTCPP_format="4">
  <BehaviorTree ID="robot2">
    <DropCherries/>
  </BehaviorTree>
  <BehaviorTree ID="robot1">
    <Sequence>
      <PickCake quadrant="2" color="brown"/>
      <PlaceCakes plate="3" sort="1"/>
      <Wait seconds="2"/>
    </Sequence>
  </BehaviorTree>
</root>"""
    plan = parse_plan(text)
    assert plan == Plan((
        ("robot1", Node("Sequence", (), (
            Node("PickCake", (("color", "brown"), ("quadrant", 2))),  # registry port order
            Node("PlaceCakes", (("plate", 3), ("sort", True))),
            Node("Wait", (("seconds", 2.0),)),
        ))),
        ("robot2", Node("DropCherries")),
    ))
    assert plan.robots == ("robot1", "robot2")
    pick = plan.tree("robot1").children[0]
    assert (pick.line, pick.column) == (7, 7)
    assert isinstance(pick.port("quadrant"), int) and plan.tree("robot3") is None


def test_optional_ports_are_kept_as_written():
    plan = parse_plan(plan_xml('<CollectCherries holder="1"/>'))
    assert plan.tree("robot1").ports == (("holder", 1),)


def test_subtree_use_is_checked_against_its_declared_ports():
    node = parse_plan(plan_xml('<SubTree plate="3" ID="BuildLegendaryCakes" quadrant="2"/>'))
    assert node.tree("robot1").ports == (("ID", "BuildLegendaryCakes"), ("quadrant", 2),
                                         ("plate", 3))


def test_every_node_may_carry_bt_cpp_instance_name_and_keeps_it():
    text = plan_xml('<Sequence name="main"><PickCake name="first stack" color="brown" '
                    'quadrant="2"/><SubTree ID="FinishMatch" name="end"/>'
                    '<Inverter name="not home"><IsAt name="home?" target="home"/></Inverter>'
                    '</Sequence>')
    root = parse_plan(text).tree("robot1")
    assert [n.name for n in root.walk()] == ["main", "first stack", "end", "not home", "home?"]
    assert root.children[0].ports == (("color", "brown"), ("quadrant", 2))
    assert root.children[1].ports == (("ID", "FinishMatch"),)
    written = serialize_plan(parse_plan(text))
    assert '<SubTree ID="FinishMatch" name="end"/>' in written
    assert '<PickCake name="first stack" color="brown" quadrant="2"/>' in written
    assert parse_plan(written) == parse_plan(text)
    assert parse_plan(written) != parse_plan(text.replace(' name="end"', ""))


@pytest.mark.parametrize("node, code, suggestion", [
    ('<Sequense><DropCherries/></Sequense>', "unknown_tag", "Sequence"),
    ('<pickcake color="brown" quadrant="1"/>', "unknown_tag", "PickCake"),
    ('<BuildLegendaryCakes quadrant="1" plate="1"/>', "unknown_tag",
     'SubTree ID="BuildLegendaryCakes"'),
    ('<MoveTo target="home" speed="2"/>', "unknown_port", None),
    ('<MoveTo targte="home" target="home"/>', "unknown_port", "target"),
    ('<PickCake color="pink"/>', "missing_port", None),
    ('<PickCake color="pink" quadrant="5"/>', "bad_value", None),
    ('<PickCake color="Pink" quadrant="1"/>', "bad_value", "pink"),
    ('<MoveTo target="plate3"/>', "bad_value", "plate_3"),
    ('<PlaceCakes plate="1" sort="yes"/>', "bad_value", None),
    ('<Wait seconds="nan"/>', "bad_value", None),
    ('<Say text="{greeting}"/>', "port_reference", None),
    ('<Sequence/>', "child_count", None),
    ('<Inverter><DropCherries/><DropCherries/></Inverter>', "child_count", None),
    ('<DropCherries><DropCherries/></DropCherries>', "child_count", None),
    ('<Parallel success_count="3"><DropCherries/><FunnyAction/></Parallel>', "bad_threshold",
     None),
    ('<SubTree ID="BuildLegendaryCake" quadrant="1" plate="1"/>', "unknown_subtree",
     "BuildLegendaryCakes"),
    ('<SubTree ID="CherriesToBasket"/>', "missing_port", None),
    ('<SubTree ID="CherriesToBasket" holder="9"/>', "bad_value", None),
    ('<SubTree ID="CherriesToBasket" holdr="1" holder="1"/>', "unknown_port", "holder"),
    ('<SubTree holder="1"/>', "missing_port", None),
    ('<Sequence>go<DropCherries/></Sequence>', "unexpected_text", None),
    ('<Script code="x := 1;"/>', "bad_value", None),
    ('<ScriptCondition code="!x == -1"/>', "bad_value", None),
    ('<FunnyAction _skipIf="done =="/>', "bad_value", None),
    ('<Sequence _while="1;"><FunnyAction/></Sequence>', "bad_value", None),
    ('<Precondition if="x == 1" else="failure"><FunnyAction/></Precondition>', "bad_value",
     "FAILURE"),
    ('<UnsetBlackboard key="x"/>', "unsupported_feature", None),
    ('<SetBlackboard value="1" output_key="{x}"/>', "unsupported_feature", None),
    ('<SetBlackboard value="1" output_key="@x"/>', "unsupported_feature", None),
    ('<SetBlackboard value="{ x}" output_key="y"/>', "unsupported_feature", None),
    ('<SetBlackboard value="1"/>', "missing_port", None),
    ('<Switch2 variable="=" case_1="1"><FunnyAction/><FunnyAction/><FunnyAction/></Switch2>',
     "unsupported_feature", None),
    ('<Switch2 variable="{v}" case_1=" {@w} "><FunnyAction/><FunnyAction/><FunnyAction/>'
     '</Switch2>', "unsupported_feature", None),
    ('<Switch2 variable="{v}" case_1="1"><FunnyAction/><FunnyAction/></Switch2>',
     "child_count", None),
    ('<Switch3 variable="{v}" case_4="1"><FunnyAction/><FunnyAction/><FunnyAction/>'
     '<FunnyAction/></Switch3>', "unknown_port", "case_3"),
    ('<FunnyAction _autoremap="true"/>', "unsupported_feature", None),
    ('<Sequence _uid="3"><FunnyAction/></Sequence>', "unsupported_feature", None),
    ('<IfThenElse><FunnyAction/></IfThenElse>', "child_count", None),
    ('<Delay delay_msc="5" delay_msec="5"><FunnyAction/></Delay>', "unknown_port",
     "delay_msec"),
    ('<Action/>', "unknown_tag", None),
])
def test_each_node_mistake_is_reported_with_code_location_and_suggestion(node, code, suggestion):
    [problem] = problems_of(plan_xml(node))
    assert (problem.code, problem.suggestion) == (code, suggestion)
    assert problem.line == 1 and problem.column > 1 and problem.path.startswith("robot1/")


@pytest.mark.parametrize("text, code, suggestion", [
    ('<rot BTCPP_format="4"><BehaviorTree ID="robot1"><FunnyAction/></BehaviorTree></rot>',
     "bad_root", "root"),
    ('<root BTCPP_format="3"><BehaviorTree ID="robot1"><FunnyAction/></BehaviorTree></root>',
     "bad_format", "4"),
    ('<root><BehaviorTree ID="robot1"><FunnyAction/></BehaviorTree></root>', "bad_format", None),
    ('<root BTCPP_format="4" main_tree_to_exec="robot1"><BehaviorTree ID="robot1">'
     '<FunnyAction/></BehaviorTree></root>', "unknown_attribute", "main_tree_to_execute"),
    ('<root BTCPP_format="4" main_tree_to_execute="robot2"><BehaviorTree ID="robot1">'
     '<FunnyAction/></BehaviorTree></root>', "bad_main_tree", "robot1"),
    ('<root BTCPP_format="4"><include path="../subtrees/FinishMatc.xml"/><BehaviorTree '
     'ID="robot1"><FunnyAction/></BehaviorTree></root>', "unsupported_feature", "FinishMatch"),
    ('<root BTCPP_format="4"><include ros_pkg="nav2" path="subtrees/FinishMatch.xml"/>'
     '<BehaviorTree ID="robot1"><FunnyAction/></BehaviorTree></root>', "unsupported_feature",
     None),
    ('<root BTCPP_format="4"><BehaviorTree ID="robot1"><FunnyAction/></BehaviorTree>'
     '<BehaviorTree ID="FinishMatch"><MoveTo target="home"/></BehaviorTree></root>',
     "subtree_differs", None),
    ('<root BTCPP_format="4"><BehaviorTree ID="FinishMatch"><Sequence><MoveTo target="home"/>'
     '<FunnyAction/></Sequence></BehaviorTree></root>', "no_tree", None),
    ('<root BTCPP_format="4"><BehaviorTree ID="robot1"><FunnyAction/></BehaviorTree>'
     '<TreeNodesModel><Condition ID="PickCake"/></TreeNodesModel></root>', "model_mismatch",
     None),
    ('<root BTCPP_format="4"><BehaviorTree ID="robot1"><FunnyAction/></BehaviorTree>'
     '<TreeNodesModel><Action ID="PickCake"><input_port name="colour"/></Action>'
     '</TreeNodesModel></root>', "model_mismatch", "color"),
    ('<root BTCPP_format="4"><BehaviorTree ID="robot1"><FunnyAction/></BehaviorTree>'
     '<TreeNodesModel><SubTree ID="FinishMatc"/></TreeNodesModel></root>', "unknown_subtree",
     "FinishMatch"),
    ('<root BTCPP_format="4"><BehaviorTree ID="Robot_1"><FunnyAction/></BehaviorTree></root>',
     "unknown_robot", "robot1"),
    ('<root BTCPP_format="4"><BehaviorTree><FunnyAction/></BehaviorTree></root>', "missing_id",
     None),
    ('<root BTCPP_format="4"><BehaviorTree ID="robot1"><FunnyAction/></BehaviorTree>'
     '<BehaviorTree ID="robot1"><FunnyAction/></BehaviorTree></root>', "duplicate_tree", None),
    ('<root BTCPP_format="4"><BehaviorTree ID="robot1"/></root>', "tree_children", None),
    ('<root BTCPP_format="4"><BehaviorTree ID="robot1"><FunnyAction/><FunnyAction/>'
     '</BehaviorTree></root>', "tree_children", None),
    ('<root BTCPP_format="4"></root>', "no_tree", None),
    ('<root BTCPP_format="4"><Behaviortree ID="robot1"><FunnyAction/></Behaviortree></root>',
     "unexpected_element", "BehaviorTree"),
])
def test_each_document_mistake_is_reported(text, code, suggestion):
    problems = problems_of(text)
    assert [(p.code, p.suggestion) for p in problems if p.code != "no_tree" or code == "no_tree"
            ] == [(code, suggestion)]
    assert all(p.line == 1 for p in problems)


def test_bt_cpp_built_ins_a_person_writes_are_read():
    text = plan_xml('<SequenceWithMemory><IfThenElse><IsAt target="home"/><Delay delay_msec="10">'
                    '<AlwaysSuccess/></Delay><AlwaysFailure/></IfThenElse><WhileDoElse>'
                    '<IsCarrying item="cake"/><KeepRunningUntilFailure><Sleep msec="5"/>'
                    '</KeepRunningUntilFailure></WhileDoElse><ForceFailure><RunOnce '
                    'then_skip="false"><DropCherries/></RunOnce></ForceFailure>'
                    '</SequenceWithMemory>')
    tags = [node.tag for node in parse_plan(text).tree("robot1").walk()]
    assert tags == ["SequenceWithMemory", "IfThenElse", "IsAt", "Delay", "AlwaysSuccess",
                    "AlwaysFailure", "WhileDoElse", "IsCarrying", "KeepRunningUntilFailure",
                    "Sleep", "ForceFailure", "RunOnce", "DropCherries"]


def test_switch_and_set_blackboard_are_read_with_their_entries_as_written():
    text = plan_xml('<Sequence><SetBlackboard value="{b}" output_key="a"/><Switch3 '
                    'variable="{a}" case_1="1" case_3=" {x"><AlwaysSuccess/><AlwaysSuccess/>'
                    '<AlwaysSuccess/><AlwaysFailure/></Switch3><Switch2><AlwaysSuccess/>'
                    '<AlwaysSuccess/><AlwaysSuccess/></Switch2></Sequence>')
    root = parse_plan(text).tree("robot1")
    assert root.children[0].ports == (("value", "{b}"), ("output_key", "a"))
    assert root.children[1].ports == (("variable", "{a}"), ("case_1", "1"), ("case_3", " {x"))
    assert parse_plan(serialize_plan(parse_plan(text))) == parse_plan(text)


@pytest.mark.parametrize("body", ['<SetBlackboard value="1" output_key="x"/>',
                                  '<Switch2 variable="{v}"><AlwaysSuccess/><AlwaysSuccess/>'
                                  '<AlwaysSuccess/></Switch2>'])
def test_blackboard_entries_inside_a_subtree_definition_are_named_unsupported(body):
    """A subtree's own blackboard (remapped ports, entries it shadows) is not modelled."""
    with pytest.raises(SubtreeLibraryError) as info:
        SubtreeLibrary.from_documents({"S.xml": subtree("S", body, '<input_port name="v" '
                                                        'type="string"/>')})
    [problem] = info.value.problems
    assert problem.code == "unsupported_feature" and problem.line == 1
    assert "inside a subtree definition is a BehaviorTree.CPP feature" in problem.message


def test_what_bt_cpp_does_that_this_project_does_not_is_named_as_such():
    [problem] = problems_of(plan_xml('<UnsetBlackboard key="x"/>'))
    assert problem.message == ("<UnsetBlackboard> is a BehaviorTree.CPP feature this project "
                               "does not support")
    [problem] = problems_of(plan_xml('<SetBlackboard value="{=}" output_key="x"/>'))
    assert problem.message == ("SetBlackboard.value='{=}': a blackboard entry written "
                               "otherwise than {name} is a BehaviorTree.CPP feature this "
                               "project does not support")
    [problem] = problems_of(plan_xml('<FunnyAction _fullpath="a/b"/>'))
    assert problem.message == ("attribute _fullpath is a BehaviorTree.CPP feature this "
                               "project does not support")
    [problem] = problems_of(plan_xml('<MoveTo target="{goal}"/>'))
    assert "{goal} is a BehaviorTree.CPP feature this project does not support" in \
        problem.message


def test_what_bt_cpp_and_groot2_files_add_is_read_by_the_plan_reader():
    text = """<root BTCPP_format="4" main_tree_to_execute="robot2">
  <include path="../subtrees/FinishMatch.xml"/>
  <BehaviorTree ID="robot2">
    <Sequence name="main">
      <SubTree ID="CherriesToBasket" holder="1"/>
      <SubTree ID="FinishMatch"/>
    </Sequence>
  </BehaviorTree>
  <BehaviorTree ID="CherriesToBasket">
    <Sequence>
      <CollectCherries holder="{holder}"/>
      <DropCherries/>
    </Sequence>
  </BehaviorTree>
  <TreeNodesModel>
    <Action ID="CollectCherries"><input_port name="holder" type="int"/></Action>
    <Action ID="Spin"><input_port name="angle" type="double"/></Action>
    <SubTree ID="CherriesToBasket"><input_port name="holder" type="int"/></SubTree>
  </TreeNodesModel>
</root>"""
    plan = parse_plan(text)
    assert plan.robots == ("robot2",)
    assert plan == parse_plan(plan_xml('<Sequence name="main"><SubTree ID="CherriesToBasket" '
                                       'holder="1"/><SubTree ID="FinishMatch"/></Sequence>',
                                       "robot2"))


def test_three_mistakes_are_all_reported_in_document_order():
    problems = problems_of((DATA / "three_mistakes.xml").read_text())
    assert [(p.line, p.code, p.suggestion) for p in problems] == [
        (4, "bad_value", "brown"),
        (5, "unknown_tag", "PlaceCakes"),
        (9, "unknown_port", "count"),
    ]
    assert problems[1].path == "robot1/Sequence[0]/PlaceCake[1]"
    assert "did you mean brown?" in str(problems[0])


def test_problems_in_both_trees_and_at_every_depth_are_collected():
    text = plan_xml('<Sequence><Fallback><MoveTo target="mars"/><Wait seconds="-1"/></Fallback>'
                    '<Jump/></Sequence>').replace(
        "</root>", '<BehaviorTree ID="robot2"><Say/></BehaviorTree></root>')
    assert [p.code for p in problems_of(text)] == ["bad_value", "bad_value", "unknown_tag",
                                                   "missing_port"]


@pytest.mark.parametrize("text, code", [
    ("", "syntax"),
    ('<root BTCPP_format="4"><BehaviorTree ID="robot1">', "syntax"),
    ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
     '<root BTCPP_format="4"><BehaviorTree ID="robot1"><Say text="&lol2;"/></BehaviorTree>'
     "</root>", "forbidden_dtd"),
    ('<!DOCTYPE root SYSTEM "file:///etc/passwd"><root/>', "forbidden_dtd"),
    ('<root BTCPP_format="4"><BehaviorTree ID="robot1"><Say text="&xxe;"/></BehaviorTree></root>',
     "syntax"),
    (plan_xml("<Sequence>" * 40 + "<FunnyAction/>" + "</Sequence>" * 40), "too_deep"),
    (plan_xml("<Sequence>" + "<FunnyAction/>" * 2500 + "</Sequence>"), "too_many_nodes"),
    (plan_xml(f'<Say text="{"x" * 70_000}"/>'), "too_large"),
    (plan_xml('<Say text="\ud800"/>'), "bad_encoding"),
    (plan_xml('<Say text="\x00"/>'), "syntax"),
])
def test_hostile_documents_are_rejected_with_a_location(text, code):
    [problem] = problems_of(text)
    assert problem.code == code and problem.line >= 1 and problem.column >= 1


def test_bytes_with_a_lying_encoding_declaration_are_read_as_utf8():
    text = ('<?xml version="1.0" encoding="ISO-8859-1"?>' + plan_xml('<Say text="Grüße"/>'))
    plan = parse_plan(text.encode("utf-8"))
    assert plan.tree("robot1").port("text") == "Grüße"


def test_bt_output_is_a_plan_or_a_reply():
    assert parse_bt_output(plan_xml("<FunnyAction/>")) == Plan((("robot1", Node("FunnyAction")),))
    assert parse_bt_output("<reply>\n  There is no plate 9. Plates are 1-5.\n</reply>\n") == \
        Reply("There is no plate 9. Plates are 1-5.")
    assert parse_bt_output("<reply>cakes &amp; cherries</reply>") == Reply("cakes & cherries")


@pytest.mark.parametrize("text, code", [
    ("<reply></reply>", "bad_reply"),
    ('<reply to="op">x</reply>', "bad_reply"),
    ("<reply><b>x</b></reply>", "bad_reply"),
    (f"<reply>{'x' * 2001}</reply>", "bad_reply"),
    ("Sure! <reply>x</reply>", "syntax"),
    ("```xml\n" + plan_xml("<FunnyAction/>") + "\n```", "syntax"),
    (plan_xml("<FunnyAction/>") + "<reply>x</reply>", "syntax"),
])
def test_bt_output_is_never_repaired(text, code):
    assert {p.code for p in problems_of(text, parse_bt_output)} == {code}


# --- property tests: mutated documents fail only with located PlanValidationErrors ----------

MISSION_TEXTS = [p.read_text() for p in sorted(
    (Path(__file__).resolve().parents[2] / "trees" / "missions").glob("*.xml"))]
documents = st.one_of(st.sampled_from(MISSION_TEXTS), plans(load_library(), 2).map(serialize_plan))
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_rejected_with_location(text, parse=parse_plan, must_fail=False):
    """Parsing either succeeds (the mutation happened to stay valid) or raises
    PlanValidationError whose problems all carry a line and column; nothing else escapes."""
    try:
        parse(text)
    except PlanValidationError as exc:
        assert exc.problems
        line_break = r"\r\n|\r|\n" if isinstance(text, str) else rb"\r\n|\r|\n"
        lines = len(re.split(line_break, text))
        for problem in exc.problems:
            assert problem.line is not None and 1 <= problem.line <= lines, problem
            assert problem.column is not None and problem.column >= 1, problem
            assert problem.code and problem.message
        return exc.problems
    assert not must_fail, "a broken document was accepted"
    return ()


@pytest.mark.reliability
@FUZZ
@given(documents, st.data())
def test_truncated_documents_are_rejected(text, data):
    cut = data.draw(st.integers(0, len(text.rstrip()) - 1))
    assert_rejected_with_location(text[:cut], must_fail=True)
    assert_rejected_with_location(text[:cut], parse_bt_output, must_fail=True)


@pytest.mark.reliability
@FUZZ
@given(documents, st.data())
def test_renamed_tags_and_attributes(text, data):
    names = [m for m in re.finditer(r"(?<=<)[A-Za-z_]+|[A-Za-z_]+(?==)", text)]
    match = data.draw(st.sampled_from(names))
    replacement = data.draw(st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,12}", fullmatch=True))
    assert_rejected_with_location(text[:match.start()] + replacement + text[match.end():])


@pytest.mark.reliability
@FUZZ
@given(documents, st.data())
def test_replaced_attribute_values(text, data):
    values = list(re.finditer(r'(?<==")[^"]*(?=")', text))
    match = data.draw(st.sampled_from(values))
    value = data.draw(st.one_of(st.text(max_size=20), st.integers().map(str),
                                st.sampled_from(["", "-1", "1e999", "nan", "{x}", "&amp;",
                                                 "&bogus;", "<", "\"", "robot3"])))
    assert_rejected_with_location(text[:match.start()] + value + text[match.end():])


@pytest.mark.reliability
@FUZZ
@given(documents, st.data())
def test_inserted_binary_garbage(text, data):
    at = data.draw(st.integers(0, len(text)))
    garbage = data.draw(st.one_of(
        st.binary(min_size=1, max_size=30).map(lambda b: b.decode("latin-1")),
        st.text(min_size=1, max_size=30),
    ))
    mutated = text[:at] + garbage + text[at:]
    assert_rejected_with_location(mutated)
    raw = mutated.encode("utf-8", "surrogatepass")
    assert_rejected_with_location(raw)


@pytest.mark.reliability
@FUZZ
@given(documents, st.integers(30, 200), st.integers(66_000, 200_000))
def test_deep_nesting_and_huge_attributes(text, depth, size):
    first = re.search(r'<BehaviorTree ID="robot\d">', text)
    deep = text[:first.end()] + "<Sequence>" * depth + text[first.end():].replace(
        "</BehaviorTree>", "</Sequence>" * depth + "</BehaviorTree>", 1)
    assert {p.code for p in assert_rejected_with_location(deep, must_fail=True)} == {"too_deep"}
    huge = text.replace("<root ", f'<root pad="{"A" * size}" ', 1)
    assert {p.code for p in assert_rejected_with_location(huge, must_fail=True)} == {"too_large"}


def test_skipped_and_condition_scripts_are_read_written_back_and_exported():
    xml = ('<Sequence _skipIf="a == 1" _while="1"><RunOnce><FunnyAction _onSuccess="x := 1"/>'
           '</RunOnce><Precondition if="1" else="SKIPPED"><DropCherries _failureIf="0" '
           '_post="y := 2"/></Precondition><SubTree ID="FinishMatch" _skipIf="false"/>'
           '</Sequence>')
    plan = parse_plan(plan_xml(xml))
    root = plan.tree("robot1")
    assert root.conditions == (("_skipIf", "a == 1"), ("_while", "1"))
    assert root.children[2].conditions == (("_skipIf", "false"),)
    assert parse_plan(serialize_plan(plan)) == plan
    assert parse_plan(export_robot(plan, "robot1")).tree("robot1") == root
    assert 'else="SKIPPED"' in serialize_plan(plan, canonical=True)
