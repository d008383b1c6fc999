"""Every launch file starts known node executables with parameters those nodes declare, of the
types they declare, for the launch arguments a ROS engineer would type.

The ``launch`` and ``launch_ros`` packages are not on PyPI, so the launch files run here
against small recording stand-ins of the few classes they use, evaluated the way launch
evaluates them: arguments from the command line or their defaults, includes with their
arguments, opaque functions called, and a substitution left in a parameter dict parsed as YAML
(``time_scale:=2`` is then the integer 2, which rclpy refuses for a float parameter). The
parameters (from launch/config/*.yaml and inline) are checked against each node module's
PARAMETERS: a float parameter must get a float.
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
LAUNCH = ROOT / "launch"
LAUNCH_FILES = sorted(LAUNCH.glob("*.launch.py"))


class _Recorded:
    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


class LaunchConfiguration(_Recorded):
    def perform(self, context: "Context") -> str:
        return context.launch_configurations[self.args[0]]


class DeclareLaunchArgument(_Recorded):
    pass


class OpaqueFunction(_Recorded):
    pass


class IncludeLaunchDescription(_Recorded):
    pass


class PythonLaunchDescriptionSource(_Recorded):
    pass


class LaunchNode(_Recorded):
    pass


class LaunchDescription(_Recorded):
    pass


class Context:
    def __init__(self, launch_configurations: dict[str, str]):
        self.launch_configurations = launch_configurations


@pytest.fixture
def fake_launch(monkeypatch):
    modules = {
        "launch": {"LaunchDescription": LaunchDescription},
        "launch.actions": {"DeclareLaunchArgument": DeclareLaunchArgument,
                           "OpaqueFunction": OpaqueFunction,
                           "IncludeLaunchDescription": IncludeLaunchDescription},
        "launch.launch_description_sources": {
            "PythonLaunchDescriptionSource": PythonLaunchDescriptionSource},
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


def launch(path: Path, **arguments: str) -> list[tuple[LaunchNode, dict[str, str]]]:
    """The nodes ``ros2 launch llm_mars PATH name:=value ...`` starts, each with the launch
    configurations in force for it."""
    description = runpy.run_path(str(path))["generate_launch_description"]()
    return _expand(description.args[0], dict(arguments))


def _expand(actions, config: dict[str, str]) -> list[tuple[LaunchNode, dict[str, str]]]:
    nodes = []
    for action in actions:
        if isinstance(action, DeclareLaunchArgument):
            config.setdefault(action.args[0], action.kwargs["default_value"])
        elif isinstance(action, IncludeLaunchDescription):
            source = action.args[0].args[0]
            nodes += launch(Path(source), **{**config, **dict(action.kwargs["launch_arguments"])})
        elif isinstance(action, OpaqueFunction):
            nodes += _expand(action.kwargs["function"](Context(config)), config)
        elif isinstance(action, LaunchNode):
            nodes.append((action, config))
        else:
            raise AssertionError(f"unknown launch action {action!r}")
    return nodes


def node_parameters(node: LaunchNode, config: dict[str, str]) -> dict[str, object]:
    """The parameters a launched node gets: YAML files (matching its name) then inline dicts;
    a substitution in a dict is parsed as YAML, as launch_ros does."""
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
                    value = yaml.safe_load(value.perform(Context(config)))
                values[key] = value
    return values


def executables(nodes) -> list[str]:
    return [node.kwargs["executable"] for node, _ in nodes]


def test_there_are_launch_files():
    assert {p.name for p in LAUNCH_FILES} == {"llm_mars.launch.py", "field.launch.py"}


ARGUMENT_SETS = [{}, {"time_scale": "2", "seed": "3"}, {"robots": "robot2", "speech": "false"},
                 {"backend": "openai", "openai_url": "http://gpu-host:8000"}]


@pytest.mark.parametrize("arguments", ARGUMENT_SETS, ids=lambda a: ",".join(a) or "defaults")
@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_nodes_get_the_parameters_they_declare_of_their_types(fake_launch, path, arguments):
    scripts = {e.name: e.value for e in importlib.metadata.entry_points(group="console_scripts")}
    nodes = launch(path, **arguments)
    assert nodes
    for node, config in nodes:
        executable = node.kwargs["executable"]
        assert node.kwargs["package"] == "llm_mars"
        assert scripts.get(executable) == f"llm_mars.nodes.{executable}:main", executable
        declared = {p.name: p.default for p in
                    importlib.import_module(f"llm_mars.nodes.{executable}").PARAMETERS}
        for key, value in node_parameters(node, config).items():
            assert key in declared, f"{path.name}: {executable} does not declare {key!r}"
            expected = type(declared[key])
            assert type(value) is expected, \
                f"{path.name}: {executable}.{key} = {value!r} is not {expected.__name__}"


def test_an_integer_time_scale_reaches_the_simulator_as_a_float(fake_launch):
    [(simulator, config)] = [(n, c) for n, c in launch(LAUNCH / "llm_mars.launch.py",
                                                       time_scale="2")
                             if n.kwargs["executable"] == "simulator"]
    assert node_parameters(simulator, config)["time_scale"] == 2.0


def test_field_launch_has_no_simulator(fake_launch):
    assert "simulator" not in executables(launch(LAUNCH / "field.launch.py"))
    assert "simulator" in executables(launch(LAUNCH / "llm_mars.launch.py"))


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_one_executor_in_each_robots_namespace(fake_launch, path):
    def executors(**arguments):
        return [n.kwargs["namespace"] for n, _ in launch(path, **arguments)
                if n.kwargs["executable"] == "bt_executor"]

    assert executors() == ["robot1", "robot2"]
    assert executors(robots="robot2") == ["robot2"]
    [(commander, config)] = [(n, c) for n, c in launch(path, robots="robot2")
                             if n.kwargs["executable"] == "commander"]
    assert node_parameters(commander, config)["robots"] == ["robot2"]


def test_arguments_choose_the_model_server_and_speech(fake_launch):
    nodes = launch(LAUNCH / "field.launch.py", backend="openai", openai_url="http://gpu:8000",
                   speech="false")
    assert "speech" not in executables(nodes)
    [(server, config)] = [(n, c) for n, c in nodes if n.kwargs["executable"] == "llm_server"]
    assert {k: node_parameters(server, config)[k] for k in ("backend", "openai_url")} == {
        "backend": "openai", "openai_url": "http://gpu:8000"}
    default = [(n, c) for n, c in launch(LAUNCH / "field.launch.py")
               if n.kwargs["executable"] == "llm_server"]
    assert node_parameters(*default[0])["backend"] == ""  # as llm_server.yaml says


def test_every_node_but_the_simulator_respawns(fake_launch):
    for node, _ in launch(LAUNCH / "llm_mars.launch.py"):
        assert node.kwargs.get("respawn", False) == (node.kwargs["executable"] != "simulator")


def test_every_config_file_configures_a_known_node():
    known = {p.stem for p in (ROOT / "llm_mars" / "nodes").glob("*.py")}
    for config in (LAUNCH / "config").glob("*.yaml"):
        assert config.stem in known, config.name
        document = yaml.safe_load(config.read_text())
        declared = {p.name for p in importlib.import_module(
            f"llm_mars.nodes.{config.stem}").PARAMETERS}
        for section in document.values():
            assert set(section["ros__parameters"]) <= declared, config.name
