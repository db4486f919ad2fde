"""Reading the work tree: regular files only, without following links or waiting on pipes."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from modelops.registry.sources import WorkTree


@pytest.fixture
def tree(tmp_path: Path) -> WorkTree:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "faq.yaml").write_bytes(b"version: 1\n")
    (tmp_path / "models" / "team").mkdir()
    (tmp_path / "outside.yaml").write_bytes(b"secret: 1\n")
    (tmp_path / "models" / "linked.yaml").symlink_to(tmp_path / "outside.yaml")
    return WorkTree(tmp_path, ".")


def test_only_regular_files_are_listed_and_read(tree: WorkTree):
    assert tree.list("models") == ["models/faq.yaml"]
    assert tree.others("models") == {"models/linked.yaml": "link", "models/team": "folder"}
    assert tree.read("models/faq.yaml") == b"version: 1\n"
    assert tree.read("models/linked.yaml") is None
    assert tree.read("models/team") is None
    assert tree.read("models/missing.yaml") is None
    assert tree.read("models/faq.yaml/below") is None


def test_a_linked_folder_is_not_entered(tree: WorkTree, tmp_path: Path):
    (tmp_path / "avatars").symlink_to(tmp_path / "models")
    assert tree.list("avatars") == []
    assert tree.others("avatars") == {"avatars": "link"}
    assert tree.read("avatars/faq.yaml") is None


def test_a_named_pipe_is_not_waited_on(tree: WorkTree, tmp_path: Path):
    os.mkfifo(tmp_path / "models" / "pipe.yaml")
    found: list[bytes | None] = [b"not read"]
    reader = threading.Thread(
        target=lambda: found.__setitem__(0, tree.read("models/pipe.yaml")), daemon=True
    )
    reader.start()
    reader.join(30)  # a bound for a hang, not a speed: the read returns at once
    stuck = reader.is_alive()
    if stuck:  # let the reader go, so that the test run can end
        with (tmp_path / "models" / "pipe.yaml").open("wb"):
            pass
    assert not stuck
    assert found == [None]
    assert "models/pipe.yaml" not in tree.list("models")


def test_a_revision_lists_files_links_and_folders_and_never_a_submodule(tmp_path: Path):
    """What a commit holds directly in a folder, whatever its names: a space, a non-ASCII
    letter and a tab; a link and a sub-folder apart; a submodule neither."""
    import subprocess

    from modelops.registry.git import Repo

    def git(*args: str, stdin: bytes = b"") -> str:
        done = subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=tmp_path,
            input=stdin,
            capture_output=True,
            check=True,
        )
        return done.stdout.decode().strip()

    git("init", "-q")
    models = tmp_path / "models"
    (models / "team").mkdir(parents=True)
    odd = "a b é\tc.yaml"
    (models / odd).write_bytes(b"version: 1\n")
    (models / "team" / "x.yaml").write_bytes(b"x\n")
    (models / "link.yaml").symlink_to(odd)
    git("add", "-A")
    git("update-index", "--add", "--cacheinfo", f"160000,{'1' * 40},models/module")
    git("commit", "-qm", "one")
    blob = git("hash-object", "--stdin", stdin=b"version: 1\n")
    repo = Repo(tmp_path)
    assert repo.list_tree("HEAD", "models") == {f"models/{odd}": blob}
    assert repo.others_in_tree("HEAD", "models") == {
        "models/link.yaml": "link",
        "models/team": "folder",
    }
    assert repo.read_blob("HEAD", f"models/{odd}") == b"version: 1\n"
    assert repo.list_tree("HEAD", "avatars") == {}
    assert repo.list_tree("HEAD", "") == {}


def test_a_revision_reads_the_work_tree_copy_only_when_it_holds_the_committed_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A file unchanged since the commit is read from the work tree (no git process); an
    edited, removed or linked one is read from git, and the commit's bytes are returned."""
    import subprocess

    from modelops.registry.git import Repo
    from modelops.registry.sources import Revision

    def git(*args: str) -> None:
        env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t"}
        env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
        subprocess.run(["git", *args], cwd=tmp_path, env=env, capture_output=True, check=True)

    git("init", "-q")
    models = tmp_path / "models"
    models.mkdir()
    for name in ("same", "edited", "removed", "linked"):
        (models / f"{name}.yaml").write_bytes(f"{name}: committed\n".encode())
    git("add", "-A")
    git("commit", "-qm", "one")
    (models / "edited.yaml").write_bytes(b"edited: in the work tree\n")
    (models / "removed.yaml").unlink()
    (models / "linked.yaml").unlink()
    (models / "linked.yaml").symlink_to("same.yaml")

    repo = Repo(tmp_path)
    asked: list[str] = []
    read_object = repo.read_object
    monkeypatch.setattr(
        repo, "read_object", lambda sha, limit=None: asked.append(sha) or read_object(sha, limit)
    )
    head = Revision(repo, repo.resolve("HEAD"), "HEAD", "")
    assert head.read("models/same.yaml") == b"same: committed\n"
    assert asked == []
    for name in ("edited", "removed", "linked"):
        assert head.read(f"models/{name}.yaml") == f"{name}: committed\n".encode()
    assert len(asked) == 3
