"""The registry: a folder holding `modelops.yaml` inside a git work tree. Finding it, loading it
at any revision, its history, the state modelops keeps under `.git/modelops/` (never
committed), and the lock every write takes."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from modelops.errors import ConflictError, GitError, LockError, NotFoundError
from modelops.registry import snapshot as snap
from modelops.registry.cache import Cache
from modelops.registry.files import write_atomic
from modelops.registry.sources import Nothing, Revision, WorkTree
from modelops.registry.transaction import Changeset, Transaction
from modelops.spec.paths import CONFIG_FILE, MODELS_DIR

if TYPE_CHECKING:  # a command that reads no git (validate of the work tree) loads no git module
    from modelops.registry.git import Repo
    from modelops.registry.history import Entry
    from modelops.spec.config import Config

LOCK_TIMEOUT = 60.0


def discover(explicit: str | None, env: str | None, cwd: Path) -> Path:
    """The registry folder: --registry, then MODELOPS_REGISTRY, then the nearest ancestor
    holding modelops.yaml, then ./registry."""
    for given, origin in ((explicit, "--registry"), (env, "MODELOPS_REGISTRY")):
        if given:
            path = (cwd / given).resolve()
            if not (path / CONFIG_FILE).is_file():
                raise NotFoundError(
                    f"{given} (from {origin}) is not a modelops registry: it has no "
                    f"{CONFIG_FILE} (run 'modelops init {given}')"
                )
            return path
    for folder in (cwd, *cwd.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    if (cwd / "registry" / CONFIG_FILE).is_file():
        return (cwd / "registry").resolve()
    raise NotFoundError(
        f"no registry here: no {CONFIG_FILE} in {cwd} or above, nor in ./registry "
        "(pass --registry DIR, set MODELOPS_REGISTRY, or run 'modelops init')"
    )


def display_root(root: Path, cwd: Path) -> str:
    try:
        return root.relative_to(cwd.resolve()).as_posix() or "."
    except ValueError:
        return str(root)


class Registry:
    def __init__(self, root: Path, cwd: Path, *, cache: bool = True) -> None:
        self.root = root.resolve()
        self.display = display_root(self.root, cwd)
        self._repo: Repo | None = None
        # validated files by git blob id, under .git/modelops/ (see modelops.registry.cache)
        self.cache = Cache.for_folder(self.root) if cache else Cache.off()

    @property
    def repo(self) -> Repo:
        if self._repo is None:
            from modelops.registry.git import Repo

            self._repo = Repo(self.root)
        return self._repo

    @property
    def prefix(self) -> str:
        """The registry folder relative to the repository top."""
        rel = self.root.relative_to(self.repo.top).as_posix()
        return "" if rel == "." else rel

    def name(self, config: Config | None) -> str:
        """How this registry names itself to the systems it manages: `name` in modelops.yaml,
        else its repository's name (from the origin remote, else its folder) and folder."""
        if config is not None and config.name:
            return config.name
        remote = self.repo.proc(["config", "--get", "remote.origin.url"]).stdout.decode().strip()
        base = remote.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1] if remote else ""
        repository = base.removesuffix(".git") or self.repo.top.name
        return f"{repository}/{self.prefix}" if self.prefix else repository

    def repo_path(self, path: str) -> str:
        """A registry-relative path as a path from the top of the repository."""
        return f"{self.prefix}/{path}" if self.prefix else path

    def load(self, rev: str | None = None) -> snap.Snapshot:
        """The registry in the work tree, or as committed at `rev`."""
        if rev is None:
            return snap.load(WorkTree(self.root, self.display), self.cache)
        sha = self.repo.resolve(rev)
        return snap.load(Revision(self.repo, sha, rev, self.prefix), self.cache)

    def resolve(self, rev: str) -> str:
        """The full commit id of `rev`."""
        return self.repo.resolve(rev)

    def history(
        self, model_id: str | None = None, limit: int | None = None, revisions: str | None = None
    ) -> list[Entry]:
        from modelops.registry.history import history

        return history(self.repo, self.prefix, model_id, limit, revisions)

    def commits_between(self, base: str, head: str) -> list[Entry]:
        """The registry's commits reachable from `head` but not from `base`, newest first."""
        return self.history(revisions=f"{base}..{head}")

    def fork_point(self, branch: str, head: str, limit: int = 1000) -> str | None:
        """The newest commit of `branch`, along its first parents, that `head` contains: the
        merge base of the two in all but criss-cross histories. None if there is none within
        `limit` commits."""
        tip = self.repo.resolve(branch)
        target = self.repo.resolve(head)
        for commit in self.repo.first_parents(tip, limit):
            if self.repo.is_ancestor(commit, target):
                return commit
        return None

    def merge_base(self, rev: str | None = None) -> tuple[str, str]:
        """The commit a pull request of HEAD (or `rev`) starts from, on the default branch
        (origin/HEAD, origin/main, origin/master, main or master). Returns (that commit,
        where it came from)."""
        if self.repo.head() is None:
            raise GitError("the repository has no commits yet, so there is nothing to diff")
        for branch in ("origin/HEAD", "origin/main", "origin/master", "main", "master"):
            try:
                self.repo.resolve(branch)
            except NotFoundError:
                continue
            found = self.fork_point(branch, rev or "HEAD")
            if found is None:
                raise GitError(f"HEAD and {branch} share no recent history; name the base")
            return found, f"merge base with {branch}"
        raise NotFoundError(
            "no default branch to compare with (no origin/HEAD, main or master); "
            "name the base revision, e.g. 'modelops diff HEAD~1'"
        )

    def ids_in_history(self, rev: str = "HEAD") -> set[str]:
        """Every model id the registry defined in the history of `rev` (not on other branches,
        nor in stashes)."""
        names = self.repo.names_in_history(self.repo_path(MODELS_DIR), rev)
        return {n.removesuffix(".yaml") for n in names if n.endswith(".yaml")}

    def uncommitted(self) -> list[str]:
        """The registry's files whose work-tree state differs from HEAD (untracked included)."""
        cut = len(self.prefix) + 1 if self.prefix else 0
        return [p[cut:] for p in self.repo.status(self.prefix)]

    def file_times(self) -> dict[str, tuple[int, int]]:
        """For each model file: the times of the commits that first added and last changed it."""
        from modelops.registry.history import file_times

        cut = len(self.prefix) + 1 if self.prefix else 0
        times = file_times(self.repo, self.repo_path(MODELS_DIR))
        return {path[cut:]: when for path, when in times.items()}

    def state_file(self, name: str) -> Path:
        """A file of state modelops keeps for this registry (never committed)."""
        return self.repo.git_dir / "modelops" / name

    @contextlib.contextmanager
    def transaction(self, timeout: float = LOCK_TIMEOUT, expect: int = 0) -> Iterator[Transaction]:
        """Hold the registry lock, finish an interrupted write, and load HEAD. `expect`: about
        how many files the operation will write (see `Transaction.expect`)."""
        from filelock import FileLock, Timeout

        state_dir = self.state_file("lock").parent
        state_dir.mkdir(parents=True, exist_ok=True)
        lock, holder = FileLock(state_dir / "lock"), state_dir / "lock.holder"
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise LockError(
                f"the registry is locked by {_holder(holder)}; waited {timeout:g} s "
                "(wait for it to finish and retry, or raise MODELOPS_LOCK_TIMEOUT)"
            ) from None
        try:
            who = {"pid": os.getpid(), "command": _command(), "since": time.time()}
            write_atomic(holder, json.dumps(who).encode())
            tx = None
            try:
                tx = Transaction(
                    self.repo, self.root, self.prefix, state_dir, self._load_commit, expected=expect
                )
                tx.refuse_unsafe_state()
                yield tx
            finally:
                if tx is not None:
                    tx.close()
        finally:
            holder.unlink(missing_ok=True)
            lock.release()

    def _load_commit(self, sha: str | None) -> snap.Snapshot:
        """The registry as committed at `sha` (None: empty), its paths shown as in the work tree,
        which is where an operation writes them."""
        if sha is None:
            return snap.load(Nothing(self.display), self.cache)
        return snap.load(Revision(self.repo, sha, sha[:10], self.prefix, self.display), self.cache)


def _command() -> str:
    words = [Path(sys.argv[0]).name if sys.argv else "python", *sys.argv[1:]]
    return " ".join("modelops" if w == "__main__.py" else w for w in words)


def _holder(path: Path) -> str:
    """Who holds the lock and since when, as the holder wrote it."""
    try:
        who = json.loads(path.read_bytes())
        since = dt.datetime.fromtimestamp(float(who["since"]), dt.UTC)
        ago = max(0, int(time.time() - float(who["since"])))
        return f"'{who['command']}' (pid {who['pid']}) since {since:%H:%M:%S} UTC, {ago} s ago"
    except (OSError, ValueError, KeyError, TypeError):
        return "another modelops operation"


def init(path: Path, cwd: Path) -> tuple[Registry, str]:
    """Make `path` a registry (and a git repository if it is not inside one); one commit."""
    from modelops.registry import commits
    from modelops.registry.git import Repo
    from modelops.spec.config import DEFAULT_CONFIG
    from modelops.spec.schema import schema_files

    root = path.resolve()
    if (root / CONFIG_FILE).exists():
        raise ConflictError(f"{path} is already a modelops registry ({CONFIG_FILE} exists)")
    root.mkdir(parents=True, exist_ok=True)
    repo = Repo.find(root) or Repo.init(root)
    registry = Registry(root, cwd)
    registry._repo = repo
    files = {
        CONFIG_FILE: DEFAULT_CONFIG.encode(),
        **{name: text.encode() for name, text in schema_files().items()},
        f"{MODELS_DIR}/.gitkeep": b"",
        "avatars/.gitkeep": b"",
        "conversations/.gitkeep": b"",
    }
    problem = repo.operation_in_progress() if repo.head() else None
    if problem:
        raise GitError(f"modelops does not commit now: {problem}")
    paths = [registry.repo_path(p) for p in files]
    existing = [p for p in paths if (repo.top / p).exists()]
    if existing:
        raise GitError(f"{', '.join(existing)}: already exists (move it away, then retry)")
    change = Changeset(op="init", summary="Initialise the modelops registry", writes={}, models=())
    with commits.index_locked(repo):
        head = repo.head()
        writes = dict(zip(paths, files.values(), strict=True))
        sha = commits.commit_files(repo, writes, change.message(), head)
        commits.write_index(repo, sha, paths)
        commits.move_head(repo, sha, head, change.summary)
    commits.committed(repo)
    for name, content in files.items():
        write_atomic(root / name, content)
    return registry, sha
