"""ament_python package setup: installs the library, the ``llm-mars`` command, one entry point
per ROS node, and the launch files, parameter files, tree library and the shipped adapters
for ``ros2 launch``."""
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "llm_mars"

# One console script per ROS node (as they appear), plus the CLI.
NODES: tuple[str, ...] = ("simulator", "bt_executor", "commander", "console", "llm_server", "speech")

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/launch/config", glob("launch/config/*.yaml")),
        (f"share/{PACKAGE}/trees/subtrees", glob("trees/subtrees/*.xml")),
        (f"share/{PACKAGE}/trees/missions", glob("trees/missions/*.xml")),
        # the bt, qa and describe adapters: the installed llm_server finds them here (ament index)
        *((f"share/{PACKAGE}/{folder}", sorted(glob(f"{folder}/*")))
          for folder in sorted(glob("models/adapters/*"))),
    ],
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="llm_mars developers",
    maintainer_email="dev@llm-mars.local",
    description="LLM-planned behavior trees for a two-robot Eurobot team",
    license="Apache-2.0",
    python_requires=">=3.10",
    entry_points={
        "console_scripts": [
            "llm-mars = llm_mars.cli:main",
            *(f"{node} = {PACKAGE}.nodes.{node}:main" for node in NODES),
        ],
    },
)
