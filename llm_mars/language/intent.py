"""What an operator utterance asks for, decided by rules before any LLM is involved.

Rules (documented for operators in docs/operator.md):

* **stop** — the utterance is a stop word ("stop", "halt", "freeze", "abort", "cancel", "hold
  on", "emergency stop") with nothing but robot names or "everyone"/"all"/"both" around it.
  Named robots stop; no name, or "everyone"/"all"/"both"/"robots", stops both. A stop is
  handled at once, never sent to the LLM, and halts the robots within one executor tick.
* **question** — it starts with a question word ("what", "where", "which", "who", "why",
  "how", "is", "are", "does", "did", "has", "have", "when will/did/is...", "tell me", "can you
  tell me", "report", "status", "score"...), or it ends with "?" and is not a polite request
  ("can you bring the pink cake?" is a command).
* **command** — everything else. A command replaces what the addressed robots are doing,
  unless it starts with a queueing phrase ("then", "after that", "afterwards", "next", "when
  you are done", "once you're finished", "and then", "later"), in which case it is queued
  behind the current plan.

Robot mentions understood: robot1 / robot 1 / robot one / r1 / bot 1 / the first robot, and
the same for every robot of the world. The rules read the folded form of the utterance
(:class:`~llm_mars.language.normaliser.Said`), so a homophone that is also a preposition
("robot to") is not taken for a robot number.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from llm_mars import vocabulary as V
from llm_mars.language.lexicon import (HOMOPHONES, ORDINALS, PREPOSITIONS, ROBOT_WORDS,
                                       number_word)
from llm_mars.language.normaliser import Said, as_said


class Intent(str, enum.Enum):
    STOP = "stop"
    QUESTION = "question"
    COMMAND = "command"


@dataclass(frozen=True)
class Classified:
    intent: Intent
    robots: tuple[str, ...] = ()  # for STOP: who stops; else robots mentioned (may be empty)
    queue: bool = False  # for COMMAND: run after the current plan instead of replacing it


_NOUN = "|".join(ROBOT_WORDS)


def _robot_pattern(n: int) -> re.Pattern[str]:
    """Robot ``n`` named: "robot 2", "R2", "bot two", "robot too", "the second robot"."""
    heard = [w for w, value in HOMOPHONES.items() if value == n and w not in PREPOSITIONS]
    words = (str(n), number_word(n), ORDINALS[n], *heard)
    return re.compile(rf"\b(?:(?:{_NOUN}|r)\s*(?:{'|'.join(words)})\b|"
                      rf"(?:the\s+)?{ORDINALS[n]}\s+(?:{_NOUN})\b)")


_ROBOT_PATTERNS = {robot: _robot_pattern(n) for n, robot in enumerate(V.ROBOTS, 1)}
_EVERYONE = re.compile(r"\b(everyone|everybody|all|both|robots|team|all robots|both robots)\b")
_STOP_WORDS = r"(?:emergency\s+stop|stop|halt|freeze|abort|cancel|hold\s+on|stand\s+still)"
_FILLER = r"(?:please|now|right\s+now|immediately|guys|everything|that|it|and|,|!|\.)"
_QUESTION_START = re.compile(
    r"^(?:what|what's|whats|where|where's|wheres|which|who|whose|why|how|is|are|does|do|did|"
    r"has|have|tell\s+me|report|status|score|give\s+me\s+(?:the\s+)?status|"
    r"(?:can|could|would)\s+you\s+tell\s+me|when\s+(?:will|did|does|do|is|are|can|was))\b"
)
_POLITE_REQUEST = re.compile(r"^(?:can|could|will|would)\s+(?:you|robot|bot|r\d|the|both|everyone)")
_QUEUE_START = re.compile(
    r"^(?:and\s+)?(?:then|after\s+that|afterwards|after\s+this|next|later|"
    r"when\s+you(?:'re|\s+are)\s+(?:done|finished)|once\s+you(?:'re|\s+are)\s+(?:done|finished)|"
    r"when\s+(?:that's|that\s+is)\s+done)\b"
)


def robots_mentioned(utterance: str | Said) -> tuple[str, ...]:
    """Robots named in the utterance, in vocabulary order."""
    return _robots_in(as_said(utterance).folded)


def _robots_in(folded: str) -> tuple[str, ...]:
    return tuple(r for r in V.ROBOTS if _ROBOT_PATTERNS[r].search(folded))


def _strip_robot_mentions(text: str) -> str:
    for pattern in _ROBOT_PATTERNS.values():
        text = pattern.sub(" ", text)
    return _EVERYONE.sub(" ", text)


def _is_stop(lowered: str) -> bool:
    rest = _strip_robot_mentions(lowered)
    rest = re.sub(rf"\b{_STOP_WORDS}\b", " STOP ", rest)
    rest = re.sub(rf"\b{_FILLER}|{_FILLER}", " ", rest)
    words = rest.split()
    return bool(words) and all(w == "STOP" for w in words)


def classify(utterance: str | Said) -> Classified:
    """Classify one utterance (typed or recognised speech, punctuation optional)."""
    lowered = as_said(utterance).folded
    robots = _robots_in(lowered)
    if _is_stop(lowered):
        return Classified(Intent.STOP, robots or V.ROBOTS)
    if lowered.endswith("?") and not _POLITE_REQUEST.match(lowered):
        return Classified(Intent.QUESTION, robots)
    if _QUESTION_START.match(lowered):
        return Classified(Intent.QUESTION, robots)
    return Classified(Intent.COMMAND, robots, queue=bool(_QUEUE_START.match(lowered)))
