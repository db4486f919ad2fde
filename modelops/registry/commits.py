"""Making commits without touching the user's index or work tree on the way: the new tree is
built in a private index (`GIT_INDEX_FILE`) from HEAD plus the operation's files, the user's
pre-commit and commit-msg hooks run against it as they would for `git commit`, HEAD moves only
if it still points where the operation started, and the user's index entries for exactly those
paths follow, all under git's own index lock, so a `git add` or `git commit` of the user's
never mixes with a modelops commit."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from modelops.errors import ConflictError, GitError
from modelops.registry.git import INDEX_LOCKED, LINK_MODE, Repo

FALLBACK_NAME, FALLBACK_EMAIL = "modelops", "modelops@localhost"
FILE_MODE = "100644"


class HeadMoved(ConflictError):
    """HEAD moved between the start of an operation and its commit."""


def commit_files(
    repo: Repo,
    writes: Mapping[str, bytes | None],
    message: str,
    parent: str | None,
    hooks: bool = True,
) -> str:
    """A commit of `parent`'s tree with `writes` (repository-relative; None deletes), built
    in a private index; HEAD, the user's index and work tree are left alone."""
    stored = _store_blobs(repo, [c for c in writes.values() if c is not None])
    lines = [
        f"{_mode(repo, parent, p)} {stored[c]}\t{p}" if c is not None else _removal(p)
        for p, c in sorted(writes.items())
    ]
    state = repo.git_dir / "modelops"
    index, message_file = state / f"index-{os.getpid()}", state / f"message-{os.getpid()}"
    state.mkdir(parents=True, exist_ok=True)
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        read = ["read-tree", parent] if parent else ["read-tree", "--empty"]
        repo.run(read, "git read-tree", env=env)
        stdin = "".join(f"{line}\0" for line in lines).encode(errors="surrogateescape")
        repo.run(["update-index", "-z", "--index-info"], "git update-index", stdin, env)
        if hooks:  # the user's hooks see what is committed, as git's do
            _hook(repo, "pre-commit", env)
            message_file.write_text(message, encoding="utf-8")
            _hook(repo, "commit-msg", env, str(message_file))
            message = message_file.read_text(encoding="utf-8")
        tree = repo.run(["write-tree"], "git write-tree", env=env).strip()
    finally:
        index.unlink(missing_ok=True)
        message_file.unlink(missing_ok=True)
    parents = ["-p", parent] if parent else []
    args = ["commit-tree", tree, *parents, "-F", "-"]
    return repo.run(
        args,
        "git commit-tree",
        message.encode(),
        _identity(
            repo,
        ),
    ).strip()


def _hook(repo: Repo, name: str, env: Mapping[str, str], *args: str) -> None:
    """Run the user's git hook `name`, if there is one; a refusal stops the commit. A hook
    that is not there (or not executable: git ignores those) costs no git process."""
    hook = repo.hooks / name
    if not (hook.is_file() and os.access(hook, os.X_OK)):
        return
    proc = repo.proc(["hook", "run", "--ignore-missing", name, "--", *args], env=env)
    if proc.returncode != 0 and name != "post-commit":
        said = (proc.stderr or proc.stdout).decode(errors="replace").strip().splitlines()
        raise GitError(
            f"the {name} hook refused the commit: {said[-1] if said else 'no reason given'}"
        )


PACK_FROM = 100  # blobs: from this many, one pack file instead of a loose object for each

# fast-import sets up and frees a compressor for every blob. glibc's malloc hands that memory
# back to the system each time and asks for it again for the next blob: 4,400 `brk` calls and
# three quarters of the process's time for a thousand models (90 ms; 25 ms when kept). Other
# C libraries ignore the variable; one the user set is kept.
_KEEP_HEAP = {"MALLOC_TRIM_THRESHOLD_": os.environ.get("MALLOC_TRIM_THRESHOLD_", str(64 << 20))}


def _store_blobs(repo: Repo, contents: list[bytes]) -> dict[bytes, str]:
    """Write blobs into the object database with one git process for all of them: as loose
    objects when they are few, as one pack when there are many (an import of a thousand
    models), as git itself keeps what a fetch brings (`transfer.unpackLimit`)."""
    unique = list(dict.fromkeys(contents))
    if not unique:
        return {}
    (repo.git_dir / "modelops").mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="blobs-", dir=repo.git_dir / "modelops"))
    try:
        if len(unique) >= PACK_FROM:
            ids = _packed(repo, unique, folder / "marks")
        else:
            for i, content in enumerate(unique):
                (folder / str(i)).write_bytes(content)
            stdin = "".join(f"{folder / str(i)}\n" for i in range(len(unique))).encode()
            written = repo.run(
                ["hash-object", "-w", "--stdin-paths", "--no-filters"], "git hash-object", stdin
            )
            ids = written.split()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return dict(zip(unique, ids, strict=True))


def _packed(repo: Repo, contents: list[bytes], marks: Path) -> list[str]:
    """Blobs written as one pack by `git fast-import`; their ids, in order."""
    stream = bytearray()
    for i, content in enumerate(contents, 1):
        stream += b"blob\nmark :%d\ndata %d\n" % (i, len(content))
        stream += content + b"\n"
    stream += b"done\n"
    args = ["fast-import", "--quiet", "--done", f"--export-marks={marks}"]
    repo.run(args, "git fast-import", bytes(stream), _KEEP_HEAP)
    ids = dict(line.split(" ", 1) for line in marks.read_text().split("\n") if line)
    return [ids[f":{i}"].strip() for i in range(1, len(contents) + 1)]


def _mode(repo: Repo, commit: str | None, path: str) -> str:
    entry = repo.committed_entry(commit, path)
    if entry is None or entry[1] == LINK_MODE:
        return FILE_MODE
    return f"{entry[1]:o}"


def _identity(repo: Repo) -> dict[str, str]:
    """Author and committer where git's configuration lacks them, keeping what is set."""
    env: dict[str, str] = {}
    said = repo.proc(["config", "--get-regexp", r"^user\.(name|email)$"]).stdout.decode()
    known = {line.split(" ", 1)[0] for line in said.splitlines()}
    for key, fallback, variables in (
        ("name", FALLBACK_NAME, ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME")),
        ("email", FALLBACK_EMAIL, ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL")),
    ):
        if f"user.{key}" not in known:
            env.update({v: fallback for v in variables if not os.environ.get(v)})
    return env


@contextmanager
def index_locked(repo: Repo, timeout: float = 10.0) -> Iterator[Path]:
    """Hold git's own index lock (`index.lock`), so that no `git add` or `git commit` of the
    user's runs meanwhile; a lock held by another git process is waited for, up to `timeout`.
    While it is held, `write_index` replaces the index itself; the lock is removed at the end."""
    lock = repo.git_dir / "index.lock"
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            break
        except FileExistsError:
            if time.monotonic() > deadline:
                raise GitError(f".git/index.lock exists: {INDEX_LOCKED}") from None
            time.sleep(0.01)
    try:
        yield lock
    finally:
        lock.unlink(missing_ok=True)


def move_head(repo: Repo, commit: str, expected: str | None, subject: str) -> None:
    """HEAD to `commit`, only if it still points at `expected` (raises HeadMoved)."""
    current = repo.head()
    if current != expected:
        was, now = (expected or "nothing")[:10], (current or "nothing")[:10]
        raise HeadMoved(f"HEAD moved from {was} to {now} while the operation ran")
    args = ["update-ref", "-m", f"modelops: {subject}", "HEAD", commit, expected or ""]
    repo.run(args, "git update-ref")


def committed(repo: Repo) -> None:
    """What git does after a commit: the user's post-commit hook (its failure is ignored)."""
    _hook(repo, "post-commit", {})


def write_index(repo: Repo, commit: str, paths: list[str]) -> None:
    """The user's index with `paths` as in `commit`, replaced in one step. Call it with the
    index lock held, and before HEAD moves: `git commit` reads the index before it takes the
    lock, so an index that changed after HEAD could be committed on top of the new HEAD."""
    scratch = repo.git_dir / "modelops" / f"index-user-{os.getpid()}"
    index = repo.git_dir / "index"
    env = {"GIT_INDEX_FILE": str(scratch)}
    try:
        if index.exists():
            scratch.write_bytes(index.read_bytes())
        else:
            repo.run(["read-tree", "--empty"], "git read-tree", env=env)
        lines = [
            f"{entry[1]:o} {entry[0]}\t{path}"
            if (entry := repo.committed_entry(commit, path))
            else _removal(path)
            for path in paths
        ]
        stdin = "".join(f"{line}\0" for line in lines).encode(errors="surrogateescape")
        repo.run(["update-index", "-z", "--index-info"], "git update-index", stdin, env)
        scratch.replace(index)
    finally:
        scratch.unlink(missing_ok=True)


def _removal(path: str) -> str:
    """An `update-index --index-info` line that removes `path`."""
    return f"0 {'0' * 40}\t{path}"
