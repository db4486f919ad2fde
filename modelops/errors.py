"""The exception root, its subclasses, the exit-code table, and the scrubber that keeps
secrets out of everything modelops writes.

Every expected failure is a `ModelopsError`: it carries one message that says what is wrong
and what to do next, and the exit code it maps to. The command line is the one place that
turns them into output and an exit status.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


class Exit(enum.IntEnum):
    """The exit codes, as the README's table explains them."""

    OK = 0
    FAILURE = 1  # invalid spec, git problem, conflict, lock held, target unreachable, ...
    PENDING = 2  # --detailed-exitcode: changes pending
    EXPECTATION = 3  # replay: an expectation failed
    USAGE = 64  # the command line cannot be parsed (bad flags or arguments); never state
    INTERNAL = 70  # a bug
    INTERRUPTED = 130  # Ctrl-C (SIGINT)


def printable(text: str, *, lines: bool = False) -> str:
    """`text` with control characters (a newline, an escape sequence) written as escapes, so
    that a value from a file or a command line can never break a line of output in two, or
    send a terminal control sequence. `lines`: keep newlines (a message of several lines)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or (lines and c == "\n") else repr(c)[1:-1] for c in text)


class ModelopsError(Exception):
    """An expected failure, reported as one line (or one line per problem)."""

    exit_code: Exit = Exit.FAILURE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def lines(self) -> list[str]:
        return [self.message]


class UsageError(ModelopsError):
    """The command line cannot be parsed: a flag or an argument is malformed, missing or
    contradicts another, whatever the registry holds. A conflict with what is there (an id
    taken, a lock held, a model that does not exist) is not a usage error."""

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


def unresolved(exc: BaseException) -> str | None:
    """Whether a connection failed because its host name does not resolve, looking through
    the exceptions a client wrapped: "retry" when the resolver could not answer now, "final"
    when the name does not exist; None for any other failure (a refused connection)."""
    import socket  # only when a connection failed: --help does without it

    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return "retry" if cause.errno == socket.EAI_AGAIN else "final"
        cause = cause.__cause__ or cause.__context__
    return None


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


_USERINFO = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@'\"]+@")
_AUTHORIZATION = re.compile(
    r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?(?:(?:bearer|basic|token)\s+)?)[^\s\"',}]+"
)
_BEARER = re.compile(r"(?i)(\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{6,}")
_QUERY = re.compile(r"(?i)([?&](?:api[_-]?key|access[_-]?token|token|key)=)[^&\s\"']+")
SECRET_NAME = re.compile(r"(?i)(?:^|_)(?:API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD)$")
MASK = "***"


class Scrubber:
    """Hides secrets in text that leaves modelops (output, errors, logs, reports, crash logs):
    the user and password in a URL, `Authorization` and `Bearer` values, `?api_key=`-style
    query values, and the values of the variables that hold keys."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Scrubber:
        """Every variable whose name says it holds a key, token, secret or password."""
        return cls(value for name, value in environ.items() if SECRET_NAME.search(name))

    def add(self, secret: str | None) -> None:
        if secret and len(secret.strip()) >= 6:  # shorter values would mask ordinary words
            self._secrets.add(secret.strip())

    def __call__(self, text: str) -> str:
        text = _USERINFO.sub(rf"\1{MASK}@", text)
        text = _AUTHORIZATION.sub(rf"\1{MASK}", text)
        text = _BEARER.sub(rf"\1{MASK}", text)
        text = _QUERY.sub(rf"\1{MASK}", text)
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text
