"""`--follow`: the watcher fetches a branch of a local bare repository and fast-forwards to it;
a pushed commit is applied, a diverged (force-pushed) remote is reported on every cycle and
not applied, and local edits that a fast-forward would overwrite stop it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from modelops.errors import NotFoundError, UsageError
from modelops.registry.git import Repo
from modelops.watch.daemon import Options
from modelops.watch.follow import Branch, check, step
from tests.helpers import RegistryFixture, git
from tests.ollama_server import OllamaServer
from tests.watch_helpers import watching


@pytest.fixture
def remote(tmp_path: Path, ollama_server: OllamaServer):
    """An author's registry pushed to a bare repository, and a clone of it to deploy from."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "--initial-branch=main", str(bare))
    author = RegistryFixture.create(tmp_path / "author")
    author.git("checkout", "-q", "-B", "main")
    author.add("faq", base="mistral", system="One.")
    author.git("remote", "add", "origin", str(bare))
    author.git("push", "-q", "origin", "main")
    git(tmp_path, "clone", "-q", "--branch", "main", str(bare), "deploy")
    return author, tmp_path / "deploy", ollama_server


def following(server: OllamaServer, **changes: object) -> Options:
    base = Options(follow=Branch("origin", "main"), interval=0.3, env_host=server.url)
    return dataclasses.replace(base, **changes)


def system_of(server: OllamaServer, name: str) -> str | None:
    model = server.model(name)
    return None if model is None else model.system


def push(author: RegistryFixture, system: str, *, force: bool = False) -> str:
    author.write("faq", author.model_text("faq", "mistral", system=system))
    sha = author.commit(f"faq: {system}")
    author.git("push", "-q", *(["--force"] if force else []), "origin", "main")
    return sha


def test_a_pushed_commit_is_fetched_fast_forwarded_and_applied(remote):
    author, deploy, server = remote
    with watching(deploy, following(server)) as watch:
        assert system_of(server, "faq") == "One."
        sha = push(author, "Two.")
        fetched = watch.wait_event("fetched")
        watch.settled(lambda: system_of(server, "faq") == "Two.", "the pushed commit applied")
        applied = watch.reconciles("follow")[-1]
    assert fetched["commit"] == sha
    assert fetched["message"] == "fast-forwarded main to origin/main (1 commit(s))"
    assert git(deploy, "rev-parse", "HEAD").strip() == sha
    assert applied["commit"] == sha
    assert git(deploy, "log", "--format=%s").splitlines()[0] == "faq: Two."


def test_a_diverged_remote_is_reported_every_cycle_and_not_applied(remote):
    author, deploy, server = remote
    with watching(deploy, following(server)) as watch:
        deployed = push(author, "Two.")
        watch.settled(lambda: system_of(server, "faq") == "Two.", "the first push applied")
        author.git("reset", "-q", "--hard", "HEAD~1")
        push(author, "Rewritten.", force=True)
        watch.wait_event("diverged", count=2)
        metrics = watch.status.exposition().decode()
    assert system_of(server, "faq") == "Two."
    assert git(deploy, "rev-parse", "HEAD").strip() == deployed
    diverged = watch.named("diverged")[0]["message"]
    assert diverged == (
        "main has diverged from origin/main (1 local and 1 remote commit(s)); origin/main is not "
        "applied until main is reset or rebased onto it by hand"
    )
    assert "modelops_follow_diverged 1.0" in metrics


def test_local_edits_that_a_fast_forward_would_overwrite_stop_it(remote):
    author, deploy, server = remote
    (deploy / "models" / "faq.yaml").write_text(
        author.model_text("faq", "mistral", system="Local edit.")
    )
    with watching(deploy, following(server)) as watch:
        push(author, "Two.")
        failed = watch.wait_event("follow-failed")
    assert "local changes" in failed["message"]
    assert system_of(server, "faq") == "Local edit."  # the work tree, as saved
    assert (deploy / "models" / "faq.yaml").read_text().count("Local edit.") == 1


def test_a_branch_ahead_of_the_remote_is_left_alone(remote):
    author, deploy, _ = remote
    clone = RegistryFixture(deploy)
    clone.add("helper", base="mistral")
    followed = step(Repo(deploy), Branch("origin", "main"), timeout=60)
    assert (followed.state, followed.message) == (
        "ahead",
        "main is 1 commit(s) ahead of origin/main",
    )
    assert clone.subjects()[0] == "add helper"


def test_a_detached_head_is_reported(remote):
    _, deploy, _ = remote
    git(deploy, "checkout", "-q", "--detach")
    followed = step(Repo(deploy), Branch("origin", "main"), timeout=60)
    assert followed.state == "failed"
    assert followed.message == "HEAD is detached; check out the branch that follows origin/main"


def test_an_unknown_remote_or_a_branch_without_remote_is_refused(remote):
    _, deploy, _ = remote
    with pytest.raises(NotFoundError, match=r"no remote 'upstream' \(remotes: origin;"):
        check(Repo(deploy), Branch("upstream", "main"))
    with pytest.raises(UsageError, match="write it as REMOTE/BRANCH"):
        Branch.parse("main")
    assert Branch.parse("origin/release/1.x") == Branch("origin", "release/1.x")


def test_a_merge_in_progress_is_not_fast_forwarded(remote):
    author, deploy, _ = remote
    push(author, "Two.")
    head = git(deploy, "rev-parse", "HEAD").strip()
    (deploy / ".git" / "MERGE_HEAD").write_text(head + "\n")
    followed = step(Repo(deploy), Branch("origin", "main"), timeout=60)
    assert followed.state == "failed"
    assert followed.message.startswith("not fast-forwarding to origin/main: a merge is in progress")
    assert git(deploy, "rev-parse", "HEAD").strip() == head
