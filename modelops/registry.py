"""The git-backed store (DESIGN 3): discovery, loading at any revision, and writes as commits.

Every write runs as a transaction: take the registry lock, recover from an interrupted
operation if there was one, load, let the operation compute a `Change`, validate the result,
write the files atomically, commit exactly those paths, release. A journal in
`.git/modelops/` lets the next operation undo the writes of one that was killed before its
commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from modelops import snapshot as snap
from modelops.config import CONFIG_FILE, DEFAULT_CONFIG
from modelops.errors import GitError, LockError, ModelopsError, UsageError

if TYPE_CHECKING:  # gitpython costs ~100 ms to import: only commands that use git pay for it
    from modelops.git import Repo

LOCK_TIMEOUT = 60.0


@dataclass(frozen=True)
class Change:
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


@dataclass(frozen=True)
class Revision:
    """Registry files as committed at one revision."""

    repo: Repo
    sha: str
    label: str
    prefix: str  # the registry folder, relative to the repository top ("" at the top)

    def _full(self, path: str) -> str:
        return f"{self.prefix}/{path}" if self.prefix else path

    def list(self, folder: str) -> list[str]:
        cut = len(self.prefix) + 1 if self.prefix else 0
        return sorted(p[cut:] for p in self.repo.list_tree(self.sha, self._full(folder)))

    def read(self, path: str) -> bytes | None:
        return self.repo.read_blob(self.sha, self._full(path))

    def shown(self, path: str) -> str:
        return f"{self.label}:{self._full(path)}"


def discover(explicit: str | None, env: str | None, cwd: Path) -> Path:
    """The registry folder: --registry, then MODELOPS_REGISTRY, then the nearest ancestor
    holding modelops.yaml, then ./registry."""
    for given, origin in ((explicit, "--registry"), (env, "MODELOPS_REGISTRY")):
        if given:
            path = (cwd / given).resolve()
            if not (path / CONFIG_FILE).is_file():
                raise UsageError(
                    f"{given} (from {origin}) is not a modelops registry: it has no "
                    f"{CONFIG_FILE} (run 'modelops init {given}')"
                )
            return path
    for folder in (cwd, *cwd.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    if (cwd / "registry" / CONFIG_FILE).is_file():
        return (cwd / "registry").resolve()
    raise UsageError(
        f"no registry here: no {CONFIG_FILE} in {cwd} or above, nor in ./registry "
        "(pass --registry DIR, set MODELOPS_REGISTRY, or run 'modelops init')"
    )


def display_root(root: Path, cwd: Path) -> str:
    try:
        return root.relative_to(cwd.resolve()).as_posix() or "."
    except ValueError:
        return str(root)


class Registry:
    def __init__(self, root: Path, cwd: Path) -> None:
        self.root = root.resolve()
        self.display = display_root(self.root, cwd)
        self._repo: Repo | None = None

    @property
    def repo(self) -> Repo:
        if self._repo is None:
            from modelops.git import Repo

            self._repo = Repo(self.root)
        return self._repo

    @property
    def prefix(self) -> str:
        """The registry folder relative to the repository top."""
        rel = self.root.relative_to(self.repo.top).as_posix()
        return "" if rel == "." else rel

    def load(self, rev: str | None = None) -> snap.Snapshot:
        if rev is None:
            return snap.load(snap.WorkTree(self.root, self.display))
        sha = self.repo.resolve(rev)
        return snap.load(Revision(self.repo, sha, rev, self.prefix))

    @contextlib.contextmanager
    def transaction(self, timeout: float = LOCK_TIMEOUT) -> Iterator[Transaction]:
        from filelock import FileLock, Timeout

        state_dir = self.repo.git_dir / "modelops"
        state_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(state_dir / "lock")
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise LockError(
                f"another modelops operation has held the registry lock for {timeout:.0f} s "
                f"({state_dir / 'lock'}); wait for it to finish, then retry"
            ) from None
        try:
            tx = Transaction(self, state_dir / "journal.json")
            tx.recover()
            tx.snapshot = self.load()
            yield tx
        finally:
            lock.release()


@dataclass
class Transaction:
    registry: Registry
    journal: Path
    snapshot: snap.Snapshot = field(init=False)
    notes: list[str] = field(default_factory=list)

    def _repo_path(self, path: str) -> str:
        prefix = self.registry.prefix
        return f"{prefix}/{path}" if prefix else path

    def commit(self, change: Change) -> str | None:
        """Validate, write and commit `change`; None when it changes nothing."""
        current = {p: self.snapshot.read(p) for p in change.writes}
        writes = {p: c for p, c in change.writes.items() if current[p] != c}
        if not writes:
            return None
        result = self.snapshot.with_changes(writes)
        result.require_valid()
        repo = self.registry.repo
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
                _write_atomic(self.registry.root / path, content)
            sha = repo.commit(paths, change.message())
        except BaseException:
            self._undo(paths)
            raise
        self.journal.unlink()
        self.snapshot = result
        return sha

    def _write_journal(self, op: str, writes: dict[str, bytes | None]) -> None:
        entry = {
            "op": op,
            "paths": {p: _digest(c) for p, c in writes.items()},
        }
        _write_atomic(self.journal, json.dumps(entry, indent=2).encode())

    def _undo(self, paths: list[str]) -> None:
        try:
            self.registry.repo.restore(paths)
            for path in paths:
                full = self.registry.repo.top / path
                if full.exists() and not self.registry.repo.tracked(path):
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
        repo = self.registry.repo
        top = repo.top
        committed = repo.has_commits() and all(
            _digest(repo.read_blob("HEAD", p)) == d for p, d in intended.items()
        )
        if not committed:
            ours = [p for p, d in intended.items() if _digest(_read(top / p)) == d]
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


def _digest(content: bytes | None) -> str | None:
    return None if content is None else hashlib.sha256(content).hexdigest()


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _write_atomic(path: Path, content: bytes | None) -> None:
    """Replace `path` in one step (a temporary file in the same folder, then rename)."""
    if content is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def registry_path(*parts: str) -> str:
    return PurePosixPath(*parts).as_posix()


def init(path: Path, cwd: Path) -> tuple[Registry, str]:
    """Make `path` a registry (and a git repository if it is not inside one); one commit."""
    from modelops.git import Repo
    from modelops.replay.conversation import schema_text as conversation_schema
    from modelops.spec import schema_text

    root = path.resolve()
    if (root / CONFIG_FILE).exists():
        raise UsageError(f"{path} is already a modelops registry ({CONFIG_FILE} exists)")
    root.mkdir(parents=True, exist_ok=True)
    repo = Repo.find(root) or Repo.init(root)
    registry = Registry(root, cwd)
    registry._repo = repo
    files = {
        CONFIG_FILE: DEFAULT_CONFIG.encode(),
        snap.SCHEMA_FILE: schema_text().encode(),
        snap.CONVERSATION_SCHEMA_FILE: conversation_schema().encode(),
        f"{snap.MODELS_DIR}/.gitkeep": b"",
        "avatars/.gitkeep": b"",
        "conversations/.gitkeep": b"",
    }
    paths = [registry_path(registry.prefix, p) if registry.prefix else p for p in files]
    if repo.dirty(paths):
        raise GitError(f"{', '.join(repo.dirty(paths))}: already exists with uncommitted changes")
    for name, content in files.items():
        _write_atomic(root / name, content)
    change = Change(op="init", summary="Initialise the modelops registry", writes={}, models=())
    return registry, repo.commit(paths, change.message())
