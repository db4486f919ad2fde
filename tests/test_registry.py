"""The git-backed store: discovery, revisions, the lock, concurrency and crash recovery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import FileLock

from modelops.errors import NotFoundError, UsageError
from modelops.registry.store import Registry, discover
from tests.helpers import REPO_ROOT, RegistryFixture, run


def test_discovery_order(tmp_path: Path):
    outer = RegistryFixture.create(tmp_path / "outer")
    (outer.root / "deep" / "er").mkdir(parents=True)
    assert discover(None, None, outer.root / "deep" / "er") == outer.root
    inner = RegistryFixture.create(tmp_path / "other")
    assert discover(str(inner.root), None, outer.root) == inner.root
    assert discover(None, str(inner.root), outer.root) == inner.root
    nested = tmp_path / "plain"
    (nested / "registry").mkdir(parents=True)  # a folder named registry, but no modelops.yaml
    with pytest.raises(UsageError, match="no registry here"):
        discover(None, None, nested)
    with pytest.raises(UsageError, match=r"is not a modelops registry: it has no modelops.yaml"):
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


def test_a_held_lock_times_out_with_a_clear_message(reg: RegistryFixture, monkeypatch):
    reg.add("faq", base="mistral")
    monkeypatch.setenv("MODELOPS_LOCK_TIMEOUT", "0.3")
    lock = FileLock(reg.root / ".git" / "modelops" / "lock")
    with lock:
        result = run("hide", "faq")
    assert result.code == 1
    assert result.err.startswith("error: another modelops operation has held the registry lock")
    assert "wait for it to finish, then retry" in result.err
    assert run("hide", "faq").code == 0  # released: the next one goes through


def _slow_hook(reg: RegistryFixture, seconds: float) -> None:
    hook = reg.root / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\nsleep {seconds}\n")
    hook.chmod(0o755)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


def test_two_processes_writing_at_once_both_land(reg: RegistryFixture):
    reg.add("a", base="mistral")
    reg.add("b", base="mistral")
    _slow_hook(reg, 1)
    command = [sys.executable, "-m", "modelops"]
    started = time.monotonic()
    first = subprocess.Popen([*command, "set", "a", "description=first"], cwd=reg.root, env=_env())
    second = subprocess.Popen(
        [*command, "set", "b", "description=second"], cwd=reg.root, env=_env()
    )
    assert first.wait(30) == 0
    assert second.wait(30) == 0
    assert time.monotonic() - started >= 2  # the hooks ran one after the other
    subjects = reg.subjects()[:2]
    assert sorted(subjects) == ["Set description=first on a", "Set description=second on b"]
    assert "description: first" in reg.read("a")
    assert "description: second" in reg.read("b")
    assert reg.status() == ""


def test_an_operation_killed_half_way_is_undone_by_the_next(reg: RegistryFixture):
    reg.add("faq", base="mistral")
    head = reg.head()
    _slow_hook(reg, 60)
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelops", "set", "faq", "hidden=true"],
        cwd=reg.root,
        env=_env(),
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while "hidden: true" not in reg.read("faq"):  # written, now waiting in git commit
        assert time.monotonic() < deadline, "the operation never wrote its file"
        time.sleep(0.05)
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    (reg.root / ".git" / "hooks" / "pre-commit").unlink()
    assert reg.head() == head

    # git itself was killed holding its index lock: the next operation says how to clear it
    assert (reg.root / ".git" / "index.lock").exists()
    result = run("set", "faq", "description=after the crash")
    assert result.code == 1
    assert result.err.endswith(
        "(another git process is running in this repository; if none is, "
        "remove .git/index.lock and retry)\n"
    )
    (reg.root / ".git" / "index.lock").unlink()
    result = run("set", "faq", "description=after the crash")
    assert result.code == 0, result.err
    assert "note: an interrupted 'set' was undone (1 file(s) restored)" in result.err
    text = reg.read("faq")
    assert "hidden" not in text
    assert "description: after the crash" in text
    assert reg.subjects()[0] == "Set description=after the crash on faq"
    assert reg.git("rev-parse", "HEAD~1").strip() == head
    assert reg.status() == ""


def test_a_failing_commit_leaves_everything_as_it_was(reg: RegistryFixture):
    reg.add("faq", base="mistral")
    head, before = reg.head(), reg.read("faq")
    hook = reg.root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'policy: no commits today' >&2\nexit 1\n")
    hook.chmod(0o755)
    result = run("set", "faq", "hidden=true")
    assert result.code == 1
    assert result.err.startswith("error: git commit failed: ")
    assert reg.read("faq") == before
    assert reg.head() == head
    assert reg.status() == ""
    assert not (reg.root / ".git" / "modelops" / "journal.json").exists()


def test_a_new_model_file_is_removed_when_its_commit_fails(reg: RegistryFixture):
    hook = reg.root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    assert run("create", "x", "--base", "mistral").code == 1
    assert not (reg.root / "models" / "x.yaml").exists()
    assert reg.status() == ""


def test_temporary_and_hidden_files_are_ignored(reg: RegistryFixture):
    reg.add("faq", base="mistral")
    (reg.root / "models" / ".faq.yaml.abc.tmp").write_text("junk: [")
    (reg.root / "models" / ".#faq.yaml").write_text("junk: [")
    (reg.root / "models" / "README.md").write_text("notes")
    assert run("validate").out == "ok: 1 model valid\n"
    (reg.root / "models" / "other.yml").write_text("version: 1\n")
    assert run("validate").err.startswith(
        "models/other.yml: model files end in .yaml (rename it)\n"
    )
