"""Every launch file starts known node executables with parameters those nodes declare.

The ``launch`` and ``launch_ros`` packages are not on PyPI, so the launch files run here
against small recording stand-ins of the few classes they use; the parameters they pass
(from launch/config/*.yaml and inline) are checked against each node module's PARAMETERS.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import runpy
import sys
import types
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
LAUNCH_FILES = sorted((ROOT / "launch").glob("*.launch.py"))


class _Recorded:
    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


class LaunchConfiguration(_Recorded):
    pass


class DeclareLaunchArgument(_Recorded):
    pass


class LaunchNode(_Recorded):
    pass


class LaunchDescription(_Recorded):
    pass


@pytest.fixture
def fake_launch(monkeypatch):
    modules = {
        "launch": {"LaunchDescription": LaunchDescription},
        "launch.actions": {"DeclareLaunchArgument": DeclareLaunchArgument},
        "launch.substitutions": {"LaunchConfiguration": LaunchConfiguration},
        "launch_ros": {},
        "launch_ros.actions": {"Node": LaunchNode},
        "ament_index_python": {},
        "ament_index_python.packages": {"get_package_share_directory": lambda pkg: str(ROOT)},
    }
    for name, attrs in modules.items():
        module = types.ModuleType(name)
        module.__dict__.update(attrs)
        monkeypatch.setitem(sys.modules, name, module)


def describe(path: Path) -> LaunchDescription:
    return runpy.run_path(str(path))["generate_launch_description"]()


def node_parameters(node: LaunchNode, defaults: dict[str, str]) -> dict[str, object]:
    """The parameters a launched node gets: YAML files (matching its name) then inline dicts."""
    name, namespace = node.kwargs["name"], node.kwargs.get("namespace")
    values: dict[str, object] = {}
    for entry in node.kwargs.get("parameters", []):
        if isinstance(entry, str):
            document = yaml.safe_load(Path(entry).read_text())
            for key in (name, "/**/" + name, f"/{namespace}/{name}" if namespace else None):
                if key in document:
                    values.update(document[key]["ros__parameters"])
        else:
            for key, value in entry.items():
                if isinstance(value, LaunchConfiguration):
                    value = yaml.safe_load(defaults[value.args[0]])
                values[key] = value
    return values


def test_there_are_launch_files():
    assert {p.name for p in LAUNCH_FILES} == {"llm_mars.launch.py", "field.launch.py"}


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_nodes_and_parameters_match_declarations(fake_launch, path):
    description = describe(path)
    actions = description.args[0]
    defaults = {a.args[0]: a.kwargs["default_value"] for a in actions
                if isinstance(a, DeclareLaunchArgument)}
    scripts = {e.name: e.value for e in importlib.metadata.entry_points(group="console_scripts")}
    nodes = [a for a in actions if isinstance(a, LaunchNode)]
    assert nodes
    for node in nodes:
        executable = node.kwargs["executable"]
        assert node.kwargs["package"] == "llm_mars"
        assert scripts.get(executable) == f"llm_mars.nodes.{executable}:main", executable
        declared = {p.name: p.default for p in
                    importlib.import_module(f"llm_mars.nodes.{executable}").PARAMETERS}
        given = node_parameters(node, defaults)
        for key, value in given.items():
            assert key in declared, f"{path.name}: {executable} does not declare {key!r}"
            expected = type(declared[key])
            assert isinstance(value, expected) or (expected is float and isinstance(value, int)), \
                f"{path.name}: {executable}.{key} = {value!r} is not {expected.__name__}"


def test_field_launch_has_no_simulator(fake_launch):
    nodes = describe(ROOT / "launch" / "field.launch.py").args[0]
    assert "simulator" not in {n.kwargs["executable"] for n in nodes if isinstance(n, LaunchNode)}


def test_one_executor_per_robot(fake_launch):
    for path in LAUNCH_FILES:
        nodes = [n for n in describe(path).args[0] if isinstance(n, LaunchNode)]
        executors = [(n.kwargs["namespace"], node_parameters(n, {})["robot"]) for n in nodes
                     if n.kwargs["executable"] == "bt_executor"]
        assert executors == [("robot1", "robot1"), ("robot2", "robot2")]


def test_every_config_file_configures_a_known_node():
    known = {p.stem for p in (ROOT / "llm_mars" / "nodes").glob("*.py")}
    for config in (ROOT / "launch" / "config").glob("*.yaml"):
        assert config.stem in known, config.name
        document = yaml.safe_load(config.read_text())
        declared = {p.name for p in importlib.import_module(
            f"llm_mars.nodes.{config.stem}").PARAMETERS}
        for section in document.values():
            assert set(section["ros__parameters"]) <= declared, config.name
