"""Everything on one machine with the simulated field: simulator, an executor per robot, the
commander and the LLM server. Start the operator console in a second terminal:
``ros2 run llm_mars console``.

    ros2 launch llm_mars llm_mars.launch.py [time_scale:=2.0] [seed:=0]
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

ROBOTS = ("robot1", "robot2")


def generate_launch_description():
    config = os.path.join(get_package_share_directory("llm_mars"), "launch", "config")
    yaml = lambda name: os.path.join(config, f"{name}.yaml")  # noqa: E731
    return LaunchDescription([
        DeclareLaunchArgument("time_scale", default_value="1.0",
                              description="simulated seconds per wall second"),
        DeclareLaunchArgument("seed", default_value="0", description="simulator seed"),
        Node(package="llm_mars", executable="simulator", name="simulator",
             parameters=[yaml("simulator"), {"time_scale": LaunchConfiguration("time_scale"),
                                             "seed": LaunchConfiguration("seed")}]),
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
