"""Operator sessions as rosbag2 bags (MCAP storage), written and read with ``rosbags``.

``rosbag2_py`` is not available from PyPI, so bags are written with the pure-Python ``rosbags``
library in the standard rosbag2 layout (``metadata.yaml`` + ``.mcap``), which ``ros2 bag play``
reads on a robot. Every structured payload of the system is JSON or XML inside a
``std_msgs/msg/String`` (DESIGN.md section 4), which is what sessions are read back as; other
messages (odometry) are recorded as the CDR bytes rclpy received, for ``ros2 bag play``.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from llm_mars.errors import BagError

STRING_TYPE = "std_msgs/msg/String"


@dataclass(frozen=True)
class RecordedMessage:
    topic: str
    stamp_ns: int  # receive time, nanoseconds
    data: str


def _typestore():
    from rosbags.typesys import Stores, get_typestore

    return get_typestore(Stores.ROS2_JAZZY)


class BagRecorder:
    """Appends String messages to a new bag; ``close()`` (or the context manager) finalises it.

    A bag that was never closed is not readable, as with rosbag2; :func:`read_bag` reports it.
    """

    def __init__(self, path: str | Path, topics: Iterable[str] = ()):
        from rosbags.rosbag2 import StoragePlugin, Writer

        self.path = Path(path)
        if self.path.exists():
            raise BagError(f"{self.path}: already exists; choose a new bag path")
        self._typestore = _typestore()
        self._writer = Writer(self.path, version=9, storage_plugin=StoragePlugin.MCAP)
        self._writer.open()
        self._connections: dict[str, object] = {}
        for topic in topics:
            self._connection(topic)

    def _connection(self, topic: str, msgtype: str = STRING_TYPE):
        if topic not in self._connections:
            self._connections[topic] = self._writer.add_connection(
                topic, msgtype, typestore=self._typestore
            )
        return self._connections[topic]

    def write(self, topic: str, data: str, stamp_ns: int) -> None:
        msg = self._typestore.types[STRING_TYPE](data=data)
        self.write_raw(topic, STRING_TYPE, self._typestore.serialize_cdr(msg, STRING_TYPE),
                       stamp_ns)

    def write_raw(self, topic: str, msgtype: str, raw: bytes, stamp_ns: int) -> None:
        """A message already serialised as CDR (an rclpy subscription with ``raw=True``) of a
        type ROS 2 Jazzy defines, e.g. ``nav_msgs/msg/Odometry``."""
        self._writer.write(self._connection(topic, msgtype), int(stamp_ns), bytes(raw))

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> BagRecorder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_bag(path: str | Path, topics: Iterable[str] | None = None) -> list[RecordedMessage]:
    """All String messages of a bag in time order; a missing, corrupt or truncated bag is a BagError."""
    return list(iter_bag(path, topics))


def iter_bag(path: str | Path, topics: Iterable[str] | None = None) -> Iterator[RecordedMessage]:
    from rosbags.rosbag2 import Reader

    path = Path(path)
    if not path.exists():
        raise BagError(f"{path}: no such bag")
    wanted = set(topics) if topics is not None else None
    typestore = _typestore()
    try:
        with Reader(path) as reader:
            connections = [
                c for c in reader.connections
                if c.msgtype == STRING_TYPE and (wanted is None or c.topic in wanted)
            ]
            for connection, stamp, raw in reader.messages(connections=connections):
                msg = typestore.deserialize_cdr(raw, connection.msgtype)
                yield RecordedMessage(connection.topic, stamp, msg.data)
    except BagError:
        raise
    except Exception as exc:  # rosbags raises many types for damaged files
        raise BagError(f"{path}: unreadable bag ({type(exc).__name__}: {exc})") from exc

