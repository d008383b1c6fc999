"""A separate process that publishes ``PAYLOAD`` on ``TOPIC`` every 50 ms until killed.

Used by the cross-process tests; it inherits ROS_DOMAIN_ID and friends from the test.
"""
import sys

import rclpy
from rclpy.executors import ExternalShutdownException
from std_msgs.msg import String


def main() -> None:
    topic, payload = sys.argv[1], sys.argv[2]
    rclpy.init()
    node = rclpy.create_node("talker")
    publisher = node.create_publisher(String, topic, 10)
    node.create_timer(0.05, lambda: publisher.publish(String(data=payload)))
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
