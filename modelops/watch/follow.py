"""Following a git remote, the pull model of Flux and Argo CD: fetch the branch, and move the
checked-out branch to it only by fast-forward. Local commits are never merged, rebased or
thrown away: a branch that has diverged from the remote is reported, every time, and the
remote's commits are not applied until someone puts it right by hand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from modelops.errors import ModelopsError, NotFoundError, UsageError
from modelops.registry import remote as git_remote
from modelops.registry.git import Repo

State = Literal["current", "forwarded", "ahead", "diverged", "failed"]


@dataclass(frozen=True)
class Branch:
    remote: str
    name: str

    @classmethod
    def parse(cls, text: str) -> Branch:
        remote, _, name = text.strip().partition("/")
        if not remote or not name:
            raise UsageError(f"--follow {text}: write it as REMOTE/BRANCH, e.g. origin/main")
        return cls(remote, name)

    def __str__(self) -> str:
        return f"{self.remote}/{self.name}"


@dataclass(frozen=True)
class Followed:
    """What one fetch found, and what was done about it."""

    state: State
    message: str
    commit: str | None = None  # the remote branch's commit, once fetched

    @property
    def ok(self) -> bool:
        return self.state not in ("diverged", "failed")


def check(repo: Repo, branch: Branch) -> None:
    """Refuse to start following a remote the repository does not have."""
    remotes = git_remote.remotes(repo)
    if branch.remote not in remotes:
        known = ", ".join(remotes) or "none"
        raise NotFoundError(
            f"--follow {branch}: this repository has no remote '{branch.remote}' (remotes: "
            f"{known}; add one with 'git remote add')"
        )


def step(repo: Repo, branch: Branch, timeout: float) -> Followed:
    """Fetch the followed branch and fast-forward the checked-out branch to it."""
    try:
        local = git_remote.current_branch(repo)
        if local is None:
            return Followed(
                "failed", f"HEAD is detached; check out the branch that follows {branch}"
            )
        busy = repo.operation_in_progress()
        if busy:
            return Followed("failed", f"not fast-forwarding to {branch}: {busy}")
        fetched = git_remote.fetch_branch(repo, branch.remote, branch.name, timeout)
        head = repo.resolve("HEAD")
        ahead, behind = git_remote.divergence(repo, head, fetched)
        if behind == 0:
            state: State = "ahead" if ahead else "current"
            told = f"{local} is {ahead} commit(s) ahead of {branch}" if ahead else "up to date"
            return Followed(state, told, fetched)
        if ahead:
            return Followed(
                "diverged",
                f"{local} has diverged from {branch} ({ahead} local and {behind} remote "
                f"commit(s)); {branch} is not applied until {local} is reset or rebased onto "
                "it by hand",
                fetched,
            )
        git_remote.fast_forward(repo, fetched)
        return Followed(
            "forwarded", f"fast-forwarded {local} to {branch} ({behind} commit(s))", fetched
        )
    except ModelopsError as exc:
        return Followed("failed", exc.message)
