"""The write path under real git use: no commit while git is in the middle of something, only
what is committed is validated, the user's index is never mixed with a modelops commit, and
many writers beside a user running git at the same time leave a consistent history."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, RegistryFixture, git, png, run


def _state(reg: RegistryFixture) -> tuple[str, str]:
    return reg.head(), reg.read("faq")


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (
            lambda r: (r.root / ".git" / "rebase-merge").mkdir(),
            "a rebase is in progress (finish it with 'git rebase --continue' or "
            "'git rebase --abort', then retry)",
        ),
        (
            lambda r: (r.root / ".git" / "MERGE_HEAD").write_text(r.head()),
            "a merge is in progress (finish it with 'git commit' or 'git merge --abort', "
            "then retry)",
        ),
        (
            lambda r: (r.root / ".git" / "CHERRY_PICK_HEAD").write_text(r.head()),
            "a cherry-pick is in progress",
        ),
        (lambda r: (r.root / ".git" / "BISECT_LOG").write_text(""), "a bisect is in progress"),
        (
            lambda r: r.git("checkout", "-q", "--detach"),
            "HEAD is detached, so a commit would belong to no branch (run 'git switch BRANCH' "
            "first)",
        ),
    ],
    ids=["rebase", "merge", "cherry-pick", "bisect", "detached"],
)
def test_no_commit_while_git_is_in_the_middle_of_something(reg: RegistryFixture, make, says):
    reg.add("faq", base="mistral")
    before = _state(reg)
    make(reg)
    result = run("hide", "faq")
    assert result.code == 1
    assert result.err.startswith(f"error: modelops does not commit now: {says}")
    assert _state(reg) == before


def test_a_real_rebase_in_progress_is_refused(reg: RegistryFixture):
    reg.add("faq", base="mistral")
    reg.git("checkout", "-q", "-b", "side")
    (reg.root / "models" / "faq.yaml").write_text(reg.read("faq") + "description: side\n")
    reg.commit("side")
    reg.git("checkout", "-q", "-")
    (reg.root / "models" / "faq.yaml").write_text(reg.read("faq") + "description: main\n")
    reg.commit("main")
    subprocess.run(["git", "rebase", "side"], cwd=reg.root, capture_output=True, check=False)
    assert (reg.root / ".git" / "rebase-merge").exists()  # stopped on the conflict
    result = run("create", "other", "--base", "mistral")
    assert result.code == 1
    assert "a rebase is in progress" in result.err


def test_set_avatar_commits_the_image_with_the_model(reg: RegistryFixture, tmp_path: Path):
    reg.add("faq", base="mistral")
    outside = tmp_path / "me.png"
    outside.write_bytes(png((6, 6)))
    result = run("set", "faq", f"avatar={outside}")
    assert result.code == 0, result.err
    assert reg.last_paths() == ["avatars/faq.png", "models/faq.yaml"]
    assert "avatar: avatars/faq.png" in reg.read("faq")
    shown = subprocess.run(
        ["git", "show", "HEAD:avatars/faq.png"], cwd=reg.root, capture_output=True, check=True
    )
    assert shown.stdout == outside.read_bytes()
    assert reg.status() == ""
    untracked = reg.root / "avatars" / "new.png"  # put there by hand, never committed
    untracked.write_bytes(png((7, 7)))
    assert run("set", "faq", "avatar=avatars/new.png").code == 0
    # new.png is committed with the model; faq.png, which no model shows now, goes
    assert reg.last_paths() == ["avatars/faq.png", "avatars/new.png", "models/faq.yaml"]
    assert reg.status() == ""


@pytest.mark.parametrize(
    ("content", "says"),
    [(b"not an image", "not a PNG, JPEG, GIF or WebP image"), (None, "no such image file")],
)
def test_set_avatar_refuses_what_is_not_an_image(reg: RegistryFixture, tmp_path, content, says):
    reg.add("faq", base="mistral")
    before = _state(reg)
    if content is not None:
        (tmp_path / "x.png").write_bytes(content)
    result = run("set", "faq", f"avatar={tmp_path / 'x.png'}")
    assert result.code == 1
    assert says in result.err
    assert _state(reg) == before


def test_set_avatar_refuses_a_symbolic_link(reg: RegistryFixture, tmp_path: Path):
    reg.add("faq", base="mistral")
    (tmp_path / "real.png").write_bytes(png())
    (tmp_path / "link.png").symlink_to(tmp_path / "real.png")
    result = run("set", "faq", f"avatar={tmp_path / 'link.png'}")
    assert result.code == 1
    assert "a symbolic link (give the image file itself)" in result.err


def test_a_base_that_is_only_an_uncommitted_draft_is_refused(reg: RegistryFixture):
    reg.write("draft", reg.model_text("draft", base="mistral"))  # saved, never committed
    head = reg.head()
    result = run("create", "child", "--base", "draft")
    assert result.code == 1
    assert result.err == (
        "error: models/child.yaml: base 'draft' is a model that is not committed yet "
        "(commit models/draft.yaml first, then retry)\n"
    )
    assert reg.head() == head
    assert not (reg.root / "models" / "child.yaml").exists()


def test_the_users_index_is_never_mixed_with_a_modelops_commit(reg: RegistryFixture):
    reg.add("faq", base="mistral")
    (reg.root / "notes.txt").write_text("mine\n")
    reg.git("add", "notes.txt")  # staged by the user, for their own next commit
    result = run("hide", "faq")
    assert result.code == 0, result.err
    printed = result.out.split()[1].rstrip(":")
    assert reg.head().startswith(printed)
    assert reg.last_paths() == ["models/faq.yaml"]
    assert reg.status() == "A  notes.txt\n"  # still staged, still theirs
    failed = run("set", "faq", "parameters.temprature=1")
    assert failed.code == 1
    assert reg.status() == "A  notes.txt\n"  # a failed write stages nothing


def test_an_identity_with_only_an_email_keeps_it(reg: RegistryFixture, tmp_path, monkeypatch):
    config = tmp_path / "only-email.gitconfig"
    config.write_text("[user]\n\temail = someone@example.com\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    reg.add("faq", base="mistral")
    assert run("hide", "faq").code == 0
    assert reg.git("log", "-1", "--format=%an <%ae>").strip() == "modelops <someone@example.com>"


def test_a_large_import_passes_no_file_list_on_a_command_line(reg: RegistryFixture, tmp_path):
    records = [
        {"id": f"m{i:05d}", "base_model_id": "mistral:latest", "name": f"M {i}", "params": {}}
        for i in range(4200)
    ]
    source = tmp_path / "many.json"
    source.write_text(json.dumps(records))
    result = run("import", str(source))
    assert result.code == 0, result.err[-500:]
    assert len(reg.last_paths()) == 4200
    assert reg.status() == ""


def _writer(root: Path, n: int, printed: list[tuple[str, str]]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "modelops", "set", f"m{n}", f"description=writer {n}"],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "MODELOPS_LOCK_TIMEOUT": "120"},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    printed.append((f"m{n}", proc.stdout.split()[1].rstrip(":")))


def test_ten_writers_beside_a_user_committing_in_a_loop(reg: RegistryFixture):
    for n in range(10):
        reg.write(f"m{n}", reg.model_text(f"m{n}", base="mistral"))
    reg.commit("ten models")
    stop = threading.Event()
    user_commits: list[str] = []

    def user() -> None:
        i = 0
        while not stop.is_set():
            (reg.root / f"user-{i}.txt").write_text(f"{i}\n")
            added = subprocess.run(["git", "add", f"user-{i}.txt"], cwd=reg.root, check=False)
            done = subprocess.run(
                ["git", "commit", "-q", "-m", f"user {i}"], cwd=reg.root, check=False
            )
            if added.returncode == 0 and done.returncode == 0:
                user_commits.append(git(reg.root, "rev-parse", "HEAD").strip())
            i += 1

    person = threading.Thread(target=user)
    person.start()
    printed: list[tuple[str, str]] = []
    writers = [threading.Thread(target=_writer, args=(reg.root, n, printed)) for n in range(10)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    person.join()
    assert len(printed) == 10 and user_commits
    subprocess.run(["git", "fsck", "--strict"], cwd=reg.root, check=True, capture_output=True)
    for model, short in printed:
        sha = reg.git("rev-parse", short).strip()
        files = reg.git("show", "--name-only", "--format=", sha).split()
        assert files == [f"models/{model}.yaml"]  # the printed commit holds exactly the change
        assert f"description: writer {int(model[1:])}" in reg.git(
            "show", f"{sha}:models/{model}.yaml"
        )
    for sha in user_commits:
        files = reg.git("show", "--name-only", "--format=", sha).split()
        assert all(f.startswith("user-") for f in files), files  # no modelops file in theirs
    for n in range(10):
        assert f"description: writer {n}" in reg.read(f"m{n}")
    assert all(line.startswith("?? user-") for line in reg.status().splitlines())


def test_commits_in_one_transaction_build_on_each_other_without_reloading(
    reg: RegistryFixture, monkeypatch: pytest.MonkeyPatch
):
    """adopt commits model after model under one lock: each commit builds on the one before,
    and the registry is not read from git again for each (no one else committed)."""
    from modelops.registry.store import Registry
    from modelops.registry.transaction import Changeset

    reg.add("faq")
    registry = Registry(reg.root, reg.root)
    loads: list[str | None] = []
    real = registry._load_commit
    monkeypatch.setattr(registry, "_load_commit", lambda sha: loads.append(sha) or real(sha))
    start = reg.head()
    with registry.transaction() as tx:
        made = []
        for name in ("one", "two", "three"):
            writes = {f"models/{name}.yaml": reg.model_text(name).encode()}
            made.append(tx.commit(Changeset("create", f"Create {name}", writes, (name,))))
    assert loads == [start]
    assert reg.git("rev-list", "--first-parent", f"{start}..HEAD").split() == made[::-1]
    assert reg.subjects()[:3] == ["Create three", "Create two", "Create one"]
    assert reg.status() == ""


@pytest.mark.parametrize("count", [3, 150], ids=["loose", "packed"])
def test_blobs_are_stored_as_git_would_store_them(reg: RegistryFixture, count: int):
    """A few blobs become loose objects, many become one pack; either way each has the id
    `git hash-object` gives it, and the repository checks out whole."""
    from modelops.registry import commits
    from modelops.registry.git import Repo

    contents = [f"system: prompt {i}\n".encode() for i in range(count)] + [b"\x00\xffbinary"]
    stored = commits._store_blobs(Repo(reg.root), contents)
    for content in contents:
        expected = (
            subprocess.run(
                ["git", "hash-object", "--stdin"], input=content, capture_output=True, check=True
            )
            .stdout.decode()
            .strip()
        )
        assert stored[content] == expected
        shown = subprocess.run(
            ["git", "cat-file", "blob", expected], cwd=reg.root, capture_output=True, check=True
        )
        assert shown.stdout == content
    counts = dict(line.split(": ") for line in git(reg.root, "count-objects", "-v").splitlines())
    assert (int(counts["in-pack"]) >= count + 1) == (count >= commits.PACK_FROM)
    assert git(reg.root, "fsck", "--no-dangling").strip() == ""


def test_work_tree_copies_keep_modes_make_folders_and_leave_no_temporary_file(tmp_path: Path):
    from modelops.registry.files import write_files

    scratch, tree = tmp_path / "scratch", tmp_path / "tree"
    (tree / "models").mkdir(parents=True)
    script = tree / "models" / "kept-mode.yaml"
    script.write_bytes(b"old\n")
    script.chmod(0o640)
    gone = tree / "models" / "gone.yaml"
    gone.write_bytes(b"bye\n")
    files = {
        script: b"new\n",
        gone: None,
        tree / "avatars" / "new.png": b"png",  # a folder that is not there yet
        tree / "models" / "fresh.yaml": b"fresh\n",
    }
    write_files(files, scratch, durable=False)
    assert script.read_bytes() == b"new\n"
    assert script.stat().st_mode & 0o777 == 0o640
    assert not gone.exists()
    assert (tree / "avatars" / "new.png").read_bytes() == b"png"
    assert (tree / "models" / "fresh.yaml").stat().st_mode & 0o777 == 0o644
    leftovers = [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    assert sorted(p.name for p in (tree / "models").iterdir()) == ["fresh.yaml", "kept-mode.yaml"]
