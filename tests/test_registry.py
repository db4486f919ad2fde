"""The git-backed store: discovery, revisions, the lock, concurrency and crash recovery."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelops.errors import NotFoundError
from modelops.registry.store import Registry, discover
from tests.helpers import REPO_ROOT, RegistryFixture, png, run


def test_discovery_order(tmp_path: Path):
    outer = RegistryFixture.create(tmp_path / "outer")
    (outer.root / "deep" / "er").mkdir(parents=True)
    assert discover(None, None, outer.root / "deep" / "er") == outer.root
    inner = RegistryFixture.create(tmp_path / "other")
    assert discover(str(inner.root), None, outer.root) == inner.root
    assert discover(None, str(inner.root), outer.root) == inner.root
    nested = tmp_path / "plain"
    (nested / "registry").mkdir(parents=True)  # a folder named registry, but no modelops.yaml
    with pytest.raises(NotFoundError, match="no registry here"):
        discover(None, None, nested)
    with pytest.raises(NotFoundError, match=r"is not a modelops registry: it has no modelops.yaml"):
        discover(str(nested), None, tmp_path)


def test_dot_registry_fallback(tmp_path: Path):
    reg = RegistryFixture.create(tmp_path / "project" / "registry")
    assert discover(None, None, tmp_path / "project") == reg.root


def test_load_any_revision_with_the_same_errors(reg: RegistryFixture):
    reg.add("faq", base="mistral", system="One.")
    first = reg.head()
    reg.write("faq", reg.read("faq").replace("base: mistral", "base: Bad Name"))
    reg.commit("break it")
    registry = Registry(reg.root, reg.root)
    assert registry.load(first).require_valid().get("faq").spec.system == "One."
    result = run("validate", "--rev", "HEAD")
    assert result.code == 1
    assert result.err.startswith("HEAD:models/faq.yaml:4:1: base: 'Bad Name' is neither")
    assert run("show", "faq", "--rev", first).out == reg.git("show", f"{first}:models/faq.yaml")
    with pytest.raises(NotFoundError, match="unknown revision 'nope'"):
        registry.load("nope")


def test_revision_of_a_registry_in_a_subfolder(tmp_path: Path, monkeypatch):
    top = RegistryFixture.create(tmp_path / "mono")
    monkeypatch.chdir(top.root)
    assert run("init", "sub").code == 0
    assert run("create", "x", "--base", "mistral", "--registry", "sub").code == 0
    result = run("list", "--registry", "sub", "--rev", "HEAD~1")
    assert result.out.splitlines() == ["ID  NAME  BASE  TAGS  STATUS"]
    result = run("validate", "--registry", "sub", "--rev", "HEAD")
    assert result.out == "ok: 1 model valid\n"


def test_a_held_lock_says_who_holds_it_and_since_when(reg: RegistryFixture, monkeypatch):
    reg.add("faq", base="mistral")
    log = reg.root.parent / "hook.log"
    hook = _hook(reg, "pre-commit", f"echo running >> {log}; sleep 60")
    holder = subprocess.Popen(
        [sys.executable, "-m", "modelops", "set", "faq", "description=slow"],
        cwd=reg.root,
        env=_env(),
        start_new_session=True,
    )
    _wait_for(log, "running", holder)  # it holds the registry lock while its hook runs
    monkeypatch.setenv("MODELOPS_LOCK_TIMEOUT", "0.2")
    result = run("hide", "faq")
    os.killpg(holder.pid, signal.SIGKILL)
    holder.wait(10)
    hook.unlink()
    assert result.code == 1
    assert re.fullmatch(
        rf"error: the registry is locked by 'modelops set faq description=slow' \(pid "
        rf"{holder.pid}\) since \d\d:\d\d:\d\d UTC, \d+ s ago; waited 0.2 s \(wait for it "
        r"to finish and retry, or raise MODELOPS_LOCK_TIMEOUT\)\n",
        result.err,
    ), result.err
    assert run("hide", "faq").code == 0  # a killed holder leaves no lock behind


def _hook(reg: RegistryFixture, name: str, body: str) -> Path:
    hook = reg.root / ".git" / "hooks" / name
    hook.write_text(f"#!/bin/sh\n{body}\n")
    hook.chmod(0o755)
    return hook


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


def _wait_for(path: Path, text: str, proc: subprocess.Popen[bytes]) -> None:
    """Until `path` holds `text` (an event written by a hook); fails if the process ends first."""
    while not (path.exists() and text in path.read_text()):
        assert proc.poll() is None, "the operation ended before the event"
        time.sleep(0.02)


def test_two_processes_writing_at_once_both_land_one_after_the_other(reg: RegistryFixture):
    reg.add("a", base="mistral")
    reg.add("b", base="mistral")
    log, go = reg.root.parent / "hook.log", reg.root.parent / "go"
    # each commit holds in its hook until the test lets it go: no clock decides the order
    _hook(
        reg,
        "pre-commit",
        f"echo start $$ >> {log}; while [ ! -e {go} ]; do sleep 0.01; done; echo end $$ >> {log}",
    )
    command = [sys.executable, "-m", "modelops"]
    first = subprocess.Popen([*command, "set", "a", "description=first"], cwd=reg.root, env=_env())
    _wait_for(log, "start", first)  # the first holds the lock, inside its commit
    busy = subprocess.run(
        [*command, "set", "b", "description=not now"],
        cwd=reg.root,
        env={**_env(), "MODELOPS_LOCK_TIMEOUT": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert busy.returncode == 1  # the lock is held for the whole write, commit included
    assert "lock" in busy.stderr and "Traceback" not in busy.stderr
    second = subprocess.Popen(
        [*command, "set", "b", "description=second"], cwd=reg.root, env=_env()
    )
    go.touch()
    assert first.wait(60) == 0
    assert second.wait(60) == 0
    events = [line.split() for line in log.read_text().splitlines()]
    assert [e[0] for e in events] == ["start", "end", "start", "end"]  # never interleaved
    assert events[0][1] == events[1][1] and events[2][1] == events[3][1]
    subjects = reg.subjects()[:2]
    assert sorted(subjects) == ["Set description=first on a", "Set description=second on b"]
    assert "description: first" in reg.read("a")
    assert "description: second" in reg.read("b")
    assert reg.status() == ""


def test_an_operation_killed_before_its_commit_leaves_nothing(reg: RegistryFixture):
    reg.add("faq", base="mistral")
    head, before = reg.head(), reg.read("faq")
    log = reg.root.parent / "hook.log"
    hook = _hook(reg, "pre-commit", f"echo running >> {log}; sleep 60")
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelops", "set", "faq", "hidden=true"],
        cwd=reg.root,
        env=_env(),
        start_new_session=True,
    )
    _wait_for(log, "running", proc)  # validated, commit built, the user's hook is running
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    hook.unlink()
    assert reg.head() == head
    assert reg.read("faq") == before  # the work tree is written only after the commit
    assert reg.status() == ""  # nothing staged, no temporary file anywhere
    result = run("set", "faq", "description=after the crash")
    assert result.code == 0, result.err
    assert "hidden" not in reg.read("faq")
    assert reg.git("rev-parse", "HEAD~1").strip() == head
    assert reg.status() == ""


def test_an_operation_interrupted_after_its_commit_is_completed_by_the_next(
    reg: RegistryFixture, monkeypatch: pytest.MonkeyPatch
):
    from modelops.registry.transaction import Transaction

    reg.add("faq", base="mistral")

    def interrupted(self: Transaction, old: object, new: object) -> None:
        raise KeyboardInterrupt  # after HEAD moved, before the files reached the work tree

    with monkeypatch.context() as patch:
        patch.setattr(Transaction, "_write_work_tree", interrupted)
        result = run("set", "faq", "hidden=true")
    assert result.code == 130
    committed = reg.head()
    assert "hidden: true" in reg.git("show", "HEAD:models/faq.yaml")
    assert "hidden" not in reg.read("faq")
    assert (reg.root / ".git" / "modelops" / "journal.json").exists()
    result = run("set", "faq", "description=next")
    assert result.code == 0, result.err
    assert f"note: an interrupted 'set' had committed {committed[:10]}; now completed" in result.err
    text = reg.read("faq")
    assert "hidden: true" in text and "description: next" in text
    assert reg.status() == ""


def test_a_refused_commit_leaves_everything_as_it_was(reg: RegistryFixture):
    reg.add("faq", base="mistral")
    head, before = reg.head(), reg.read("faq")
    _hook(reg, "pre-commit", "echo 'policy: no commits today' >&2\nexit 1")
    result = run("set", "faq", "hidden=true")
    assert result.code == 1
    assert result.err == (
        "error: the pre-commit hook refused the commit: policy: no commits today\n"
    )
    assert reg.read("faq") == before
    assert reg.head() == head
    assert reg.status() == ""
    assert not (reg.root / ".git" / "modelops" / "journal.json").exists()
    assert run("create", "x", "--base", "mistral").code == 1
    assert not (reg.root / "models" / "x.yaml").exists()
    assert reg.status() == ""


def test_a_commit_message_hook_may_amend_the_message(reg: RegistryFixture):
    reg.add("faq", base="mistral")
    _hook(reg, "commit-msg", 'echo "Signed-off-by: Hook <hook@example.com>" >> "$1"')
    assert run("hide", "faq").code == 0
    assert reg.last_message().endswith("Signed-off-by: Hook <hook@example.com>")


def test_hooks_are_found_where_core_hookspath_says_and_a_non_executable_one_is_not_run(
    reg: RegistryFixture,
):
    reg.add("faq", base="mistral")
    shared = reg.root / "team-hooks"
    shared.mkdir()
    (shared / "pre-commit").write_text("#!/bin/sh\necho 'team policy' >&2\nexit 1\n")
    (shared / "pre-commit").chmod(0o755)
    reg.git("config", "core.hooksPath", "team-hooks")
    _hook(reg, "pre-commit", "exit 0")  # the default folder is not where git looks now
    result = run("hide", "faq")
    assert result.err == "error: the pre-commit hook refused the commit: team policy\n"
    (shared / "pre-commit").chmod(0o644)  # git ignores a hook it cannot execute
    assert run("hide", "faq").code == 0


def test_temporary_and_hidden_files_are_ignored(reg: RegistryFixture):
    reg.add("faq", base="mistral")
    (reg.root / "models" / ".faq.yaml.abc.tmp").write_text("junk: [")
    (reg.root / "models" / ".#faq.yaml").write_text("junk: [")
    (reg.root / "models" / "README.md").write_text("notes")
    assert run("validate").out == "ok: 1 model valid\n"
    (reg.root / "models" / "other.yml").write_text("version: 1\n")
    assert run("validate").err.startswith(
        "models/other.yml: model files are YAML and end in .yaml (rename it)\n"
    )


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (
            lambda m: (m / "team").mkdir() or (m / "team" / "x.yaml").write_text("version: 1\n"),
            "models/team: a folder; model files live directly in models/ (move its files up)",
        ),
        (
            lambda m: (m / "x.YAML").write_text("version: 1\n"),
            "models/x.YAML: model files are YAML and end in .yaml (rename it)",
        ),
        (
            lambda m: (m / "x.json").write_text("{}"),
            "models/x.json: model files are YAML and end in .yaml (rename it, and write it as YAML)",
        ),
        (
            lambda m: (m / "x.yaml").symlink_to(m / "faq.yaml"),
            "models/x.yaml: a symbolic link; modelops reads no links (put the file itself here)",
        ),
    ],
    ids=["sub-folder", "upper-case suffix", "json", "symbolic link"],
)
def test_nothing_that_looks_like_a_model_is_skipped_silently(reg: RegistryFixture, make, says):
    reg.add("faq", base="mistral")
    make(reg.root / "models")
    result = run("validate")
    assert result.code == 1
    assert result.err.splitlines()[0] == says


def test_a_linked_avatar_or_model_is_never_read(reg: RegistryFixture, tmp_path: Path):
    secret = tmp_path / "outside.png"
    secret.write_bytes(b"not for the registry")
    (reg.root / "avatars" / "faq.png").symlink_to(secret)
    reg.add("faq", base="mistral", avatar="avatars/faq.png")
    result = run("validate")
    assert result.code == 1
    assert result.err.splitlines()[0] == (
        "models/faq.yaml:5:1: avatar: a symbolic link; modelops reads no links "
        "(put the image itself there)"
    )
    (reg.root / "models" / "other.yaml").symlink_to(tmp_path / "other.yaml")
    (tmp_path / "other.yaml").write_text("version: 1\nid: other\nbase: mistral\nsystem: secret\n")
    shown = run("show", "other")
    assert shown.code == 1 and "secret" not in shown.out + shown.err
    assert run("set", "faq", "avatar=.git/config.png").code == 1


@pytest.mark.parametrize("path", ["models/big.yaml", "avatars/faq.png"])
def test_a_huge_file_in_the_registry_is_one_error_and_never_read_whole(
    reg: RegistryFixture, monkeypatch: pytest.MonkeyPatch, path: str
):
    """A 40 MiB file (sparse: it takes no disk) is refused after reading just past the limit."""
    from modelops.registry import sources

    reg.add("faq", base="mistral", avatar="avatars/faq.png")
    (reg.root / "avatars" / "faq.png").write_bytes(png())
    with (reg.root / path).open("wb") as handle:
        handle.truncate(40 * 1024 * 1024)
    read: list[int] = []
    real = os.read

    def counted(fd: int, n: int) -> bytes:
        chunk = real(fd, n)
        read.append(len(chunk))
        return chunk

    monkeypatch.setattr(sources.os, "read", counted)
    result = run("validate")
    assert result.code == 1
    assert result.err.splitlines()[0] == (
        f"{path}: is 40.0 MiB; no registry file may be over 32.0 MiB (move it out of the registry)"
    )
    assert max(read) <= 1 << 20 and sum(read) < sources.FILE_LIMIT + (2 << 20)  # not 40 MiB


def test_a_huge_committed_file_is_one_error_and_never_read(
    reg: RegistryFixture, monkeypatch: pytest.MonkeyPatch
):
    """At a revision, git says how large a file is before its content is read."""
    from modelops.registry.git import Repo

    reg.add("faq", base="mistral")
    with (reg.root / "models" / "big.yaml").open("wb") as handle:
        handle.truncate(40 * 1024 * 1024)  # zeros: git stores them in a few KiB
    reg.commit("a mistake")
    (reg.root / "models" / "big.yaml").unlink()  # gone from the work tree, still in HEAD
    read: list[str] = []
    real = Repo.read_object

    def counted(self: Repo, sha: str, limit: int | None = None) -> bytes:
        content = real(self, sha, limit)  # raises for one over the limit, before reading it
        read.append(sha)
        return content

    monkeypatch.setattr(Repo, "read_object", counted)
    result = run("validate", "--rev", "HEAD")
    assert result.code == 1
    assert result.err.splitlines()[0] == (
        "HEAD:models/big.yaml: is 40.0 MiB; no registry file may be over 32.0 MiB "
        "(move it out of the registry)"
    )
    big = reg.git("rev-parse", "HEAD:models/big.yaml").strip()
    assert big not in read


def test_after_a_huge_object_the_next_reads_are_whole_and_right(reg: RegistryFixture):
    """Refusing an object over the limit leaves git's answer stream in step for the next."""
    from modelops.registry.git import ObjectTooLarge, Repo

    (reg.root / "small.txt").write_bytes(b"small\n")
    small = reg.git("hash-object", "-w", "small.txt").strip()
    big_path = reg.root / "big.bin"
    big_path.write_bytes(os.urandom(3 * 1024 * 1024 + 7))
    big = reg.git("hash-object", "-w", str(big_path)).strip()
    repo = Repo(reg.root)
    with pytest.raises(ObjectTooLarge) as caught:
        repo.read_object(big, 1024 * 1024)
    assert caught.value.size == 3 * 1024 * 1024 + 7
    assert repo.read_object(small) == b"small\n"
    assert repo.read_object(big) == big_path.read_bytes()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")
def test_a_repository_git_refuses_says_why_and_what_to_run(reg: RegistryFixture):
    reg.add("faq", base="mistral")
    for path in [reg.root, *reg.root.rglob("*")]:
        os.chown(path, 65534, 65534, follow_symlinks=False)  # another user's repository
    result = run("history")
    assert result.code == 1
    assert result.err.startswith(f"error: git refuses {reg.root}: detected dubious ownership")
    assert f"git config --global --add safe.directory {reg.root}" in result.err
