"""The world check and the grounding of commands (llm_mars.language.grounding)."""
import pytest

from llm_mars import vocabulary as V
from llm_mars.language.grounding import (Grounding, ground, is_false_reply, is_world_reply,
                                         names_an_unsaid_place, out_of_world, robots_named,
                                         unknown_place_reply)


@pytest.mark.parametrize("command, reply", [
    ("robot 3 go to plate 1", "There is no robot 3: I can only command robot 1 and robot 2."),
    ("R3 go home", "There is no robot 3: I can only command robot 1 and robot 2."),
    ("robot three, go home", "There is no robot 3: I can only command robot 1 and robot 2."),
    ("the third robot goes home",
     "There is no third robot: I can only command robot 1 and robot 2."),
    ("all three robots go to the basket", "There are only two robots: robot 1 and robot 2."),
    ("Robot 1, take the brown cake from quadrant 7 to plate 2.",
     "There is no quadrant 7: quadrants are numbered 1 to 4."),
    ("robot two put the pink stack on tray 9", "There is no plate 9: plates are numbered 1 to 5."),
    ("robot 2 go to plate zero", "There is no plate 0: plates are numbered 1 to 5."),
    ("robot one collect cherries from dispenser 5",
     "There is no holder 5: holders are numbered 1 to 4."),
    ("R1 grab the green stack in quadrant 2",
     "There is no green cake: stacks are brown, yellow or pink."),
    ("robot 1 pick up the blue layers from quadrant 1",
     "There is no blue cake: stacks are brown, yellow or pink."),
    ("robot 2 take fifteen cherries from holder 2",
     "A robot can carry at most 10 cherries, so it cannot take 15."),
    ("robot 1 pick up all four brown stacks at once",
     "A robot can carry at most 3 stacks at once."),
    ("the second robot takes 15 cherries from holder 2",  # an ordinal is no shared load
     "A robot can carry at most 10 cherries, so it cannot take 15."),
    ("robot 1 go to quadrant -1", "There is no quadrant -1: quadrants are numbered 1 to 4."),
    ("robot 1 go to quadrant 4.5", "There is no quadrant 4.5: quadrants are numbered 1 to 4."),
    ("robot 1 go to \uff51\uff55\uff41\uff44\uff52\uff41\uff4e\uff54 \uff17",
     "There is no quadrant 7: quadrants are numbered 1 to 4."),
    ("robot 1 take -3 cherries from holder 2",
     "-3 is not a number of cherries a robot can take: it takes 1 to 10."),
    ("robot 1 take 2.5 cherries", "2.5 is not a number of cherries a robot can take: it takes "
     "1 to 10."),
    ("robot one hundred go home",
     "There is no robot 100: I can only command robot 1 and robot 2."),
    ("robot 1.5 go home", "There is no robot 1.5: I can only command robot 1 and robot 2."),
    ("robot 2 take twenty one cherries",
     "A robot can carry at most 10 cherries, so it cannot take 21."),
    # said after a correction, it is what the operator wants
    ("robot 1 go to plate 2, sorry, plate 7",
     "There is no plate 7: plates are numbered 1 to 5."),
    ("robot 2 no wait robot 3 go home",
     "There is no robot 3: I can only command robot 1 and robot 2."),
    # a correction that says nothing of the kind again takes nothing back
    ("robot 3, actually, go home",
     "There is no robot 3: I can only command robot 1 and robot 2."),
    ("robot 1 bring the green cake, sorry, to plate 2",
     "There is no green cake: stacks are brown, yellow or pink."),
])
def test_references_the_world_lacks_get_a_reply(command, reply):
    assert out_of_world(command) == reply
    # the model may also give these replies; the check owns them (except over-full stacks,
    # which it cannot always see, so the model's reply stands)
    assert is_world_reply(reply) == ("at once" not in reply)


@pytest.mark.parametrize("command", [
    "robot 1 bring the brown cake from quadrant 4 to plate 5",
    "robot two go to holder four",
    "Robot 2 put 10 cherries in the basket",
    "the second robot takes three stacks at once from quadrant 1",
    "robot 1 and robot 2 go home",
    "tell the robot to go to plate 2",  # "to" is not a number here
    "robot 1 paint the pink cake green",  # not the check's business: the model replies
    "robot 2 go to quadrant \u0662",  # an Arabic-Indic two
    "robot one, two cherries to the basket",  # "one two" is not one number
    "robot 1 wait 2.5 seconds then go to plate 3 - quickly",
    # taken back by a correction: what the operator wants is the model's to read
    "robot 1 go to plate 7, no wait, plate 4",
    "robot 3, sorry, robot 2, go home",
    "Robot 1, take 15 cherries, I mean 5, from holder 2",
    "robot 1 bring the green cake, I mean the pink one, to plate 2",
    "robot 3 sorry R2 go home",
])
def test_commands_within_the_world_pass(command):
    assert out_of_world(command) is None


def test_the_model_replies_the_check_owns_are_recognised():
    assert not is_world_reply("The robots cannot fly: no skill does that.")
    assert not is_world_reply("A robot can carry at most 3 stacks at once.")
    assert is_world_reply("There is no quadrant 4: quadrants are numbered 1 to 4.")
    # a colour reply without its "cake", to a typo'd possible command (a retrained adapter)
    assert is_false_reply("robot one, plese pick up the pnik cake from quadrnt 2",
                          "There is no pikcelerne: stacks are brown, yellow or pink.")
    assert not is_world_reply("There is no time: stacks are brown, yellow or pink, and more.")


@pytest.mark.parametrize("command, place, unsaid", [
    ("Robot 2, take the yelow stack from quadrant 2, then wait 4 seconds.", "yen", True),
    ("robot 1 go to the kitchn", "kitchen", False),
    ("over to you first robot, go and stand at the other team's plate", "other team's plate",
     False),
    ("robot 2 drive to the charging station", "moon base", True),
    ("robot 2 drive to the carpark", "car park", False),
    ("robot 1 swim to holder 2", "swimming pool", False),
    ("robot 2 drive to the cafeteria", "kitchen", False),  # a place the model was taught
])
def test_a_place_off_the_field_is_false_when_the_command_never_names_it(command, place, unsaid):
    reply = unknown_place_reply(place)
    assert names_an_unsaid_place(command, reply) is unsaid
    assert is_false_reply(command, reply) is unsaid
    assert not names_an_unsaid_place(command, "The robots cannot fly: no skill does that.")


def test_no_trained_place_reply_is_taken_for_a_false_one():
    """Every command the bt data answers with a place off the field (typos, recognition noise
    and numbers as words included) keeps its reply."""
    from llm_mars.training.plan_data import generate_plan_examples

    replies = [e for e in generate_plan_examples(3000, seed=41, reply_share=1.0)
               if e.kind == "reply" and "on the field" in e.output]
    assert len(replies) > 50
    for e in replies:
        reply = e.output.removeprefix("<reply>").split("</reply>")[0]
        assert reply.startswith("There is no ") and " on the field: " in reply, reply
        assert not is_false_reply(e.command, reply), (e.command, reply)


@pytest.mark.parametrize("command, robots", [
    ("r1, empty holder 4 into the basket - remaining robot, go to plate 2", None),
    ("robot 1 go home and its partner goes to plate 3", None),
    ("robot 2 take another cherry from holder 1", frozenset({"robot2"})),
    ("robot 1 take the remaining cherries from holder 4", frozenset({"robot1"})),
])
def test_a_robot_spoken_of_without_its_name_keeps_both_robots(command, robots):
    assert ground(command).robots == robots


def test_grounding_collects_numbers_but_not_robot_designators():
    g = ground("Robot 2, bring the brown stack from quadrant three to tray 1 then R1 goes home")
    assert g.numbers == {3, 1} and g.colors == {"brown"}
    assert ground("robot 1 build legendary cakes on plate 2 from quadrant 4").colors is None
    assert ground("robot 1 pick the pink and the yellow from quadrant 2").colors == {"pink",
                                                                                      "yellow"}
    assert ground("bot1 go home").numbers == frozenset()


def test_allowed_values_add_implicit_ones_and_fall_back_to_all():
    g = Grounding(frozenset({3, 5}), frozenset({"pink"}))
    assert g.allowed_ints("quadrant", 1, 4) == [3]
    assert g.allowed_ints("holder", 1, 4) == [V.DEFAULT_HOLDER, 3]
    assert g.allowed_ints("count", 1, 10) == [1, 3, 5]
    assert g.allowed_ints("num_cycles", -1, 100) is None  # not a small numbered port
    assert Grounding(frozenset({7}), None).allowed_ints("plate", 1, 5) is None  # none fit
    assert g.allowed_colors() == ["pink"]
    places = g.allowed_places()
    assert {"home", "basket", "plate_3", "plate_5", "quadrant_3", "holder_3"} <= set(places)
    assert "plate_1" not in places and "quadrant_4" not in places


@pytest.mark.parametrize("command, robots", [
    ("the second robot brings the pink stack from quadrant three to plate 5", {"robot2"}),
    ("R1 go home then do the funny action", {"robot1"}),
    ("go home", None),  # names no robot
    ("robot 1 go home and robot 2 go to plate 3", None),  # names both
    ("robot 1 go home and the other robot goes to plate 3", None),
    ("when robot 1 is done put a cherry on the cake on plate 3", None),  # who waits is unsaid
    ("robot 2 and then both of you go home", None),
    ("rboot one grab the yellow stack at quadrant one then r2 go to holder three", None),
])
def test_grounding_keeps_to_the_one_robot_a_command_names(command, robots):
    assert ground(command).robots == (None if robots is None else frozenset(robots))


def test_the_robot_grounding_never_excludes_a_robot_the_plan_commands():
    """On generated commands (typos in designators included) the grounded robot set holds
    every robot of the command's plan, and it narrows most single-robot commands."""
    import re

    from llm_mars.training.plan_data import generate_plan_examples

    narrowed = 0
    for example in generate_plan_examples(1500, seed=11, reply_share=0.0):
        robots = ground(example.command).robots
        if example.kind == "plan" and robots is not None:
            narrowed += 1
            assert set(re.findall(r'ID="(robot\d)"', example.output)) <= robots, example.command
    assert narrowed > 500


@pytest.mark.parametrize("grounding", [
    Grounding(frozenset(), None), Grounding(frozenset({1, 4}), frozenset({"brown"})),
    Grounding(frozenset({2}), frozenset({"pink", "yellow"}), plan_only=True),
    Grounding(frozenset({3}), None, plan_only=True, robots=frozenset({"robot2"}))])
def test_keys_round_trip(grounding):
    assert Grounding.from_key(grounding.key()) == grounding


@pytest.mark.parametrize("key", ["n=1;c=green", "n=x;c=*", "c=*", "n=1;c=*;p=2",
                                 "n=1;c=*;r=robot3"])
def test_malformed_keys_are_refused(key):
    with pytest.raises((ValueError, KeyError)):
        Grounding.from_key(key)


def test_the_check_agrees_with_the_training_data():
    """On generated commands: never fires on a possible one, and gives the generator's own
    reply to (almost) every command whose impossibility it owns (misses: typos in the noun,
    compound number words)."""
    from llm_mars.bt.parser import parse_bt_output
    from llm_mars.training.plan_data import generate_plan_examples

    owned = agreed = 0
    for example in generate_plan_examples(2000, seed=5, reply_share=0.3):
        found = out_of_world(example.command)
        if example.kind == "plan":
            assert found is None, example.command
            continue
        reply = parse_bt_output(example.output).text
        if is_world_reply(reply):
            owned += 1
            assert found in (None, reply), example.command
            agreed += found == reply
    assert owned > 200 and agreed / owned >= 0.95


@pytest.mark.parametrize("command, robots", [
    ("Robot 2, take the brown cake", {"robot2"}),
    ("R1 to holder 3 and bot two home", {"robot1", "robot2"}),
    ("the first robot goes home, the second robot waits", {"robot1", "robot2"}),
    ("robot 3 go home", set()),  # a robot the world lacks is out_of_world's
    ("go to plate 2", set()),
])
def test_robots_named(command, robots):
    assert robots_named(command) == robots
