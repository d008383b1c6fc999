"""Transcripts and typed text normalised to one canonical form."""
import pytest

from llm_mars.language.intent import Intent, classify
from llm_mars.language.normaliser import Said, as_said, normalise


@pytest.mark.parametrize("heard,expected", [
    # punctuation, case, digits after numbered things
    ("Robot one, take the brown cake from quadrant two, and put it on plate three.",
     "robot 1 take the brown cake from quadrant 2 and put it on plate 3"),
    ("ROBOT 2: go to holder 4!", "robot 2 go to holder 4"),
    ("robot1 go home", "robot 1 go home"),
    ("robot number two, stop", "robot 2 stop"),
    ("Bot two - go to dispenser three", "bot 2 go to dispenser 3"),
    ("go to distributor three then quad two", "go to distributor 3 then quad 2"),
    # homophones after a numbered thing
    ("Robot to go to holder for.", "robot 2 go to holder 4"),
    ("robot too go to plate won", "robot 2 go to plate 1"),
    ("put it on plate tree", "put it on plate 3"),
    ("quadrant free", "quadrant 3"),
    ("robot ate", "robot ate"),  # the world has no robot 8: a homophone is a guess
    ("robot, for the basket", "robot for the basket"),  # a pause: a preposition
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
    assert normalise(heard) == expected


def test_normalising_twice_changes_nothing():
    text = "Robot to, take four cherries from holder for and then go home?"
    once = normalise(text)
    assert once == "robot 2 take 4 cherries from holder 4 and then go home?"
    assert normalise(once) == once


@pytest.mark.parametrize("heard,intent,robots", [
    ("Robot to, stop!", Intent.STOP, ("robot2",)),
    ("Every one stop.", Intent.STOP, ("robot1", "robot2")),
    ("Where is robot won?", Intent.QUESTION, ("robot1",)),
    ("Robot for go home.", Intent.COMMAND, ()),  # robot 4 does not exist: nobody addressed
])
def test_normalised_text_feeds_the_intent_rules(heard, intent, robots):
    result = classify(normalise(heard))
    assert (result.intent, result.robots) == (intent, robots)


def test_an_utterance_is_normalised_once_into_every_form_the_rules_read():
    said = Said("Robot Two, take four cherries\u2019 - then: STOP!")
    assert said.folded == "robot two, take four cherries' - then: stop!"
    assert said.canonical == "robot 2 take 4 cherries then stop"
    assert said.phrases == ("robot 2", "take 4 cherries", "then", "stop")
    assert as_said(said) is said and as_said(said.text) == said
