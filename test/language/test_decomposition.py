"""Compound commands split into clauses and the clause plans joined
(llm_mars.language.decomposition)."""
import pytest

from llm_mars.bt.parser import parse_bt_output
from llm_mars.bt.serializer import serialize_plan
from llm_mars.language.decomposition import Clause, join_plans, split_command
from llm_mars.language.lexicon import CORRECTIONS


def plan(*trees: str):
    body = "".join(f'<BehaviorTree ID="{robot}">{steps}</BehaviorTree>' for robot, steps in
                   (t.split(":", 1) for t in trees))
    return parse_bt_output(f'<root BTCPP_format="4">{body}</root>')


def texts(command):
    clauses = split_command(command)
    return None if clauses is None else [(c.text, c.sequential) for c in clauses]


@pytest.mark.parametrize("command, clauses", [
    ("robot 2 go to quadrant 2 and wait 3 seconds there",
     [("robot 2 go to quadrant 2", False), ("robot 2 wait 3 seconds there", False)]),
    ("Robot two, collect 6 cherries from holder 2, drop them in the basket, then do the funny "
     "action", [("robot 2 collect 6 cherries from holder 2, drop them in the basket", False),
                ("robot 2 do the funny action", True)]),  # "them" are the cherries
    ("robot one go to holder 1 and take 4 cherries then go home",  # which holder: the one before
     [("robot 1 go to holder 1 and take 4 cherries", False), ("robot 1 go home", True)]),
    ("R1 take pink from quadrant 3 to plate 4. R2 goes home.",
     [("robot 1 take pink from quadrant 3 to plate 4", False), ("robot 2 go home", False)]),
    ("robot 1 collect 4 cherries from holder 4 then robot 2 does the funny action",
     [("robot 1 collect 4 cherries from holder 4", False),
      ("robot 2 do the funny action", True)]),
    ("R1 go to plate 2, R2 go to plate 4, then both of you go home",
     [("robot 1 go to plate 2", False), ("robot 2 go to plate 4", False),
      ("both robots go home", True)]),
    ("robot 1 pick up the brown, yellow and pink stacks from quadrant 1, put them on plate 2 "
     "in legendary order, then go home",  # legendary cakes of the stacks picked before
     [("robot 1 pick up the brown, yellow and pink stacks from quadrant 1, put them on plate 2 "
       "in legendary order", False), ("robot 1 go home", True)]),
    ("robot 2 make legendary cakes from quadrant 2 and put them on tray 3, then go home",
     [("robot 2 make legendary cakes from quadrant 2 and put them on tray 3", False),
      ("robot 2 go home", True)]),
    ("robot 1 go to quadrant 1, robot 2 go to quadrant 4, robot 1 take the pink stack there",
     [("robot 1 go to quadrant 1", False), ("robot 2 go to quadrant 4", False),
      ("robot 1 take the pink stack at quadrant 1", False)]),  # there: where it went
    # said in the other order
    ("bot 2 go home after you collect 5 cherries from holder 2",
     [("robot 2 collect 5 cherries from holder 2", True), ("robot 2 go home", True)]),
    ("robot one, after you've picked up the brown stack in quadrant 4, drive to holder 3",
     [("robot 1 pick up the brown stack in quadrant 4", True),
      ("robot 1 drive to holder 3", False)]),
    # a verbless part: the verb before it left out, or a part of the clause before it
    ("r2 pick up brown from quadrant 2 then yellow from quadrant 3 then drop both on plate 3",
     [("robot 2 pick up brown from quadrant 2", False), ("robot 2 pick up yellow from quadrant 3",
                                                         True),
      ("robot 2 drop both on plate 3", True)]),
    ("robot 2 take the yellow stack from quadrant 2 to plate 2, the pink stack from quadrant 2 "
     "to plate 2 and then go to holder 4",
     [("robot 2 take the yellow stack from quadrant 2 to plate 2", False),
      ("robot 2 take the pink stack from quadrant 2 to plate 2", False),
      ("robot 2 go to holder 4", True)]),
    ("robot 1 bring brown from quadrant 1, yellow from quadrant 2 to plate 3 and go home",
     [("robot 1 bring brown from quadrant 1, yellow from quadrant 2 to plate 3", False),
      ("robot 1 go home", False)]),
    ("take the brown and the pink stack from quadrant 1, then go home",  # nobody: robot 1
     [("robot 1 take the brown and the pink stack from quadrant 1", False),
      ("robot 1 go home", True)]),
])
def test_plain_lists_of_steps_are_split(command, clauses):
    assert texts(command) == clauses


@pytest.mark.parametrize("command", [
    "robot 1 bring the brown cake from quadrant 2 to plate 3",  # one step
    "robot 1 if you carry a cake put it on plate 2 otherwise go home",  # a condition
    "when robot 1 has delivered, robot 2 puts a cherry on it",  # a hand-over in words
    "robot 2 wait until robot 1 is home, then go to plate 2",
    "robot 1 go to plate 1 after robot 2 has left",
    "robot 1 go to quadrant 1, robot 2 take the pink stack there",  # where robot 1 went?
    "robot 1 bring the brown cake to plate 1 and put a cherry on it",  # one clause: "it"
    "robot one take the brown stack to plate 4, then robot two does the same",
    "robot 1 take the yellow stack to plate 1, next drive to plate 5 and put a cherry on it",
    # "it" is no cake of the drive's clause
    "R1 take brown from quadrant 1, then both of you to plate 2",  # both, but no verb
    "robto 2 drop the brown cake from quadrant 2 on plate 1 then go to quadrant 3",  # a typo
    "robot 1 and robot 2",
])
def test_other_commands_are_left_whole(command):
    assert split_command(command) is None


@pytest.mark.parametrize("correction", CORRECTIONS)
def test_a_command_with_a_correction_is_left_whole(correction):
    """Cut apart, the taking back is a clause of its own: planned as words to say, or replied
    to as something no skill does, which refuses the whole command."""
    listed = "robot 1 go to holder 1, take 5 cherries, and then drive to plate 3"
    assert split_command(listed) is not None
    assert split_command(f"robot 1 go to holder 1, take 5, {correction}, 6 cherries, and then "
                         "drive to plate 3") is None
    assert split_command(f"Robot 1, go to holder 1 and then plate 3. {correction.capitalize()}"
                         ", plate 4.") is None


def test_words_to_say_are_no_correction():
    assert [c.text for c in split_command("robot 1 say sorry and then go home")] == [
        "robot 1 say sorry", "robot 1 go home"]


def test_a_verb_that_no_skill_has_is_a_clause_of_its_own():
    clauses = split_command("robot 2 go to holder 1, take ten cherries, and throw them at the "
                            "other team")
    assert [(c.text, c.known_verb) for c in clauses] == [
        ("robot 2 go to holder 1, take 10 cherries", True),
        ("robot 2 throw them at the other team", False)]
    clauses = split_command("R1 take brown from quadrant 1 to plate 1, then both of you fly "
                            "home, thx")
    assert [(c.text, c.robots, c.known_verb) for c in clauses] == [
        ("robot 1 take brown from quadrant 1 to plate 1", ("robot1",), True),
        ("both robots fly home, thx", ("robot1", "robot2"), False)]


@pytest.mark.parametrize("command, clauses", [
    # a typing slip in a verb is the verb: its clause's reply must not refuse the command
    ("robot 1 colect 5 cherries from holder 2 then dirve to plate 3",
     ["robot 1 collect 5 cherries from holder 2", "robot 1 drive to plate 3"]),
    ("R2 birng the pink stack from quadrant 1 to plate 2, then go home",
     ["robot 2 bring the pink stack from quadrant 1 to plate 2", "robot 2 go home"]),
    # other words operators use for what a skill does
    ("robot 1 proceed to plate 3 and then retrieve the brown stack from quadrant 2",
     ["robot 1 proceed to plate 3", "robot 1 retrieve the brown stack from quadrant 2"]),
])
def test_slips_and_synonyms_of_skill_verbs_are_known_verbs(command, clauses):
    split = split_command(command)
    assert [c.text for c in split] == clauses
    assert all(c.known_verb for c in split)


@pytest.mark.parametrize("command, clauses", [
    # a loose verb says a skill beside a word of the field, and is no skill's verb without one
    ("robot 1 nip over to holder 2 then run the funny action",
     [("robot 1 nip over to holder 2", True), ("robot 1 run the funny action", True)]),
    ("robot 1 go to plate 2 then run away",
     [("robot 1 go to plate 2", True), ("robot 1 run away", False)]),
    ("robot 1 go home then leave the field",
     [("robot 1 go home", True), ("robot 1 leave the field", False)]),
    # ... and no slip is read into one: "sing" is no "swing"
    ("robot 1 sing a song then go to plate 2",
     [("robot 1 sing a song", False), ("robot 1 go to plate 2", True)]),
    # polite frames and ordering words before the verb
    ("robot 1 is to collect cherries from holder 1 and then go home",
     [("robot 1 collect cherries from holder 1", True), ("robot 1 go home", True)]),
    # "a" is no lead word: a gapped clause takes the verb before it
    ("robot 1 take the pink stack from quadrant 1 to plate 2 and a stack from quadrant 2 to "
     "plate 3", [("robot 1 take the pink stack from quadrant 1 to plate 2", True),
                 ("robot 1 take a stack from quadrant 2 to plate 3", True)]),
])
def test_loose_verbs_are_known_beside_the_field_only(command, clauses):
    assert [(c.text, c.known_verb) for c in split_command(command)] == clauses


def test_one_robots_clauses_join_into_one_flat_sequence():
    clauses = split_command("robot 2 go to quadrant 2 and wait 3 seconds there")
    joined = join_plans(clauses, [plan('robot2:<MoveTo target="quadrant_2"/>'),
                                  plan('robot2:<Wait seconds="3.0"/>')])
    assert joined == plan('robot2:<Sequence><MoveTo target="quadrant_2"/><Wait seconds="3.0"/>'
                          '</Sequence>')


def test_a_robot_first_addressed_after_then_waits_for_the_other():
    clauses = split_command("robot 1 collect 4 cherries from holder 4 then robot 2 does the "
                            "funny action")
    joined = join_plans(clauses, [plan('robot1:<CollectCherries holder="4" count="4"/>'),
                                  plan("robot2:<FunnyAction/>")])
    assert joined == plan(
        'robot1:<Sequence><CollectCherries holder="4" count="4"/><Signal signal="robot1_done"/>'
        '</Sequence>',
        'robot2:<Sequence><WaitForSignal signal="robot1_done"/><FunnyAction/></Sequence>')
    assert parse_bt_output(serialize_plan(joined)) == joined


def test_both_robots_and_each_robots_own_then_need_no_hand_over():
    clauses = split_command("R1 go to plate 2, R2 go to plate 4, then R1 does the funny action "
                            "and both go home")
    joined = join_plans(clauses, [plan('robot1:<MoveTo target="plate_2"/>'),
                                  plan('robot2:<MoveTo target="plate_4"/>'),
                                  plan("robot1:<FunnyAction/>"),
                                  plan('robot1:<MoveTo target="home"/>',
                                       'robot2:<MoveTo target="home"/>')])
    assert joined == plan(
        'robot1:<Sequence><MoveTo target="plate_2"/><FunnyAction/><MoveTo target="home"/>'
        '</Sequence>',
        'robot2:<Sequence><MoveTo target="plate_4"/><MoveTo target="home"/></Sequence>')


def test_a_clause_plan_for_other_robots_does_not_join():
    clauses = [Clause("robot 1 go home", ("robot1",), False),
               Clause("robot 2 go home", ("robot2",), False)]
    home = 'robot1:<MoveTo target="home"/>'
    assert join_plans(clauses, [plan(home), plan(home)]) is None


def test_clauses_of_generated_possible_commands_have_known_verbs():
    """A clause whose verb is unknown may be answered with a reply that refuses the whole
    command; on possible commands (training and held-out wording) that leaves typos only."""
    from llm_mars.training.plan_data import generate_plan_examples, held_out_plan_examples

    examples = generate_plan_examples(2000, seed=9) + held_out_plan_examples(300, seed=9)
    clauses = [c for e in examples if e.kind == "plan" for c in split_command(e.command) or ()]
    unknown = [c.text for c in clauses if not c.known_verb]
    assert len(clauses) > 1000 and len(unknown) <= 0.01 * len(clauses), unknown
