"""The Eurobot 2023 world vocabulary (DESIGN.md section 3): robots, places, colours, limits.

These names are a contract read by evaluations; the skill registry, the world model, the
grammar and the prompts all take them from here.
"""
from __future__ import annotations

from collections.abc import Sequence

ROBOTS: tuple[str, ...] = ("robot1", "robot2")

COLORS: tuple[str, ...] = ("brown", "yellow", "pink")  # bottom to top of a legendary cake
LAYERS_PER_STACK = 3

N_PLATES = 5
N_QUADRANTS = 4
N_HOLDERS = 4

PLATES: tuple[str, ...] = tuple(f"plate_{i}" for i in range(1, N_PLATES + 1))
QUADRANTS: tuple[str, ...] = tuple(f"quadrant_{i}" for i in range(1, N_QUADRANTS + 1))
HOLDERS: tuple[str, ...] = tuple(f"holder_{i}" for i in range(1, N_HOLDERS + 1))
HOME = "home"
BASKET = "basket"
PLACES: tuple[str, ...] = (HOME, *PLATES, *QUADRANTS, *HOLDERS, BASKET)

CHERRIES_PER_HOLDER = 10
DEFAULT_HOLDER = 2  # the holder a command means when it names none (next to the basket)
MAX_STACKS_CARRIED = 3
MAX_CHERRIES_CARRIED = 10

CARRYABLE_ITEMS: tuple[str, ...] = ("cake", "cherries")

MATCH_DURATION_S = 100.0
ROBOT_SPEED_MM_S = 500.0
MANIPULATION_S = 2.0
FIELD_WIDTH_MM = 3000
FIELD_HEIGHT_MM = 2000

TREE_STATUSES: tuple[str, ...] = ("IDLE", "RUNNING", "SUCCESS", "FAILURE", "CANCELLED")


def place_words(place: str) -> str:
    """How a place is said: ``plate_3`` -> ``plate 3``, ``basket`` -> ``the basket``."""
    return "the basket" if place == BASKET else place.replace("_", " ")


def is_legendary(layers: Sequence[str]) -> bool:
    """Whether a cake's layers, bottom to top, make a legendary cake (brown, yellow, pink)."""
    return tuple(layers) == COLORS
