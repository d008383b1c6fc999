"""The ROS-free cores of the nodes: one robot's plan executor, the commander's rules, the
simulator's skill server, and the simulated match (a plan executor per robot over the
simulator, the same runner the ROS system uses). The nodes in :mod:`llm_mars.nodes` only wire
topics and timers to these."""
