"""What a correct result must satisfy: predicates over the final world state, facts a correct
answer must state, and the case files of the development set that hold them.

The evaluation runs each command case through the whole pipeline and checks the final state
JSON (DESIGN.md section 3) against the case's predicates; it asks the qa adapter each question
and checks the answer text against the case's facts. Predicates judge the outcome, never the
plan, so that every correct plan passes. The format is documented in ``docs/evaluation.md``.
Pure Python: no model, no simulator, no ROS.
"""
from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm_mars import vocabulary as V
from llm_mars.errors import ExpectationError
from llm_mars.language.lexicon import NUMBER_WORDS, NUMBERED_THINGS

# --- failures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """One expectation that did not hold, where it sits in its case and why it failed."""

    where: str  # e.g. "expect[2]", "expect[0].all[1]", "answer_facts[0]", "kind"
    expectation: Any  # the predicate or fact (JSON object) that failed
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


# --- predicates over the state JSON ---------------------------------------------------------

_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}
OPERATORS: tuple[str, ...] = ("eq", "ne", *_COMPARISONS, "len", "contains", "in", "exists")
COMBINATORS: tuple[str, ...] = ("all", "any", "not")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _json_equal(a: Any, b: Any) -> bool:
    """JSON equality: 3 == 3.0, but true != 1 and "3" != 3."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _cakes(value: Any) -> list[Mapping[str, Any]] | None:
    """The cakes in one plate's list, or in all plates of a ``plates`` mapping; None if the
    value is neither."""
    lists = list(value.values()) if isinstance(value, Mapping) else [value]
    cakes: list[Mapping[str, Any]] = []
    for cake_list in lists:
        if not isinstance(cake_list, list):
            return None
        for cake in cake_list:
            if not (isinstance(cake, Mapping) and isinstance(cake.get("layers"), list)):
                return None
            cakes.append(cake)
    return cakes


def _count(value: Any) -> int | None:
    return len(value) if isinstance(value, (list, dict, str)) else None


def _sum(value: Any) -> float | None:
    items = list(value.values()) if isinstance(value, Mapping) else value
    if not isinstance(items, list) or not all(_is_number(x) for x in items):
        return None
    return sum(items)


def _layers(value: Any) -> int | None:
    cakes = _cakes(value)
    return None if cakes is None else sum(len(c["layers"]) for c in cakes)


def _legendary(value: Any) -> int | None:
    cakes = _cakes(value)
    return None if cakes is None else sum(V.is_legendary(c["layers"]) for c in cakes)


def _cherry_cakes(value: Any) -> int | None:
    cakes = _cakes(value)
    return None if cakes is None else sum(c.get("cherry") is True for c in cakes)


# "of" helpers: derive one number from the value at the path (None: not applicable to it).
HELPERS: dict[str, Callable[[Any], float | None]] = {
    "count": _count,  # length of a list, object or string
    "sum": _sum,  # sum of a list of numbers or of an object's number values
    "layers": _layers,  # cake layers on a plate (or on all plates of "plates")
    "legendary": _legendary,  # cakes that are exactly brown, yellow, pink (bottom to top)
    "cherry_cakes": _cherry_cakes,  # cakes with a cherry on top
}


def _where_join(where: str, suffix: str) -> str:
    return f"{where}.{suffix}" if where else suffix


def validate_predicate(predicate: Any, where: str = "") -> None:
    """Raise :class:`ExpectationError` unless ``predicate`` is a well-formed predicate."""
    if not isinstance(predicate, Mapping):
        raise ExpectationError(where, f"a predicate is a JSON object, got {predicate!r}")
    combinators = [k for k in predicate if k in COMBINATORS]
    if combinators:
        if len(predicate) != 1:
            raise ExpectationError(
                where, f"a combinator object has exactly one key, got {sorted(predicate)}"
            )
        name = combinators[0]
        inner = predicate[name]
        if name == "not":
            validate_predicate(inner, _where_join(where, "not"))
            return
        if not isinstance(inner, list) or not inner:
            raise ExpectationError(where, f"{name!r} takes a non-empty list of predicates")
        for i, item in enumerate(inner):
            validate_predicate(item, _where_join(where, f"{name}[{i}]"))
        return

    path = predicate.get("path")
    if not isinstance(path, str) or not path or any(not s for s in path.split(".")):
        raise ExpectationError(
            where, f"'path' must be a dotted path like 'robots.robot1.location', got {path!r}"
        )
    unknown = set(predicate) - {"path", "of", *OPERATORS}
    if unknown:
        raise ExpectationError(where, f"unknown keys {sorted(unknown)}")
    ops = [k for k in predicate if k in OPERATORS]
    if len(ops) != 1:
        raise ExpectationError(
            where, f"a predicate has exactly one operator of {OPERATORS}, got {ops}"
        )
    op, value = ops[0], predicate[ops[0]]
    if "of" in predicate:
        if predicate["of"] not in HELPERS:
            raise ExpectationError(
                where, f"unknown helper 'of': {predicate['of']!r}; known: {sorted(HELPERS)}"
            )
        if op in ("len", "contains", "exists"):
            raise ExpectationError(where, f"'of' gives a number; it cannot be used with {op!r}")
    if op in _COMPARISONS and not (_is_number(value) and math.isfinite(value)):
        raise ExpectationError(where, f"{op!r} takes a finite number, got {value!r}")
    if op == "len" and not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        raise ExpectationError(where, f"'len' takes a non-negative integer, got {value!r}")
    if op == "in" and not isinstance(value, list):
        raise ExpectationError(where, f"'in' takes a list of allowed values, got {value!r}")
    if op == "exists" and not isinstance(value, bool):
        raise ExpectationError(where, f"'exists' takes true or false, got {value!r}")


def validate_predicates(predicates: Any, where: str = "expect") -> None:
    """Raise :class:`ExpectationError` unless ``predicates`` is a list of valid predicates."""
    if not isinstance(predicates, list):
        raise ExpectationError(where, f"predicates are a JSON list, got {predicates!r}")
    for i, predicate in enumerate(predicates):
        validate_predicate(predicate, f"{where}[{i}]")


def lookup(state: Any, path: str) -> tuple[bool, Any]:
    """Follow a dotted path (object keys; list indices, negative from the end).

    Returns ``(True, value)`` or ``(False, why it is missing)``.
    """
    value = state
    walked: list[str] = []
    for segment in path.split("."):
        here = ".".join(walked) or "the state"
        if isinstance(value, Mapping):
            if segment not in value:
                return False, f"{here} has no key {segment!r}"
            value = value[segment]
        elif isinstance(value, list):
            try:
                index = int(segment)
            except ValueError:
                return False, f"{here} is a list; {segment!r} is not an index"
            if not -len(value) <= index < len(value):
                return False, f"{here} has {len(value)} items; no index {index}"
            value = value[index]
        else:
            return False, f"{here} is {_show(value)}, not an object or list"
        walked.append(segment)
    return True, value


def _show(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."


def _check_leaf(predicate: Mapping[str, Any], state: Any) -> str | None:
    """None if the predicate holds, else why not."""
    path = predicate["path"]
    op = next(k for k in predicate if k in OPERATORS)
    expected = predicate[op]
    found, value = lookup(state, path)
    if op == "exists":
        if found == expected:
            return None
        return f"{path} exists ({_show(value)})" if found else f"{path} is missing: {value}"
    if not found:
        return f"{path} is missing: {value}"
    subject = path
    helper = predicate.get("of")
    if helper is not None:
        derived = HELPERS[helper](value)
        if derived is None:
            return f"{helper!r} does not apply to {path} = {_show(value)}"
        subject, value = f"{helper} of {path}", derived

    if op == "eq":
        held = _json_equal(value, expected)
    elif op == "ne":
        held = not _json_equal(value, expected)
    elif op in _COMPARISONS:
        if not _is_number(value):
            return f"{subject} is {_show(value)}, not a number"
        held = _COMPARISONS[op](value, expected)
    elif op == "len":
        if _count(value) is None:
            return f"{subject} is {_show(value)}, which has no length"
        if len(value) == expected:
            return None
        return f"{subject} has {len(value)} items, expected {expected}: {_show(value)}"
    elif op == "contains":
        if isinstance(value, list):
            held = any(_json_equal(item, expected) for item in value)
        elif isinstance(value, str):
            held = isinstance(expected, str) and expected in value
        elif isinstance(value, Mapping):
            held = isinstance(expected, str) and expected in value
        else:
            return f"{subject} is {_show(value)}, which cannot contain anything"
    else:  # "in"
        held = any(_json_equal(value, allowed) for allowed in expected)
    return None if held else f"{subject} is {_show(value)}, expected {op} {_show(expected)}"


def _check(predicate: Mapping[str, Any], state: Any, where: str) -> list[Failure]:
    if "all" in predicate:
        return [
            f for i, p in enumerate(predicate["all"]) for f in _check(p, state, f"{where}.all[{i}]")
        ]
    if "any" in predicate:
        reasons = []
        for i, p in enumerate(predicate["any"]):
            failures = _check(p, state, f"{where}.any[{i}]")
            if not failures:
                return []
            reasons.extend(f.reason for f in failures)
        return [Failure(where, predicate, "no alternative held: " + "; ".join(reasons))]
    if "not" in predicate:
        if _check(predicate["not"], state, f"{where}.not"):
            return []
        return [Failure(where, predicate, f"held, but must not: {_show(predicate['not'])}")]
    reason = _check_leaf(predicate, state)
    return [] if reason is None else [Failure(where, predicate, reason)]


def evaluate(predicates: Sequence[Mapping[str, Any]], state: Mapping[str, Any],
             where: str = "expect") -> list[Failure]:
    """The predicates that do not hold on ``state``, each with the reason.

    A path missing from the state is a failure, not an error; a malformed predicate raises
    :class:`ExpectationError` before anything is evaluated.
    """
    validate_predicates(list(predicates), where)
    return [f for i, p in enumerate(predicates) for f in _check(p, state, f"{where}[{i}]")]


# --- facts a correct answer must state ------------------------------------------------------

FACT_KINDS: tuple[str, ...] = ("any_of", "none_of", "number")

_UNITS = {word: n for word, n in NUMBER_WORDS.items() if n < 20}
_TENS = {word: n for word, n in NUMBER_WORDS.items() if 20 <= n < 100}
# A number right after one of these words is part of a name ("robot 2", "plate 3"), not a count.
_NAME_WORDS = frozenset(NUMBERED_THINGS)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _number_words_to_digits(tokens: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if token in _TENS:
            value = _TENS[token]
            if 1 <= _UNITS.get(following, 0) <= 9:
                value += _UNITS[following]
                i += 1
            out.append(str(value))
        elif token in _UNITS:
            if following == "hundred":
                out.append(str(_UNITS[token] * 100))
                i += 1
            else:
                out.append(str(_UNITS[token]))
        elif token == "hundred":
            out.append("100")
        else:
            out.append(token)
        i += 1
    return out


def normalize_text(text: str) -> str:
    """Lower case, words and numbers separated by single spaces, number words as digits,
    ``plate_3`` / ``plate3`` / ``Plate three`` all as ``plate 3``."""
    text = text.lower().replace("_", " ").replace("-", " ")
    text = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", " ", text)
    text = re.sub(r"[^a-z0-9.]", " ", text)
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)
    return " ".join(_number_words_to_digits(text.split()))


def numbers_in(text: str) -> list[float]:
    """The quantities an answer states (digits or words), leaving out the numbers that are
    part of a name such as ``robot 2`` or ``holder 4``."""
    tokens = normalize_text(text).split()
    return [
        float(token)
        for i, token in enumerate(tokens)
        if _NUMBER.fullmatch(token) and (i == 0 or tokens[i - 1] not in _NAME_WORDS)
    ]


def _mentions(normalized_text: str, phrase: str) -> bool:
    return f" {normalize_text(phrase)} " in f" {normalized_text} "


def validate_fact(fact: Any, where: str = "") -> None:
    """Raise :class:`ExpectationError` unless ``fact`` is a well-formed answer fact."""
    if not isinstance(fact, Mapping):
        raise ExpectationError(where, f"a fact is a JSON object, got {fact!r}")
    kinds = [k for k in fact if k in FACT_KINDS]
    if len(kinds) != 1:
        raise ExpectationError(where, f"a fact has exactly one of {FACT_KINDS}, got {sorted(fact)}")
    kind = kinds[0]
    allowed = {"number", "tolerance"} if kind == "number" else {kind}
    if set(fact) - allowed:
        raise ExpectationError(where, f"unknown keys {sorted(set(fact) - allowed)}")
    if kind == "number":
        number, tolerance = fact["number"], fact.get("tolerance", 0)
        if not (_is_number(number) and math.isfinite(number)):
            raise ExpectationError(where, f"'number' takes a finite number, got {number!r}")
        if not (_is_number(tolerance) and math.isfinite(tolerance) and tolerance >= 0):
            raise ExpectationError(where, f"'tolerance' takes a number >= 0, got {tolerance!r}")
        return
    phrases = fact[kind]
    if not (isinstance(phrases, list) and phrases
            and all(isinstance(p, str) and normalize_text(p) for p in phrases)):
        raise ExpectationError(
            where, f"{kind!r} takes a non-empty list of phrases, got {phrases!r}"
        )


def validate_facts(facts: Any, where: str = "answer_facts") -> None:
    if not isinstance(facts, list) or not facts:
        raise ExpectationError(where, f"answer facts are a non-empty JSON list, got {facts!r}")
    for i, fact in enumerate(facts):
        validate_fact(fact, f"{where}[{i}]")


def check_answer(answer_text: str, facts: Sequence[Mapping[str, Any]],
                 where: str = "answer_facts") -> list[Failure]:
    """The facts that ``answer_text`` does not state (or, for ``none_of``, wrongly states).

    Matching is case-insensitive on whole words; numbers may be digits or words; ``plate_3``,
    ``plate 3`` and ``plate three`` are the same; so are ``robot1`` and ``robot 1``.
    """
    validate_facts(list(facts), where)
    text = normalize_text(answer_text)
    failures: list[Failure] = []
    for i, fact in enumerate(facts):
        if "any_of" in fact:
            if not any(_mentions(text, p) for p in fact["any_of"]):
                failures.append(
                    Failure(f"{where}[{i}]", fact, f"mentions none of {fact['any_of']}")
                )
        elif "none_of" in fact:
            said = [p for p in fact["none_of"] if _mentions(text, p)]
            if said:
                failures.append(Failure(f"{where}[{i}]", fact, f"wrongly mentions {said}"))
        else:
            target, tolerance = fact["number"], fact.get("tolerance", 0)
            stated = numbers_in(answer_text)
            if not any(abs(n - target) <= tolerance + 1e-9 for n in stated):
                within = f" (within {tolerance:g})" if tolerance else ""
                failures.append(Failure(
                    f"{where}[{i}]", fact,
                    f"does not state the number {target:g}{within}; numbers stated: "
                    f"{[f'{n:g}' for n in stated] or 'none'}",
                ))
    return failures


# --- development-set cases ------------------------------------------------------------------

KINDS: tuple[str, ...] = ("plan", "reply")
MAX_TASKS = 4
SESSION_SEPARATOR = " || "  # separates the commands of a session on one `--batch` line


def _require(condition: bool, where: str, problem: str) -> None:
    if not condition:
        raise ExpectationError(where, problem)


def _string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(x, str) for x in value)


@dataclass(frozen=True)
class CommandCase:
    """One line of ``commands.jsonl``: a command session and what its outcome must satisfy.

    ``kind`` "plan": the commands are executed and the final state must satisfy ``expect``.
    ``kind`` "reply": the single command cannot be expressed by the skills; it must get a
    reply instead of a plan, and ``expect`` says the world stayed as it was.
    """

    id: str
    commands: tuple[str, ...]
    tasks: int
    kind: str
    expect: tuple[Mapping[str, Any], ...]
    tags: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Any, where: str = "") -> CommandCase:
        _require(isinstance(data, Mapping), where, "a case is a JSON object")
        where = str(data.get("id", where)) or where
        keys = {"id", "commands", "tasks", "kind", "expect", "tags"}
        _require(not set(data) - keys, where, f"unknown keys {sorted(set(data) - keys)}")
        _require(isinstance(data.get("id"), str) and bool(data["id"]), where,
                 "'id' must be a non-empty string")
        commands = data.get("commands")
        _require(_string_list(commands) and bool(commands) and all(c.strip() for c in commands),
                 where, "'commands' must be a non-empty list of non-empty strings")
        _require(not any(SESSION_SEPARATOR.strip() in c for c in commands), where,
                 f"a command may not contain the session separator {SESSION_SEPARATOR.strip()!r}")
        tasks = data.get("tasks")
        _require(isinstance(tasks, int) and not isinstance(tasks, bool) and 1 <= tasks <= MAX_TASKS,
                 where, f"'tasks' must be an integer 1..{MAX_TASKS}, got {tasks!r}")
        kind = data.get("kind")
        _require(kind in KINDS, where, f"'kind' must be one of {KINDS}, got {kind!r}")
        _require(kind != "reply" or len(commands) == 1, where,
                 "a 'reply' case has exactly one command")
        expect = data.get("expect")
        _require(isinstance(expect, list) and bool(expect), where,
                 "'expect' must be a non-empty list")
        validate_predicates(expect, f"{where}.expect")
        tags = data.get("tags", [])
        _require(_string_list(tags), where, "'tags' must be a list of strings")
        return cls(data["id"], tuple(commands), tasks, kind, tuple(expect), tuple(tags))


def evaluate_case(case: CommandCase, state: Mapping[str, Any]) -> list[Failure]:
    """Everything wrong with the final ``state`` of a case: a plan case must get no reply, a
    reply case must get one (under ``"replies"``), and every predicate must hold."""
    found, replies = lookup(state, "replies")
    got_reply = found and isinstance(replies, list) and len(replies) > 0
    failures = []
    if case.kind == "plan" and got_reply:
        failures.append(
            Failure("kind", case.kind, f"expected a plan, got a reply: {_show(replies)}")
        )
    if case.kind == "reply" and not got_reply:
        failures.append(Failure("kind", case.kind, "expected a reply to the operator, got none"))
    return failures + evaluate(case.expect, state)


@dataclass(frozen=True)
class QuestionCase:
    """One line of ``questions.jsonl``: a state, a question about it, and the facts a correct
    answer states. ``state_ref`` is the state file it came from, if any. ``before``: the
    questions asked earlier in the same session, in order (a follow-up such as "and robot
    two?" is asked after them; only its own answer is checked)."""

    id: str
    state: Mapping[str, Any]
    question: str
    answer_facts: tuple[Mapping[str, Any], ...]
    tags: tuple[str, ...] = ()
    state_ref: str | None = None
    before: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Any, base_dir: Path, where: str = "") -> QuestionCase:
        _require(isinstance(data, Mapping), where, "a case is a JSON object")
        where = str(data.get("id", where)) or where
        keys = {"id", "state", "question", "answer_facts", "tags", "before"}
        _require(not set(data) - keys, where, f"unknown keys {sorted(set(data) - keys)}")
        _require(isinstance(data.get("id"), str) and bool(data["id"]), where,
                 "'id' must be a non-empty string")
        before = data.get("before", [])
        _require(_string_list(before) and all(b.strip() for b in before), where,
                 "'before' must be a list of non-empty questions")
        question = data.get("question")
        _require(isinstance(question, str) and bool(question.strip()), where,
                 "'question' must be a non-empty string")
        state, ref = data.get("state"), None
        _require(isinstance(state, Mapping), where,
                 "'state' must be a state object or {\"ref\": PATH}")
        if set(state) == {"ref"}:
            ref = state["ref"]
            _require(isinstance(ref, str) and bool(ref), where, "'ref' must be a relative path")
            state = _read_json(base_dir / ref, where)
            _require(isinstance(state, Mapping), where, f"{ref} does not hold a JSON object")
        facts = data.get("answer_facts")
        validate_facts(facts, f"{where}.answer_facts")
        tags = data.get("tags", [])
        _require(_string_list(tags), where, "'tags' must be a list of strings")
        return cls(data["id"], state, question, tuple(facts), tuple(tags), ref, tuple(before))


def _read_json(path: Path, where: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ExpectationError(where, f"cannot read {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ExpectationError(
            where, f"{path} is not JSON: {exc.msg} at line {exc.lineno}"
        ) from exc


def _read_jsonl(path: Path) -> list[tuple[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ExpectationError(str(path), f"cannot read: {exc.strerror}") from exc
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            rows.append((where, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise ExpectationError(where, f"not JSON: {exc.msg} at column {exc.colno}") from exc
    return rows


def _unique_ids(cases: Sequence[CommandCase] | Sequence[QuestionCase], path: Path) -> None:
    seen: set[str] = set()
    for case in cases:
        _require(case.id not in seen, f"{path.name}:{case.id}", "duplicate id")
        seen.add(case.id)


def load_command_cases(path: str | Path) -> list[CommandCase]:
    """Read and validate a ``commands.jsonl`` file; raise :class:`ExpectationError` on any
    malformed line or predicate, or a repeated id."""
    path = Path(path)
    cases = [CommandCase.from_json(data, where) for where, data in _read_jsonl(path)]
    _unique_ids(cases, path)
    return cases


def load_question_cases(path: str | Path) -> list[QuestionCase]:
    """Read and validate a ``questions.jsonl`` file; ``{"ref": ...}`` states are read relative
    to the file's folder."""
    path = Path(path)
    cases = [QuestionCase.from_json(data, path.parent, where) for where, data in _read_jsonl(path)]
    _unique_ids(cases, path)
    return cases
