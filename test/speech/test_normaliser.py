"""Transcripts and typed text normalised to one canonical form."""
import pytest

from llm_mars.session.intent import Intent, classify
from llm_mars.speech.normaliser import normalise_transcript, number_value


@pytest.mark.parametrize("heard,expected", [
    # punctuation, case, digits after numbered things
    ("Robot one, take the brown cake from quadrant two, and put it on plate three.",
     "robot 1 take the brown cake from quadrant 2 and put it on plate 3"),
    ("ROBOT 2: go to holder 4!", "robot 2 go to holder 4"),
    ("robot1 go home", "robot 1 go home"),
    ("robot number two, stop", "robot 2 stop"),
    ("Bot two - go to dispenser three", "bot 2 go to dispenser 3"),
    # homophones after a numbered thing
    ("Robot to go to holder for.", "robot 2 go to holder 4"),
    ("robot too go to plate won", "robot 2 go to plate 1"),
    ("put it on plate tree", "put it on plate 3"),
    ("quadrant free", "quadrant 3"),
    ("robot ate", "robot 8"),
    # ... but not after an article: "to" is a preposition there
    ("tell the robot to go to plate for", "tell the robot to go to plate 4"),
    ("send a robot to the basket", "send a robot to the basket"),
    # counted things
    ("collect four cherries from holder one", "collect 4 cherries from holder 1"),
    ("wait ten seconds", "wait 10 seconds"),
    ("take the three cakes", "take the 3 cakes"),
    # other number words stay
    ("if the pink one is gone take the yellow one", "if the pink one is gone take the yellow one"),
    ("robot won't move", "robot won't move"),
    # questions keep their mark; apostrophes inside words stay
    ("Where is Robot 1?", "where is robot 1?"),
    ("What\u2019s the score?", "what's the score?"),
    ("'quoted' words", "quoted words"),
    ("Every one, stop!", "everyone stop"),
    ("", ""),
    ("...", ""),
])
def test_normalise(heard, expected):
    assert normalise_transcript(heard) == expected


def test_normalising_twice_changes_nothing():
    text = "Robot to, take four cherries from holder for and then go home?"
    once = normalise_transcript(text)
    assert once == "robot 2 take 4 cherries from holder 4 and then go home?"
    assert normalise_transcript(once) == once


@pytest.mark.parametrize("heard,intent,robots", [
    ("Robot to, stop!", Intent.STOP, ("robot2",)),
    ("Every one stop.", Intent.STOP, ("robot1", "robot2")),
    ("Where is robot won?", Intent.QUESTION, ("robot1",)),
    ("Robot for go home.", Intent.COMMAND, ()),  # robot 4 does not exist: nobody addressed
])
def test_normalised_text_feeds_the_intent_rules(heard, intent, robots):
    result = classify(normalise_transcript(heard))
    assert (result.intent, result.robots) == (intent, robots)


def test_number_value():
    assert number_value("7") == 7
    assert number_value("seven") == 7
    assert number_value("to") is None
    assert number_value("to", homophones=True) == 2
    assert number_value("brown", homophones=True) is None
