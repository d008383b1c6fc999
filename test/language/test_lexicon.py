"""The words of the operator's language (llm_mars.language.lexicon)."""
import pytest

from llm_mars import vocabulary as V
from llm_mars.language.lexicon import (ORDINAL_WORDS, PLACE_COUNT, PLACE_WORDS, UNKNOWN_COLOURS,
                                       number_value, number_word, words_of_kind)


@pytest.mark.parametrize("n, words", [(0, "zero"), (7, "seven"), (20, "twenty"),
                                      (25, "twenty five"), (40, "forty"), (99, "ninety nine")])
def test_number_word(n, words):
    assert number_word(n) == words
    assert number_value(words) == n or " " in words


def test_number_value():
    assert number_value("7") == 7
    assert number_value("seven") == 7
    assert number_value("to") is None
    assert number_value("to", homophones=True) == 2
    assert number_value("brown", homophones=True) is None


def test_place_words_name_the_kinds_of_the_world():
    assert words_of_kind("quadrant") == ("quadrant", "quad")
    assert set(PLACE_WORDS.values()) == {*PLACE_COUNT, V.HOME, V.BASKET}
    assert PLACE_COUNT == {"plate": len(V.PLATES), "quadrant": len(V.QUADRANTS),
                           "holder": len(V.HOLDERS)}


def test_unknown_colours_are_colour_words_the_field_lacks():
    assert "green" in UNKNOWN_COLOURS and not set(UNKNOWN_COLOURS) & set(V.COLORS)
    assert ORDINAL_WORDS["second"] == 2
