"""Suggestions and subtree-port compatibility used by the validator."""
from __future__ import annotations

import pytest

from llm_mars.bt.registry import REGISTRY, Port, PortType
from llm_mars.bt.validator import closest, port_fits


@pytest.mark.parametrize("word, expected", [
    ("sequence", "Sequence"), ("PickCakes", "PickCake"), ("robot_1", "robot1"),
    ("plate3", "plate_3"), ("Zebra", None), ("", None),
    # only close matches: the misleading suggestions are gone
    ("Action", None), ("PipelineSequence", None), ("Spin", None),
])
def test_closest(word, expected):
    candidates = [*REGISTRY.tags, "robot1", "robot2", "plate_3", "plate_4"]
    assert closest(word, candidates) == expected


QUADRANT = REGISTRY["PickCake"].port("quadrant")
SECONDS = REGISTRY["Wait"].port("seconds")
COLOR = REGISTRY["PickCake"].port("color")


@pytest.mark.parametrize("declared, target, fits", [
    (QUADRANT, QUADRANT, True),
    (Port("q", PortType.INT, "", minimum=2, maximum=3), QUADRANT, True),
    (Port("q", PortType.INT, "", minimum=0, maximum=3), QUADRANT, False),
    (Port("q", PortType.INT, ""), QUADRANT, False),
    (Port("q", PortType.FLOAT, "", minimum=1, maximum=2), QUADRANT, False),
    (Port("s", PortType.INT, "", minimum=0, maximum=5), SECONDS, True),
    (Port("c", PortType.ENUM, "", choices=("pink",)), COLOR, True),
    (Port("c", PortType.ENUM, "", choices=("pink", "blue")), COLOR, False),
    (Port("c", PortType.STRING, ""), COLOR, False),
    (Port("t", PortType.STRING, "", max_length=10), REGISTRY["Say"].port("text"), True),
    (Port("b", PortType.BOOL, ""), REGISTRY["PlaceCakes"].port("sort"), True),
    (Port("b", PortType.BOOL, ""), QUADRANT, False),
])
def test_port_fits(declared, target, fits):
    assert port_fits(declared, target) is fits
