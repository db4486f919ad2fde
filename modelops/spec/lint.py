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
from pathlib import PurePosixPath
from typing import Protocol

from modelops.errors import Problem, SpecError
from modelops.spec import conversation as conversations
from modelops.spec.avatar import SUFFIXES, dimensions
from modelops.spec.relations import Placed

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


def check(
    models: Mapping[str, Placed], files: Files, history_ids: Callable[[], set[str]]
) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) about the registry as a whole. `history_ids` gives every model id
    the registry ever held; it is called only when a base names no registry model."""
    errors, warnings = _conversations(models, files, history_ids)
    warnings += _bases(models, history_ids)
    warnings += _names(models)
    warnings += _avatars(models, files)
    return sorted(errors), sorted(warnings)


def _bases(models: Mapping[str, Placed], history_ids: Callable[[], set[str]]) -> list[Problem]:
    out = []
    known: set[str] | None = None
    for placed in models.values():
        base = placed.spec.base
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
        shown = (placed.spec.name or model_id).strip().casefold()
        by_name.setdefault(shown, []).append(model_id)
    out = []
    for ids in by_name.values():
        for model_id in ids if len(ids) > 1 else []:
            others = ", ".join(i for i in ids if i != model_id)
            name = models[model_id].spec.name or model_id
            out.append(
                models[model_id].problem(
                    "name",
                    f"'{name}' is also the display name of {others}; the model selector shows "
                    "them alike (give each its own name)",
                )
            )
    return out


def _avatars(models: Mapping[str, Placed], files: Files) -> list[Problem]:
    out = []
    used: set[str] = set()
    for placed in models.values():
        avatar = placed.spec.avatar
        if avatar is None or ":" in avatar:
            continue
        used.add(avatar)
        data = files.read(avatar)
        size = dimensions(data) if data is not None else None
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
    models: Mapping[str, Placed], files: Files, history_ids: Callable[[], set[str]]
) -> tuple[list[Problem], list[Problem]]:
    errors: list[Problem] = []
    warnings: list[Problem] = []
    for path in files.list(CONVERSATIONS_DIR):
        if not path.endswith(".yaml") or PurePosixPath(path).name.startswith("."):
            continue
        raw = files.read(path)
        if raw is None:
            continue
        shown = files.shown(path)
        try:
            parsed, doc = conversations.parse(raw, shown)
        except SpecError as exc:
            errors += exc.problems
            continue
        folder = posixpath.dirname(path)
        for t, turn in enumerate(parsed.turns):
            for i, image in enumerate(turn.images or []):
                where = posixpath.normpath(posixpath.join(folder, image))
                if where.startswith("../"):
                    continue  # outside the registry: replay checks it when it reads it
                if files.read(where) is None:
                    errors.append(
                        doc.problem(
                            ("turns", t, "images", i),
                            f"image '{image}' not found (paths are relative to the file)",
                            at_value=True,
                        )
                    )
            if turn.model and (why := _unknown(turn.model, models, history_ids)):
                warnings.append(doc.problem(("turns", t, "model"), why, at_value=True))
        for i, name in enumerate(parsed.models or []):
            if why := _unknown(name, models, history_ids):
                warnings.append(doc.problem(("models", i), why, at_value=True))
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
