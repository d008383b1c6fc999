"""The operator's language: what a command or question says, read by rules before and beside
the model.

An utterance is normalised once where it enters (:class:`.normaliser.Said`) and every rule
reads that object:

* :mod:`.lexicon` - the words: numbers, ordinals, robot, place and colour words;
* :mod:`.normaliser` - typed or heard text to the forms the rules read;
* :mod:`.intent` - stop, question or command, who is named, queue or replace;
* :mod:`.grounding` - what a command names that the world lacks, and the values its plan may use;
* :mod:`.mentions` - what a plan leaves out of its command;
* :mod:`.decomposition` - a compound command cut into clauses, their plans joined.

Nothing here imports the model, ROS or the speech recogniser.
"""
