"""The assistant's plan requests: the world check, the grounded grammar and the retry after a
false world reply (llm_mars.assistant), against a scripted engine."""
from concurrent.futures import Future

import pytest

from llm_mars.assistant import Assistant
from llm_mars.bt.model import Plan, Reply
from llm_mars.bt.parser import parse_bt_output
from llm_mars.bt.serializer import serialize_plan, serialize_reply
from llm_mars.errors import AdapterMissingError, ConstraintError
from llm_mars.language.decomposition import join_plans, split_command
from llm_mars.language.grounding import unknown_place_reply
from llm_mars.language.normaliser import Said
from llm_mars.llm.requests import ADAPTER_NAMES, ADAPTERS, GenerationResult
from llm_mars.qa.query import QUERY_CONSTRAINT, parse_query
from llm_mars.session.match import Match

PLAN = """<root BTCPP_format="4">
  <BehaviorTree ID="robot2">
    <PickCake color="brown" quadrant="4"/>
  </BehaviorTree>
</root>
"""
FALSE_REPLY = serialize_reply(Reply("There is no quadrant 4: quadrants are numbered 1 to 4."))


class ScriptedEngine:
    """Answers each request with the next scripted output, parsed as the engine would
    (``parse``: the plan parser, or the query parser for questions)."""

    adapters = ADAPTERS

    def __init__(self, *outputs: str, parse=parse_bt_output):
        self.outputs = list(outputs)
        self.requests = []
        self.parse = parse

    def submit(self, request):
        self.requests.append(request)
        text = self.outputs.pop(0)
        future = Future()
        future.set_result(GenerationResult(text, (), "constraint", 10, 0, 0, 0.0, 0.1, 0.5,
                                           self.parse(text)))
        return future


def test_a_command_naming_what_the_world_lacks_is_replied_without_the_model():
    engine = ScriptedEngine()
    outcome = Assistant(engine).plan("robot 3 take the brown cake from quadrant 4")
    assert outcome.result == Reply("There is no robot 3: I can only command robot 1 and "
                                   "robot 2.")
    assert engine.requests == []


def test_plans_are_asked_under_the_commands_grounding():
    engine = ScriptedEngine(PLAN)
    outcome = Assistant(engine).plan("Robot 2, take the brown cake from quadrant 4")
    assert isinstance(outcome.result, Plan)
    assert [r.constraint for r in engine.requests] == ["plan:n=4;c=brown;r=robot2"]


def test_a_false_world_reply_is_replaced_by_a_plan():
    engine = ScriptedEngine(FALSE_REPLY, PLAN)
    outcome = Assistant(engine).plan("Robot 2, take the brown cake from quadrant 4")
    assert isinstance(outcome.result, Plan) and outcome.text == PLAN
    assert [r.constraint for r in engine.requests] == ["plan:n=4;c=brown;r=robot2",
                                                       "plan:n=4;c=brown;r=robot2;p=1"]
    assert outcome.latency_s == pytest.approx(1.0)  # both generations count


def test_a_place_off_the_field_the_command_never_names_is_replaced_by_a_plan():
    unsaid = serialize_reply(Reply(unknown_place_reply("yen")))
    engine = ScriptedEngine(unsaid, PLAN)
    outcome = Assistant(engine, decompose=False).plan(
        "Robot 2, take the yelow cake from quadrant 4")
    assert isinstance(outcome.result, Plan) and outcome.text == PLAN
    assert engine.requests[-1].constraint.endswith(";p=1")
    said = serialize_reply(Reply(unknown_place_reply("kitchen")))
    outcome = Assistant(ScriptedEngine(said), decompose=False).plan("robot 2 go to the kitchen")
    assert outcome.result == Reply(unknown_place_reply("kitchen"))


def test_the_stacks_limit_said_of_a_command_about_no_cake_is_replaced_by_a_plan():
    cherries = """<root BTCPP_format="4">
  <BehaviorTree ID="robot1">
    <Sequence>
      <CollectCherries holder="1" count="4"/>
      <CollectCherries holder="4" count="4"/>
    </Sequence>
  </BehaviorTree>
</root>
"""
    stacks = serialize_reply(Reply("A robot can carry at most 3 stacks at once."))
    engine = ScriptedEngine(stacks, cherries)
    outcome = Assistant(engine, decompose=False).plan(
        "robot 1 take 4 cherries from holder 1 and 4 from holder 4 at once")
    assert isinstance(outcome.result, Plan) and outcome.text == cherries
    assert engine.requests[-1].constraint.endswith(";p=1")
    # of a command about stacks, the model's stacks limit stands
    engine = ScriptedEngine(stacks)
    outcome = Assistant(engine, decompose=False).plan(
        "Robot 2, pick up brown, yellow and pink from quadrant 3 and the pink from quadrant "
        "4, and carry all four to plate 4")
    assert outcome.result == Reply("A robot can carry at most 3 stacks at once.")


def test_other_replies_stand():
    reply = serialize_reply(Reply("The robots cannot fly: no skill does that."))
    engine = ScriptedEngine(reply)
    assert Assistant(engine).plan("robot 1 fly to plate 2").result == parse_bt_output(reply)
    assert len(engine.requests) == 1


def test_without_grounding_the_model_decides_alone():
    engine = ScriptedEngine(FALSE_REPLY)
    outcome = Assistant(engine, grounding=False).plan("robot 3 go to quadrant 4")
    assert isinstance(outcome.result, Reply)
    assert [r.constraint for r in engine.requests] == ["plan"]


def test_an_unfinished_output_is_an_error():
    engine = ScriptedEngine(PLAN)
    engine.submit = lambda request: _done(GenerationResult(PLAN[:20], (), "length", 1, 0, 0, 0,
                                                           0, 0))
    with pytest.raises(ConstraintError):
        Assistant(engine).plan("robot 2 go home")


def _done(result):
    future = Future()
    future.set_result(result)
    return future


HOME_PLAN = """<root BTCPP_format="4">
  <BehaviorTree ID="robot2">
    <Sequence>
      <PickCake color="brown" quadrant="4"/>
      <MoveTo target="home"/>
    </Sequence>
  </BehaviorTree>
</root>
"""
COMMAND_WITH_HOME = "Robot 2, take the brown cake from quadrant 4 and go home"


def test_a_plan_leaving_out_a_mention_is_replaced_by_a_sampled_plan_that_covers_it():
    engine = ScriptedEngine(PLAN, PLAN, HOME_PLAN, PLAN)
    outcome = Assistant(engine, alternatives=3, decompose=False).plan(COMMAND_WITH_HOME)
    assert outcome.text == HOME_PLAN and outcome.candidates == 4
    greedy, *samples = engine.requests
    assert greedy.sampling.greedy and greedy.constraint == "plan:n=4;c=brown;r=robot2"
    assert [s.sampling.seed for s in samples] == [1, 2, 3]
    assert all(not s.sampling.greedy and s.constraint == "plan:n=4;c=brown;r=robot2;p=1" for s in samples)
    assert outcome.latency_s == pytest.approx(1.0)  # the greedy plan, then one batch


def test_the_greedy_plan_stands_when_no_sample_covers_more():
    engine = ScriptedEngine(PLAN, PLAN, PLAN)
    outcome = Assistant(engine, alternatives=2, decompose=False).plan(COMMAND_WITH_HOME)
    assert outcome.text == PLAN and outcome.candidates == 3


def test_a_failed_sample_leaves_the_greedy_plan():
    engine = ScriptedEngine(PLAN)
    results = iter([_done(GenerationResult(PLAN, (), "constraint", 10, 0, 0, 0.0, 0.1, 0.5,
                                           parse_bt_output(PLAN)))])

    def submit(request):
        engine.requests.append(request)
        if request.sampling.greedy:
            return next(results)
        failed = Future()
        failed.set_exception(ConstraintError("unfinished"))
        return failed

    engine.submit = submit
    outcome = Assistant(engine, alternatives=2, decompose=False).plan(COMMAND_WITH_HOME)
    assert outcome.text == PLAN and len(engine.requests) == 3


def test_a_covering_plan_or_no_alternatives_asks_once():
    engine = ScriptedEngine(HOME_PLAN)
    assert Assistant(engine, decompose=False).plan(COMMAND_WITH_HOME).candidates == 1
    engine = ScriptedEngine(PLAN)
    assert Assistant(engine, alternatives=0, decompose=False).plan(COMMAND_WITH_HOME).text == PLAN
    assert len(engine.requests) == 1
    with pytest.raises(ValueError):
        Assistant(engine, alternatives=-1)


def test_an_unfinished_greedy_output_is_replaced_by_a_finished_sample():
    engine = ScriptedEngine(HOME_PLAN)
    unfinished = _done(GenerationResult(PLAN[:20], (), "length", 1, 0, 0, 0, 0, 0))
    greedy_submit = engine.submit
    engine.submit = lambda request: unfinished if request.sampling.greedy \
        else greedy_submit(request)
    outcome = Assistant(engine, alternatives=1, decompose=False).plan(COMMAND_WITH_HOME)
    assert outcome.text == HOME_PLAN and outcome.candidates == 2
    with pytest.raises(ConstraintError):  # no sample finishes either: the error stands
        engine.submit = lambda request: unfinished
        Assistant(engine, alternatives=2, decompose=False).plan(COMMAND_WITH_HOME)


def test_a_timeout_is_not_answered_with_samples():
    from llm_mars.errors import GenerationTimeout

    requests = []

    def submit(request):
        requests.append(request)
        late = Future()
        late.set_exception(GenerationTimeout("too slow"))
        return late

    engine = ScriptedEngine()
    engine.submit = submit
    with pytest.raises(GenerationTimeout):
        Assistant(engine, decompose=False).plan(COMMAND_WITH_HOME)
    assert len(requests) == 1


CLAUSE_PICK = PLAN
CLAUSE_HOME = PLAN.replace('<PickCake color="brown" quadrant="4"/>', '<MoveTo target="home"/>')


def _user_text(request):
    return dict(request.messages[-1])["content"]


def test_a_list_of_steps_is_also_planned_clause_by_clause_in_the_same_batch():
    engine = ScriptedEngine(PLAN, CLAUSE_PICK, CLAUSE_HOME)
    outcome = Assistant(engine).plan(COMMAND_WITH_HOME)
    assert parse_bt_output(outcome.text) == parse_bt_output(HOME_PLAN)
    assert (outcome.source, outcome.candidates, outcome.sampled) == ("clauses", 2, 0)
    assert [(_user_text(r), r.constraint) for r in engine.requests[1:]] == [
        ("robot 2 take the brown cake from quadrant 4", "plan:n=4;c=brown;r=robot2"),
        ("robot 2 go home", "plan:n=;c=*;r=robot2")]


def test_the_greedy_plan_stands_when_the_joined_plan_leaves_out_more():
    engine = ScriptedEngine(HOME_PLAN, CLAUSE_PICK, CLAUSE_PICK)  # robot 2 twice: no home
    outcome = Assistant(engine, alternatives=0).plan(COMMAND_WITH_HOME)
    assert (outcome.text, outcome.source, outcome.candidates) == (HOME_PLAN, "greedy", 2)


@pytest.mark.parametrize("clause_outputs", [
    (CLAUSE_PICK, serialize_reply(Reply("The robots cannot fly."))),  # a clause is replied
    (CLAUSE_PICK, HOME_PLAN.replace("robot2", "robot1")),  # a clause plan for the other robot
])
def test_clause_plans_that_do_not_join_leave_the_greedy_plan(clause_outputs):
    engine = ScriptedEngine(PLAN, *clause_outputs)
    outcome = Assistant(engine, alternatives=0).plan(COMMAND_WITH_HOME)
    assert outcome.text == PLAN and outcome.source == "greedy"


def test_a_clause_plan_leaving_out_a_mention_is_replaced_by_a_sampled_clause_plan():
    engine = ScriptedEngine(PLAN, CLAUSE_PICK, CLAUSE_PICK,  # greedy, then the two clauses
                            CLAUSE_PICK, CLAUSE_HOME, CLAUSE_PICK)  # "robot 2 go home" sampled
    outcome = Assistant(engine, alternatives=3).plan(COMMAND_WITH_HOME)
    assert parse_bt_output(outcome.text) == parse_bt_output(HOME_PLAN)
    assert outcome.source == "clauses" and outcome.sampled == 0  # no whole-command samples
    samples = engine.requests[3:]
    assert {_user_text(r) for r in samples} == {"robot 2 go home"}
    assert [r.sampling.seed for r in samples] == [1, 2, 3]
    assert {r.constraint for r in samples} == {"plan:n=;c=*;r=robot2;p=1"}


def test_an_unfinished_greedy_output_is_replaced_by_the_joined_plan():
    engine = ScriptedEngine(CLAUSE_PICK, CLAUSE_HOME)
    scripted = engine.submit
    unfinished = _done(GenerationResult(PLAN[:20], (), "length", 1, 0, 0, 0, 0, 0))
    engine.submit = lambda request: unfinished if _user_text(request) == COMMAND_WITH_HOME \
        else scripted(request)
    outcome = Assistant(engine).plan(COMMAND_WITH_HOME)
    assert parse_bt_output(outcome.text) == parse_bt_output(HOME_PLAN)
    assert outcome.source == "clauses"


def test_a_reply_to_a_clause_whose_verb_no_skill_has_is_the_commands_reply():
    fly = serialize_reply(Reply("The robots cannot fly: no skill does that."))
    engine = ScriptedEngine(HOME_PLAN, CLAUSE_PICK, fly)
    outcome = Assistant(engine).plan("Robot 2, take the brown cake from quadrant 4, then fly "
                                     "home")
    assert outcome.result == Reply("The robots cannot fly: no skill does that.")
    assert outcome.source == "clauses"
    assert _user_text(engine.requests[2]) == "robot 2 fly home"


def test_a_reply_to_a_clause_with_a_known_verb_leaves_the_greedy_plan():
    no = serialize_reply(Reply("The robots cannot go home: no skill does that."))
    engine = ScriptedEngine(HOME_PLAN, CLAUSE_PICK, no)
    outcome = Assistant(engine).plan(COMMAND_WITH_HOME)
    assert outcome.text == HOME_PLAN and outcome.source == "greedy"


# --- questions ------------------------------------------------------------------------------


class ScoringEngine(ScriptedEngine):
    """Also serves the describe adapter, and answers a scoring request with
    ``scores[plan text][0]`` (describe) or ``[1]`` (bt); no entry: the request fails."""

    adapters = ADAPTER_NAMES

    def __init__(self, *outputs: str, scores: dict):
        super().__init__(*outputs)
        self.scores = scores

    def submit(self, request):
        if request.score_target is None:
            return super().submit(request)
        self.requests.append(request)
        plan = request.score_target if request.adapter == "bt" else _user_text(request)
        future = Future()
        known = self.scores.get(plan.strip(), (None, None))[request.adapter == "bt"]
        if known is not None:
            future.set_result(GenerationResult("", (), "scored", 10, 0, 0, 0.0, 0.0, 0.2,
                                               score=known))
        else:
            future.set_exception(ConstraintError("no score"))
        return future


HOME_PLAN_FIRST = HOME_PLAN.replace('<PickCake color="brown" quadrant="4"/>\n      '
                                    '<MoveTo target="home"/>', '<MoveTo target="home"/>\n      '
                                    '<PickCake color="brown" quadrant="4"/>')


def test_the_describe_chooser_keeps_the_likeliest_plan_under_the_noisy_channel():
    # both samples cover every mention: the mentions chooser keeps the first of them
    scores = {PLAN.strip(): (-9.0, -1.0), HOME_PLAN_FIRST.strip(): (-6.0, -2.0),
              HOME_PLAN.strip(): (-3.0, -4.0)}
    outputs = (PLAN, HOME_PLAN_FIRST, HOME_PLAN)
    mentions = Assistant(ScoringEngine(*outputs, scores=scores), alternatives=2,
                         decompose=False, chooser="mentions").plan(COMMAND_WITH_HOME)
    assert mentions.text == HOME_PLAN_FIRST
    engine = ScoringEngine(*outputs, scores=scores)
    outcome = Assistant(engine, alternatives=2, decompose=False,
                        chooser="describe").plan(COMMAND_WITH_HOME)
    assert outcome.text == HOME_PLAN and outcome.source == "sample"  # -7 against -8 and -10
    scored = [r for r in engine.requests if r.score_target is not None]
    assert sorted((r.adapter, _user_text(r), r.score_target) for r in scored) == sorted(
        [("describe", plan.strip(), COMMAND_WITH_HOME) for plan in outputs]
        + [("bt", COMMAND_WITH_HOME, plan) for plan in outputs])


def test_a_plan_whose_score_fails_is_not_kept_by_the_describe_chooser():
    scores = {PLAN.strip(): (-9.0, -1.0), HOME_PLAN.strip(): (None, -0.5)}
    engine = ScoringEngine(PLAN, HOME_PLAN, scores=scores)
    outcome = Assistant(engine, alternatives=1, decompose=False,
                        chooser="describe").plan(COMMAND_WITH_HOME)
    assert outcome.text == PLAN


def test_a_plan_sampled_twice_is_scored_once():
    scores = {PLAN.strip(): (-9.0, -1.0), HOME_PLAN.strip(): (-3.0, -4.0)}
    engine = ScoringEngine(PLAN, HOME_PLAN, HOME_PLAN, scores=scores)
    outcome = Assistant(engine, alternatives=2, decompose=False,
                        chooser="describe").plan(COMMAND_WITH_HOME)
    assert (outcome.text, outcome.source, outcome.candidates) == (HOME_PLAN, "sample", 3)
    scored = [r for r in engine.requests if r.score_target is not None]
    assert sorted((r.adapter, _user_text(r)) for r in scored) == sorted(
        [("describe", PLAN.strip()), ("describe", HOME_PLAN.strip()),
         ("bt", COMMAND_WITH_HOME), ("bt", COMMAND_WITH_HOME)])


def test_samples_that_repeat_the_plan_so_far_are_not_scored():
    engine = ScoringEngine(PLAN, PLAN, PLAN, scores={})  # a score request would fail
    outcome = Assistant(engine, alternatives=2, decompose=False,
                        chooser="describe").plan(COMMAND_WITH_HOME)
    assert (outcome.text, outcome.source, outcome.sampled) == (PLAN, "greedy", 2)
    assert all(r.score_target is None for r in engine.requests)


def test_sample_every_lets_the_chooser_better_a_plan_that_leaves_out_no_mention():
    command = "Robot 2, take the brown cake from quadrant 4"
    other = HOME_PLAN  # the scores, not the words, prefer it here
    scores = {PLAN.strip(): (-9.0, -1.0), other.strip(): (-2.0, -2.0)}
    alone = ScoringEngine(PLAN, scores=scores)
    assert Assistant(alone, alternatives=2, decompose=False).plan(command).text == PLAN
    assert len(alone.requests) == 1  # every mention covered: nothing sampled
    engine = ScoringEngine(PLAN, other, PLAN, scores=scores)
    outcome = Assistant(engine, alternatives=2, decompose=False,
                        sample_every=True).plan(command)
    assert (outcome.text, outcome.source, outcome.sampled) == (other, "sample", 2)
    assert [r.sampling.seed for r in engine.requests[1:3]] == [1, 2]


def test_sample_every_leaves_a_reply_alone_and_needs_the_describe_chooser():
    fly = serialize_reply(Reply("The robots cannot fly: no skill does that."))
    engine = ScoringEngine(fly, scores={})
    outcome = Assistant(engine, decompose=False, sample_every=True).plan("Robot 2, fly away")
    assert outcome.result == Reply("The robots cannot fly: no skill does that.")
    assert len(engine.requests) == 1
    with pytest.raises(ValueError):
        Assistant(ScoringEngine(scores={}), chooser="mentions", sample_every=True)


HAND_OVER = """<root BTCPP_format="4">
  <BehaviorTree ID="robot1">
    <Sequence>
      <PickCake color="brown" quadrant="4"/>
      <PlaceCakes plate="1"/>
      <Signal signal="robot1_done"/>
    </Sequence>
  </BehaviorTree>
  <BehaviorTree ID="robot2">
    <Sequence>
      <WaitForSignal signal="SIGNAL"/>
      <MoveTo target="home"/>
    </Sequence>
  </BehaviorTree>
</root>
"""
ANSWERED = HAND_OVER.replace("SIGNAL", "robot1_done")
UNANSWERED = HAND_OVER.replace("SIGNAL", "robot2_done")  # robot 2 would wait all match long
COMMAND_WITH_HAND_OVER = ("Robot 1, take the brown cake from quadrant 4 to plate 1, and robot 2 "
                          "go home once robot 1 is done")


def test_a_plan_waiting_for_a_signal_nobody_raises_is_bettered_by_a_sample_whatever_the_scores():
    scores = {UNANSWERED.strip(): (-1.0, -1.0), ANSWERED.strip(): (-9.0, -9.0)}
    for chooser in ("describe", "mentions"):
        engine = ScoringEngine(UNANSWERED, UNANSWERED, ANSWERED, scores=scores)
        outcome = Assistant(engine, alternatives=2, decompose=False,
                            chooser=chooser).plan(COMMAND_WITH_HAND_OVER)
        assert (outcome.text, outcome.source, outcome.sampled) == (ANSWERED, "sample", 2)


def test_a_plan_whose_waits_are_answered_is_asked_once():
    engine = ScoringEngine(ANSWERED, scores={})
    outcome = Assistant(engine, decompose=False).plan(COMMAND_WITH_HAND_OVER)
    assert (outcome.text, outcome.sampled, len(engine.requests)) == (ANSWERED, 0, 1)


def test_when_every_candidate_waits_in_vain_the_scores_decide():
    other = UNANSWERED.replace('<MoveTo target="home"/>', '<Wait seconds="1.0"/>\n      '
                                                          '<MoveTo target="home"/>')
    scores = {UNANSWERED.strip(): (-5.0, -5.0), other.strip(): (-1.0, -1.0)}
    engine = ScoringEngine(UNANSWERED, other, scores=scores)
    outcome = Assistant(engine, alternatives=1, decompose=False,
                        chooser="describe").plan(COMMAND_WITH_HAND_OVER)
    assert outcome.text == other


def test_a_joined_plan_with_the_whole_command_plans_text_is_kept_unscored():
    joined = serialize_plan(join_plans(split_command(Said(COMMAND_WITH_HOME)),
                                       [parse_bt_output(CLAUSE_PICK),
                                        parse_bt_output(CLAUSE_HOME)]))
    engine = ScoringEngine(joined, CLAUSE_PICK, CLAUSE_HOME, scores={})  # scoring would fail
    outcome = Assistant(engine, chooser="describe").plan(COMMAND_WITH_HOME)
    assert (outcome.text, outcome.source, outcome.candidates) == (joined, "clauses", 2)
    assert all(r.score_target is None for r in engine.requests)


def test_the_describe_chooser_weighs_the_joined_plan_against_the_whole_command_plan():
    joined = serialize_plan(join_plans(split_command(Said(COMMAND_WITH_HOME)),
                                       [parse_bt_output(CLAUSE_PICK),
                                        parse_bt_output(CLAUSE_HOME)]))
    scores = {HOME_PLAN_FIRST.strip(): (-2.0, -2.0), joined.strip(): (-5.0, -1.0)}
    engine = ScoringEngine(HOME_PLAN_FIRST, CLAUSE_PICK, CLAUSE_HOME, scores=scores)
    outcome = Assistant(engine, chooser="describe").plan(COMMAND_WITH_HOME)
    assert (outcome.text, outcome.source, outcome.candidates) == (HOME_PLAN_FIRST, "greedy", 2)


def test_the_default_chooser_is_describe_when_the_engine_serves_it():
    assert Assistant(ScoringEngine(scores={})).chooser == "describe"
    assert Assistant(ScriptedEngine()).chooser == "mentions"


def test_the_describe_chooser_needs_the_describe_adapter():
    with pytest.raises(AdapterMissingError):
        Assistant(ScriptedEngine(), chooser="describe")
    with pytest.raises(ValueError):
        Assistant(ScriptedEngine(), chooser="longest")


def test_a_question_is_asked_as_a_query_and_answered_from_the_state():
    state = Match().state_dict()
    engine = ScriptedEngine("check robot1.location = home", parse=parse_query)
    outcome = Assistant(engine, verdict_samples=0).answer("is robot one home?", state)
    assert outcome.text == "Yes, Robot 1 is at home."
    assert outcome.query == "check robot1.location = home"
    request = engine.requests[0]
    assert request.adapter == "qa" and request.constraint == QUERY_CONSTRAINT
    assert request.message_dicts()[-1]["content"] == "is robot one home?"


@pytest.mark.parametrize("question, reply", [
    ("where is robot 3?", "There is no robot 3: I can only command robot 1 and robot 2."),
    ("what is the third robot doing", "There is no third robot: I can only command robot 1 "
                                      "and robot 2."),
    ("what's on plate nine", "There is no plate 9: plates are numbered 1 to 5."),
    ("how many cherries are in holder 7", "There is no holder 7: holders are numbered 1 to 4."),
])
def test_a_question_naming_what_the_world_lacks_is_answered_without_the_model(question, reply):
    engine = ScriptedEngine()
    outcome = Assistant(engine).answer(question, Match().state_dict())
    assert outcome.text == f"I can't tell that from the robots' state. {reply}"
    assert outcome.query == "unknown" and engine.requests == []


@pytest.mark.parametrize("question", ["where is robot two", "how many cherries are in holder "
                                      "three", "where's the first robot", "what is on plate 4"])
def test_a_question_about_what_the_world_has_goes_to_the_model(question):
    engine = ScriptedEngine("robot1.location", parse=parse_query)
    Assistant(engine, verdict_samples=0).answer(question, Match().state_dict())
    assert len(engine.requests) == 1


def test_a_follow_up_is_asked_with_the_previous_query():
    state = Match().state_dict()
    engine = ScriptedEngine("robot1.location", "robot2.location", parse=parse_query)
    assistant = Assistant(engine)
    first = assistant.answer("where is robot 1?", state)
    second = assistant.answer("and robot two?", state, previous=first.query)
    assert second.text == "Robot 2 is at home."
    assert engine.requests[1].message_dicts()[-1]["content"] == \
        "Previous: robot1.location\nQuestion: and robot two?"


def test_a_yes_or_no_that_another_reading_decides_the_other_way_is_withheld():
    state = Match().state_dict()  # both robots at home, carrying nothing
    settled = ScriptedEngine("check robot1.location = home", *["check robot1.location = home"] * 4,
                             parse=parse_query)
    assert Assistant(settled).answer("is robot 1 home?", state).text == \
        "Yes, Robot 1 is at home."
    assert [r.sampling.greedy for r in settled.requests] == [True] + [False] * 4
    torn = ScriptedEngine("check robot1.location = home", "check robot1.carrying",
                          *["robot1.location"] * 3, parse=parse_query)
    text = Assistant(torn).answer("is robot 1 free?", state).text
    assert not text.startswith(("Yes", "No"))
    assert "Robot 1 is at home." in text and "Robot 1 carries nothing." in text
    plain = ScriptedEngine("robot1.location", parse=parse_query)
    assert Assistant(plain).answer("where is robot 1?", state).text == "Robot 1 is at home."
    assert len(plain.requests) == 1  # no yes/no, nothing sampled


def test_loading_without_the_adapters_fails_before_the_model_loads(tmp_path):
    with pytest.raises(AdapterMissingError) as caught:
        Assistant.load(adapters_dir=tmp_path, model=str(tmp_path / "no model"))
    assert caught.value.path == str(tmp_path / "bt")


def test_from_backend_passes_its_options_to_the_assistant(monkeypatch):
    import llm_mars.assistant as assistant_module
    from llm_mars.llm.backends import BackendConfig

    engine = ScriptedEngine()
    engine.adapters = ADAPTER_NAMES  # bt, qa and describe
    monkeypatch.setattr(assistant_module, "make_backend", lambda config: engine)
    made = Assistant.from_backend(BackendConfig(), chooser="describe", sample_every=True,
                                  timeout_s=360.0)
    assert (made.engine, made.sample_every, made.timeout_s) == (engine, True, 360.0)
