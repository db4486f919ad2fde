"""`modelops edit`: open a model in the user's editor until it is valid, then commit it.

Like `kubectl edit`, a file with problems is reopened with the problems listed in a comment
block at the top; saving it unchanged gives up and leaves the registry as it was. The registry
lock is not held while a human edits: the file is read under the lock, the lock is released
while the editor is open, and it is taken again to commit, which is refused (with the
difference, and the edited text kept) if someone else changed the model meanwhile.
"""

from __future__ import annotations

import difflib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from modelops.errors import ConflictError, GitError, ModelopsError, Problem, SpecError
from modelops.registry.authoring import SUBJECT_WIDTH
from modelops.registry.files import write_atomic
from modelops.registry.model_file import parse_model
from modelops.registry.store import Registry
from modelops.registry.transaction import Changeset
from modelops.spec.layout import changed_keys
from modelops.spec.paths import model_path

MARK = "# ! "
Editor = Callable[[Path], None]
Choice = Literal["edit", "keep", "abort"]
Ask = Callable[[list[Problem]], Choice]  # after a save with problems: what now?


@dataclass
class Edited:
    sha: str | None  # the new commit; None when nothing changed
    keys: list[str]  # the dotted keys that changed
    notes: list[str] = field(default_factory=list)  # what recovering an earlier write did


def edit(registry: Registry, model_id: str, editor: Editor, ask: Ask, timeout: float) -> Edited:
    """A model file with problems can be edited (that is how it gets fixed); problems elsewhere
    in the registry must be fixed first, as this edit could not be committed with them."""
    path = model_path(model_id)
    with registry.transaction(timeout) as tx:
        notes = list(tx.notes)
        snapshot = tx.snapshot
        raw = snapshot.read(path)
        if raw is None:
            snapshot.get(model_id)  # raises the "no model" error with its hint
            raw = b""
        shown = snapshot.source.shown(path)
        if registry.repo.changed([registry.repo_path(path)]):
            raise GitError(
                f"{shown}: uncommitted changes (commit or discard them first, so that the edit "
                "starts from what is committed; see 'git status')"
            )
        elsewhere = [p for p in snapshot.problems if p.path != shown]
        if elsewhere:
            raise SpecError(elsewhere)
        before = snapshot.models[model_id].spec.to_data() if model_id in snapshot.models else {}
        problems: list[Problem] = [p for p in snapshot.problems if p.path == shown]
    original = raw.decode("utf-8", errors="replace")
    text = original
    with tempfile.TemporaryDirectory(prefix="modelops-edit-") as tmp:
        scratch = Path(tmp) / f"{model_id}.yaml"
        while True:
            presented = _header(problems) + text
            scratch.write_text(presented, encoding="utf-8")
            editor(scratch)
            if not scratch.is_file():
                raise ModelopsError(
                    f"the editor removed the file it was given; nothing was changed in {shown}"
                )
            edited = scratch.read_bytes().decode("utf-8", errors="replace")
            if edited == presented and problems:
                raise ModelopsError(
                    f"edit abandoned: {path} still had problems; nothing was changed"
                )
            text = _strip_header(edited)
            if text == original:
                return Edited(None, [], notes)
            body = _strip_header_bytes(scratch.read_bytes())
            new, problems = parse_model(body, shown, path)
            if new is not None and new.spec.id != model_id:
                problems = [
                    new.placed.problem(
                        "id", f"cannot change in edit (use 'modelops rename {model_id} NEW')"
                    )
                ]
            if problems or new is None:
                _again(ask, problems, registry.state_file(f"edit-{model_id}.yaml"), body, shown)
                continue
            keys = changed_keys(before, new.spec.to_data())
            summary = f"Edit {model_id}: {', '.join(keys)}" if keys else f"Edit {model_id}"
            if len(summary) > SUBJECT_WIDTH:
                summary = f"Edit {len(keys)} fields of {model_id}"
            change = Changeset(
                op="edit",
                summary=summary,
                writes={path: body},
                models=(model_id,),
                details=tuple(keys) if len(keys) > 1 else (),
            )
            with registry.transaction(timeout) as tx:
                notes += tx.notes
                now = tx.snapshot.read(path) or b""
                if now != raw:
                    kept = registry.state_file(f"edit-{model_id}.yaml")
                    write_atomic(kept, body)
                    raise ConflictError(
                        f"{shown} changed while it was open in the editor, so your edit was not "
                        f"committed; it is kept in {kept} (merge it by hand and run "
                        f"'modelops edit {model_id}' again). What changed meanwhile:\n"
                        + _diff(raw, now, shown)
                    )
                try:
                    return Edited(tx.commit(change), keys, notes)
                except SpecError as exc:
                    problems = exc.problems
            _again(ask, problems, registry.state_file(f"edit-{model_id}.yaml"), body, shown)


def _again(ask: Ask, problems: list[Problem], kept: Path, body: bytes, shown: str) -> None:
    """After a save with problems: returns to edit again, or raises (the text kept aside)."""
    choice = ask(problems)
    if choice == "keep":
        write_atomic(kept, body)
        raise SpecError(problems, f"nothing was committed; your edit is kept in {kept}")
    if choice == "abort":
        raise ModelopsError(f"edit abandoned; nothing was changed in {shown}")


def _diff(before: bytes, after: bytes, shown: str) -> str:
    lines = difflib.unified_diff(
        before.decode("utf-8", errors="replace").splitlines(),
        after.decode("utf-8", errors="replace").splitlines(),
        f"{shown} (when you opened it)",
        f"{shown} (now)",
        lineterm="",
    )
    return "\n".join(lines)


def _header(problems: list[Problem]) -> str:
    if not problems:
        return ""
    lines = [
        "modelops: this file has problems. Fix them and save, or save it unchanged to give up.",
        *(str(_shifted(p, len(problems) + 2)) for p in problems),
    ]
    return "".join(f"{MARK}{line}\n" for line in lines) + MARK.rstrip() + "\n"


def _shifted(problem: Problem, by: int) -> Problem:
    """Line numbers as the user sees them, below the header."""
    if not problem.line:
        return problem
    return Problem(problem.path, problem.line + by, problem.col, problem.key, problem.message)


def _strip_header(text: str) -> str:
    lines = text.splitlines(keepends=True)
    while lines and (lines[0].startswith(MARK) or lines[0].rstrip("\n") == MARK.rstrip()):
        lines.pop(0)
    return "".join(lines)


def _strip_header_bytes(raw: bytes) -> bytes:
    """The edited file as saved, minus our header; undecodable bytes are left for the parser
    to report."""
    lines = raw.splitlines(keepends=True)
    mark = MARK.encode()
    while lines and (lines[0].startswith(mark) or lines[0].rstrip(b"\n") == mark.rstrip()):
        lines.pop(0)
    return b"".join(lines)
