"""The package layering of llm_mars (README "Layout"): a room imports only from the rooms in
layers below its own, so there is no upward import and no package cycle; and no module imports
another that, at run time, imports it back.

Every import counts, also one inside a function or under ``TYPE_CHECKING``; a new top-level
module or package fails here until it is given a layer (and a line in the README's map).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "llm_mars"
README = PACKAGE.parent / "README.md"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("vocabulary", "errors"),                # the world's words and numbers; every exception
    ("bt",),                                 # the plan language: the registry, trees, behaviours
    ("world", "language", "qa"),             # simulator; operator language; state queries
    ("payloads",),                           # ROS payloads (a question carries its previous query)
    ("robots", "llm"),                       # robots the trees drive; the model and its engine
    ("session", "assistant"),                # ROS-free cores of the nodes; command -> plan, question -> answer
    ("evaluation", "speech"),                # the dev-set evaluation; speech in and out
    ("training", "nodes", "recording", "ros_domain"),  # adapters' training; thin ROS shells; bags
    ("system", "operator_load"),             # the whole graph in one process; an operator's load
    ("replay",),                             # a recorded session played again
    ("cli",),                                # the command-line shells
)
LAYER = {room: n for n, rooms in enumerate(LAYERS) for room in rooms}


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _room(module: str) -> str:
    return module.split(".")[1]


def _is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(path: Path, runtime_only: bool = False) -> list[tuple[int, str]]:
    """(line, module) of every llm_mars module ``path`` imports (``from llm_mars.world import
    motion`` imports the module ``llm_mars.world.motion``)."""
    tree = ast.parse(path.read_text(), str(path))
    skipped: set[int] = set()
    if runtime_only:  # leave out what only type checkers read
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
                skipped |= {id(n) for n in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("llm_mars.")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and (node.module + ".").startswith("llm_mars."):
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.append((node.lineno, name if _is_module(name) else node.module))
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_room_has_a_layer():
    rooms = {_room(_module(p)) for p in SOURCES if p.parent != PACKAGE or p.name != "__init__.py"}
    assert rooms - set(LAYER) == set(), "give the new rooms a layer here and a line in README"
    assert set(LAYER) - rooms == set(), "rooms that are gone"


def test_every_room_is_in_the_readme_layout_map():
    layout = README.read_text().split("## Layout", 1)[1].split("\n## ", 1)[0]
    missing = [room for room in LAYER
               if f"{room}/" not in layout and f"{room}.py" not in layout]
    assert not missing, f"rooms missing from the README's layout map: {missing}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_to_lower_layers_only(path):
    here = _room(_module(path)) if path != PACKAGE / "__init__.py" else None
    upward = [f"line {line}: {module} ({_room(module)}, layer {LAYER[_room(module)]})"
              for line, module in _imports(path)
              if here is not None and module != "llm_mars" and _room(module) != here
              and LAYER[_room(module)] >= LAYER[here]]
    assert not upward, (f"{here} (layer {LAYER.get(here)}) imports from its own layer or one "
                        f"above: " + "; ".join(upward))


def test_no_module_imports_itself_back_at_run_time():
    graph = {_module(p): {m for _, m in _imports(p, runtime_only=True)} for p in SOURCES}
    cycles = []
    for start in graph:
        stack, seen = [(start, (start,))], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    cycles.append(" -> ".join((*path, start)))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, (*path, nxt)))
    assert not cycles, cycles[:5]
