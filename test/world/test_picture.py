"""The field picture: a PNG that shows the robots, their paths, cakes and cherries."""
from __future__ import annotations

import json

import numpy as np
import pytest
from matplotlib import colors
from matplotlib import image

from llm_mars.session.match import run_plan
from llm_mars.world.picture import CHERRY_COLOR, LAYER_COLORS, ROBOT_COLORS, save_png

from .sim_helpers import plan


def pixels_of(png: np.ndarray, hex_color: str, tolerance: float = 0.02) -> int:
    """How many pixels have (about) this colour."""
    rgb = np.array(colors.to_rgb(hex_color))
    return int((np.abs(png[..., :3] - rgb).max(axis=-1) < tolerance).sum())


@pytest.fixture(scope="module")
def decorated():
    """Cakes with cherries on plate 2, both robots moved."""
    return run_plan(plan(
        robot1='<Sequence><PickCake color="brown" quadrant="2"/><PickCake color="yellow" '
               'quadrant="2"/><PickCake color="pink" quadrant="2"/><PlaceCakes plate="2" '
               'sort="true"/><Signal signal="ready"/><MoveTo target="plate_5"/></Sequence>',
        robot2='<Sequence><CollectCherries holder="2" count="2"/><WaitForSignal signal="ready"/>'
               '<PutCherry plate="2"/><PutCherry plate="2"/></Sequence>'))


@pytest.fixture(scope="module")
def pictures(decorated, tmp_path_factory):
    """The decorated field drawn with paths, without cherries, and without paths."""
    folder = tmp_path_factory.mktemp("pictures")
    paths = decorated.world.paths()
    full = save_png(decorated.state, folder / "full.png", paths, "demo")
    bare_state = json.loads(json.dumps(decorated.state))  # also: a state read back from JSON
    for cake in bare_state["plates"]["plate_2"]:
        cake["cherry"] = False
    bare = save_png(bare_state, folder / "bare.png", paths, "demo")
    pathless = save_png(decorated.state, folder / "pathless.png", None, "demo")
    return full, bare, pathless


def test_the_png_shows_robots_cakes_and_cherries(pictures):
    full = pictures[0]
    assert full.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    png = image.imread(full)
    assert png.shape[0] >= 700 and png.shape[1] >= 1200
    for color in ROBOT_COLORS.values():
        assert pixels_of(png, color) > 500
    for color in LAYER_COLORS.values():
        assert pixels_of(png, color) > 200


def test_cherries_on_cakes_and_paths_are_drawn(pictures):
    full, bare, pathless = (image.imread(p) for p in pictures)
    assert pixels_of(full, CHERRY_COLOR) > pixels_of(bare, CHERRY_COLOR) + 50
    robot1 = ROBOT_COLORS["robot1"]
    assert pixels_of(full, robot1, 0.3) > pixels_of(pathless, robot1, 0.3) + 200
