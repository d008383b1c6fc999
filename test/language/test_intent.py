"""Operator utterances classified as stop / question / command, with robots and queueing."""
import pytest

from llm_mars.language.intent import Intent, classify, robots_mentioned

BOTH = ("robot1", "robot2")


@pytest.mark.parametrize("text,robots", [
    ("stop", BOTH),
    ("STOP!", BOTH),
    ("everyone stop", BOTH),
    ("all robots halt now", BOTH),
    ("both robots stop please", BOTH),
    ("robot 2 stop", ("robot2",)),
    ("robot two, stop!", ("robot2",)),
    ("stop robot one", ("robot1",)),
    ("r1 freeze", ("robot1",)),
    ("the second robot abort", ("robot2",)),
    ("emergency stop", BOTH),
    ("cancel that", BOTH),
    ("robot 1 and robot 2 stop", BOTH),
])
def test_stop(text, robots):
    assert classify(text) == classify(text)  # pure
    result = classify(text)
    assert result.intent is Intent.STOP
    assert result.robots == robots


@pytest.mark.parametrize("text", [
    "where is robot 2?",
    "where is robot two",
    "what is the score",
    "how many cherries are in the basket",
    "is robot one carrying anything",
    "what failed and why?",
    "can you tell me what robot 1 is doing",
    "when will robot 1 be done",
    "robot 1 status?",
    "tell me what both robots have done",
])
def test_question(text):
    assert classify(text).intent is Intent.QUESTION


@pytest.mark.parametrize("text,queue", [
    ("robot 1 bring the brown cake from quadrant 2 to plate 3", False),
    ("can you bring the pink cake to plate 1?", False),
    ("could robot two fill the basket", False),
    ("when robot 1 has delivered, robot 2 puts a cherry on it", False),
    ("stop by holder 2 and take five cherries", False),
    ("then go home", True),
    ("after that robot 2 drops the cherries in the basket", True),
    ("and then do the funny action", True),
    ("when you're done go back home", True),
    ("next, take the yellow stack from quadrant 4", True),
])
def test_command(text, queue):
    result = classify(text)
    assert result.intent is Intent.COMMAND
    assert result.queue is queue


@pytest.mark.parametrize("text,robots", [
    ("robot one go home", ("robot1",)),
    ("Robot1 and robot 2", BOTH),
    ("the first robot", ("robot1",)),
    ("R2 please", ("robot2",)),
    ("bot two", ("robot2",)),
    ("go to quadrant 2", ()),
    ("robot 3 go home", ()),
])
def test_robots_mentioned(text, robots):
    assert robots_mentioned(text) == robots
