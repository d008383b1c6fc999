"""The qa adapter's training data (llm_mars.training.query_data): questions worded through
phrasing families, each with the query it means; held-out families never reach training."""
import random
from collections import Counter

import pytest

from llm_mars import vocabulary as V
from llm_mars.qa.query import format_query, parse_query
from llm_mars.training.query_data import (FAMILIES, FOLLOW_UPS, both_robots, families,
                                          SHAPED_UNKNOWNS, follow_up, generate_query_examples,
                                          held_out_examples, plain_text, query_user_text,
                                          substitute, template_pattern, trained_wording)


@pytest.fixture(scope="module")
def examples():
    return generate_query_examples(3000, seed=5)


def test_same_seed_same_examples():
    a = [e.to_json() for e in generate_query_examples(60, seed=2)]
    assert a == [e.to_json() for e in generate_query_examples(60, seed=2)]
    assert a != [e.to_json() for e in generate_query_examples(60, seed=3)]


def test_held_out_families_never_reach_training(examples):
    held = {f.name for f in families(True)} | {f"follow-{f.name}" for f in FOLLOW_UPS
                                               if f.held_out}
    assert held and not held & {e.family for e in examples}
    assert {e.family for e in held_out_examples(400, seed=9)} <= held
    trained_questions = {e.question.lower() for e in examples}
    # the held-out wordings are not the trained ones in disguise
    held_templates = {t.lower() for f in families(True) for t in f.templates}
    trained_templates = {t.lower() for f in families(False) for t in f.templates}
    assert not held_templates & trained_templates
    assert len(trained_questions) == len(examples) or len({(e.previous, e.question.lower())
                                                          for e in examples}) == len(examples)


def test_every_query_kind_with_held_out_families_also_has_trained_ones():
    kinds = Counter((f.query, f.held_out) for f in FAMILIES)
    for (query, held), _ in kinds.items():
        if held:
            assert (query, False) in kinds, query


def test_every_example_is_a_canonical_query(examples):
    for e in examples:
        assert format_query(parse_query(e.query)) == e.query
        if e.previous is not None:
            assert format_query(parse_query(e.previous)) == e.previous


def test_the_data_holds_sessions_follow_ups_and_unanswerable_questions(examples):
    shares = Counter("follow-up" if e.family.startswith("follow-") else
                     "unknown" if e.query == "unknown" else
                     "after a question" if e.previous else "alone" for e in examples)
    assert 0.08 < shares["follow-up"] / len(examples) < 0.16
    assert 0.03 < shares["unknown"] / len(examples) < 0.08
    assert shares["after a question"] > shares["follow-up"]
    assert any(e.question == e.question.lower() and "?" not in e.question for e in examples)


def test_unanswerable_questions_in_answerable_shapes_only_with_their_option(examples):
    assert not {e.family for e in examples} & set(SHAPED_UNKNOWNS)
    shaped = generate_query_examples(3000, seed=5, unknown_shapes=True)
    unknown = [e for e in shaped if e.query == "unknown"]
    assert 0.07 < len(unknown) / len(shaped) < 0.12  # more of them, not a flood
    assert set(SHAPED_UNKNOWNS) <= {e.family for e in unknown}
    # a shaped unknown keeps the held-out unknown family's wordings out of training
    held = [template_pattern(t) for f in families(True) if f.query == "unknown"
            for t in f.templates]
    assert held[1].search(plain_text("Hey what will robot 2 do after the match?"))
    for e in unknown:
        assert not any(rx.search(plain_text(e.question)) for rx in held), e.question


def test_a_follow_up_changes_one_thing_of_the_previous_query():
    rng = random.Random(1)
    by_name = {f.name: f for f in FOLLOW_UPS}
    robot = follow_up(parse_query("robot1.history(PickCake)"), by_name["robot-other"], rng)
    assert robot.query == "robot2.history(PickCake)"
    assert robot.previous == "robot1.history(PickCake)"
    plate = follow_up(parse_query("plate_1.cakes(legendary)"), by_name["plate"], rng)
    assert plate.query.startswith("plate_") and plate.query.endswith(".cakes(legendary)")
    assert plate.query != "plate_1.cakes(legendary)"
    colour = follow_up(parse_query("check quadrant_2.pink"), by_name["color"], rng)
    assert colour.query in ("check quadrant_2.brown", "check quadrant_2.yellow")
    assert follow_up(parse_query("time.left"), by_name["robot"], rng) is None
    assert follow_up(parse_query("check robot1.cherries > robot2.cherries"), by_name["robot"],
                     rng) is None  # two robots: which one would change?
    same = follow_up(parse_query("basket.cherries"), by_name["same"], rng)
    assert same.query == "basket.cherries"


def test_both_robots_asks_the_same_of_each():
    assert format_query(both_robots(parse_query("robot2.doing"))) == "robots.doing"
    assert format_query(both_robots(parse_query("check robot1.location = home"))) == \
        "check all robots.location = home"
    assert both_robots(parse_query("holder_1.cherries")) is None


def test_substitute_replaces_subjects_filters_and_values():
    query = parse_query("check robot1.history(PickCake pink quadrant_2) > robot1.history")
    assert format_query(substitute(query, "robot1", "robot2")) == \
        "check robot2.history(PickCake pink quadrant_2) > robot2.history"
    assert format_query(substitute(parse_query("which robots.location = plate_3"), "plate_3",
                                   "plate_4")) == "which robots.location = plate_4"


def test_the_user_text_carries_the_previous_query():
    assert query_user_text("where is robot 1?", None) == "where is robot 1?"
    assert query_user_text("and robot 2?", "robot1.location") == \
        "Previous: robot1.location\nQuestion: and robot 2?"


def test_every_place_colour_and_robot_is_asked_about(examples):
    queries = " ".join(e.query for e in examples)
    for word in (*V.ROBOTS, *V.PLACES, *V.COLORS):
        assert word in queries


def test_a_question_a_trained_template_words_is_told_from_fresh_language():
    assert trained_wording("Where is robot two?")  # "where is {r}"
    assert trained_wording("how many cherries are in holder 3")
    assert not trained_wording("tell me which robot has the fewest cherries in its gripper")
    # a shaped unanswerable question is trained wording only for an adapter trained on them
    assert not trained_wording("is robot 1 running out of fuel")
    assert trained_wording("is robot 1 running out of fuel", unknown_shapes=True)
    held_out = [t for f in FAMILIES if f.held_out for t in f.templates]
    # a slot takes any words, so a few held-out wordings fit a trained template
    assert sum(map(trained_wording, held_out)) <= len(held_out) // 20
