"""Bags round-trip String messages; damaged bags give BagError, never another exception."""
from __future__ import annotations

import pytest

from llm_mars.errors import BagError
from llm_mars.recording import BagRecorder, RecordedMessage, read_bag


@pytest.fixture
def bag(tmp_path):
    path = tmp_path / "session"
    with BagRecorder(path, topics=["/operator/command"]) as rec:
        rec.write("/operator/command", "robot 1 bring the brown cake to plate 3", 1_000)
        rec.write("/operator/response", '{"kind": "plan"}', 2_000)
        rec.write("/operator/command", "where is robot two", 3_000)
    return path


def test_round_trip_in_time_order(bag):
    assert read_bag(bag) == [
        RecordedMessage("/operator/command", 1_000, "robot 1 bring the brown cake to plate 3"),
        RecordedMessage("/operator/response", 2_000, '{"kind": "plan"}'),
        RecordedMessage("/operator/command", 3_000, "where is robot two"),
    ]


def test_topic_filter(bag):
    assert [m.data for m in read_bag(bag, topics=["/operator/response"])] == ['{"kind": "plan"}']


def test_bag_uses_mcap_storage(bag):
    assert sorted(p.suffix for p in bag.iterdir()) == [".mcap", ".yaml"]
    assert "storage_identifier: mcap" in (bag / "metadata.yaml").read_text()


@pytest.mark.parametrize("keep", [0.0, 0.5, 0.9])
def test_truncated_bag_is_bag_error(bag, keep):
    mcap = next(bag.glob("*.mcap"))
    data = mcap.read_bytes()
    mcap.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(BagError):
        read_bag(bag)


def test_garbage_metadata_is_bag_error(bag):
    (bag / "metadata.yaml").write_bytes(b"\x00\xff not yaml: [")
    with pytest.raises(BagError):
        read_bag(bag)


def test_missing_bag_is_bag_error(tmp_path):
    with pytest.raises(BagError):
        read_bag(tmp_path / "nope")


def test_refuses_to_overwrite(bag):
    with pytest.raises(BagError):
        BagRecorder(bag)


def test_odometry_is_recorded_as_received_for_ros2_bag_play(tmp_path):
    from nav_msgs.msg import Odometry
    from rclpy.serialization import serialize_message
    from rosbags.rosbag2 import Reader
    from rosbags.typesys import Stores, get_typestore

    odom = Odometry()
    odom.header.frame_id, odom.pose.pose.position.x = "field", 1.25
    with BagRecorder(tmp_path / "bag") as recorder:
        recorder.write_raw("/robot1/odom", "nav_msgs/msg/Odometry", serialize_message(odom), 5)
        recorder.write("/robot1/skill/goal", '{"goal_id": 1}', 6)
    with Reader(tmp_path / "bag") as reader:
        [(connection, stamp, raw)] = list(reader.messages(
            connections=[c for c in reader.connections if c.topic == "/robot1/odom"]))
        read = get_typestore(Stores.ROS2_JAZZY).deserialize_cdr(raw, connection.msgtype)
    assert (connection.msgtype, stamp) == ("nav_msgs/msg/Odometry", 5)
    assert (read.header.frame_id, read.pose.pose.position.x) == ("field", 1.25)
    assert [m.topic for m in read_bag(tmp_path / "bag")] == ["/robot1/skill/goal"]
