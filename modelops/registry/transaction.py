"""The one way the registry is written: a `Changeset` (the files an operation writes and how
its commit reads) committed inside a `Transaction`, which holds the registry lock.

An operation works on the registry as committed at HEAD, never on uncommitted files, so what
is validated is exactly the tree the commit will hold. Committing builds the commit in a
private index, moves HEAD only if nobody else moved it (if someone did, and touched none of
the operation's files, the change is validated again on top of theirs), and only then writes
the files into the work tree. A journal in `.git/modelops/` lets the next transaction finish
the work-tree part of one that was killed after its commit; one killed before its commit left
nothing behind.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelops.errors import ConflictError, GitError
from modelops.registry.ahead import Ahead
from modelops.registry.files import digest, read_optional, write_atomic, write_files
from modelops.registry.snapshot import Snapshot
from modelops.spec.paths import model_path

if TYPE_CHECKING:
    from modelops.registry.git import Repo

ATTEMPTS = 20  # HEAD moves under `git commit` without git's index lock: build on it again


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
    """Writes to the registry at `root` (the folder `prefix` of `repo`) while its lock is held.
    `load` reads the registry as committed at a commit (None: an empty registry)."""

    repo: Repo
    root: Path
    prefix: str
    state: Path  # the folder modelops keeps its state in, under the git directory
    load: Callable[[str | None], Snapshot]
    base: str | None = field(init=False)  # the commit the snapshot was read at
    snapshot: Snapshot = field(init=False)
    notes: list[str] = field(default_factory=list)
    expected: int = 0  # files the operation expects to write: created ahead from the start
    _ahead: Ahead | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.recover()
        if self.expected:  # before loading: what loading imports overlaps the creating
            self.expect(self.expected)
        try:
            self.base = self.repo.head()
            self.snapshot = self.load(self.base)
        except BaseException:
            self.close()
            raise

    @property
    def journal(self) -> Path:
        return self.state / "journal.json"

    @property
    def scratch(self) -> Path:
        """Where temporary files are made: never in a folder the registry is loaded from."""
        return self.state / "tmp"

    def _repo_path(self, path: str) -> str:
        return f"{self.prefix}/{path}" if self.prefix else path

    def expect(self, count: int) -> None:
        """About `count` files will be prepared: start creating them now (see `prepare`)."""
        if self._ahead is None:
            self._ahead = Ahead(self.scratch)
        self._ahead.reserve(count)

    def prepare(self, path: str, content: bytes) -> None:
        """A file the next commit will probably write: created ahead, beside the work, when
        there are many (see `modelops.registry.ahead`). Nothing is written into the registry."""
        if self._ahead is None:
            self._ahead = Ahead(self.scratch)
        self._ahead.add(f"{os.fspath(self.root)}/{path}", content)

    def close(self) -> None:
        """Remove what was created ahead and not used."""
        if self._ahead is not None:
            self._ahead.close()
            self._ahead = None

    def refuse_unsafe_state(self) -> None:
        problem = self.repo.operation_in_progress()
        if problem:
            raise GitError(f"modelops does not commit now: {problem}")

    def commit(self, change: Changeset) -> str | None:
        """Validate, commit and write `change`; None when it changes nothing."""
        writes = {p: c for p, c in change.writes.items() if self.snapshot.read(p) != c}
        if not writes:
            return None
        self.refuse_unsafe_state()
        result = self.snapshot.with_changes(writes).require_valid()
        self._refuse_uncommitted_bases(result, writes)
        paths = [self._repo_path(p) for p in sorted(writes)]
        in_repo = {self._repo_path(p): c for p, c in writes.items()}
        changed = self.repo.changed(paths, in_repo)
        if changed:
            raise GitError(
                f"{', '.join(changed)}: uncommitted changes in a file this operation must change "
                "(commit or discard them first; see 'git status')"
            )
        old = {p: self.snapshot.read(p) for p in writes}
        message = change.message()
        from modelops.registry import commits  # only a write needs it

        sha = commits.commit_files(self.repo, in_repo, message, self.base)  # runs the user's hooks
        with commits.index_locked(self.repo):
            for attempt in range(1, ATTEMPTS + 1):
                if self.repo.head() != self.base:  # someone committed since this one began
                    result = self._rebase(writes, old)
                    sha = commits.commit_files(self.repo, in_repo, message, self.base, hooks=False)
                self._write_journal(change.op, sha, old, writes)
                commits.write_index(self.repo, sha, paths)  # first: see write_index
                try:
                    commits.move_head(self.repo, sha, self.base, change.summary)
                    break
                except ConflictError as exc:  # HEAD moved: build on it again
                    if attempt == ATTEMPTS:
                        commits.write_index(self.repo, self.repo.head() or sha, paths)
                        self.journal.unlink(missing_ok=True)
                        raise ConflictError(f"{exc.message}, {ATTEMPTS} times; retry") from None
        commits.committed(self.repo)
        self._write_work_tree(old, writes)
        self.journal.unlink(missing_ok=True)
        self.base, self.snapshot = sha, result  # the next commit of this transaction builds on it
        return sha

    def _refuse_uncommitted_bases(self, result: Snapshot, writes: dict[str, bytes | None]) -> None:
        """A model based on a model that exists only as an uncommitted file would reach the
        commit based on an Ollama model of that name instead."""
        for model in result.models.values():
            base = model.placed.base  # not the spec: building 1,000 of them costs 40 ms
            if model.path in writes and base not in result.models:
                draft = model_path(base)
                if (self.root / draft).is_file():
                    raise GitError(
                        f"{result.source.shown(model.path)}: base '{base}' is a model that is not "
                        f"committed yet (commit {draft} first, then retry)"
                    )

    def _rebase(self, writes: dict[str, bytes | None], old: dict[str, bytes | None]) -> Snapshot:
        """Someone committed meanwhile: go on from their commit if it left our files alone."""
        head = self.repo.head()
        fresh = self.load(head)
        touched = sorted(p for p in writes if fresh.read(p) != old[p])
        if touched:
            raise ConflictError(
                f"{', '.join(touched)}: committed by someone else while this operation ran; "
                "nothing was committed (look at 'git log', then retry)"
            )
        self.base, self.snapshot = head, fresh
        return fresh.with_changes(writes).require_valid()

    def _write_journal(
        self, op: str, commit: str, old: dict[str, bytes | None], new: dict[str, bytes | None]
    ) -> None:
        entry = {
            "op": op,
            "commit": commit,
            "paths": {p: {"old": digest(old[p]), "new": digest(new[p])} for p in new},
        }
        text = json.dumps(entry, separators=(",", ":"))  # indented, json encodes in Python: 10x
        write_atomic(self.journal, text.encode(), self.scratch)

    def _write_work_tree(self, old: dict[str, bytes | None], new: dict[str, bytes | None]) -> None:
        """The committed files into the work tree, except where someone edited them since."""
        kept, written, root = [], {}, os.fspath(self.root)
        for path, content in new.items():
            target = f"{root}/{path}"  # a string: a thousand Paths cost 15 ms
            if read_optional(target) not in (old[path], content):
                kept.append(path)
            else:
                written[target] = content
        ready = self._ahead.take() if self._ahead is not None else {}
        try:
            write_files(written, self.scratch, durable=False, ready=ready)  # the commit holds them
        finally:
            self.close()
        if kept:
            self.notes.append(
                f"{', '.join(kept)}: edited while the operation ran, so left as you saved it "
                "(the commit holds the operation's version; see 'git diff')"
            )

    def recover(self) -> None:
        """Finish an operation that was killed half-way: one that committed gets its files
        written into the work tree; one that did not left nothing to undo."""
        for leftover in self.scratch.glob("*") if self.scratch.is_dir() else ():
            if leftover.is_dir() and not leftover.is_symlink():  # a helper's (see ahead.py)
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
        if not self.journal.exists():
            return
        try:
            entry: dict[str, Any] = json.loads(self.journal.read_bytes())
            commit, op, paths = entry["commit"], entry["op"], entry["paths"]
        except (ValueError, KeyError, TypeError):
            self.journal.unlink()
            self.notes.append("an unreadable journal of an interrupted operation was removed")
            return
        if self.repo.is_ancestor(commit):
            self._complete(commit, paths)
            self.notes.append(f"an interrupted '{op}' had committed {commit[:10]}; now completed")
        else:
            self.notes.append(f"an interrupted '{op}' had not committed; nothing was changed")
        self.journal.unlink()

    def _complete(self, commit: str, paths: dict[str, dict[str, str | None]]) -> None:
        from modelops.registry import commits

        new = {p: self.repo.read_blob(commit, self._repo_path(p)) for p in paths}  # few: a crash
        with commits.index_locked(self.repo):
            commits.write_index(self.repo, commit, [self._repo_path(p) for p in paths])
        for path, digests in paths.items():
            if digest(read_optional(self.root / path)) == digests["old"]:
                write_atomic(self.root / path, new[path], self.scratch)
