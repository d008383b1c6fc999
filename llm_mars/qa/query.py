"""The state query language: what an operator's question asks of the world state.

The qa adapter writes each question as one query, decoded under :func:`query_grammar_ebnf`;
:mod:`llm_mars.qa.answers` runs the query on the state JSON (DESIGN.md section 3) and renders
the answer, so every number, place and yes/no of an answer comes from the state and the
model's only job is to understand the question. The language is derived from the state
schema: a *reference* names a subject of the state and one of its attributes, and the
subjects, attributes, places, colours and skills are those of :mod:`llm_mars.vocabulary` and
the skill registry.

A query is one line in one of these forms (the canonical text, as :func:`format_query`
writes it and the grammar admits it)::

    robot1.location                          describe a value
    robot1.location and robot1.carrying      describe two (a two-part question)
    check robot1.location = home             yes/no: a test of a value
    check robot1.cherries > robot2.cherries  yes/no: a comparison of two counts
    check all robots.busy                    yes/no over a set (all / any)
    check all plates.cakes(cherry) = plates.cakes   member by member: each plate's own counts
    which holders.cherries = 0               the members of a set for which a test holds
    most robots.cherries                     the member with the largest count (least: smallest)
    unknown                                  the state does not hold the answer

References are ``SUBJECT.ATTRIBUTE`` with an optional filter in brackets:
``robot2.history(PickCake brown quadrant_2 ok)`` (skill, colour, place, outcome; each
optional, in that order), ``plates.cakes(legendary cherry)`` (a colour or ``legendary``, then
``cherry``). A set subject (``robots``, ``holders``, ``quadrants``, ``plates``) stands for each
of its members. Every attribute has a type (:class:`Type`) that fixes the tests it takes:

==========  =============================================  ====================================
type        tests                                          attributes
==========  =============================================  ====================================
number      ``= > < >= <=`` a number 0-100 or a count      cherries, collected, score parts, time
place       ``= PLACE``                                    location, destination
status      ``= idle|running|succeeded|failed|cancelled``  status
colors      ``has COLOR``, bare (any?), or a count test    stacks (carried, or left in a quadrant)
list        bare (any?) or a count test                    history, cakes, signals sent
flag        bare                                           busy, funny, over, a stack still there
text        none: described only                           doing, next, position
==========  =============================================  ====================================

A list compared with a number compares its length (``which quadrants.stacks = 0``: the empty
quadrants). ``check plate_2.cakes(cherry) = plate_2.cakes`` asks whether every cake on plate 2
has a cherry; a set compared with a count of the same set compares each member with its own
count, so ``check all plates.cakes(cherry) = plates.cakes`` asks whether every cake has one. A
bare test of a list of steps counts the steps that succeeded unless the filter names an outcome
(:mod:`llm_mars.qa.answers` says what each test means exactly).
"""
from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass, field

from llm_mars import vocabulary as V
from llm_mars.bt.registry import REGISTRY, Category
from llm_mars.errors import QueryError

QUERY_CONSTRAINT = "query"
"""The engine's output constraint name for queries (:mod:`llm_mars.llm.engine`)."""

UNKNOWN = "unknown"
MAX_NUMBER = 100
"""Largest number literal of a test (the match lasts 100 s; no count on the field is larger)."""


class Type(str, enum.Enum):
    NUMBER = "number"
    PLACE = "place"
    STATUS = "status"
    COLORS = "colors"
    LIST = "list"
    FLAG = "flag"
    TEXT = "text"

    @property
    def countable(self) -> bool:
        """Compared by ``= > < >= <=`` with a number or another count."""
        return self in (Type.NUMBER, Type.COLORS, Type.LIST)

    @property
    def bare(self) -> bool:
        """Tested on its own (``check robot1.busy``: holds, or is not empty)."""
        return self in (Type.COLORS, Type.LIST, Type.FLAG)


@dataclass(frozen=True)
class Attribute:
    name: str
    type: Type
    filters: str | None = None  # "steps" | "cakes": the filter the attribute takes
    help: str = ""


STATUSES: dict[str, str] = {"idle": "IDLE", "running": "RUNNING", "succeeded": "SUCCESS",
                            "failed": "FAILURE", "cancelled": "CANCELLED"}
"""Status words of the language -> ``tree_status`` values of the state JSON."""
assert set(STATUSES.values()) == set(V.TREE_STATUSES)

OUTCOMES: dict[str, tuple[str, ...]] = {"ok": ("SUCCESS",), "failed": ("FAILURE", "CANCELLED")}
"""Outcome words of a history filter -> history entry statuses."""

LEGENDARY = "legendary"
CHERRY = "cherry"
COMPARISONS = ("=", ">", "<", ">=", "<=")
HAS = "has"
QUANTIFIERS = ("all", "any")
EXTREMES = ("most", "least")


def _skills() -> tuple[str, ...]:
    return tuple(k.tag for k in REGISTRY.of(Category.ACTION))


SKILLS: tuple[str, ...] = _skills()

_ROBOT = (
    Attribute("location", Type.PLACE, help="the place it stands at (or between places)"),
    Attribute("destination", Type.PLACE, help="where it is going or was going"),
    Attribute("doing", Type.TEXT, help="what it is doing now, and why it waits"),
    Attribute("next", Type.TEXT, help="what its running step is about to do"),
    Attribute("status", Type.STATUS, help="how its plan stands"),
    Attribute("carrying", Type.FLAG, help="everything it carries"),
    Attribute("stacks", Type.COLORS, help="the cake stacks it carries"),
    Attribute("cherries", Type.NUMBER, help="the cherries it carries"),
    Attribute("history", Type.LIST, "steps", help="the steps it ran, with their outcome"),
    Attribute("funny", Type.FLAG, help="whether it did the funny action"),
    Attribute("busy", Type.FLAG, help="whether a step is running"),
    Attribute("idle", Type.FLAG, help="whether no step is running"),
    Attribute("moving", Type.FLAG, help="whether it is driving"),
    Attribute("waiting", Type.FLAG, help="whether it waits for a signal or for the other robot"),
    Attribute("collected", Type.NUMBER, help="cherries it collected in all"),
    Attribute("dropped", Type.NUMBER, help="cherries it put in the basket in all"),
    Attribute("position", Type.TEXT, help="its coordinates in mm"),
)
ATTRIBUTES: dict[str, tuple[Attribute, ...]] = {
    "robot": _ROBOT,
    "holder": (Attribute("cherries", Type.NUMBER, help="cherries left in it"),),
    "quadrant": (Attribute("stacks", Type.COLORS, help="the stacks left in it"),
                 *(Attribute(c, Type.FLAG, help=f"where its {c} stack is") for c in V.COLORS)),
    "plate": (Attribute("cakes", Type.LIST, "cakes", help="the cakes on it"),),
    "basket": (Attribute("cherries", Type.NUMBER, help="cherries in the basket"),),
    "score": tuple(Attribute(p, Type.NUMBER, help=f"points: {p}")
                   for p in ("total", "cakes", "basket", "end_zone", "funny")),
    "time": (Attribute("elapsed", Type.NUMBER, help="match seconds played"),
             Attribute("left", Type.NUMBER, help="match seconds left"),
             Attribute("over", Type.FLAG, help="whether the match is over")),
    "signals": (Attribute("sent", Type.LIST, help="the signals raised so far"),),
}
"""Each kind of subject and its attributes, in grammar order."""

MEMBERS: dict[str, tuple[str, ...]] = {
    "robot": V.ROBOTS, "holder": V.HOLDERS, "quadrant": V.QUADRANTS, "plate": V.PLATES,
    "basket": ("basket",), "score": ("score",), "time": ("time",), "signals": ("signals",)}
SETS: dict[str, str] = {"robots": "robot", "holders": "holder", "quadrants": "quadrant",
                        "plates": "plate"}
"""Set subjects -> the kind of their members."""


def kind_of(subject: str) -> str:
    """The kind of a subject (``robot2`` -> ``robot``, ``plates`` -> ``plate``)."""
    if subject in SETS:
        return SETS[subject]
    for kind, members in MEMBERS.items():
        if subject in members:
            return kind
    raise QueryError(f"unknown subject {subject!r}")


def members_of(subject: str) -> tuple[str, ...]:
    """The members a subject stands for: a set's members, else the subject itself."""
    if subject in SETS:
        return MEMBERS[SETS[subject]]
    kind_of(subject)  # an unknown subject: QueryError
    return (subject,)


def attribute(kind: str, name: str) -> Attribute:
    for a in ATTRIBUTES[kind]:
        if a.name == name:
            return a
    raise QueryError(f"{kind} has no attribute {name!r}; it has "
                     f"{', '.join(a.name for a in ATTRIBUTES[kind])}")


# --- the query values -----------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """``SUBJECT.ATTRIBUTE(FILTERS)``."""

    subject: str
    attribute: str
    filters: tuple[str, ...] = ()

    def __post_init__(self):
        a = attribute(kind_of(self.subject), self.attribute)
        _check_filters(a, self.filters)

    @property
    def kind(self) -> str:
        return kind_of(self.subject)

    @property
    def is_set(self) -> bool:
        return self.subject in SETS

    @property
    def type(self) -> Type:
        return attribute(self.kind, self.attribute).type

    def on(self, subject: str) -> Ref:
        """The same reference on another subject (a member of a set)."""
        return Ref(subject, self.attribute, self.filters)

    def text(self) -> str:
        inner = f"({' '.join(self.filters)})" if self.filters else ""
        return f"{self.subject}.{self.attribute}{inner}"


@dataclass(frozen=True)
class Predicate:
    """A test of a value: ``op`` "" (bare), a comparison, ``has``; ``value`` a place, status
    word, colour, number or (for a comparison of counts) another reference."""

    op: str = ""
    value: str | int | Ref | None = None

    def text(self) -> str:
        if not self.op:
            return ""
        value = self.value.text() if isinstance(self.value, Ref) else str(self.value)
        return f" {self.op} {value}"


@dataclass(frozen=True)
class Describe:
    refs: tuple[Ref, ...]


@dataclass(frozen=True)
class Check:
    ref: Ref
    test: Predicate = field(default_factory=Predicate)
    quantifier: str | None = None  # "all" | "any", for a set reference


@dataclass(frozen=True)
class Which:
    ref: Ref  # a set reference
    test: Predicate = field(default_factory=Predicate)


@dataclass(frozen=True)
class Extreme:
    ref: Ref  # a set reference to a count
    most: bool = True


@dataclass(frozen=True)
class Unknown:
    pass


Query = Describe | Check | Which | Extreme | Unknown


def format_query(query: Query) -> str:
    """The canonical text of a query (what the grammar admits and the adapter writes)."""
    if isinstance(query, Unknown):
        return UNKNOWN
    if isinstance(query, Describe):
        return " and ".join(r.text() for r in query.refs)
    if isinstance(query, Check):
        quantifier = f"{query.quantifier} " if query.quantifier else ""
        return f"check {quantifier}{query.ref.text()}{query.test.text()}"
    if isinstance(query, Which):
        return f"which {query.ref.text()}{query.test.text()}"
    if isinstance(query, Extreme):
        return f"{'most' if query.most else 'least'} {query.ref.text()}"
    raise QueryError(f"not a query: {query!r}")


# --- checking ---------------------------------------------------------------------------


def _check_filters(a: Attribute, filters: tuple[str, ...]) -> None:
    if not filters:
        return
    if a.filters is None:
        raise QueryError(f"{a.name} takes no filter")
    slots = _FILTER_SLOTS[a.filters]
    position = 0
    for item in filters:
        while position < len(slots) and item not in slots[position]:
            position += 1
        if position == len(slots):
            raise QueryError(f"{a.name}({' '.join(filters)}): {item!r} is not a filter here, "
                             "or out of order")
        position += 1


_FILTER_SLOTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "steps": (SKILLS, V.COLORS, V.PLACES, tuple(OUTCOMES)),
    "cakes": ((*V.COLORS, LEGENDARY), (CHERRY,)),
}
"""The filter slots of each filter kind, in order; each slot holds at most one word."""


def check_test(ref: Ref, test: Predicate) -> None:
    """QueryError unless ``ref``'s type takes ``test``."""
    t = ref.type
    if not test.op:
        if not t.bare:
            raise QueryError(f"{ref.text()} ({t.value}) needs a test")
        return
    if test.op == HAS:
        if t is not Type.COLORS or test.value not in V.COLORS:
            raise QueryError(f"{ref.text()} has {test.value!r}: 'has' takes a colour list and a "
                             "colour")
        return
    if test.op not in COMPARISONS:
        raise QueryError(f"unknown test {test.op!r}")
    if t is Type.PLACE:
        if test.op != "=" or test.value not in V.PLACES:
            raise QueryError(f"{ref.text()} is tested '= PLACE'")
    elif t is Type.STATUS:
        if test.op != "=" or test.value not in STATUSES:
            raise QueryError(f"{ref.text()} is tested '= {'|'.join(STATUSES)}'")
    elif t.countable:
        value = test.value
        if isinstance(value, Ref):
            if value.is_set and value.subject != ref.subject or not value.type.countable:
                raise QueryError(f"{value.text()} is not one count to compare with (a set is "
                                 "compared only with a count of the same set)")
        elif not (isinstance(value, int) and 0 <= value <= MAX_NUMBER):
            raise QueryError(f"{ref.text()} is compared with a number 0-{MAX_NUMBER} or a count")
    else:
        raise QueryError(f"{ref.text()} ({t.value}) takes no comparison")


def check_query(query: Query) -> Query:
    """``query`` if it is well-formed (types, sets, quantifiers), else QueryError."""
    if isinstance(query, Describe):
        if not 1 <= len(query.refs) <= 2:
            raise QueryError("a description names one or two references")
    elif isinstance(query, Check):
        if query.ref.is_set != (query.quantifier is not None):
            raise QueryError("a set reference needs 'all' or 'any', and only a set takes one")
        if query.quantifier is not None and query.quantifier not in QUANTIFIERS:
            raise QueryError(f"unknown quantifier {query.quantifier!r}")
        check_test(query.ref, query.test)
    elif isinstance(query, Which):
        if not query.ref.is_set:
            raise QueryError("'which' takes a set reference")
        check_test(query.ref, query.test)
    elif isinstance(query, Extreme):
        if not query.ref.is_set or not query.ref.type.countable:
            raise QueryError("'most'/'least' take a set reference to a count")
    elif not isinstance(query, Unknown):
        raise QueryError(f"not a query: {query!r}")
    return query


# --- parsing ----------------------------------------------------------------------------

_REF = re.compile(r"([a-z_0-9]+)\.([a-z_]+)(?:\(([^()]*)\))?")
_TOKEN = re.compile(_REF.pattern + r"|\S+")


def parse_ref(text: str) -> Ref:
    match = _REF.fullmatch(text)
    if match is None:
        raise QueryError(f"{text!r} is not a reference SUBJECT.ATTRIBUTE(FILTERS)")
    subject, name, inner = match.groups()
    filters = tuple(inner.split(" ")) if inner is not None else ()
    if inner is not None and (not inner or "" in filters):
        raise QueryError(f"{text!r}: empty filter")
    return Ref(subject, name, filters)


def _operand(word: str) -> str | int | Ref:
    if re.fullmatch(r"0|[1-9][0-9]*", word):
        return int(word)
    return parse_ref(word) if _REF.fullmatch(word) else word


def _ref_and_test(tokens: list[str]) -> tuple[Ref, Predicate]:
    """``REF``, ``REF OP VALUE``."""
    if len(tokens) not in (1, 3):
        raise QueryError("expected REF or REF OP VALUE")
    ref = parse_ref(tokens[0])
    return ref, (Predicate(tokens[1], _operand(tokens[2])) if len(tokens) == 3 else Predicate())


def parse_query(text: str) -> Query:
    """The query a canonical text holds; QueryError (saying what is wrong) otherwise."""
    text = text.strip()
    tokens = [m.group(0) for m in _TOKEN.finditer(text)]
    try:
        if not tokens:
            raise QueryError("empty")
        head, rest = tokens[0], tokens[1:]
        if text == UNKNOWN:
            query: Query = Unknown()
        elif head == "check":
            quantifier = rest.pop(0) if rest and rest[0] in QUANTIFIERS else None
            query = Check(*_ref_and_test(rest), quantifier)
        elif head == "which":
            query = Which(*_ref_and_test(rest))
        elif head in EXTREMES:
            if len(rest) != 1:
                raise QueryError(f"'{head}' takes one reference")
            query = Extreme(parse_ref(rest[0]), head == "most")
        else:
            refs = tokens[::2]
            if any(t != "and" for t in tokens[1::2]):
                raise QueryError("references of a description are joined by 'and'")
            query = Describe(tuple(parse_ref(r) for r in refs))
        check_query(query)
    except QueryError as exc:
        raise QueryError(f"{text!r}: {exc}") from None
    if format_query(query) != text:
        raise QueryError(f"{text!r} is not in canonical form ({format_query(query)!r})")
    return query


# --- the grammar ------------------------------------------------------------------------


def _lit(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _alt(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else "(" + " | ".join(items) + ")"


def _filter_rule(kind: str) -> str:
    """Each slot optional, in order, at least one, one space between."""
    slots = [_alt(_lit(w) for w in slot) for slot in _FILTER_SLOTS[kind]]

    def from_slot(i: int) -> str:
        if i == len(slots) - 1:
            return slots[i]
        rest = " ".join(f'(" " {s})?' for s in slots[i + 1:])
        return f"{slots[i]} {rest}"

    return _alt(from_slot(i) for i in range(len(slots)))


def _refs_rule(sets: bool, accept, only: str | None = None) -> str | None:
    """The references (of single or of set subjects, or of subject ``only``) whose attribute
    ``accept`` takes."""
    parts = []
    for kind, attrs in ATTRIBUTES.items():
        subjects = [s for s, k in SETS.items() if k == kind] if sets else list(MEMBERS[kind])
        subjects = [s for s in subjects if only in (None, s)]
        if not subjects:
            continue
        plain = [a for a in attrs if accept(a) and a.filters is None]
        filtered = [a for a in attrs if accept(a) and a.filters is not None]
        subject = _alt(_lit(s) for s in subjects)
        if plain:
            parts.append(f'{subject} "." {_alt(_lit(a.name) for a in plain)}')
        for a in filtered:
            parts.append(f'{subject} "." {_lit(a.name)} ("(" {a.filters}_filter ")")?')
    return _alt(parts) if parts else None


@functools.lru_cache(maxsize=1)
def query_grammar_ebnf() -> str:
    """The EBNF (xgrammar dialect) of every canonical query: the output grammar of the qa
    adapter. Generated from :data:`ATTRIBUTES`, the vocabulary and the registry's skills."""
    rules: dict[str, str] = {
        "root": _alt(['"unknown"', "describe", "check", "which", "extreme"]),
        "describe": 'any_ref (" and " any_ref)?',
        "any_ref": "one_ref | set_ref",
        "check": '"check " (one_test | ("all " | "any ") set_test)',
        "which": '"which " set_test',
        "extreme": '("most " | "least ") set_count',
        "count_value": "number | one_count",
        "number": '[0-9] | [1-9] [0-9] | "100"',
        "compare": _alt(_lit(c) for c in COMPARISONS),
        "place": _alt(_lit(p) for p in V.PLACES),
        "status": _alt(_lit(s) for s in STATUSES),
        "color": _alt(_lit(c) for c in V.COLORS),
        "steps_filter": _filter_rule("steps"),
        "cakes_filter": _filter_rule("cakes"),
    }
    assert str(MAX_NUMBER) == "100"
    for prefix, sets in (("one", False), ("set", True)):
        rules[f"{prefix}_ref"] = _refs_rule(sets, lambda a: True)
        rules[f"{prefix}_count"] = _refs_rule(sets, lambda a: a.type.countable)
        tests = [f'{prefix}_count " " compare " " count_value']
        for name, accept, tail in (
                ("place", lambda a: a.type is Type.PLACE, '" = " place'),
                ("status", lambda a: a.type is Type.STATUS, '" = " status'),
                ("colors", lambda a: a.type is Type.COLORS, '" has " color'),
                ("bare", lambda a: a.type.bare, "")):
            body = _refs_rule(sets, accept)
            if body is not None:
                rules[f"{prefix}_{name}"] = body
                tests.append(f"{prefix}_{name} {tail}".strip())
        if sets:  # a set compared member by member with a count of the same set
            for subject in SETS:
                counts = _refs_rule(True, lambda a: a.type.countable, subject)
                if counts is not None:
                    rules[f"{subject}_count"] = counts
                    tests.append(f'{subject}_count " " compare " " {subject}_count')
        rules[f"{prefix}_test"] = " | ".join(tests)
    return "\n".join(f"{name} ::= {body}" for name, body in rules.items()) + "\n"
