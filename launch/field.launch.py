"""Field trials: llm_mars.launch.py without the simulator. Each robot's driver serves the skill
topics itself (<robot>/skill/goal, <robot>/skill/cancel, <robot>/skill/outcome) and publishes
its own view of the world on <robot>/state, which the commander merges (docs/interfaces.md).
It takes the same arguments, e.g. a remote model server:

    ros2 launch llm_mars field.launch.py [robots:=robot1] [backend:=openai
        openai_url:=http://gpu-host:8000] [speech:=false] [params_dir:=DIR]
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource


def generate_launch_description():
    team = os.path.join(get_package_share_directory("llm_mars"), "launch", "llm_mars.launch.py")
    return LaunchDescription([
        IncludeLaunchDescription(PythonLaunchDescriptionSource(team),
                                 launch_arguments={"simulator": "false"}.items()),
    ])
