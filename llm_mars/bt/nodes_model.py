"""The Groot2 ``<TreeNodesModel>`` of this project's nodes, written from the registry.

Groot2 draws a file's custom nodes and their ports from this model, and BT.CPP reads the
``<SubTree>`` entries for the default values of subtree ports. One entry per registry skill
(``<Action>``) and condition (``<Condition>``) and per library subtree (``<SubTree>``); the
built-in controls and decorators are BT.CPP's own and need none. A port's type is the C++ type
BT.CPP would use (``int``, ``double``, ``bool``, ``std::string``); what BT.CPP cannot say (an
enum's choices, a number's range) goes into the port's description, which Groot2 shows.
"""
from __future__ import annotations

from collections.abc import Iterable
from xml.sax.saxutils import escape, quoteattr

from llm_mars.bt.library import SubtreeLibrary
from llm_mars.bt.model import format_value
from llm_mars.bt.registry import REGISTRY, Category, Port, PortType

CPP_TYPES = {PortType.INT: "int", PortType.FLOAT: "double", PortType.BOOL: "bool",
             PortType.STRING: "std::string", PortType.ENUM: "std::string",
             PortType.SCRIPT: "std::string", PortType.ENTRY: "std::string",
             PortType.COPY: "BT::AnyTypeAllowed",
             PortType.KEY: "std::string"}
"""The C++ type BT.CPP would declare for each port type (``getInput<T>``)."""
_ENTRIES = {Category.ACTION: "Action", Category.CONDITION: "Condition"}
_INDENT = "  "


def _port_line(port: Port) -> str:
    attributes = f"name={quoteattr(port.name)} type={quoteattr(CPP_TYPES[port.type])}"
    if port.default is not None:
        attributes += f" default={quoteattr(format_value(port.default))}"
    text = port.description
    if port.type is PortType.ENUM or port.minimum is not None or port.maximum is not None:
        text += f" ({port.describe()})"
    return f"<input_port {attributes}>{escape(text)}</input_port>"


def _entry_lines(tag: str, node_id: str, ports: Iterable[Port]) -> list[str]:
    ports = [_port_line(port) for port in ports]
    head = f"<{tag} ID={quoteattr(node_id)}"
    if not ports:
        return [head + "/>"]
    return [head + ">", *(_INDENT + line for line in ports), f"</{tag}>"]


def nodes_model_lines(library: SubtreeLibrary, subtree_ids: Iterable[str] | None = None,
                      indent: int = 1) -> list[str]:
    """The ``<TreeNodesModel>`` element as lines indented by ``indent`` levels: every skill
    and condition, and the library subtrees ``subtree_ids`` (default: all)."""
    ids = library.ids if subtree_ids is None else tuple(subtree_ids)
    body: list[str] = []
    for kind in REGISTRY.kinds.values():
        if kind.category in _ENTRIES:
            body.extend(_entry_lines(_ENTRIES[kind.category], kind.tag, kind.ports))
    for subtree_id in ids:
        body.extend(_entry_lines("SubTree", subtree_id, library[subtree_id].ports))
    pad = _INDENT * indent
    return [pad + "<TreeNodesModel>", *(pad + _INDENT + line for line in body),
            pad + "</TreeNodesModel>"]


def nodes_model_document(library: SubtreeLibrary) -> str:
    """A file holding only the model (what ``llm-mars skills --groot FILE`` writes): Groot2
    imports it as a palette of this project's nodes."""
    return "\n".join(['<root BTCPP_format="4">', *nodes_model_lines(library), "</root>"]) + "\n"
