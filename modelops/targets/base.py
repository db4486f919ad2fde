"""What every target shares: the `Target` protocol that apply drives, the changes a plan is
made of (each describing itself with per-field before and after), their outcomes, and the
progress lines long operations stream. Pure types; each live system has its own module."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from modelops.spec import names

Action = Literal["pull", "create", "update", "delete", "noop"]


@dataclass(frozen=True)
class FieldChange:
    """One field of one model: what the target holds, and what the registry asks for."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Change:
    """One step of a plan on one host of a target."""

    action: Action
    host: str
    name: str  # the model's name on the target
    model: str | None  # the registry id, when there is one
    reason: str
    fields: tuple[FieldChange, ...] = ()
    request: Mapping[str, Any] | None = None  # what the target is sent to make the model
    needs: tuple[str, ...] = ()  # keys of changes that must succeed first
    enabled: bool = True  # False: a delete held back because pruning is off

    @property
    def key(self) -> str:
        return change_key(self.action, self.name)


def change_key(action: str, name: str) -> str:
    """Changes that wait for each other name each other by this key."""
    kind = "pull" if action == "pull" else "model"
    return f"{kind}:{names.match_key(name)}"


@dataclass(frozen=True)
class Outcome:
    """What happened to one change during an apply."""

    change: Change
    ok: bool
    message: str = ""
    skipped: bool = False  # not attempted, because of another failure


@dataclass(frozen=True)
class Progress:
    """One line of a long operation's stream (a pull, a create)."""

    status: str
    digest: str | None = None
    total: int | None = None
    completed: int | None = None


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class ChatChunk:
    """One streamed piece of an answer; the last one carries the server's counts."""

    text: str
    done: bool = False
    prompt_tokens: int | None = None
    answer_tokens: int | None = None
    eval_seconds: float | None = None


class Target(Protocol):
    """One server of a target, as apply sees it: it carries out changes, one at a time."""

    url: str

    def execute(self, change: Change, progress: ProgressCallback) -> None:
        """Carry out `change` or raise TargetError; a change already done is not an error."""
        ...

    def close(self) -> None: ...
