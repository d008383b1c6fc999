"""The recogniser's vocabulary comes from the registry and the world vocabulary."""
import pytest

from llm_mars import vocabulary as V
from llm_mars.bt.registry import REGISTRY, Category, NodeKind, Port, PortType, Registry
from llm_mars.speech import prompt


def test_spell():
    assert prompt.spell("robot1") == "robot one"
    assert prompt.spell("plate_3") == "plate three"
    assert prompt.spell("PickCake") == "pick cake"
    assert prompt.spell("WaitForSignal") == "wait for signal"
    assert prompt.spell("home") == "home"


def test_prompt_names_every_robot_place_colour_item_and_skill():
    text = prompt.vocabulary_prompt().lower()
    for robot in V.ROBOTS:
        assert prompt.spell(robot) in text
    for place in V.PLACES:  # numbered places as ranges: first and last spelled out
        name = place.split("_")[0]
        assert name in text
    assert "plate one to plate five" in text
    assert "quadrant one to quadrant four" in text
    assert "holder one to holder four" in text
    for word in (*V.COLORS, *V.CARRYABLE_ITEMS):
        assert word in text
    for kind in REGISTRY.of(Category.ACTION):
        assert prompt.spell(kind.tag) in text
    assert "one to ten" in text  # CollectCherries.count goes up to 10


def test_prompt_follows_the_registry(monkeypatch):
    """A new skill with a larger range is in the prompt without editing any word list."""
    kinds = dict(REGISTRY.kinds)
    kinds["StackPlates"] = NodeKind("StackPlates", Category.ACTION, "stack plates",
                                    (Port("count", PortType.INT, "plates", minimum=1, maximum=12),))
    monkeypatch.setattr(prompt, "REGISTRY", Registry(kinds))
    prompt.vocabulary_prompt.cache_clear()
    prompt.domain_words.cache_clear()
    try:
        text = prompt.vocabulary_prompt()
        assert "stack plates" in text
        assert "Numbers: one to twelve." in text
        assert "stack" in prompt.domain_words()
    finally:
        monkeypatch.undo()
        prompt.vocabulary_prompt.cache_clear()
        prompt.domain_words.cache_clear()
    assert "stack plates" not in prompt.vocabulary_prompt()


def test_prompt_fits_whispers_prompt_budget():
    # Whisper keeps at most 223 prompt tokens; English averages well under 2 tokens a word.
    assert len(prompt.vocabulary_prompt().split()) < 100


@pytest.mark.parametrize("text,expected", [
    ("robot 2 go home", True),
    ("r1 come back", True),  # a robot named, nothing else
    ("the second robot should wait", True),
    ("bring the plates", True),  # plural of a place word
    ("fill the basket", True),
    ("everyone come here", True),
    ("order a pizza for lunch", False),
    ("play some music", False),
    ("turn left", False),  # "time left" is a condition, not a command word
    ("turn on the lights in the kitchen", False),
])
def test_mentions_the_domain(text, expected):
    assert prompt.mentions_the_domain(text) is expected
