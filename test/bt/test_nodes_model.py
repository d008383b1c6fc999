"""The Groot2 TreeNodesModel written from the registry and the library."""
from __future__ import annotations

from llm_mars.bt.library import load_library
from llm_mars.bt.nodes_model import nodes_model_document
from llm_mars.bt.registry import REGISTRY, Category
from llm_mars.bt.safe_xml import read_xml


def entries():
    (model,) = read_xml(nodes_model_document(load_library())).children
    assert model.tag == "TreeNodesModel"
    return {entry.attributes["ID"]: entry for entry in model.children}


def test_every_skill_condition_and_library_subtree_has_an_entry_with_its_ports():
    found = entries()
    library = load_library()
    expected = {**{k.tag: ("Action", k.ports) for k in REGISTRY.of(Category.ACTION)},
                **{k.tag: ("Condition", k.ports) for k in REGISTRY.of(Category.CONDITION)},
                **{d.id: ("SubTree", d.ports) for d in library}}
    assert set(found) == set(expected)
    for node_id, (tag, ports) in expected.items():
        assert found[node_id].tag == tag
        assert [p.attributes["name"] for p in found[node_id].children] == [p.name for p in ports]


def test_ports_carry_cpp_types_defaults_and_what_bt_cpp_cannot_say_in_words():
    found = entries()
    color, quadrant = found["PickCake"].children
    assert color.attributes == {"name": "color", "type": "std::string"}
    assert color.text == "stack colour (brown|yellow|pink)"
    assert quadrant.attributes["type"] == "int" and quadrant.text.endswith("(int 1..4)")
    sort = found["PlaceCakes"].children[1]
    assert sort.attributes == {"name": "sort", "type": "bool", "default": "false"}
    assert found["Wait"].children[0].attributes["type"] == "double"
    assert "Sequence" not in found  # BT.CPP's own nodes need no entry
