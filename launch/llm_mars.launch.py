"""One team: the simulated field (or, with ``simulator:=false``, each robot's own driver:
field.launch.py), an executor in each robot's namespace, the commander, the LLM server and the
speech node. Wrap it in PushRosNamespace (or run it with ``__ns``-style namespaces) to put two
teams in one ROS domain: every topic name is relative (docs/interfaces.md).

    ros2 launch llm_mars llm_mars.launch.py [time_scale:=2] [seed:=0] [robots:=robot1,robot2]
        [params_dir:=DIR] [backend:=openai openai_url:=http://gpu-host:8000] [speech:=false]

The executors, commander, LLM server and speech node respawn when they die: none holds state
another node cannot do without (a robot whose executor is silent is stopped by the simulator
or its driver, and the commander reports it offline). The simulator does not: a new one would
be a new match.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

ARGUMENTS = {  # name: (default, description)
    "simulator": ("true", "run the simulated field; false: each robot's driver serves its "
                          "skill topics and publishes <robot>/state (field trials)"),
    "robots": ("robot1,robot2", "robots to command, comma-separated; an executor runs in each "
                                "one's namespace"),
    "params_dir": (None, "folder of the nodes' parameter files, <node>.yaml"),
    "time_scale": ("1.0", "simulated seconds per wall second"),
    "seed": ("0", "simulator seed"),
    "backend": ("", "llm_server backend: hf | openai | vllm; empty: as in llm_server.yaml"),
    "openai_url": ("", "the openai backend's server, e.g. http://gpu-host:8000; empty: as in "
                       "llm_server.yaml"),
    "speech": ("true", "start the speech node (spoken commands and answers)"),
}
RESPAWN = {"respawn": True, "respawn_delay": 2.0}


def _nodes(context):
    def arg(name):
        return LaunchConfiguration(name).perform(context)

    def params(node):
        return os.path.join(arg("params_dir"), f"{node}.yaml")

    def node(executable, *parameters, **options):
        return Node(package="llm_mars", executable=executable, name=executable,
                    parameters=[params(executable), *parameters], **options)

    robots = [robot.strip() for robot in arg("robots").split(",") if robot.strip()]
    nodes = []
    if arg("simulator") == "true":
        nodes.append(node("simulator", {"time_scale": float(arg("time_scale")),
                                        "seed": int(arg("seed"))}))
    nodes += [node("bt_executor", namespace=robot, **RESPAWN) for robot in robots]
    nodes.append(node("commander", {"robots": robots}, **RESPAWN))
    nodes.append(node("llm_server", {name: arg(name) for name in ("backend", "openai_url")
                                     if arg(name)}, **RESPAWN))
    if arg("speech") == "true":
        nodes.append(node("speech", **RESPAWN))
    return nodes


def generate_launch_description():
    config = os.path.join(get_package_share_directory("llm_mars"), "launch", "config")
    return LaunchDescription([
        *(DeclareLaunchArgument(name, default_value=config if default is None else default,
                                description=description)
          for name, (default, description) in ARGUMENTS.items()),
        OpaqueFunction(function=_nodes),
    ])
