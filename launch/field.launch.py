"""Field trials: no simulator. Each robot's driver serves the skill topics itself
(/<robot>/skill/goal, /<robot>/skill/cancel, /<robot>/skill/outcome and /world/state or
its own state, see docs/interfaces.md). Runs an executor per robot, the commander and the
LLM server (or point the LLM server at a remote OpenAI-compatible server in llm_server.yaml).

    ros2 launch llm_mars field.launch.py
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch_ros.actions import Node

ROBOTS = ("robot1", "robot2")


def generate_launch_description():
    config = os.path.join(get_package_share_directory("llm_mars"), "launch", "config")
    yaml = lambda name: os.path.join(config, f"{name}.yaml")  # noqa: E731
    return LaunchDescription([
        *[Node(package="llm_mars", executable="bt_executor", name="bt_executor",
               namespace=robot, parameters=[yaml("bt_executor"), {"robot": robot}])
          for robot in ROBOTS],
        Node(package="llm_mars", executable="commander", name="commander",
             parameters=[yaml("commander")]),
        Node(package="llm_mars", executable="llm_server", name="llm_server",
             parameters=[yaml("llm_server")]),
        Node(package="llm_mars", executable="speech", name="speech",
             parameters=[yaml("speech")]),
    ])
