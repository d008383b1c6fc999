"""package.xml declares what the code imports from ROS and the system (rosdep keys), and no ROS
package it does not use; LICENSE holds the licence package.xml and setup.py name."""
from __future__ import annotations

import ast
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# import name -> rosdep key, for every import that rosdep can install on a robot (the rest,
# torch, transformers, xgrammar..., are pip-only: see the comment in package.xml)
ROSDEP_KEYS = {
    "rclpy": "rclpy", "rcl_interfaces": "rcl_interfaces", "std_msgs": "std_msgs",
    "geometry_msgs": "geometry_msgs", "nav_msgs": "nav_msgs", "std_srvs": "std_srvs",
    "ament_index_python": "ament_index_python", "yaml": "python3-yaml",
    "numpy": "python3-numpy", "matplotlib": "python3-matplotlib", "pydot": "python3-pydot",
    "psutil": "python3-psutil", "py_trees": "py_trees",
}


def imported_modules() -> set[str]:
    names = set()
    for path in (ROOT / "llm_mars").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def depends(kind: str) -> set[str]:
    return {e.text for e in ET.parse(ROOT / "package.xml").getroot().iter(kind)}


def test_every_rosdep_import_is_an_exec_depend():
    needed = {ROSDEP_KEYS[name] for name in imported_modules() if name in ROSDEP_KEYS}
    assert needed <= depends("exec_depend"), needed - depends("exec_depend")


def test_no_ros_interface_package_is_declared_unused():
    used = {ROSDEP_KEYS[name] for name in imported_modules() if name in ROSDEP_KEYS}
    declared = {d for d in depends("exec_depend") if d.endswith(("_msgs", "_srvs"))}
    assert declared <= used, declared - used


def test_test_tools_are_test_depends():
    assert {"python3-pytest", "python3-pytest-timeout", "python3-hypothesis"} <= \
        depends("test_depend")


def test_the_declared_licence_is_in_license():
    licence = ET.parse(ROOT / "package.xml").getroot().findtext("license")
    assert licence == "Apache-2.0"
    assert "Apache License" in (ROOT / "LICENSE").read_text()
    assert "Version 2.0" in (ROOT / "LICENSE").read_text()
