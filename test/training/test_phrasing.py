import random
import re

import pytest

from llm_mars import vocabulary as V
from llm_mars.training.phrasing import Style, corrected, speech_text, third_person, typo


@pytest.mark.parametrize("verb, third", [("bring", "brings"), ("fetch", "fetches"),
                                         ("carry", "carries"), ("do", "does"), ("go", "goes"),
                                         ("play", "plays"), ("push", "pushes")])
def test_third_person(verb, third):
    assert third_person(verb) == third


def test_typo_changes_one_slip_and_keeps_the_first_letter():
    rng = random.Random(0)
    for word in ("quadrant", "cherries", "basket", "legendary"):
        for _ in range(20):
            slipped = typo(word, rng)
            assert slipped[0] == word[0]
            assert abs(len(slipped) - len(word)) <= 1
    assert typo("go", rng) == "go"  # too short to slip
    assert typo("R1", rng) == "R1"


def test_speech_text_is_lower_case_without_punctuation():
    assert speech_text('Robot 1, say "Hello"; then go home!') == "robot 1 say hello then go home"


def test_style_draw_is_seeded():
    a, b = Style.draw(random.Random(5)), Style.draw(random.Random(5))
    assert (a.words, a.speech, a.typos, a.ordinals) == (b.words, b.speech, b.typos, b.ordinals)


def test_style_numbers_and_finish():
    style = Style(random.Random(1), words=True, speech=True)
    assert style.number(3) == "three"
    text = style.finish("Robot 1, bring the cake.")
    assert text == text.lower() and "," not in text and "." not in text
    typed = Style(random.Random(1)).finish("robot 1 go home")
    assert typed[0].isupper()



@pytest.mark.parametrize("text, taken_back", [
    ("robot 1 put the cake on plate 4 now",
     r"plate (\w+)(?:,|\.\.\.) no wait, (?:plate )?(\w+) now$"),
    ("robot 1 put the cake on plate number four", r"plate number (\w+)(?:,|\.\.\.) no wait, "
                                                  r"(?:plate number )?(\w+)$"),
    ("r2 go and get 6 cherries", r"get (\w+) cherries, no wait, (\w+)(?: cherries)?$"),
    ("robot 2 take the yellow stack home", r"the (\w+), no wait, (\w+) stack home$"),
])
def test_a_correction_says_another_value_first_and_the_text_s_own_last(text, taken_back):
    right = {"plate 4": "4", "four": "four", "6 cherries": "6", "yellow": "yellow"}
    (value,) = [v for k, v in right.items() if k in text]
    wrong = set()
    for seed in range(40):
        said = corrected(text, random.Random(seed), ("no wait",))
        m = re.search(taken_back, said)
        assert m is not None, said
        assert m.group(2) == value and m.group(1) != value, said
        assert said.startswith(text[:m.start()])  # only the corrected words change
        wrong.add(m.group(1))
    assert len(wrong) > 1  # the wrong value is drawn


def test_a_wrong_count_of_stacks_stays_within_what_a_robot_carries():
    # "seven stacks, sorry, three" would put an over-the-limit count into a command whose
    # answer is a plan, while the limit's reply teaches that such a count is impossible
    said = [corrected("robot 1 take 2 stacks home", random.Random(seed), ("sorry",))
            for seed in range(60)]
    wrong = {int(re.match(r"robot 1 take (\d+) stacks, sorry, 2", s).group(1)) for s in said}
    assert wrong == set(range(1, V.MAX_STACKS_CARRIED + 1)) - {2}


def test_nothing_to_correct():
    assert corrected("robot 1 go home and do the funny action", random.Random(0),
                     ("sorry",)) is None
