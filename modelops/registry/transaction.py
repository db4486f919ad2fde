"""The one way the registry is written: a `Changeset` (the files an operation writes and how
its commit reads) committed inside a `Transaction`, which holds the registry lock.

Committing validates the registry as it would be, writes the files atomically and commits
exactly those paths. A journal in `.git/modelops/` lets the next transaction undo the writes of
one that was killed before its commit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from modelops.errors import GitError, ModelopsError
from modelops.registry.files import digest, read_optional, write_atomic
from modelops.registry.snapshot import Snapshot

if TYPE_CHECKING:
    from modelops.registry.git import Repo


@dataclass(frozen=True)
class Changeset:
    """What one operation does: the files it writes (None deletes) and how its commit reads."""

    op: str
    summary: str
    writes: dict[str, bytes | None]
    models: tuple[str, ...]
    details: tuple[str, ...] = ()
    trailers: tuple[tuple[str, str], ...] = ()

    def message(self) -> str:
        lines = [self.summary, ""]
        if self.details:
            lines += [*self.details, ""]
        lines.append(f"Modelops-Op: {self.op}")
        lines += [f"Modelops-Model: {m}" for m in self.models]
        lines += [f"{k}: {v}" for k, v in self.trailers]
        return "\n".join(lines) + "\n"


@dataclass
class Transaction:
    """Writes to the registry at `root` (the folder `prefix` of `repo`) while its lock is held."""

    repo: Repo
    root: Path
    prefix: str
    journal: Path
    snapshot: Snapshot = field(init=False)
    notes: list[str] = field(default_factory=list)

    def _repo_path(self, path: str) -> str:
        return f"{self.prefix}/{path}" if self.prefix else path

    def commit(self, change: Changeset) -> str | None:
        """Validate, write and commit `change`; None when it changes nothing."""
        current = {p: self.snapshot.read(p) for p in change.writes}
        writes = {p: c for p, c in change.writes.items() if current[p] != c}
        if not writes:
            return None
        result = self.snapshot.with_changes(writes)
        result.require_valid()
        repo = self.repo
        paths = [self._repo_path(p) for p in sorted(writes)]
        dirty = repo.dirty(paths)
        if dirty:
            listed = ", ".join(dirty)
            raise GitError(
                f"{listed}: uncommitted changes in a file this operation must change "
                "(commit or discard them first; see 'git status')"
            )
        self._write_journal(change.op, {self._repo_path(p): c for p, c in writes.items()})
        try:
            for path, content in writes.items():
                write_atomic(self.root / path, content)
            sha = repo.commit(paths, change.message())
        except BaseException:
            self._undo(paths)
            raise
        self.journal.unlink()
        self.snapshot = result
        return sha

    def _write_journal(self, op: str, writes: dict[str, bytes | None]) -> None:
        entry = {"op": op, "paths": {p: digest(c) for p, c in writes.items()}}
        write_atomic(self.journal, json.dumps(entry, indent=2).encode())

    def _undo(self, paths: list[str]) -> None:
        try:
            self.repo.restore(paths)
            for path in paths:
                full = self.repo.top / path
                if full.exists() and not self.repo.tracked(path):
                    full.unlink()
        except ModelopsError as exc:
            self.notes.append(f"could not undo the writes: {exc.message}")
            return
        self.journal.unlink(missing_ok=True)

    def recover(self) -> None:
        """Undo the uncommitted writes of an operation that was killed half-way."""
        if not self.journal.exists():
            return
        try:
            entry = json.loads(self.journal.read_bytes())
            intended: dict[str, str | None] = entry["paths"]
        except (ValueError, KeyError, TypeError):
            self.journal.unlink()
            return
        repo = self.repo
        top = repo.top
        committed = repo.has_commits() and all(
            digest(repo.read_blob("HEAD", p)) == d for p, d in intended.items()
        )
        if not committed:
            ours = [p for p, d in intended.items() if digest(read_optional(top / p)) == d]
            theirs = sorted(set(intended) - set(ours))
            if ours:
                repo.restore(ours)
                for path in ours:
                    if (top / path).exists() and not repo.tracked(path):
                        (top / path).unlink()
            self.notes.append(
                f"an interrupted '{entry.get('op', '?')}' was undone ({len(ours)} file(s) restored)"
                + (
                    f"; left alone because they were edited since: {', '.join(theirs)}"
                    if theirs
                    else ""
                )
            )
        self.journal.unlink()
