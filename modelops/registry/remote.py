"""The git calls of following a remote branch (the watcher's `--follow`): the branch checked
out, fetching one branch of a remote, counting how far two commits have diverged, and moving
the branch forward. They run through `git.py`'s runner, with its error translation, and live
apart from it only to keep that module small; fetching has a time limit of its own, as it is
the one call that waits on the network."""

from __future__ import annotations

import os
import subprocess

from modelops.errors import GitError
from modelops.registry.git import Repo


def current_branch(repo: Repo) -> str | None:
    """The branch checked out, or None on a detached HEAD."""
    proc = repo.proc(["symbolic-ref", "--quiet", "--short", "HEAD"])
    return (proc.stdout.decode().strip() or None) if proc.returncode == 0 else None


def remotes(repo: Repo) -> list[str]:
    return repo.run(["remote"], "git remote").split()


def fetch_branch(repo: Repo, remote: str, branch: str, timeout: float) -> str:
    """Fetch `branch` of `remote` into its remote-tracking ref (a force-push included, so that
    a diverged remote can be seen); return the commit it points at."""
    tracking = f"refs/remotes/{remote}/{branch}"
    what = f"git fetch {remote} {branch}"
    command = ["git", "fetch", "--quiet", "--no-tags", "--no-recurse-submodules", remote]
    try:
        proc = subprocess.run(
            [*command, f"+refs/heads/{branch}:{tracking}"],
            cwd=repo.top,
            capture_output=True,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"{what} failed: no answer within {timeout:g} s") from None
    if proc.returncode != 0:
        said = proc.stderr.decode(errors="replace").strip().splitlines()
        reason = next((ln for ln in said if ln.startswith(("fatal:", "error:"))), "")
        raise GitError(f"{what} failed: {reason or (said[-1] if said else 'no reason given')}")
    return repo.resolve(tracking)


def divergence(repo: Repo, local: str, remote: str) -> tuple[int, int]:
    """How many commits only `local` has, and how many only `remote` has."""
    out = repo.run(["rev-list", "--left-right", "--count", f"{local}...{remote}"], "git rev-list")
    ahead, behind = out.split()
    return int(ahead), int(behind)


def fast_forward(repo: Repo, commit: str) -> None:
    """Move the checked-out branch forward to `commit`, updating the work tree; refused by git
    when that is not a fast-forward or would overwrite uncommitted changes."""
    repo.run(["merge", "--ff-only", "--quiet", "--no-edit", commit], "git merge --ff-only")
