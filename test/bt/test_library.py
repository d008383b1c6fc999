"""The subtree library: file format, declared typed ports, body checks, cycles."""
from __future__ import annotations

from pathlib import Path

import pytest

from llm_mars.bt.library import SubtreeLibrary, load_library, trees_dir
from llm_mars.bt.model import Node, PortRef
from llm_mars.bt.registry import PortType
from llm_mars.errors import SubtreeLibraryError, TreesNotFoundError

REPOSITORY = Path(__file__).resolve().parents[2]


def subtree(subtree_id: str, body: str, ports: str = "", attributes: str = "") -> str:
    return (f'<root BTCPP_format="4"><BehaviorTree ID="{subtree_id}">{body}</BehaviorTree>'
            f'<TreeNodesModel><SubTree ID="{subtree_id}"{attributes}>{ports}</SubTree>'
            "</TreeNodesModel></root>")


def library_problems(documents: dict[str, str]) -> dict[str, list[tuple[str, str | None]]]:
    with pytest.raises(SubtreeLibraryError) as info:
        SubtreeLibrary.from_documents(documents)
    assert all(p.line is not None for p in info.value.problems)
    return {name: [(p.code, p.suggestion) for p in found]
            for name, found in info.value.by_file.items()}


def test_trees_dir_is_the_checkout_folder_and_the_default_library_is_cached():
    assert trees_dir() == REPOSITORY / "trees"
    assert load_library() is load_library()
    assert {"BuildLegendaryCakes", "CherriesToBasket", "FinishMatch"} <= set(load_library().ids)


def test_library_files_declare_typed_ports_and_reference_them():
    definition = load_library()["BuildLegendaryCakes"]
    quadrant = definition.port("quadrant")
    assert (quadrant.type, quadrant.minimum, quadrant.maximum) == (PortType.INT, 1, 4)
    assert quadrant.description == "quadrant to take the three stacks from"
    assert definition.root.children[0] == Node("PickCake", (("color", "brown"),
                                                            ("quadrant", PortRef("quadrant"))))
    assert definition.source == "BuildLegendaryCakes.xml"


def test_ports_can_be_spelled_out_and_defaults_make_them_optional():
    ports = ('<input_port name="holder" type="int" min="1" max="4" default="2">which</input_port>'
             '<input_port name="colour" type="enum" choices="brown|pink"/>'
             '<input_port name="words" type="string" max_length="20"/>'
             '<input_port name="neat" like="PlaceCakes.sort" default="true"/>')
    body = ('<Sequence><CollectCherries holder="{holder}"/><PickCake color="{colour}" '
            'quadrant="1"/><Say text="{words}"/><PlaceCakes plate="1" sort="{neat}"/></Sequence>')
    library = SubtreeLibrary.from_documents({"Mixed.xml": subtree("Mixed", body, ports)})
    holder, colour, words, neat = library["Mixed"].ports
    assert (holder.required, holder.default, holder.description) == (False, 2, "which")
    assert colour.choices == ("brown", "pink") and words.max_length == 20
    assert (neat.type, neat.required, neat.default) == (PortType.BOOL, False, True)


@pytest.mark.parametrize("port", [
    '<input_port name="q" like="PickCake.quadrnt"/>',
    '<input_port name="q" like="Nope.quadrant"/>',
    '<input_port name="q" type="integer"/>',
    '<input_port name="q" type="int" choices="a|b"/>',
    '<input_port name="q" type="enum"/>',
    '<input_port name="q" type="int" min="x"/>',
    '<input_port name="q" type="int" min="1" max="4" default="7"/>',
    '<input_port name="q" like="PickCake.quadrant" type="int"/>',
    '<input_port name="ID" type="int"/>',
    '<input_port name="name" type="int"/>',
    '<input_port name="1q" type="int"/>',
    '<input_port nam="q" type="int"/>',
    '<output_port name="q" type="int"/>',
])
def test_bad_port_declarations_are_reported(port):
    problems = library_problems({"S.xml": subtree("S", "<FunnyAction/>", port)})
    assert [code for code, _ in problems["S.xml"]] == ["bad_port_declaration"]


@pytest.mark.parametrize("ports, body, code", [
    ('<input_port name="q" type="int" min="1" max="10"/>',
     '<PickCake color="brown" quadrant="{q}"/>', "port_type_mismatch"),
    ('<input_port name="q" type="int"/>', '<PickCake color="brown" quadrant="{q}"/>',
     "port_type_mismatch"),
    ('<input_port name="c" like="PickCake.color"/>', '<MoveTo target="{c}"/>',
     "port_type_mismatch"),
    ('<input_port name="t" type="string"/>', '<Say text="{t}"/>', "port_type_mismatch"),
    ('<input_port name="q" like="PickCake.quadrant"/>', '<PickCake color="brown" quadrant="{p}"/>',
     "port_reference"),
    ("", '<PickCak color="brown" quadrant="1"/>', "unknown_tag"),
])
def test_body_mistakes_are_reported_per_file(ports, body, code):
    problems = library_problems({"S.xml": subtree("S", body, ports)})
    assert [c for c, _ in problems["S.xml"]] == [code]


def test_an_int_port_may_feed_a_float_port_within_range():
    ports = '<input_port name="s" type="int" min="0" max="30"/>'
    library = SubtreeLibrary.from_documents({"S.xml": subtree("S", '<Wait seconds="{s}"/>', ports)})
    assert library["S"].root == Node("Wait", (("seconds", PortRef("s")),))


def test_cycles_are_reported_at_the_referencing_node():
    problems = library_problems({
        "A.xml": subtree("A", '<Sequence><FunnyAction/><SubTree ID="B"/></Sequence>'),
        "B.xml": subtree("B", '<SubTree ID="A"/>'),
        "C.xml": subtree("C", '<Inverter><SubTree ID="C"/></Inverter>'),
        "D.xml": subtree("D", '<SubTree ID="A"/>'),
    })
    assert problems == {"B.xml": [("cyclic_subtree", None)], "C.xml": [("cyclic_subtree", None)]}


def test_a_subtree_may_use_another_subtree_passing_its_ports_on():
    ports = '<input_port name="quad" like="PickCake.quadrant"/>'
    body = '<SubTree ID="BuildLegendaryCakes" quadrant="{quad}" plate="5"/>'
    library = load_library().with_document("Outer.xml", subtree("Outer", body, ports))
    assert library["Outer"].root.port("quadrant") == PortRef("quad")
    assert "BuildLegendaryCakes" in library and len(library) == len(load_library()) + 1


@pytest.mark.parametrize("documents, code", [
    ({"A.xml": subtree("B", "<FunnyAction/>")}, "bad_subtree_file"),
    ({"Sequence.xml": subtree("Sequence", "<FunnyAction/>")}, "bad_subtree_file"),
    ({"a": subtree("A", "<FunnyAction/>"), "b": subtree("A", "<FunnyAction/>")},
     "bad_subtree_file"),
    ({"A.xml": '<root BTCPP_format="4"><BehaviorTree ID="A"><FunnyAction/></BehaviorTree></root>'},
     "bad_subtree_file"),
    ({"A.xml": subtree("A", "<FunnyAction/>").replace('SubTree ID="A"', 'SubTree ID="X"')},
     "bad_subtree_file"),
    ({"A.xml": subtree("A", "<FunnyAction/>", attributes=' colour="red"')}, "unknown_attribute"),
    ({"A.xml": subtree("A", "<FunnyAction/><FunnyAction/>")}, "tree_children"),
    ({"A.xml": "<root"}, "syntax"),
])
def test_malformed_subtree_files_are_reported(documents, code):
    assert code in [c for found in library_problems(documents).values() for c, _ in found]


def test_library_folders(tmp_path):
    with pytest.raises(TreesNotFoundError):
        load_library(tmp_path / "missing")
    assert len(load_library(tmp_path)) == 0
    (tmp_path / "subtrees").mkdir()
    (tmp_path / "subtrees" / "Home.xml").write_text(subtree("Home", '<MoveTo target="home"/>'))
    assert load_library(tmp_path).ids == ("Home",)
