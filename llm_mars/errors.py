"""Every exception llm_mars raises on purpose, in one place.

Callers branch on the exception type (and its structured fields), never on message text.
"""
from __future__ import annotations

from dataclasses import dataclass


class LlmMarsError(Exception):
    """Base class of all deliberate llm_mars errors."""


# --- behavior trees -------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a plan document, with where it is and what might fix it."""

    message: str
    path: str = ""  # node path, e.g. "robot1/Sequence[0]/PickCake[2]"
    line: int | None = None
    column: int | None = None
    suggestion: str | None = None  # "did you mean ...?" target, if any
    code: str = "invalid"  # machine-readable kind: unknown_tag, unknown_port, missing_port, ...

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "line ?"
        if self.column is not None:
            where += f", col {self.column}"
        text = f"{where}: {self.path + ': ' if self.path else ''}{self.message}"
        if self.suggestion:
            text += f" (did you mean {self.suggestion}?)"
        return text


class PlanValidationError(LlmMarsError):
    """A plan document is malformed or does not validate against the skill registry.

    Carries *all* problems found in the document, not only the first.
    """

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]):
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid plan")


class RegistryError(LlmMarsError):
    """The skill registry itself is inconsistent (a programming error, caught at import)."""


class ScriptError(LlmMarsError):
    """A BehaviorTree.CPP script (Script, ScriptCondition, Precondition) that cannot run."""


class ScriptSyntaxError(ScriptError, ValueError):
    """A script BT.CPP would refuse to load; ``position`` is the 0-based character where
    reading stopped. A ``ValueError`` too, so a script port's parse reports it like any bad
    port value."""

    def __init__(self, position: int, problem: str):
        self.position = position
        self.problem = problem
        super().__init__(f"script error at character {position + 1}: {problem}")


class ScriptRuntimeError(ScriptError):
    """A script failed while it ran (an unknown variable, a value of the wrong type); BT.CPP
    throws out of the tick, and the executor fails the plan."""


class UnsupportedValueError(ValueError):
    """A port value BT.CPP reads in a way this project does not reproduce (a blackboard
    entry named otherwise than ``{name}``); the validator names it unsupported."""


class TreeLogicError(LlmMarsError):
    """A tick BT.CPP 4.8 ends by throwing (a child returned IDLE, an IfThenElse condition
    was skipped); the executor fails the plan, as with a script error."""


# --- world / robots -------------------------------------------------------------------------


class WorldError(LlmMarsError):
    """A request to the world that names something that does not exist."""


class UnknownRobotError(WorldError):
    def __init__(self, name: str, known: list[str] | tuple[str, ...]):
        self.name, self.known = name, tuple(known)
        super().__init__(f"unknown robot {name!r}; known robots: {', '.join(self.known)}")


class UnknownPlaceError(WorldError):
    def __init__(self, name: str, known: list[str] | tuple[str, ...]):
        self.name, self.known = name, tuple(known)
        super().__init__(f"unknown place {name!r}; known places: {', '.join(self.known)}")


# --- model / LLM ----------------------------------------------------------------------------


class ModelError(LlmMarsError):
    """The model cannot be found, verified, converted or loaded."""


class ModelFileError(ModelError):
    """A model file is missing, truncated or does not match its checksum."""

    def __init__(self, path: str, problem: str, fix: str):
        self.path, self.problem, self.fix = str(path), problem, fix
        super().__init__(f"{path}: {problem}. Fix: {fix}")


class UnknownAdapterError(ModelError):
    def __init__(self, name: str, loaded: list[str] | tuple[str, ...]):
        self.name, self.loaded = name, tuple(loaded)
        super().__init__(
            f"unknown adapter {name!r}; loaded adapters: {', '.join(self.loaded) or '(none)'}"
        )


class AdapterLoadError(ModelError):
    """An adapter folder is missing, corrupt or does not fit the base model."""


class AdapterMissingError(AdapterLoadError):
    """A required adapter folder is not there (e.g. an install without ``models/adapters``):
    without it the server would quietly run the base model."""

    def __init__(self, path: str, fix: str):
        self.path, self.fix = str(path), fix
        super().__init__(f"{path}: adapter folder does not exist. Fix: {fix}")


class AdapterMismatchError(AdapterLoadError):
    """An adapter folder holds another adapter than its name says, or one trained for another
    base model."""

    def __init__(self, path: str, problem: str):
        self.path, self.problem = str(path), problem
        super().__init__(f"{path}: {problem}")


class ConstraintError(LlmMarsError):
    """Constrained decoding could not produce an output the grammar accepts."""


class GenerationTimeout(LlmMarsError):
    """A request passed its deadline before it finished."""


class BackendError(LlmMarsError):
    """A serving backend (remote server, vLLM) failed or is unreachable."""


class QueryError(LlmMarsError):
    """A text is not a query of the state query language (:mod:`llm_mars.qa.query`): unknown
    subject or attribute, a test the attribute's type does not take, a malformed filter."""


# --- ROS payloads / bags --------------------------------------------------------------------


class PayloadError(LlmMarsError):
    """A JSON/XML payload received on a topic or service does not match its schema."""


class BagError(LlmMarsError):
    """A recorded session (bag) is missing, corrupt or truncated."""


class ParameterError(LlmMarsError):
    """A node parameter given at start-up has the wrong type or lies outside its range."""

    def __init__(self, name: str, problem: str):
        self.name, self.problem = name, problem
        super().__init__(f"parameter {name!r}: {problem}")


# --- evaluation -----------------------------------------------------------------------------


class ExpectationError(LlmMarsError):
    """An evaluation case, predicate or answer fact is malformed (a bug in the data set).

    ``where`` locates it, e.g. ``c012.expect[2].any[0]`` or ``q007.answer_facts[1]``.
    """

    def __init__(self, where: str, problem: str):
        self.where, self.problem = where, problem
        super().__init__(f"{where}: {problem}" if where else problem)


# --- behavior-tree library and rendering (added by the bt core) ------------------------------


class SubtreeLibraryError(PlanValidationError):
    """Files of the subtree library (``trees/subtrees/*.xml``) do not validate.

    ``by_file`` maps each offending file name to its problems; ``problems`` holds them all.
    """

    def __init__(self, by_file: dict[str, tuple[Problem, ...]]):
        self.by_file: dict[str, tuple[Problem, ...]] = {k: tuple(v) for k, v in by_file.items()}
        super().__init__([p for problems in self.by_file.values() for p in problems])
        self.args = ("\n".join(f"{name}: {p}" for name, problems in self.by_file.items()
                               for p in problems),)

    def __str__(self) -> str:
        return self.args[0]


class TreesNotFoundError(LlmMarsError):
    """Neither a source checkout's ``trees/`` nor an installed package share holds the trees."""


class GraphvizError(LlmMarsError):
    """Graphviz ``dot`` could not draw a tree picture."""


class GraphvizMissingError(GraphvizError):
    """The Graphviz ``dot`` program, needed to draw a tree as PNG, is not installed."""

    def __init__(self) -> None:
        super().__init__(
            "Graphviz 'dot' was not found on PATH; install it with "
            "'sudo apt-get install graphviz' (scripts/bootstrap.sh does this) "
            "or use 'llm-mars tree show FILE' without --png"
        )


class BehaviourSetupError(LlmMarsError):
    """A behavior-tree skill was ticked or set up without a robot to act on."""


# --- world simulator (appended) -------------------------------------------------------------


class WorldConfigError(WorldError):
    """Simulator settings (time step, faults) are out of range."""


class UnknownSkillError(WorldError):
    """A robot was asked to run a skill or check a condition the world does not know."""

    def __init__(self, tag: str, known: list[str] | tuple[str, ...]):
        self.tag, self.known = tag, tuple(known)
        super().__init__(f"unknown skill or condition {tag!r}; known: {', '.join(self.known)}")


class UnknownGoalError(WorldError):
    """A goal id that this robot never started."""

    def __init__(self, goal_id: int, robot: str):
        self.goal_id, self.robot = goal_id, robot
        super().__init__(f"{robot} has no goal {goal_id}")


class SkillArgumentError(WorldError):
    """A skill was started with arguments its registry ports do not accept."""

    def __init__(self, skill: str, port: str, problem: str):
        self.skill, self.port, self.problem = skill, port, problem
        super().__init__(f"{skill}.{port}: {problem}")


# --- LLM engine requests ----------------------------------------------------------------------


class RequestError(LlmMarsError):
    """A generation request the engine cannot serve as asked (prompt longer than the context,
    unknown output constraint, engine closed)."""


# --- serving: the OpenAI-compatible server, remote and vLLM backends --------------------------


class PromptTooLongError(RequestError):
    """A prompt longer than the model's context or a server's limit (HTTP 413)."""


class EngineClosedError(RequestError):
    """The engine or backend was closed, so the request cannot run (HTTP 503)."""


class ServerUnavailableError(BackendError):
    """A remote server refused or dropped the connection, or answered with a server error
    (5xx, 429): retrying later may help."""


class BackendConfigError(LlmMarsError):
    """The backend configuration names an unknown backend or lacks a setting it needs."""


class ApiError(LlmMarsError):
    """A request the OpenAI-compatible server answers with an HTTP error.

    ``status`` is the HTTP status, ``code`` the machine-readable OpenAI-style error code
    (``model_not_found``, ``invalid_api_key``, ...), ``param`` the request field at fault.
    """

    def __init__(self, status: int, code: str, message: str, param: str | None = None):
        self.status, self.code, self.message, self.param = status, code, message, param
        super().__init__(message)


# --- speech (recognition and synthesis) --------------------------------------------------------


class SpeechError(LlmMarsError):
    """Speech input or output cannot work as configured."""


class SpeechModelError(SpeechError):
    """The offline recogniser (faster-whisper and its Whisper weights) is not installed or
    cannot be loaded; ``fix`` says what to install."""

    def __init__(self, problem: str, fix: str):
        self.problem, self.fix = problem, fix
        super().__init__(f"{problem}. Fix: {fix}")


class AudioFormatError(SpeechError):
    """An audio file or stream is not audio the recogniser can read."""

    def __init__(self, source: str, problem: str):
        self.source, self.problem = str(source), problem
        super().__init__(f"{source}: {problem}")


class SynthesisError(SpeechError):
    """espeak-ng is missing or failed to turn text into speech."""


# --- training and evaluation of the adapters (added by training) -----------------------------


class TrainingConfigError(LlmMarsError):
    """A training configuration file is missing, malformed or out of range; ``where`` names
    the file and key."""

    def __init__(self, where: str, problem: str):
        self.where, self.problem = where, problem
        super().__init__(f"{where}: {problem}")


class AdapterTooLargeError(LlmMarsError):
    """A trained adapter's weights exceed the size the repository ships (10 MB)."""
