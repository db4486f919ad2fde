"""Every git call modelops makes, and the only user of gitpython.

gitpython's exceptions are translated here into `GitError` and `NotFoundError`, with a
sentence that says what to do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git as gitpython
from git.exc import BadName, GitCommandError, InvalidGitRepositoryError, NoSuchPathError

from modelops.errors import GitError, NotFoundError

FALLBACK_IDENTITY = ("modelops", "modelops@localhost")


@dataclass(frozen=True)
class LogEntry:
    sha: str
    author: str
    timestamp: int
    subject: str
    body: str
    trailers: tuple[tuple[str, str], ...]
    paths: tuple[str, ...]


@contextmanager
def _translated(what: str) -> Iterator[None]:
    try:
        yield
    except GitCommandError as exc:
        raise GitError(f"{what} failed: {_stderr(exc)}") from None


def _stderr(exc: GitCommandError) -> str:
    text = str(exc.stderr or exc.stdout or exc).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    lines = [ln.removeprefix("stderr: ").strip("'").strip() for ln in lines]
    message = next((ln for ln in lines if ln.startswith(("fatal:", "error:"))), "")
    message = message or (lines[0] if lines else "unknown error")
    if "index.lock" in text:
        message += (
            " (another git process is running in this repository; if none is, "
            "remove .git/index.lock and retry)"
        )
    return message


class Repo:
    """A git work tree, reached through gitpython."""

    def __init__(self, path: Path) -> None:
        try:
            self._repo = gitpython.Repo(path, search_parent_directories=True)
        except (InvalidGitRepositoryError, NoSuchPathError):
            raise GitError(
                f"{path} is not inside a git work tree (run 'modelops init' or 'git init')"
            ) from None
        if self._repo.bare:
            raise GitError(f"{path} is a bare git repository; modelops needs a work tree")
        self.top = Path(self._repo.working_tree_dir or path).resolve()
        self.git_dir = Path(self._repo.git_dir).resolve()
        self._trees: dict[str, Any] = {}
        self._blob_ids: dict[tuple[str, str], str] = {}  # (commit, path) -> blob, from listings

    @staticmethod
    def find(path: Path) -> Repo | None:
        try:
            return Repo(path)
        except GitError:
            return None

    @staticmethod
    def init(path: Path) -> Repo:
        with _translated("git init"):
            gitpython.Repo.init(path)
        return Repo(path)

    def _git(self, *args: str, **kwargs: Any) -> str:
        return str(self._repo.git.execute(["git", *args], **kwargs))

    # --- reading ---

    def has_commits(self) -> bool:
        try:
            self._repo.head.commit  # noqa: B018 - raises on an unborn branch
        except ValueError:
            return False
        return True

    def resolve(self, rev: str) -> str:
        """The full commit id of `rev`."""
        try:
            return str(self._repo.commit(rev).hexsha)
        except (BadName, ValueError, GitCommandError):
            raise NotFoundError(
                f"unknown revision '{rev}' (name a commit, branch or tag; see 'git log')"
            ) from None

    def _tree(self, rev: str) -> Any:
        sha = rev if len(rev) == 40 and rev in self._trees else self.resolve(rev)
        if sha not in self._trees:
            self._trees[sha] = self._repo.commit(sha).tree
        return self._trees[sha]

    def list_tree(self, rev: str, folder: str) -> dict[str, str]:
        """Blob ids by repository-relative path of the files directly in `folder` at `rev`."""
        commit = self.resolve(rev)
        try:
            tree = self._tree(commit) / folder if folder else self._tree(commit)
        except KeyError:
            return {}
        listing = {blob.path: blob.hexsha for blob in tree.blobs}
        self._blob_ids.update({(commit, path): sha for path, sha in listing.items()})
        return listing

    def read_object(self, sha: str) -> bytes:
        return bytes(self._repo.odb.stream(bytes.fromhex(sha)).read())

    def read_blob(self, rev: str, path: str) -> bytes | None:
        """The file at `path` in commit `rev`, or None."""
        known = self._blob_ids.get((rev, path))
        if known is not None:  # listed already: skip the tree walk, which re-parses trees
            return self.read_object(known)
        try:
            blob = self._tree(rev) / path
        except KeyError:
            return None
        if blob.type != "blob":
            return None
        return bytes(blob.data_stream.read())

    def dirty(self, paths: list[str]) -> list[str]:
        """Of `paths` (repository-relative), those with staged or unstaged or untracked changes."""
        if not paths:
            return []
        with _translated("git status"):
            out = self._git("status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *paths)
        entries = [e for e in out.split("\0") if e]
        return sorted({e[3:] for e in entries if len(e) > 3})

    def tracked(self, path: str) -> bool:
        with _translated("git ls-files"):
            return bool(self._git("ls-files", "--", path).strip())

    def log(self, folder: str, max_count: int | None = None) -> list[LogEntry]:
        """Commits that touched `folder`, newest first, with their trailers and paths."""
        if not self.has_commits():
            return []
        fmt = "%x1e%H%x1f%an%x1f%at%x1f%s%x1f%b%x1f%(trailers:only,unfold)%x1f"
        args = ["log", f"--format={fmt}", "--name-only", "--no-renames"]
        if max_count:
            args.append(f"--max-count={max_count}")
        with _translated("git log"):
            out = self._git(*args, "--", folder or ".", strip_newline_in_stdout=False)
        entries = []
        for record in out.split("\x1e")[1:]:
            sha, author, ts, subject, body, trailers, files = record.split("\x1f")
            pairs = tuple(
                (key.strip(), value.strip())
                for line in trailers.splitlines()
                if ":" in line
                for key, value in [line.split(":", 1)]
            )
            entries.append(
                LogEntry(
                    sha=sha,
                    author=author,
                    timestamp=int(ts),
                    subject=subject,
                    body=body.strip(),
                    trailers=pairs,
                    paths=tuple(p for p in files.splitlines() if p.strip()),
                )
            )
        return entries

    # --- writing ---

    def restore(self, paths: list[str]) -> None:
        """Put `paths` back to their committed state in the index and the work tree."""
        in_head = [p for p in paths if self.has_commits() and self.read_blob("HEAD", p) is not None]
        if in_head:
            with _translated("git checkout"):
                self._git("checkout", "HEAD", "--", *in_head)
        for path in set(paths) - set(in_head):
            with _translated("git rm"):
                self._git("rm", "--cached", "--quiet", "--ignore-unmatch", "--", path)

    def commit(self, paths: list[str], message: str) -> str:
        """Commit exactly `paths` (added, changed or deleted) and nothing else; return its id."""
        existing = [p for p in paths if (self.top / p).exists()]
        identity: list[str] = []
        reader = self._repo.config_reader()
        if not reader.has_option("user", "email") or not reader.has_option("user", "name"):
            name, email = FALLBACK_IDENTITY
            identity = ["-c", f"user.name={name}", "-c", f"user.email={email}"]
        with _translated("git add"):
            if existing:
                self._git("add", "--", *existing)
        with _translated("git commit"):
            self._git(*identity, "commit", "--quiet", "--only", "-m", message, "--", *paths)
        return str(self._repo.head.commit.hexsha)

    def names_in_history(self, folder: str) -> set[str]:
        """Every file name that was ever directly inside `folder`, at any commit."""
        if not self.has_commits():
            return set()
        with _translated("git log"):
            out = self._git(
                "log", "--all", "--format=", "--name-only", "--no-renames", "--", folder
            )
        prefix = f"{folder}/" if folder else ""
        return {
            line[len(prefix) :]
            for line in out.splitlines()
            if line.startswith(prefix) and "/" not in line[len(prefix) :]
        }

    def file_times(self, folder: str) -> dict[str, tuple[int, int]]:
        """For each file ever in `folder`: the times of the first and the last commit that
        touched it."""
        if not self.has_commits():
            return {}
        with _translated("git log"):
            out = self._git("log", "--format=%x1e%at", "--name-only", "--no-renames", "--", folder)
        times: dict[str, tuple[int, int]] = {}
        for record in out.split("\x1e")[1:]:
            stamp, *paths = record.strip().splitlines()
            when = int(stamp)
            for path in (p for p in paths if p.strip()):
                first, last = times.get(path, (when, when))
                times[path] = (min(first, when), max(last, when))
        return times
