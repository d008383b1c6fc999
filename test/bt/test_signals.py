"""Waits for a signal no other robot raises (llm_mars.bt.signals)."""
from llm_mars.bt.library import SubtreeDefinition, SubtreeLibrary
from llm_mars.bt.model import Node, Plan
from llm_mars.bt.signals import unanswered_waits


def _raise(name):
    return Node("Signal", (("signal", name),))


def _wait(name):
    return Node("WaitForSignal", (("signal", name),))


def _seq(*children):
    return Node("Sequence", children=children)


HOME = Node("MoveTo", (("target", "home"),))


def test_a_hand_over_the_other_robot_raises_is_answered():
    plan = Plan((("robot1", _seq(HOME, _raise("robot1_done"))),
                 ("robot2", _seq(_wait("robot1_done"), HOME))))
    assert unanswered_waits(plan) == set()


def test_a_wait_for_a_signal_nobody_raises_is_unanswered():
    plan = Plan((("robot1", _seq(HOME, _raise("robot1_done"))),
                 ("robot2", _seq(_wait("robot2_done"), HOME))))
    assert unanswered_waits(plan) == {"robot2_done"}


def test_a_robot_cannot_answer_its_own_wait():
    plan = Plan((("robot1", HOME), ("robot2", _seq(_wait("go"), HOME, _raise("go")))))
    assert unanswered_waits(plan) == {"go"}


def test_waits_and_signals_under_decorators_and_in_subtrees_count():
    body = _seq(HOME, _raise("ready"))
    library = SubtreeLibrary([SubtreeDefinition("GoAndTell", (), body, "go home, say so",
                                                "test", "")])
    retried = Node("RetryUntilSuccessful", (("num_attempts", 2),), (_wait("ready"),))
    plan = Plan((("robot1", Node("SubTree", (("ID", "GoAndTell"),))),
                 ("robot2", _seq(retried, HOME))))
    assert unanswered_waits(plan, library) == set()
    alone = Plan((("robot1", HOME), ("robot2", _seq(retried, HOME))))
    assert unanswered_waits(alone, library) == {"ready"}


def test_a_plan_for_one_robot_may_wait_for_the_other_robots_running_tree():
    assert unanswered_waits(Plan((("robot2", _seq(_wait("robot1_done"), HOME)),))) == set()
