"""What a plan leaves out of its command (llm_mars.language.mentions)."""
import pytest

from llm_mars.bt.parser import parse_bt_output
from llm_mars.language.mentions import missing_mentions


def plan(*trees: str):
    body = "".join(f'<BehaviorTree ID="{robot}">{steps}</BehaviorTree>' for robot, steps in
                   (t.split(":", 1) for t in trees))
    return parse_bt_output(f'<root BTCPP_format="4">{body}</root>')


@pytest.mark.parametrize("command, trees, missing", [
    ("robot 2 go to quadrant 2 and wait 3 seconds there",
     ['robot2:<Wait seconds="3.0"/>'], {"2"}),
    ("robot 2 go to quadrant 2 and wait 3 seconds there",
     ['robot2:<Sequence><MoveTo target="quadrant_2"/><Wait seconds="3.0"/></Sequence>'], set()),
    ("R2 put four cherries in the basket",
     ['robot2:<SubTree ID="CherriesToBasket" holder="2"/>'], {"4", "4 cherries"}),
    ("robot1 drop two cherries in the basket",  # holder 2 is not the 2 cherries asked for
     ['robot1:<SubTree ID="CherriesToBasket" holder="2"/>'], {"2 cherries"}),
    ("collect 5 cherries from holder 1 and put 2 cherries on the cake on plate 3",
     ['robot1:<Sequence><CollectCherries holder="1" count="5"/><PutCherry plate="3"/>'
      '</Sequence>'], {"2", "2 cherries"}),
    ("collect 5 cherries from holder 1 and put 2 cherries on the cakes on plate 3",
     ['robot1:<Sequence><CollectCherries holder="1" count="5"/><PutCherry plate="3"/>'
      '<PutCherry plate="3"/></Sequence>'], set()),
    ("R2 put four cherries in the basket",
     ['robot2:<Sequence><CollectCherries holder="2" count="4"/><DropCherries/></Sequence>'],
     set()),
    ("robot one bring the yellow cake from quadrant 3 to tray 2 and do the disguise thing",
     ['robot1:<Sequence><PickCake color="yellow" quadrant="3"/><PlaceCakes plate="2"/>'
      '</Sequence>'], {"funny action"}),
    ("robot 1 go to plate 2 then robot 2 finish the match",  # the subtree goes home, does it
     ['robot1:<MoveTo target="plate_2"/>', 'robot2:<SubTree ID="FinishMatch"/>'], set()),
    ("both robots go home", ['robot1:<MoveTo target="home"/>'], {"robot2", "home for robot2"}),
    ("the second robot picks the pink stack in quadrant 1 and the brown one",
     ['robot2:<PickCake color="pink" quadrant="1"/>'], {"brown"}),
    ("robot 1 take two stacks from quadrant 3",  # a count of steps covers a number
     ['robot1:<Sequence><PickCake color="pink" quadrant="3"/>'
      '<PickCake color="brown" quadrant="3"/></Sequence>'], set()),
    ("robot 1 go home within 30 seconds",
     ['robot1:<Timeout msec="30000"><MoveTo target="home"/></Timeout>'], set()),
    ("robot 1 put a cherry on plate 4 and drop both in the basket",  # "one" and "both ..."
     ['robot1:<Sequence><CollectCherries holder="2" count="1"/><PutCherry plate="4"/>'
      '<DropCherries/></Sequence>'], set()),
])
def test_missing_mentions(command, trees, missing):
    assert missing_mentions(command, plan(*trees)) == missing


@pytest.mark.parametrize("trees, missing", [
    (['robot1:<Sequence><PickCake color="brown" quadrant="1"/><PickCake color="pink" '
      'quadrant="1"/><PlaceCakes plate="1"/></Sequence>'], {"legendary order"}),
    (['robot1:<Sequence><PickCake color="brown" quadrant="1"/><PickCake color="pink" '
      'quadrant="1"/><PlaceCakes plate="1" sort="true"/></Sequence>'], set()),
])
def test_legendary_cakes_are_placed_sorted(trees, missing):
    assert missing_mentions("robot 1 take the brown and pink stacks from quadrant 1 and put "
                            "them sorted on plate 1", plan(*trees)) == missing


def test_the_legendary_subtree_places_sorted():
    assert missing_mentions("R1 build legendary cakes from quadrant 2 on plate 3", plan(
        'robot1:<SubTree ID="BuildLegendaryCakes" quadrant="2" plate="3"/>')) == set()


def test_both_going_home_needs_each_robots_tree_to_go_home():
    command = ("robot 2 put the brown cake on plate 3 and robot 1 puts a cherry on it, then "
               "both go home")
    one_home = ['robot1:<Sequence><PutCherry plate="3"/><MoveTo target="home"/></Sequence>',
                'robot2:<Sequence><PickCake color="brown" quadrant="3"/><PlaceCakes plate="3"/>'
                '</Sequence>']
    assert missing_mentions(command, plan(*one_home)) == {"home for robot2"}
    both_home = [one_home[0], one_home[1].replace("</Sequence>",
                                                  '<MoveTo target="home"/></Sequence>')]
    assert missing_mentions(command, plan(*both_home)) == set()


def test_a_cherry_on_a_cake_needs_a_cherry_put():
    command = "robot 1 bring the brown cake to plate 3 and put a cherry on it"
    delivered = 'robot1:<Sequence><PickCake color="brown" quadrant="3"/><PlaceCakes plate="3"/>'
    assert missing_mentions(command, plan(delivered + "</Sequence>")) == {"cherry on a cake"}
    assert missing_mentions(command, plan(
        delivered + '<CollectCherries holder="2" count="1"/><PutCherry plate="3"/></Sequence>'
    )) == set()
