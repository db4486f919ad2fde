"""Checks of a registry as a whole, beyond what makes a file invalid: conversation files (an
invalid one, or an image it names that is missing, is an error, as replay would fail on it) and
warnings about things that work but are probably mistakes:

- an avatar far larger than Open WebUI shows it, or an avatar file no model uses;
- a base without a tag that names no registry model but looks like one (`writter` for
  `writer`, or a model that was deleted or renamed): it would be pulled as `NAME:latest`;
- two models with the same display name, which the model selector cannot tell apart;
- a conversation naming a model that looks like a registry model but is not one.

Pure: the caller passes a reader of the registry's files (the work tree or a revision).
"""

from __future__ import annotations

import difflib
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Literal, Protocol

from modelops.errors import Problem, SpecError
from modelops.spec import avatar as avatars
from modelops.spec.avatar import SUFFIXES
from modelops.spec.relations import Placed

if TYPE_CHECKING:  # pydantic: a registry whose checks are cached does without it
    from modelops.spec.base import Loc

CLOSE = 0.85  # how alike a name and a registry id must be to read as a typo of it
AVATAR_MAX_SIDE = 512  # pixels; Open WebUI's editor stores avatars at 250x250
AVATARS_DIR = "avatars"
CONVERSATIONS_DIR = "conversations"
_PREFIXES = ("ollama:", "openai:", "openwebui:")


class Files(Protocol):
    """The registry's files (`modelops.registry.sources.Source`)."""

    def list(self, folder: str) -> list[str]: ...
    def read(self, path: str) -> bytes | None: ...
    def shown(self, path: str) -> str: ...


def warning(problem: Problem) -> Problem:
    """A warning as it is printed: the problem, its message marked as a warning."""
    return Problem(
        problem.path, problem.line, problem.col, problem.key, f"warning: {problem.message}"
    )


@dataclass(frozen=True)
class Mention:
    """An image or a model a conversation file names, and where: its key path and position."""

    kind: Literal["image", "model"]
    value: str
    key: str  # e.g. turns[2].model
    line: int
    col: int


Mentions = Callable[[str], list[Mention]]  # a conversation file's path -> what it names
Size = Callable[[str], tuple[int, int] | None]  # an image file's path -> its pixels, if any


def check(
    models: Mapping[str, Placed],
    files: Files,
    history_ids: Callable[[], set[str]],
    mentions: Mentions | None = None,
    size: Size | None = None,
) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) about the registry as a whole. `history_ids` gives every model id
    the registry ever held; it is called only when a base names no registry model.
    `mentions` and `size` read a conversation file and an image (raising SpecError for a
    conversation with problems); by default they parse and decode `files`, and a caller may
    pass readers that remember what they found."""
    mentions = mentions or (lambda path: mentioned(files.read(path) or b"", files.shown(path)))
    size = size or (lambda path: dimensions(files.read(path)))
    errors, warnings = _conversations(models, files, history_ids, mentions)
    warnings += _bases(models, history_ids)
    warnings += _names(models)
    warnings += _avatars(models, files, size)
    return sorted(errors), sorted(warnings)


def mentioned(raw: bytes, shown: str) -> list[Mention]:
    """The images and models a conversation file names, or SpecError with its problems."""
    from modelops.spec import conversation as conversations  # pydantic, YAML: only if read
    from modelops.spec.yamlread import dotted

    parsed, doc = conversations.parse(raw, shown)
    found: list[tuple[Literal["image", "model"], str, Loc]] = []
    for t, turn in enumerate(parsed.turns):
        images = enumerate(turn.images or [])
        found += [("image", image, ("turns", t, "images", i)) for i, image in images]
        if turn.model:
            found.append(("model", turn.model, ("turns", t, "model")))
    found += [("model", name, ("models", i)) for i, name in enumerate(parsed.models or [])]
    return [Mention(k, v, dotted(loc), *doc.value_position(loc)) for k, v, loc in found]


def _bases(models: Mapping[str, Placed], history_ids: Callable[[], set[str]]) -> list[Problem]:
    out = []
    known: set[str] | None = None
    for placed in models.values():
        base = placed.base
        if base in models or ":" in base or "/" in base:
            continue
        if known is None:
            known = history_ids()
        close = difflib.get_close_matches(base, list(models), n=1, cutoff=CLOSE)
        if base in known:
            why = f"'{base}' was a registry model but is no longer (deleted or renamed)"
        elif close:
            why = f"'{base}' is not a registry model (did you mean '{close[0]}'?)"
        else:
            continue  # an Ollama model such as `mistral`
        out.append(
            placed.problem(
                "base",
                f"{why}; it is read as the Ollama model {base}:latest (write {base}:latest "
                "if that is meant)",
            )
        )
    return out


def _names(models: Mapping[str, Placed]) -> list[Problem]:
    by_name: dict[str, list[str]] = {}
    for model_id, placed in sorted(models.items()):
        shown = (placed.name or model_id).strip().casefold()
        by_name.setdefault(shown, []).append(model_id)
    out = []
    for ids in by_name.values():
        for model_id in ids if len(ids) > 1 else []:
            others = ", ".join(i for i in ids if i != model_id)
            name = models[model_id].name or model_id
            out.append(
                models[model_id].problem(
                    "name",
                    f"'{name}' is also the display name of {others}; the model selector shows "
                    "them alike (give each its own name)",
                )
            )
    return out


def dimensions(data: bytes | None) -> tuple[int, int] | None:
    """An image's width and height in pixels; None when it is missing or unreadable."""
    return None if data is None else avatars.dimensions(data)


def _avatars(models: Mapping[str, Placed], files: Files, size_of: Size) -> list[Problem]:
    out = []
    used: set[str] = set()
    for placed in models.values():
        avatar = placed.avatar
        if avatar is None or ":" in avatar:
            continue
        used.add(avatar)
        size = size_of(avatar)
        if size and max(size) > AVATAR_MAX_SIDE:
            out.append(
                placed.problem(
                    "avatar",
                    f"{avatar} is {size[0]}x{size[1]} pixels; Open WebUI shows avatars at "
                    f"250x250 (shrink it to at most {AVATAR_MAX_SIDE}x{AVATAR_MAX_SIDE})",
                )
            )
    for path in files.list(AVATARS_DIR):
        if PurePosixPath(path).suffix.lower() in SUFFIXES and path not in used:
            out.append(
                Problem(files.shown(path), 0, 0, "", "no model uses this avatar (delete it?)")
            )
    return out


def _conversations(
    models: Mapping[str, Placed],
    files: Files,
    history_ids: Callable[[], set[str]],
    mentions: Mentions,
) -> tuple[list[Problem], list[Problem]]:
    errors: list[Problem] = []
    warnings: list[Problem] = []
    for path in files.list(CONVERSATIONS_DIR):
        if not path.endswith(".yaml") or PurePosixPath(path).name.startswith("."):
            continue
        shown = files.shown(path)
        try:
            named = mentions(path)
        except SpecError as exc:
            errors += exc.problems
            continue
        folder = posixpath.dirname(path)
        for m in named:
            if m.kind == "image":
                where = posixpath.normpath(posixpath.join(folder, m.value))
                if where.startswith("../"):
                    continue  # outside the registry: replay checks it when it reads it
                if files.read(where) is None:
                    missing = f"image '{m.value}' not found (paths are relative to the file)"
                    errors.append(Problem(shown, m.line, m.col, m.key, missing))
            elif why := _unknown(m.value, models, history_ids):
                warnings.append(Problem(shown, m.line, m.col, m.key, why))
    return errors, warnings


def _unknown(
    ref: str, models: Mapping[str, Placed], history_ids: Callable[[], set[str]]
) -> str | None:
    """Why a conversation's model reference is probably a mistake, or None."""
    if ref.startswith(_PREFIXES):
        return None
    model_id, at, _ = ref.partition("@")
    if model_id in models:
        return None
    if at:
        if model_id in history_ids():
            return None  # a model of an earlier revision
        return f"'{model_id}' was never a registry model"
    if ":" in ref or "/" in ref:
        return None  # an Ollama name with a tag or a namespace
    close = difflib.get_close_matches(ref, list(models), n=1, cutoff=CLOSE)
    if not close:
        return None  # an Ollama model such as `llama3.2`
    return (
        f"'{ref}' is not a registry model (did you mean '{close[0]}'?); replay reads it as "
        f"the Ollama model {ref}:latest (write ollama:{ref} if that is meant)"
    )
