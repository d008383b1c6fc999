"""BehaviorTree.CPP's scripting language, read and run as BT.CPP 4.8 does, over a blackboard.

Script and ScriptCondition run their ``code`` and Precondition its ``if`` in this language, so a
tree means the same here as in BT.CPP. It follows BT.CPP 4.8.2 (the version the
``behaviortreepy`` oracle binds): the grammar of ``scripting/operators.hpp`` and the values of
``safe_any.hpp``, quirks included, because a person who writes ``x := 1; x /= 2`` expects
BT.CPP's answer (an error: ``x`` holds an integer). In short:

* statements separated by ``;`` (none after the last); literals ``3``, ``+3``, ``0x1F``,
  ``2.5``, ``1e3``, ``'text'`` or ``"text"`` (ASCII, no escapes), ``true``/``false`` (the
  integers 1/0); variables (``@name`` is the root blackboard's, from inside a subtree);
* from tightest: unary ``-``; ``* /``; ``+ -`` (these four group to the right in BT.CPP
  4.8: ``5 - 2 - 1`` is 4, ``8 / 2 * 2`` is 2); and separately ``~ !``; ``&``; ``| ^``;
  and ``..`` (concatenation). One expression uses operators of one of these three groups
  only (BT.CPP refuses ``!a == -1``; parentheses start afresh); then the comparisons
  ``== != < > <= >=`` (chained: ``1 < x < 3``); then ``&&`` and ``||``, equal in precedence,
  left to right, both sides always evaluated; then ``c ? a : b`` (not chained); then
  ``:=`` (create), ``=`` (the variable must exist) and ``+= -= *= /=`` (not chained);
* integers stay integers only as literals: arithmetic, comparisons and logic give reals
  (true is 1.0); a variable keeps the kind of number it was created with, so assigning it a
  fraction is an error; ``+`` adds strings too, ``..`` joins strings and numbers (a real as
  ``2.500000``); a string meets a number in a comparison as a number (``'5' == 5``);
  ``==`` between reals allows a float epsilon. No ``and``/``or``/``not``: BT.CPP 4.8 has none.

:func:`parse_script` raises :class:`~llm_mars.errors.ScriptSyntaxError` (what BT.CPP refuses at
load time); running raises :class:`~llm_mars.errors.ScriptRuntimeError` where BT.CPP throws out
of the tick.
"""
from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from llm_mars.errors import ScriptRuntimeError, ScriptSyntaxError

Value = int | float | str
"""A script value: BT.CPP's int64 (integer literals), double or string."""


class _Empty:
    """BT.CPP's empty ``Any``: a variable created (``x := y`` with ``y`` unknown creates
    ``x`` before failing) but never given a value."""

    def __repr__(self) -> str:
        return "EMPTY"


EMPTY = _Empty()

# --- values, as BT.CPP's Any converts them ---------------------------------------------------

_INT64 = (-2**63, 2**63 - 1)
_EXACT_IN_DOUBLE = 2**53 - 1
_FLOAT_EPSILON = 1.1920928955078125e-07  # std::numeric_limits<float>::epsilon()
_SMALLEST_NORMAL = 2.2250738585072014e-308
_STOD = re.compile(r"[ \t\n\v\f\r]*([+-]?)(?:(0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)"
                   r"(?:[pP][+-]?[0-9]+)?)|(infinity|inf)|(nan(?:\([0-9A-Za-z_]*\))?)|"
                   r"((?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?))", re.IGNORECASE)


def _beyond_double(text: str, value: float) -> bool:
    """Whether ``strtod`` would report a range error: an overflow, or digits that round to
    zero or to a subnormal."""
    mantissa = re.split("[eEpP]", text.lstrip(" \t\n\v\f\r+-"))[0]
    digits = mantissa[2:] if mantissa[:2].lower() == "0x" else mantissa
    return (math.isinf(value) or 0 < abs(value) < _SMALLEST_NORMAL
            or (value == 0.0 and re.search("[1-9a-fA-F]", digits) is not None))


def stod(text: str) -> float:
    """``std::stod``: leading space, a sign, then the longest number it can read (``'5x'`` is
    5); nothing read, an overflow or an underflow is an error."""
    match = _STOD.match(text)
    if match is None:
        raise ScriptRuntimeError(f"the string {text!r} is not a number")
    sign, hexadecimal, infinite, nan, decimal = match.groups()
    if infinite or nan:
        value = math.inf if infinite else math.nan
    elif hexadecimal:
        digits = hexadecimal if "p" in hexadecimal.lower() else hexadecimal + "p0"
        value = float.fromhex(digits)
    else:
        value = float(decimal)
    if not (infinite or nan) and _beyond_double(match.group(0), value):
        raise ScriptRuntimeError(f"the string {text!r} is out of the range of a double")
    return -value if sign == "-" else value


def _kind(value: object) -> str:
    return {int: "an integer", float: "a real", str: "a string"}.get(type(value), "empty")


def _not_empty(value: object, side: str, operator: str) -> Value:
    if value is EMPTY:
        raise ScriptRuntimeError(f"the {side} operand of {operator} has no value")
    return value


def to_double(value: object) -> float:
    """``Any::cast<double>``."""
    if type(value) is int:
        if abs(value) > _EXACT_IN_DOUBLE:
            raise ScriptRuntimeError(f"{value} loses precision as a real")
        return float(value)
    if type(value) is float:
        return value
    if type(value) is str:
        return stod(value)
    raise ScriptRuntimeError("a variable with no value used as a number")


def to_int(value: Value) -> int:
    """``Any::cast<int64_t>`` of a number: a real must be a whole number in range."""
    if type(value) is int:
        return value
    if not (_INT64[0] <= value <= _INT64[1]) or value != round(value):
        raise ScriptRuntimeError(f"{value} is not an integer")
    return int(value)


def truth(value: object) -> bool:
    """``Any::cast<bool>``, what ScriptCondition and Precondition make of a result: an integer
    must be 0 or 1, a real must not be negative, a string is an error."""
    if type(value) is int:
        if value not in (0, 1):
            raise ScriptRuntimeError(f"{value} is not a boolean (an integer must be 0 or 1)")
        return value == 1
    if type(value) is float:
        if value < 0:
            raise ScriptRuntimeError(f"{value} is negative, not a boolean")
        return value != 0.0
    raise ScriptRuntimeError(f"{_kind(value)} value is not a boolean")


def to_text(value: Value) -> str:
    """``Any::cast<std::string>``: a real as ``std::to_string`` writes it (``2.500000``)."""
    if type(value) is float:
        return "%f" % value
    return str(value)


def _string_to_double(value: str) -> float:
    """BT.CPP's StringToDouble: ``'true'``/``'false'`` are 1/0, else the string's number."""
    if value in ("true", "false"):
        return float(value == "true")
    return stod(value)


# --- the blackboard -------------------------------------------------------------------------

BLACKBOARD_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""An entry's name as supported in ports: a script variable's (``@`` and other texts BT.CPP
takes are not)."""


def blackboard_pointer(text: str) -> bool:
    """Whether BT.CPP reads an input port's text as an entry's name (``isBlackboardPointer``
    after stripping spaces, or ``getRemappedKey``'s ``=`` and ``{=}``)."""
    stripped = text.strip(" ")
    return text in ("=", "{=}") or (
        len(stripped) >= 3 and stripped[0] == "{" and stripped[-1] == "}")


def entry_key(text: str) -> str | None:
    """The entry ``{key}`` names (the supported form of a pointer); None for plain text."""
    if text[:1] == "{" and text[-1:] == "}" and BLACKBOARD_KEY.fullmatch(text[1:-1]):
        return text[1:-1]
    return None


class EntryType(enum.Enum):
    """BT.CPP's type of an entry (its ``TypeInfo``), fixed by what created it: it decides
    what a string assigned to a non-string entry becomes."""

    ANY_ALLOWED = "AnyTypeAllowed"
    """Created by a script's ``:=``, a subtree port or SetBlackboard's ``value`` port: the
    first value sets the kind, a string into a number entry is read as a number."""
    STRING = "std::string"
    """Created for a ``{key}`` of a ``std::string`` input port (Switch): a string assigned
    stays a string."""
    STRING_SET = "std::string (SetBlackboard)"
    """Created by SetBlackboard's write of a text: its converter (``convertFromString<Any>``)
    throws."""
    ANY = "BT::Any"
    """What SetBlackboard leaves in an AnyTypeAllowed entry: not strongly typed, its
    converter throws."""

    @property
    def strongly_typed(self) -> bool:
        return self in (EntryType.STRING, EntryType.STRING_SET)

    def convert(self, text: str) -> object:
        """The entry's converter (``TypeInfo::parseString``) applied to ``text``: the text
        for a string entry, :data:`EMPTY` where there is no converter."""
        if self is EntryType.STRING:
            return text
        if self is EntryType.ANY_ALLOWED:
            return EMPTY
        raise ScriptRuntimeError(f"an entry of type {self.value} cannot be set from a string")


@dataclass
class Entry:
    """One blackboard entry; a subtree's port shares its entry with the outer one it is
    remapped to, as in BT.CPP."""

    value: object = EMPTY
    type: EntryType = EntryType.ANY_ALLOWED


class Blackboard:
    """A tree's variables. A subtree has its own (its ports, as text, and what its scripts
    create), as BT.CPP gives each subtree; ``@name`` reaches the root one from anywhere."""

    def __init__(self, parent: Blackboard | None = None):
        self.root: Blackboard = self if parent is None else parent.root
        self.entries: dict[str, Entry] = {}

    def _home(self, name: str) -> tuple[Blackboard, str]:
        return (self.root, name[1:]) if name.startswith("@") else (self, name)

    def entry(self, name: str) -> Entry | None:
        board, key = self._home(name)
        return board.entries.get(key)

    def create(self, name: str, type: EntryType = EntryType.ANY_ALLOWED) -> Entry:
        """The entry ``name``, created with ``type`` if there is none (an existing one keeps
        its own, as BT.CPP's ``createEntry``)."""
        board, key = self._home(name)
        return board.entries.setdefault(key, Entry(type=type))

    def get(self, name: str) -> object:
        """The value of ``name`` (:data:`EMPTY` if created but never set); ScriptRuntimeError
        if there is no such variable."""
        entry = self.entry(name)
        if entry is None:
            raise ScriptRuntimeError(f"variable not found: {name}")
        return entry.value

    def values(self) -> dict[str, object]:
        return {name: entry.value for name, entry in self.entries.items()}


# --- the syntax tree and how it runs ------------------------------------------------------


class Expr:
    def evaluate(self, board: Blackboard) -> object:
        raise NotImplementedError


@dataclass(frozen=True)
class Literal(Expr):
    value: Value

    def evaluate(self, board: Blackboard) -> object:
        return self.value


@dataclass(frozen=True)
class Name(Expr):
    name: str

    def evaluate(self, board: Blackboard) -> object:
        return board.get(self.name)


@dataclass(frozen=True)
class Unary(Expr):
    op: str  # - ~ !
    operand: Expr

    def evaluate(self, board: Blackboard) -> object:
        value = self.operand.evaluate(board)
        if type(value) is str:
            raise ScriptRuntimeError(f"{self.op} cannot take a string")
        if value is EMPTY:
            raise ScriptRuntimeError(f"the operand of {self.op} has no value")
        number = to_double(value)
        if self.op == "-":
            return -number
        if self.op == "!":  # a C++ cast: any non-zero number (NaN too) is true
            return float(number == 0.0)
        if not _INT64[0] <= number <= _INT64[1]:  # NaN included
            raise ScriptRuntimeError(f"{number} is out of range for ~")
        return float(~int(number))


_ARITHMETIC = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
               "/": lambda a, b: _divide(a, b)}
_BITWISE = {"&": lambda a, b: a & b, "|": lambda a, b: a | b, "^": lambda a, b: a ^ b}


def _divide(a: float, b: float) -> float:
    """IEEE division, as C++ divides doubles: by zero gives an infinity or NaN, no error."""
    if b == 0.0:
        return math.nan if a == 0.0 or math.isnan(a) else math.copysign(math.inf, a) * \
            math.copysign(1.0, b)
    return a / b


@dataclass(frozen=True)
class Binary(Expr):
    left: Expr
    op: str  # + - * / .. & | ^ && ||
    right: Expr

    def evaluate(self, board: Blackboard) -> object:
        # both sides run before either is checked, as in BT.CPP: ``0 .. 0 && (a := 0)``
        # assigns a, then fails on the empty left side
        left, right = self.left.evaluate(board), self.right.evaluate(board)
        left = _not_empty(left, "left", self.op)
        right = _not_empty(right, "right", self.op)
        numbers = type(left) is not str and type(right) is not str
        if numbers:
            if self.op in _ARITHMETIC:
                return _ARITHMETIC[self.op](to_double(left), to_double(right))
            if self.op in _BITWISE:
                return float(_BITWISE[self.op](to_int(left), to_int(right)))
            if self.op in ("&&", "||"):
                a, b = truth(left), truth(right)
                return float(a and b if self.op == "&&" else a or b)
            return EMPTY  # BT.CPP: number .. number falls through to an empty value
        if self.op == "+" and type(left) is str and type(right) is str:
            return left + right
        if self.op == "..":
            return to_text(left) + to_text(right)
        raise ScriptRuntimeError(f"{_kind(left)} {self.op} {_kind(right)} is not permitted")


def _compare(op: str, left: float | bytes, right: float | bytes) -> bool:
    """As BT.CPP writes each test, by its opposite (``<`` is "not >="), so NaN compares as
    it does there."""
    if op in ("==", "!="):
        return _same(left, right) == (op == "==")
    return not {"<": left >= right, ">": left <= right, "<=": left > right,
                ">=": left < right}[op]


def _same(left: float | bytes, right: float | bytes) -> bool:
    if type(left) is float:
        return abs(left - right) <= _FLOAT_EPSILON
    return left == right


@dataclass(frozen=True)
class Comparison(Expr):
    operands: tuple[Expr, ...]
    ops: tuple[str, ...]

    def evaluate(self, board: Blackboard) -> object:
        left = self.operands[0].evaluate(board)
        for op, operand in zip(self.ops, self.operands[1:]):
            right = operand.evaluate(board)
            _not_empty(left, "left", op)
            _not_empty(right, "right", op)
            if type(left) is str and type(right) is str:
                a, b = left.encode(), right.encode()  # strcmp
            elif type(left) is str:
                a, b = _string_to_double(left), to_double(right)
            elif type(right) is str:
                a, b = to_double(left), _string_to_double(right)
            else:
                a, b = to_double(left), to_double(right)
            if not _compare(op, a, b):
                return 0.0
            left = right
        return 1.0


@dataclass(frozen=True)
class If(Expr):
    condition: Expr
    then: Expr
    otherwise: Expr

    def evaluate(self, board: Blackboard) -> object:
        # BT.CPP reads the condition as a double: a string by its number, '' is an error
        if to_double(self.condition.evaluate(board)) != 0.0:
            return self.then.evaluate(board)
        return self.otherwise.evaluate(board)


@dataclass(frozen=True)
class Assignment(Expr):
    target: Expr
    op: str  # := = += -= *= /=
    value: Expr

    def evaluate(self, board: Blackboard) -> object:
        if not isinstance(self.target, Name):
            raise ScriptRuntimeError(f"the left side of {self.op} is not a variable")
        name = self.target.name
        entry = board.entry(name)
        if entry is None:
            if self.op != ":=":
                raise ScriptRuntimeError(f"variable {name} does not exist yet (create it "
                                         "with :=)")
            entry = board.create(name)
        value = _not_empty(self.value.evaluate(board), "right", self.op)
        if self.op in (":=", "="):
            entry.value = _assigned(name, entry, value)
            return entry.value
        if entry.value is EMPTY:
            raise ScriptRuntimeError(f"the left operand of {self.op} has no value")
        current = entry.value
        if type(value) is str:
            if self.op != "+=":
                raise ScriptRuntimeError(f"{self.op} cannot take strings")
            result: Value = to_text(current) + value
        else:
            if type(current) is str:
                raise ScriptRuntimeError(f"{self.op} needs a number in {name}")
            result = _ARITHMETIC[self.op[0]](to_double(current), to_double(value))
        entry.value = _copied(name, result, current)
        return entry.value


def _assigned(name: str, entry: Entry, value: Value) -> object:
    """What ``:=``/``=`` store: anything into an empty AnyTypeAllowed entry; a string into a
    non-string entry through the entry type's converter, else (none) as its number (the
    entry becomes a real); else a value of the entry's kind (anything into an empty one)."""
    current = entry.value
    if current is EMPTY and entry.type is EntryType.ANY_ALLOWED:
        return value
    if type(value) is str and type(current) is not str:
        converted = entry.type.convert(value)
        if converted is not EMPTY:
            return converted
        if current is EMPTY:  # no converter, no number to become: BT.CPP throws
            raise ScriptRuntimeError(f"{name}: a string cannot be converted to its type")
        return _string_to_double(value)
    if current is EMPTY:
        return value
    return _copied(name, value, current)


def _copied(name: str, value: Value, current: Value) -> Value:
    """``Any::copyInto``: the entry keeps its kind; a real goes into an integer entry only
    as a whole number."""
    if type(value) is type(current):
        return value
    if type(value) is not str and type(current) is not str:
        return to_int(value) if type(current) is int else to_double(value)
    raise ScriptRuntimeError(f"{name} holds {_kind(current)} and cannot take "
                             f"{_kind(value)}")


@dataclass(frozen=True)
class Script:
    """A parsed script: its text (what a file writes back) and its statements."""

    text: str
    statements: tuple[Expr, ...] = field(compare=False)

    def run(self, board: Blackboard) -> object:
        """Every statement in order; the last one's value."""
        result: object = EMPTY
        for statement in self.statements:
            result = statement.evaluate(board)
        return result


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # op, number, string, name, bool, end
    text: str
    position: int
    value: Value | None = None


_OPERATORS = ("..", "&&", "||", "==", "!=", "<=", ">=", ":=", "+=", "-=", "*=", "/=",
              *"+-*/&|^~!<>=?:();")
_WHITESPACE = re.compile(r"(?:[ \t\n]|\r\n|\\\r?\n)+")
_NESTED_WHITESPACE = re.compile(r"(?:[ \t\n\r\v\f]|\\\r?\n)+")  # inside parentheses
_REAL = re.compile(r"[0-9]+(?:\.[0-9]+(?:[eE][+-]?[0-9]+)?|[eE][+-]?[0-9]+)")
_HEX = re.compile(r"0[xX][0-9a-fA-F]+")
_INTEGER = re.compile(r"[0-9]+")
_SUFFIX = re.compile(r"[.A-Za-z_]")


def _is_name_start(char: str) -> bool:
    return char == "@" or char == "_" or char.isidentifier()


def _tokens(text: str) -> Iterator[_Token]:
    position, depth = 0, 0
    while True:
        space = (_NESTED_WHITESPACE if depth else _WHITESPACE).match(text, position)
        if space:
            position = space.end()
        if position >= len(text):
            yield _Token("end", "", position)
            return
        char = text[position]
        if char in "'\"":
            end = text.find(char, position + 1)
            if end < 0:
                raise ScriptSyntaxError(position, "a string without its closing quote")
            body = text[position + 1:end]
            if not body.isascii():
                raise ScriptSyntaxError(position + 1, "a string may hold ASCII characters only")
            yield _Token("string", text[position:end + 1], position, body)
            position = end + 1
        elif char.isdigit() and char.isascii():
            token = _number(text, position)
            yield token
            position += len(token.text)
        elif _is_name_start(char):
            end = position + 1
            while end < len(text) and ("a" + text[end]).isidentifier():
                end += 1
            word = text[position:end]
            for literal in ("true", "false"):  # BT.CPP reads "truex" as true, then x
                if word.startswith(literal):
                    yield _Token("bool", literal, position, int(literal == "true"))
                    end = position + len(literal)
                    break
            else:
                yield _Token("name", word, position)
            position = end
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, position)), None)
            if op is None:
                raise ScriptSyntaxError(position, f"unexpected character {char!r}")
            if op == "(" or (op == ")" and depth):
                depth += 1 if op == "(" else -1
            yield _Token("op", op, position)
            position += len(op)


def _number(text: str, position: int) -> _Token:
    """A number literal at ``position`` (BT.CPP tries a real, then an integer); a letter, a
    dot or an underscore right after it is an error, as are values out of range."""
    real = _REAL.match(text, position)
    if real:
        end, kind = real.end(), "double"
        value: Value = float(real.group())
        if _beyond_double(real.group(), value):
            raise ScriptSyntaxError(position, f"{real.group()} is out of the range of a double")
    else:
        hexadecimal = _HEX.match(text, position)
        match = hexadecimal or _INTEGER.match(text, position)
        end, kind = match.end(), "integer"
        value = int(match.group(), 16 if hexadecimal else 10)
        if value > _INT64[1]:
            raise ScriptSyntaxError(position, f"{match.group()} overflows a 64-bit integer")
    if _SUFFIX.match(text, end):
        raise ScriptSyntaxError(end, f"invalid suffix on {kind} literal")
    return _Token("number", text[position:end], position, value)


_MATH, _BITS, _CONCAT = "arithmetic (- * / + -)", "bitwise (~ ! & | ^)", "concatenation (..)"
_PREFIX = {"-": _MATH, "~": _BITS, "!": _BITS}
_INFIX = {"*": (_MATH, 3), "/": (_MATH, 3), "+": (_MATH, 2), "-": (_MATH, 2),
          "&": (_BITS, 3), "|": (_BITS, 2), "^": (_BITS, 2), "..": (_CONCAT, 2)}
_PREFIX_POWER = 4
_RIGHT_TO_LEFT = ("+", "-", "*", "/")  # BT.CPP 4.8: 5 - 2 - 1 is 5 - (2 - 1)
_COMPARISONS = ("==", "!=", "<", ">", "<=", ">=")
_LOGICAL = ("||", "&&")
MAX_NESTING = 64
"""Operands nested deeper (parentheses, prefixes, a chain of right-grouping operators) are a
syntax error here, where BT.CPP reads on: a hostile or broken script must fail with a located
error, not exhaust Python's stack."""
_ASSIGNMENTS = (":=", "=", "+=", "-=", "*=", "/=")


class _Parser:
    """BT.CPP's grammar (a lexy expression production) as a recursive descent."""

    def __init__(self, text: str):
        self.tokens: Sequence[_Token] = list(_tokens(text))
        self.index = 0
        self.group: str | None = None  # the operator group this expression has chosen
        self.depth = 0  # operands being read, one inside another

    @property
    def peek(self) -> _Token:
        return self.tokens[self.index]

    def at(self, *ops: str) -> bool:
        return self.peek.kind == "op" and self.peek.text in ops

    def advance(self) -> _Token:
        token = self.peek
        self.index += 1
        return token

    def fail(self, problem: str) -> ScriptSyntaxError:
        token = self.peek
        got = "the end" if token.kind == "end" else repr(token.text)
        return ScriptSyntaxError(token.position, f"{problem}, got {got}")

    def statements(self) -> tuple[Expr, ...]:
        if self.peek.kind == "end":
            raise ScriptSyntaxError(0, "an empty script")
        statements = [self.expression()]
        while self.at(";"):
            self.advance()
            if self.peek.kind == "end":
                raise ScriptSyntaxError(self.tokens[self.index - 1].position,
                                        "a ';' with no statement after it")
            statements.append(self.expression())
        if self.peek.kind != "end":
            raise self.fail("expected ';' or the end of the script")
        return tuple(statements)

    def expression(self) -> Expr:
        """One expression; its operator group starts afresh (inside parentheses too)."""
        outer, self.group = self.group, None
        target = self.conditional()
        if self.at(*_ASSIGNMENTS):
            op = self.advance().text
            target = Assignment(target, op, self.conditional())
            if self.at(*_ASSIGNMENTS):
                raise self.fail("an assignment cannot be chained")
        self.group = outer
        return target

    def conditional(self) -> Expr:
        condition = self.logical()
        if not self.at("?"):
            return condition
        self.advance()
        then = self.expression()
        if not self.at(":"):
            raise self.fail("expected ':' in 'condition ? a : b'")
        self.advance()
        result = If(condition, then, self.logical())
        if self.at("?"):
            raise self.fail("'? :' cannot be chained (use parentheses)")
        return result

    def logical(self) -> Expr:
        left = self.comparison()
        while self.at(*_LOGICAL):
            op = self.advance().text
            left = Binary(left, op, self.comparison())
        return left

    def comparison(self) -> Expr:
        operands, ops = [self.grouped(0)], []
        while self.at(*_COMPARISONS):
            ops.append(self.advance().text)
            operands.append(self.grouped(0))
        return operands[0] if not ops else Comparison(tuple(operands), tuple(ops))

    def join(self, group: str) -> None:
        if self.group is None:
            self.group = group
        elif self.group != group:
            raise self.fail(f"{group} operators cannot be mixed with the {self.group} ones "
                            "before them (use parentheses)")

    def grouped(self, power: int) -> Expr:
        if self.depth == MAX_NESTING:
            raise self.fail(f"operands nested deeper than {MAX_NESTING}")
        self.depth += 1
        try:
            return self._grouped(power)
        finally:
            self.depth -= 1

    def _grouped(self, power: int) -> Expr:
        if self.at(*_PREFIX):
            self.join(_PREFIX[self.peek.text])
            op = self.advance().text
            left: Expr = Unary(op, self.grouped(_PREFIX_POWER))
        else:
            left = self.atom()
        while self.at(*_INFIX) and _INFIX[self.peek.text][1] > power:
            group, strength = _INFIX[self.peek.text]
            self.join(group)
            op = self.advance().text
            left = Binary(left, op, self.grouped(strength - (op in _RIGHT_TO_LEFT)))
        return left

    def atom(self) -> Expr:
        token = self.peek
        if self.at("("):
            self.advance()
            inner = self.expression()
            if not self.at(")"):
                raise self.fail("expected ')'")
            self.advance()
            return inner
        if self.at("+"):  # a sign belongs to the number right after it
            number = self.tokens[self.index + 1]
            if number.kind == "number" and number.position == token.position + 1:
                if number.text[1:2] in ("x", "X"):
                    raise ScriptSyntaxError(number.position + 1,
                                            "invalid suffix on integer literal")
                self.index += 2
                return Literal(number.value)
        if token.kind in ("number", "string", "bool"):
            self.advance()
            return Literal(token.value)
        if token.kind == "name":
            self.advance()
            return Name(token.text)
        raise self.fail("expected an operand")


def parse_script(text: str) -> Script:
    """The script of ``text``; ScriptSyntaxError where BT.CPP would refuse to load it."""
    return Script(text, _Parser(text).statements())
