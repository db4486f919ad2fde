"""The exception root, its subclasses and the exit-code table.

Every expected failure is a `ModelopsError`: it carries one message that says what is wrong
and what to do next, and the exit code it maps to. The command line is the one place that
turns them into output and an exit status.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Exit(enum.IntEnum):
    OK = 0
    FAILURE = 1  # invalid spec, git problem, target unreachable, some changes failed
    PENDING = 2  # --detailed-exitcode: changes pending
    EXPECTATION = 3  # replay: an expectation failed
    USAGE = 64  # bad flags or arguments
    INTERNAL = 70  # a bug
    INTERRUPTED = 130


class ModelopsError(Exception):
    """An expected failure, reported as one line (or one line per problem)."""

    exit_code: Exit = Exit.FAILURE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def lines(self) -> list[str]:
        return [self.message]


class UsageError(ModelopsError):
    exit_code = Exit.USAGE


class NotFoundError(ModelopsError):
    """A model, revision or file the user named does not exist."""


class GitError(ModelopsError):
    """A git operation failed, or the work tree is in a state we must not touch."""


class LockError(ModelopsError):
    """The registry lock could not be taken."""


class ConflictError(ModelopsError):
    """The state changed under an operation (a model edited meanwhile, a stale plan)."""


class TargetError(ModelopsError):
    """A live system could not be reached, or refused a change. `transient` failures (a
    refused connection, a 5xx, a cut stream) are worth retrying; others are not."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in one file, positioned the way a compiler reports it."""

    path: str
    line: int  # 1-based; 0 when the problem is about the file as a whole
    col: int  # 1-based; 0 when unknown
    key: str  # dotted key path such as "parameters.temperature"; "" for the file
    message: str

    def __str__(self) -> str:
        where = self.path
        if self.line:
            where += f":{self.line}:{self.col}" if self.col else f":{self.line}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class SpecError(ModelopsError):
    """One or more problems in model or config files, all reported at once."""

    def __init__(self, problems: list[Problem], then: str = "") -> None:
        self.problems = sorted(problems)
        count = len(self.problems)
        found = f"{count} problem{'s' if count != 1 else ''} found"
        super().__init__(f"{found}; {then}" if then else found)

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]

    def __str__(self) -> str:
        return "\n".join([*self.lines(), self.message])
