"""Every git call modelops makes, and the only user of gitpython; its errors become
`GitError` and `NotFoundError` here, with a sentence that says what to do.

A commit is built in a private index (`GIT_INDEX_FILE`) from HEAD plus the operation's files,
HEAD moves only if it still points where the operation started, and the user's index entries
for exactly those paths follow, all under git's own index lock, so a `git add` or `git commit`
of the user's never mixes with a modelops commit. File lists travel on stdin, never on a
command line."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

import git as gitpython
from git.exc import BadName, GitCommandError, InvalidGitRepositoryError, NoSuchPathError

from modelops.errors import ConflictError, GitError, NotFoundError

FALLBACK_NAME, FALLBACK_EMAIL = "modelops", "modelops@localhost"
FILE_MODE = "100644"
_LINK_MODE, _TREE_MODE = 0o120000, 0o040000
_INDEX_LOCKED = (
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


class HeadMoved(ConflictError):
    """HEAD moved between the start of an operation and its commit."""


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
        self._blob_ids: dict[tuple[str, str], str] = {}  # (commit, path) -> blob, from listings
        self._listings: dict[tuple[str, str], dict[str, tuple[str, int]]] = {}
        reader = self._repo.config_reader()
        self._hash = str(reader.get_value("extensions", "objectformat", "sha1"))

    @staticmethod
    def find(path: Path) -> Repo | None:
        try:
            return Repo(path)
        except GitError:
            return None

    @staticmethod
    def init(path: Path) -> Repo:
        try:
            gitpython.Repo.init(path)
        except GitCommandError as exc:
            raise GitError(f"git init failed: {exc.stderr or exc}") from None
        return Repo(path)

    def _proc(
        self, args: list[str], stdin: bytes = b"", env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """A git command fed on stdin (so no list of files ever meets a command-line limit)."""
        environment = {**os.environ, **(env or {})}
        command = ["git", *args]
        return subprocess.run(
            command, cwd=self.top, input=stdin, capture_output=True, env=environment, check=False
        )

    def _run(
        self, args: list[str], what: str, stdin: bytes = b"", env: Mapping[str, str] | None = None
    ) -> str:
        proc = self._proc(args, stdin, env)
        if proc.returncode != 0:
            error = proc.stderr.decode(errors="replace").strip()
            lines = error.splitlines()
            message = next((ln for ln in lines if ln.startswith(("fatal:", "error:"))), "")
            message = message or (lines[-1] if lines else f"exit {proc.returncode}")
            if "index.lock" in error:
                message += f" ({_INDEX_LOCKED})"
            raise GitError(f"{what} failed: {message}")
        return proc.stdout.decode(errors="surrogateescape")

    # --- reading ---

    def head(self) -> str | None:
        """The commit HEAD points at, or None on an unborn branch."""
        try:
            return str(self._repo.head.commit.hexsha)
        except ValueError:
            return None

    def resolve(self, rev: str) -> str:
        """The full commit id of `rev`."""
        try:
            return str(self._repo.commit(rev).hexsha)
        except (BadName, ValueError, GitCommandError):
            raise NotFoundError(
                f"unknown revision '{rev}' (name a commit, branch or tag; see 'git log')"
            ) from None

    def _entries(self, commit: str, folder: str) -> dict[str, tuple[str, int]]:
        """Blob id and mode by path of what is directly in `folder` at `commit` (cached)."""
        key = (commit, f"{folder}/")
        if key not in self._listings:
            try:
                root = self._repo.commit(commit).tree
                tree = root / folder if folder else root
                blobs = [*tree.blobs, *tree.trees] if tree.type == "tree" else []
            except KeyError:
                blobs = []
            self._listings[key] = {str(b.path): (b.hexsha, b.mode) for b in blobs}
        return self._listings[key]

    def list_tree(self, rev: str, folder: str) -> dict[str, str]:
        """Blob ids by repository-relative path of the regular files directly in `folder`."""
        commit = self.resolve(rev)
        entries = self._entries(commit, folder)
        listing = {
            p: sha for p, (sha, mode) in entries.items() if mode not in (_LINK_MODE, _TREE_MODE)
        }
        self._blob_ids.update({(commit, path): sha for path, sha in listing.items()})
        return listing

    def others_in_tree(self, rev: str, folder: str) -> dict[str, str]:
        """The links and folders directly in `folder` at `rev`: path -> "link" or "folder"."""
        entries = self._entries(self.resolve(rev), folder)
        kinds = {_LINK_MODE: "link", _TREE_MODE: "folder"}
        return {p: kinds[mode] for p, (_, mode) in entries.items() if mode in kinds}

    def _committed(self, commit: str | None, path: str) -> tuple[str, int] | None:
        """Blob id and mode of `path` at `commit`, or None."""
        if commit is None:
            return None
        folder = path.rsplit("/", 1)[0] if "/" in path else ""
        return self._entries(commit, folder).get(path)

    def read_object(self, sha: str) -> bytes:
        return bytes(self._repo.odb.stream(bytes.fromhex(sha)).read())

    def read_blob(self, rev: str, path: str) -> bytes | None:
        """The file at `path` in commit `rev`, or None (also for a symbolic link). Folders
        are listed once (gitpython re-parses a tree on every path lookup)."""
        known = self._blob_ids.get((rev, path))
        if known is None:
            entry = self._committed(self.resolve(rev), path)
            if entry is None or entry[1] in (_LINK_MODE, _TREE_MODE):
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
        out = []
        for path in paths:
            committed = self._committed(head, path)
            fine = {committed[0] if committed else None}
            if path in wanted:
                content = wanted[path]
                fine.add(None if content is None else self.blob_id(content))
            file = self.top / path
            on_disk = self.blob_id(file.read_bytes()) if file.is_file() else None
            if file.is_symlink() or on_disk not in fine or staged.get(path) not in fine:
                out.append(path)
        return sorted(out)

    def _staged(self, folders: set[str]) -> dict[str, str]:
        """Blob ids in the user's index, by path, for the files in `folders`."""
        args = ["ls-files", "-s", "-z", "--", *sorted(f or "." for f in folders)]
        entries = (e.split("\t", 1) for e in self._run(args, "git ls-files").split("\0") if e)
        return {path: meta.split()[1] for meta, path in entries}

    def operation_in_progress(self) -> str | None:
        """Why a commit now would be lost or misplaced: a rebase, merge, cherry-pick, revert
        or bisect in progress, or a detached HEAD; with what to run. None when it is safe."""
        for name, what, finish in _STATES:
            if (self.git_dir / name).exists():
                return f"{what} is in progress (finish it with '{finish}', then retry)"
        if self._repo.head.is_detached:
            return (
                "HEAD is detached, so a commit would belong to no branch "
                "(run 'git switch BRANCH' first)"
            )
        return None

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
        return self._run([*args, "--", folder or "."], "git log")

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

    # --- writing ---

    def commit_files(
        self,
        writes: Mapping[str, bytes | None],
        message: str,
        parent: str | None,
        hooks: bool = True,
    ) -> str:
        """A commit of `parent`'s tree with `writes` (repository-relative; None deletes), built
        in a private index; HEAD, the user's index and work tree are left alone."""
        stored = self._store_blobs([c for c in writes.values() if c is not None])
        lines = [
            f"{self._mode(parent, p)} {stored[c]}\t{p}" if c is not None else _removal(p)
            for p, c in sorted(writes.items())
        ]
        state = self.git_dir / "modelops"
        index, message_file = state / f"index-{os.getpid()}", state / f"message-{os.getpid()}"
        state.mkdir(parents=True, exist_ok=True)
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            read = ["read-tree", parent] if parent else ["read-tree", "--empty"]
            self._run(read, "git read-tree", env=env)
            stdin = "".join(f"{line}\0" for line in lines).encode(errors="surrogateescape")
            self._run(["update-index", "-z", "--index-info"], "git update-index", stdin, env)
            if hooks:  # the user's hooks see what is committed, as git's do
                self._hook("pre-commit", env)
                message_file.write_text(message, encoding="utf-8")
                self._hook("commit-msg", env, str(message_file))
                message = message_file.read_text(encoding="utf-8")
            tree = self._run(["write-tree"], "git write-tree", env=env).strip()
        finally:
            index.unlink(missing_ok=True)
            message_file.unlink(missing_ok=True)
        parents = ["-p", parent] if parent else []
        args = ["commit-tree", tree, *parents, "-F", "-"]
        return self._run(args, "git commit-tree", message.encode(), self._identity()).strip()

    def _hook(self, name: str, env: Mapping[str, str], *args: str) -> None:
        """Run the user's git hook `name`, if there is one; a refusal stops the commit."""
        proc = self._proc(["hook", "run", "--ignore-missing", name, "--", *args], env=env)
        if proc.returncode != 0 and name != "post-commit":
            said = (proc.stderr or proc.stdout).decode(errors="replace").strip().splitlines()
            raise GitError(
                f"the {name} hook refused the commit: {said[-1] if said else 'no reason given'}"
            )

    def _store_blobs(self, contents: list[bytes]) -> dict[bytes, str]:
        """Write blobs into the object database with one git process for all of them."""
        unique = list(dict.fromkeys(contents))
        if not unique:
            return {}
        (self.git_dir / "modelops").mkdir(exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="blobs-", dir=self.git_dir / "modelops"))
        try:
            for i, content in enumerate(unique):
                (folder / str(i)).write_bytes(content)
            stdin = "".join(f"{folder / str(i)}\n" for i in range(len(unique))).encode()
            ids = self._run(
                ["hash-object", "-w", "--stdin-paths", "--no-filters"], "git hash-object", stdin
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return dict(zip(unique, ids.split(), strict=True))

    def _mode(self, commit: str | None, path: str) -> str:
        committed = self._committed(commit, path)
        if committed is None or committed[1] == _LINK_MODE:
            return FILE_MODE
        return f"{committed[1]:o}"

    def _identity(self) -> dict[str, str]:
        """Author and committer where git's configuration lacks them, keeping what is set."""
        env: dict[str, str] = {}
        for key, fallback, variables in (
            ("name", FALLBACK_NAME, ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME")),
            ("email", FALLBACK_EMAIL, ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL")),
        ):
            if self._proc(["config", f"user.{key}"]).returncode != 0:
                env.update({v: fallback for v in variables if not os.environ.get(v)})
        return env

    @contextmanager
    def index_locked(self, timeout: float = 10.0) -> Iterator[Path]:
        """Hold git's own index lock, so that no `git add` or `git commit` of the user's can
        interleave; a lock held by another git process is waited for, up to `timeout`."""
        lock = self.git_dir / "index.lock"
        deadline = time.monotonic() + timeout
        while True:
            try:
                os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
                break
            except FileExistsError:
                if time.monotonic() > deadline:
                    raise GitError(f".git/index.lock exists: {_INDEX_LOCKED}") from None
                time.sleep(0.01)
        try:
            yield lock
        finally:
            lock.unlink(missing_ok=True)

    def move_head(self, commit: str, expected: str | None, subject: str) -> None:
        """HEAD to `commit`, only if it still points at `expected` (raises HeadMoved)."""
        current = self.head()
        if current != expected:
            was, now = (expected or "nothing")[:10], (current or "nothing")[:10]
            raise HeadMoved(f"HEAD moved from {was} to {now} while the operation ran")
        args = ["update-ref", "-m", f"modelops: {subject}", "HEAD", commit, expected or ""]
        self._run(args, "git update-ref")

    def committed(self) -> None:
        """What git does after a commit: the user's post-commit hook (its failure is ignored)."""
        self._hook("post-commit", {})

    def write_index(self, locked: Path, commit: str, paths: list[str]) -> None:
        """The user's index with `paths` as in `commit`, written through the held lock file."""
        scratch = self.git_dir / "modelops" / f"index-user-{os.getpid()}"
        index = self.git_dir / "index"
        env = {"GIT_INDEX_FILE": str(scratch)}
        try:
            if index.exists():
                scratch.write_bytes(index.read_bytes())
            else:
                self._run(["read-tree", "--empty"], "git read-tree", env=env)
            lines = [
                f"{committed[1]:o} {committed[0]}\t{path}"
                if (committed := self._committed(commit, path))
                else _removal(path)
                for path in paths
            ]
            stdin = "".join(f"{line}\0" for line in lines).encode(errors="surrogateescape")
            self._run(["update-index", "-z", "--index-info"], "git update-index", stdin, env)
            locked.write_bytes(scratch.read_bytes())
            locked.replace(index)
        finally:
            scratch.unlink(missing_ok=True)

    def is_ancestor(self, commit: str, of: str = "HEAD") -> bool:
        """Whether `commit` is in the history of `of`."""
        with suppress(GitError):
            self._run(["merge-base", "--is-ancestor", commit, of], "git merge-base")
            return True
        return False


def _removal(path: str) -> str:
    """An `update-index --index-info` line that removes `path`."""
    return f"0 {'0' * 40}\t{path}"
