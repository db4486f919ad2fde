"""A git repository as modelops reads it: the repository, HEAD and revisions through git's
plumbing (`git rev-parse`), folder listings through `git ls-tree`, objects through gitpython's
object database (the only user of it, imported by the first object read: a plan from the
validated-file cache reads none, and gitpython takes ~100 ms to import), history, the state a
repository can be in (a rebase in progress, a detached HEAD, a shallow clone), and `run`, the
one place git commands are started (file lists travel on stdin, never on a command line).
Failures become `GitError` and `NotFoundError` here, with a sentence that says what to do.
Commits are made in `commits.py`."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any

from modelops.errors import GitError, NotFoundError

LINK_MODE, _TREE_MODE = 0o120000, 0o040000
INDEX_LOCKED = (
    "another git process is running in this repository; if none is, "
    "remove .git/index.lock and retry"
)
_STATES = (  # (file or folder in the git dir, what is in progress, how to end it)
    ("rebase-merge", "a rebase", "git rebase --continue' or 'git rebase --abort"),
    ("rebase-apply", "a rebase or 'git am'", "git rebase --continue' or 'git rebase --abort"),
    ("MERGE_HEAD", "a merge", "git commit' or 'git merge --abort"),
    ("CHERRY_PICK_HEAD", "a cherry-pick", "git cherry-pick --continue' or '--abort"),
    ("REVERT_HEAD", "a revert", "git revert --continue' or 'git revert --abort"),
    ("BISECT_LOG", "a bisect", "git bisect reset"),
)


class ObjectTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes")
        self.size = size


class Repo:
    """A git work tree."""

    def __init__(self, path: Path) -> None:
        self.top, self.git_dir, self._hash, self.hooks = _found(path)
        self._commits: set[str] = set()  # full ids known to name commits
        self._odb: Any = None  # gitpython's, when first needed
        self._blob_ids: dict[tuple[str, str], str] = {}  # (commit, path) -> blob, from listings
        self._listings: dict[tuple[str, str], dict[str, tuple[str, int]]] = {}

    @staticmethod
    def find(path: Path) -> Repo | None:
        try:
            return Repo(path)
        except GitError:
            return None

    @staticmethod
    def init(path: Path) -> Repo:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GitError(f"git init failed: cannot create {path}: {exc.strerror}") from None
        proc = subprocess.run(["git", "init", "-q", str(path)], capture_output=True, check=False)
        if proc.returncode != 0:
            raise GitError(f"git init failed: {proc.stderr.decode(errors='replace').strip()}")
        return Repo(path)

    def proc(
        self, args: list[str], stdin: bytes = b"", env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """A git command fed on stdin (so no list of files ever meets a command-line limit)."""
        environment = {**os.environ, **(env or {})}
        command = ["git", *args]
        return subprocess.run(
            command, cwd=self.top, input=stdin, capture_output=True, env=environment, check=False
        )

    def run(
        self, args: list[str], what: str, stdin: bytes = b"", env: Mapping[str, str] | None = None
    ) -> str:
        """A git command's output; its failure is a GitError that names `what` failed."""
        proc = self.proc(args, stdin, env)
        if proc.returncode != 0:
            error = proc.stderr.decode(errors="replace").strip()
            lines = error.splitlines()
            message = next((ln for ln in lines if ln.startswith(("fatal:", "error:"))), "")
            message = message or (lines[-1] if lines else f"exit {proc.returncode}")
            if "index.lock" in error:
                message += f" ({INDEX_LOCKED})"
            raise GitError(f"{what} failed: {message}")
        return proc.stdout.decode(errors="surrogateescape")

    # --- reading ---

    def head(self) -> str | None:
        """The commit HEAD points at, or None on an unborn branch."""
        return self._commit("HEAD")

    def resolve(self, rev: str) -> str:
        """The full commit id of `rev`."""
        found = None if rev.startswith("-") else self._commit(rev)
        if found is None:
            raise NotFoundError(
                f"unknown revision '{rev}' (name a commit, branch or tag; see 'git log')"
            )
        return found

    def _commit(self, rev: str) -> str | None:
        if rev in self._commits:  # a commit id names that commit for good
            return rev
        proc = self.proc(["rev-parse", "-q", "--verify", f"{rev}^{{commit}}"])
        found = proc.stdout.decode().strip()
        if proc.returncode != 0 or not found:
            return None
        self._commits.add(found)
        return found

    def _entries(self, commit: str, folder: str) -> dict[str, tuple[str, int]]:
        """Blob id and mode by path of what is directly in `folder` at `commit` (cached).
        Listed by `git ls-tree`: one process, against gitpython walking the tree in Python
        (40 ms for a folder of 1,000 files)."""
        key = (commit, f"{folder}/")
        if key not in self._listings:
            args = ["ls-tree", "-z", "--full-tree", commit, *([f"{folder}/"] if folder else [])]
            listing = {}
            for entry in self.run(args, "git ls-tree").split("\0"):
                meta, _, path = entry.partition("\t")
                parts = meta.split(" ")
                if len(parts) == 3 and parts[1] in ("blob", "tree"):  # not a submodule
                    listing[path] = (parts[2], int(parts[0], 8))
            self._listings[key] = listing
        return self._listings[key]

    def list_tree(self, rev: str, folder: str) -> dict[str, str]:
        """Blob ids by repository-relative path of the regular files directly in `folder`."""
        commit = self.resolve(rev)
        entries = self._entries(commit, folder)
        listing = {
            p: sha for p, (sha, mode) in entries.items() if mode not in (LINK_MODE, _TREE_MODE)
        }
        self._blob_ids.update({(commit, path): sha for path, sha in listing.items()})
        return listing

    def others_in_tree(self, rev: str, folder: str) -> dict[str, str]:
        """The links and folders directly in `folder` at `rev`: path -> "link" or "folder"."""
        entries = self._entries(self.resolve(rev), folder)
        kinds = {LINK_MODE: "link", _TREE_MODE: "folder"}
        return {p: kinds[mode] for p, (_, mode) in entries.items() if mode in kinds}

    def committed_entry(self, commit: str | None, path: str) -> tuple[str, int] | None:
        """Blob id and mode of `path` at `commit`, or None."""
        if commit is None:
            return None
        folder = path.rsplit("/", 1)[0] if "/" in path else ""
        return self._entries(commit, folder).get(path)

    def read_object(self, sha: str, limit: int | None = None) -> bytes:
        """An object's bytes; over `limit` bytes, ObjectTooLarge, before its content is read
        (git sends the size first)."""
        stream = self._objects().stream(bytes.fromhex(sha))
        if limit is not None and stream.size > limit:
            while stream.read(1 << 20):  # git sends it anyway: take it in pieces, keep none
                pass
            raise ObjectTooLarge(int(stream.size))
        return bytes(stream.read())

    def _objects(self) -> Any:
        """gitpython's object database: one `git cat-file --batch` process, kept open."""
        if self._odb is None:
            import git as gitpython

            self._odb = gitpython.Repo(self.top).odb
        return self._odb

    def read_blob(self, rev: str, path: str) -> bytes | None:
        """The file at `path` in commit `rev`, or None (also for a symbolic link). Folders
        are listed once (gitpython re-parses a tree on every path lookup)."""
        known = self._blob_ids.get((rev, path))
        if known is None:
            entry = self.committed_entry(self.resolve(rev), path)
            if entry is None or entry[1] in (LINK_MODE, _TREE_MODE):
                return None
            known = entry[0]
        return self.read_object(known)

    def blob_id(self, content: bytes) -> str:
        """The id git gives a file with `content`, computed here."""
        return hashlib.new(self._hash, b"blob %d\0%s" % (len(content), content)).hexdigest()

    def changed(
        self, paths: list[str], wanted: Mapping[str, bytes | None] | None = None
    ) -> list[str]:
        """Of `paths`, those whose work-tree or staged version differs from HEAD and from what
        the operation writes there (`wanted`): local edits it must not overwrite."""
        if not paths:
            return []
        wanted = wanted or {}
        head = self.head()
        staged = self._staged({p.rsplit("/", 1)[0] if "/" in p else "" for p in paths})
        out, top = [], os.fspath(self.top)
        for path in paths:
            committed = self.committed_entry(head, path)
            fine = {committed[0] if committed else None}
            if path in wanted:
                content = wanted[path]
                fine.add(None if content is None else self.blob_id(content))
            file = f"{top}/{path}"  # a string: an import asks this of a thousand files
            try:
                kind = stat.S_IFMT(os.lstat(file).st_mode)  # one call: a link is not followed
            except FileNotFoundError:
                kind = None
            on_disk = self.blob_id(Path(file).read_bytes()) if kind == stat.S_IFREG else None
            odd = kind not in (None, stat.S_IFREG)  # a link, a folder: never written over
            if odd or on_disk not in fine or staged.get(path) not in fine:
                out.append(path)
        return sorted(out)

    def _staged(self, folders: set[str]) -> dict[str, str]:
        """Blob ids in the user's index, by path, for the files in `folders`."""
        args = ["ls-files", "-s", "-z", "--", *sorted(f or "." for f in folders)]
        entries = (e.split("\t", 1) for e in self.run(args, "git ls-files").split("\0") if e)
        return {path: meta.split()[1] for meta, path in entries}

    def operation_in_progress(self) -> str | None:
        """Why a commit now would be lost or misplaced: a rebase, merge, cherry-pick, revert
        or bisect in progress, or a detached HEAD; with what to run. None when it is safe."""
        for name, what, finish in _STATES:
            if (self.git_dir / name).exists():
                return f"{what} is in progress (finish it with '{finish}', then retry)"
        if self.proc(["symbolic-ref", "-q", "HEAD"]).returncode != 0:
            return (
                "HEAD is detached, so a commit would belong to no branch "
                "(run 'git switch BRANCH' first)"
            )
        return None

    def status(self, folder: str) -> list[str]:
        """Paths under `folder` that differ from HEAD in the index or work tree, or are new."""
        args = ["status", "--porcelain=v1", "-z", "--untracked-files=all", "--", folder or "."]
        entries = self.run(args, "git status").split("\0")
        out, skip = [], False
        for entry in entries:
            if skip or len(entry) < 4:
                skip = False
                continue
            out.append(entry[3:])
            skip = entry[0] in "RC"  # a rename names its source next
        return sorted(out)

    def is_shallow(self) -> bool:
        return (self.git_dir / "shallow").exists()

    def log(self, fmt: str, folder: str, revisions: str | None = None) -> str:
        """`git log -z --name-only` of `revisions` (default HEAD; ranges such as main..HEAD
        work) for the commits that touched `folder`, in format `fmt`; "" without commits."""
        if self.head() is None:
            return ""
        args = ["log", "-z", f"--format={fmt}", "--name-only", "--no-renames"]
        if revisions:
            self._check_revisions(revisions)
            args.append(revisions)
        return self.run([*args, "--", folder or "."], "git log")

    def _check_revisions(self, revisions: str) -> None:
        for rev in (r for r in revisions.replace("...", "..").split("..") if r):
            self.resolve(rev.lstrip("^"))

    def names_in_history(self, folder: str, rev: str = "HEAD") -> set[str]:
        """Every file name that was ever directly inside `folder` in the history of `rev`."""
        out = self.log("", folder, rev)
        prefix = f"{folder}/" if folder else ""
        names = (p.lstrip("\n") for p in out.split("\0"))
        return {
            p[len(prefix) :] for p in names if p.startswith(prefix) and "/" not in p[len(prefix) :]
        }

    def first_parents(self, commit: str, limit: int) -> list[str]:
        """`commit` and its first parents, newest first, at most `limit` of them."""
        args = ["rev-list", "--first-parent", f"--max-count={limit}", commit]
        return self.run(args, "git rev-list").split()

    def is_ancestor(self, commit: str, of: str = "HEAD") -> bool:
        """Whether `commit` is in the history of `of`."""
        with suppress(GitError):
            self.run(["merge-base", "--is-ancestor", commit, of], "git merge-base")
            return True
        return False


def _found(path: Path) -> tuple[Path, Path, str, Path]:
    """The work tree holding `path`, its git directory, its object format (sha1, sha256) and
    its hooks folder (core.hooksPath, or the common git directory's), as git finds them
    (GIT_DIR, GIT_CEILING_DIRECTORIES and linked work trees included)."""
    if not path.is_dir():
        raise GitError(f"{path} is not inside a git work tree (run 'modelops init' or 'git init')")
    args = ["rev-parse", "--is-bare-repository", "--absolute-git-dir", "--show-object-format"]
    args += ["--git-path", "hooks"]
    try:
        proc = subprocess.run(
            ["git", *args, "--show-toplevel"], cwd=path, capture_output=True, check=False
        )
    except FileNotFoundError:
        raise GitError("git is not installed, or not on PATH (modelops needs git)") from None
    lines = proc.stdout.decode(errors="surrogateescape").splitlines()
    if len(lines) < 4:
        said = proc.stderr.decode(errors="replace").strip()
        if said.startswith("fatal:") and "not a git repository" not in said:
            # e.g. another user's repository (git's safe.directory): git says what to run
            reason = " ".join(line.strip() for line in said.splitlines() if line.strip())
            raise GitError(f"git refuses {path}: {reason.removeprefix('fatal: ')}")
        raise GitError(f"{path} is not inside a git work tree (run 'modelops init' or 'git init')")
    if lines[0] == "true":
        raise GitError(f"{path} is a bare git repository; modelops needs a work tree")
    if len(lines) < 5:
        raise GitError(f"{path} is inside a git directory, not a work tree")
    return Path(lines[4]).resolve(), Path(lines[1]).resolve(), lines[2], (path / lines[3]).resolve()
