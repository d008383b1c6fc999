"""docs/interfaces.md states every node parameter as the node declares it: type, default,
range and whether it changes at run time."""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NODES = ("simulator", "bt_executor", "commander", "llm_server", "speech", "console")
TYPES = {bool: "bool", int: "int", float: "float", str: "string", list: "string[]"}
ROW = re.compile(r"^\| (\w+) \| `(\w+)` \| ([\w\[\]]+) \| `([^`]*)`[^|]* \| ([^|]*) \| ([^|]*) \|$")


def documented() -> dict[tuple[str, str], tuple[str, ...]]:
    text = (ROOT / "docs" / "interfaces.md").read_text()
    return {(m[1], m[2]): (m[3], m[4], m[5].strip(), m[6].strip())
            for m in map(ROW.match, text.splitlines()) if m}


def declared(spec) -> tuple[str, ...]:
    default = spec.default
    shown = (str(default).lower() if isinstance(default, bool) else
             f'"{default}"' if isinstance(default, str) else str(default).replace("'", '"'))
    limits = " .. ".join(f"{limit:.12g}" for limit in spec.limits) if spec.limits else ""
    return TYPES[type(default)], shown, limits, "yes" if spec.runtime else ""


@pytest.mark.parametrize("node", NODES)
def test_every_parameter_is_documented_as_declared(node):
    table = documented()
    specs = importlib.import_module(f"llm_mars.nodes.{node}").PARAMETERS
    assert {name for n, name in table if n == node} == {spec.name for spec in specs}
    for spec in specs:
        assert table[node, spec.name] == declared(spec), spec.name
