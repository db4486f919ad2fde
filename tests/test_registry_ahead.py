"""Files created ahead of a commit by a helper process (modelops.registry.ahead): what reaches
the work tree is exactly what is committed, with its mode, and nothing is left in the scratch
folder, whether the helper worked, failed or never started."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from modelops.registry import ahead
from modelops.registry.ahead import START_AT, Ahead, Ready
from modelops.registry.files import write_files
from tests.helpers import RegistryFixture, run
from tests.watch_helpers import wait_until


def _contents(count: int) -> dict[str, bytes]:
    return {f"m{i:03}.yaml": f"id: m{i:03}\n".encode() * (i + 1) for i in range(count)}


def _targets(folder: Path, contents: dict[str, bytes]) -> dict[str, bytes]:
    return {f"{folder}/{name}": content for name, content in contents.items()}


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    scratch, folder = tmp_path / "state" / "tmp", tmp_path / "models"
    folder.mkdir()
    return scratch, folder


@pytest.mark.parametrize("reserved", [0, START_AT + 6, START_AT + 40, 9])
def test_files_created_ahead_are_renamed_into_place_not_written_again(dirs, reserved):
    scratch, folder = dirs
    files = _targets(folder, _contents(START_AT + 6))
    early = Ahead(scratch)
    early.reserve(reserved)  # as many as come, more, or too few to start a helper
    for target, content in files.items():
        early.add(target, content)
    assert early.started
    ready = early.take()
    assert sorted(ready) == sorted(files)
    inodes = {target: Path(tmp).stat().st_ino for target, (tmp, _) in ready.items()}
    write_files(files, scratch, durable=False, ready=ready)
    early.close()
    assert ready == {}  # every file was used
    for target, content in files.items():
        assert Path(target).read_bytes() == content
        assert Path(target).stat().st_ino == inodes[target]  # the helper's file, renamed
        assert Path(target).stat().st_mode & 0o777 == 0o644
    assert list(scratch.iterdir()) == []


def test_a_file_replaced_keeps_its_mode_and_a_changed_content_is_written_as_it_now_is(dirs):
    scratch, folder = dirs
    files = _targets(folder, _contents(START_AT))
    private, changed = sorted(files)[:2]
    Path(private).write_bytes(b"old\n")
    Path(private).chmod(0o600)
    early = Ahead(scratch)
    for target, content in files.items():
        early.add(target, content)
    files[changed] = b"id: changed since it was handed over\n"
    write_files(files, scratch, durable=False, ready=early.take())
    early.close()
    assert Path(private).stat().st_mode & 0o777 == 0o600
    assert Path(private).read_bytes() == files[private]
    assert Path(changed).read_bytes() == files[changed]
    assert list(scratch.iterdir()) == []  # the stale copy of the changed file is removed


def test_few_files_start_no_helper(dirs):
    scratch, folder = dirs
    early = Ahead(scratch)
    for target, content in _targets(folder, _contents(START_AT - 1)).items():
        early.add(target, content)
    assert not early.started
    assert early.take() == {}
    early.close()
    assert not scratch.exists() or list(scratch.iterdir()) == []


@pytest.mark.parametrize(
    "helper",
    [
        "raise SystemExit(3)",  # gone before reading anything
        ahead._HELPER + "raise SystemExit(1)\n",  # wrote every file, then failed
    ],
    ids=["exits-at-once", "fails-after-writing"],
)
def test_a_helper_that_fails_costs_only_time(dirs, monkeypatch, helper):
    scratch, folder = dirs
    monkeypatch.setattr(ahead, "_HELPER", helper)
    files = _targets(folder, _contents(START_AT + 10))
    early = Ahead(scratch)
    for target, content in files.items():
        early.add(target, content)
    ready = early.take()
    assert all("/own/" in tmp for tmp, _ in ready.values())  # none of the helper's is used
    write_files(files, scratch, durable=False, ready=ready)
    early.close()
    assert all(Path(t).read_bytes() == c for t, c in files.items())
    assert list(scratch.iterdir()) == []


def test_no_interpreter_to_start_means_the_usual_writes(dirs, monkeypatch):
    scratch, folder = dirs
    monkeypatch.setattr(ahead.sys, "executable", str(folder / "no-such-python"))
    early = Ahead(scratch)
    for target, content in _targets(folder, _contents(START_AT)).items():
        early.add(target, content)
    assert not early.started and early.take() == {}
    early.close()


@pytest.mark.parametrize("finished", [True, False], ids=["after-the-helper", "helper-stopped"])
def test_files_left_unused_are_removed_when_nothing_is_committed(dirs, finished):
    scratch, folder = dirs
    early = Ahead(scratch)
    for target, content in _targets(folder, _contents(START_AT)).items():
        early.add(target, content)
    if finished:
        assert len(early.take()) == START_AT  # the files exist; then the commit fails
    early.close()
    assert list(scratch.iterdir()) == []
    assert list(folder.iterdir()) == []


def _export(count: int) -> list[dict[str, object]]:
    return [
        {"id": f"m{i:03}", "name": f"Model {i}", "base_model_id": "llama3.2:latest"}
        for i in range(count)
    ]


class _Counting:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = Ahead._start

        def start(early: Ahead) -> None:
            self.count += 1
            real(early)

        monkeypatch.setattr(Ahead, "_start", start)


def test_a_large_import_creates_its_files_ahead_and_leaves_nothing_behind(
    reg: RegistryFixture, tmp_path, monkeypatch
):
    helpers = _Counting(monkeypatch)
    source = tmp_path / "models.json"
    source.write_text(json.dumps(_export(START_AT + 20)))
    result = run("import", str(source))
    assert result.code == 0, result.err
    assert helpers.count == 1
    assert reg.status() == ""  # the work tree is the commit, file for file
    assert len(reg.last_paths()) == START_AT + 20
    assert list((reg.root / ".git" / "modelops" / "tmp").iterdir()) == []
    small = tmp_path / "few.json"
    small.write_text(json.dumps([{"id": "solo", "base_model_id": "llama3.2:latest"}]))
    assert run("import", str(small)).code == 0
    assert helpers.count == 1  # one file: no helper


def test_a_dry_run_or_a_refused_commit_creates_nothing(reg: RegistryFixture, tmp_path, monkeypatch):
    helpers = _Counting(monkeypatch)
    source = tmp_path / "models.json"
    source.write_text(json.dumps(_export(START_AT + 5)))
    head = reg.head()
    assert run("import", str(source), "--dry-run").code == 0
    assert helpers.count == 0
    hook = reg.root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'not today' >&2\nexit 1\n")
    hook.chmod(0o755)
    refused = run("import", str(source))
    assert refused.code != 0 and "not today" in refused.err
    assert helpers.count == 1
    assert reg.head() == head and reg.status() == ""
    assert list((reg.root / ".git" / "modelops" / "tmp").iterdir()) == []


def test_what_a_killed_import_left_in_the_scratch_folder_goes_with_the_next_write(
    reg: RegistryFixture,
):
    """A process killed mid-import leaves its helpers' folders; the next transaction removes
    them (a link among them is removed, never followed)."""
    scratch = reg.root / ".git" / "modelops" / "tmp"
    left = scratch / "ahead-0123456789ab-1"
    left.mkdir(parents=True)
    (left / "7.tmp").write_bytes(b"id: half\n")
    outside = reg.root.parent / "keep"
    outside.mkdir()
    (outside / "precious").write_text("kept")
    (scratch / "ahead-link").symlink_to(outside, target_is_directory=True)
    (scratch / ".stray.tmp").write_bytes(b"x")
    reg.add("faq", base="mistral")
    assert run("set", "faq", "hidden=true").code == 0
    assert list(scratch.iterdir()) == []
    assert (outside / "precious").read_text() == "kept"


def test_reserved_files_are_made_before_any_content_and_removed_when_unused(dirs):
    scratch, folder = dirs
    early = Ahead(scratch)
    early.reserve(START_AT + 10)
    assert early.started  # at once: the files are created while the caller works
    (folder_ahead,) = scratch.iterdir()
    wait_until(lambda: len(list(folder_ahead.glob("*.tmp"))) == START_AT + 10, "the reserve")
    files = _targets(folder, _contents(START_AT))
    for target, content in files.items():
        early.add(target, content)
    ready = early.take()
    made = list(folder_ahead.glob("*.tmp"))
    assert len(made) == START_AT + 10  # ten reserved and never used: empty
    assert sorted(p.stat().st_size for p in made)[:10] == [0] * 10
    write_files(files, scratch, durable=False, ready=ready)
    early.close()
    assert list(scratch.iterdir()) == []


def test_a_transaction_that_fails_to_load_stops_what_it_started(
    reg: RegistryFixture, tmp_path, monkeypatch
):
    from modelops.registry.store import Registry

    helpers = _Counting(monkeypatch)

    def broken(self: Registry, sha: str | None) -> object:
        raise OSError("the disk went away")

    monkeypatch.setattr(Registry, "_load_commit", broken)
    source = tmp_path / "models.json"
    source.write_text(json.dumps(_export(START_AT + 20)))
    result = run("import", str(source))
    assert result.code != 0
    assert helpers.count == 1  # started before the load, as an import expects many files
    assert list((reg.root / ".git" / "modelops" / "tmp").iterdir()) == []


class _Meanwhile:
    """Counts the files this process makes while taking over, and does something to the
    helper (a signal) when the count reaches a number: a slow disk, on demand."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, at: int, then: Callable[[], None]):
        self.count = 0
        real = ahead.write_new

        def make(path: str, content: bytes, *args: Any, **kwargs: Any) -> None:
            self.count += 1
            if self.count == at:
                then()
            real(path, content, *args, **kwargs)

        monkeypatch.setattr(ahead, "write_new", make)


_RESUMES: list[threading.Timer] = []


def _held(early: Ahead, files: dict[str, bytes], written: int) -> int:
    """Hand `files` over, the helper holding still (SIGSTOP) once it has written the first
    `written` of them; the rest wait in its input."""
    items = list(files.items())
    for target, content in items[:written]:
        early.add(target, content)
    assert early._helper is not None
    helper = early._helper
    helper.flush()
    wait_until(lambda: helper.written() >= written - 1, "the helper's first files")
    pid = helper.process.pid
    os.kill(pid, signal.SIGSTOP)
    # a build that never resumes it would hang: a late resume makes that a failure instead
    resume = threading.Timer(30, lambda: helper.running() and os.kill(pid, signal.SIGCONT))
    resume.daemon = True
    resume.start()
    _RESUMES.append(resume)
    for target, content in items[written:]:
        early.add(target, content)
    return pid


def _origins(ready: Ready) -> tuple[set[int], set[int]]:
    """The numbers of the files the helper made, and of those made while taking over."""
    helper, own = set(), set()
    for tmp, _ in ready.values():
        number = int(Path(tmp).name.removesuffix(".tmp"))
        (own if Path(tmp).parent.name == "own" else helper).add(number)
    return helper, own


@pytest.fixture
def early(dirs) -> Iterator[Ahead]:
    """An Ahead whose helper is stopped however the test ends (a held one would stay)."""
    scratch, _ = dirs
    made = Ahead(scratch)
    try:
        yield made
    finally:
        made.close()
        for resume in _RESUMES:
            resume.cancel()
        _RESUMES.clear()


def _taken_over(
    early: Ahead,
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    count: int,
    written: int,
    at: int,
    then: signal.Signals,
) -> tuple[dict[str, bytes], Ready, _Meanwhile]:
    """`count` files handed over to a helper held after `written` of them; `take` sends it
    `then` once it has made `at` files itself."""
    files = _targets(folder, _contents(count))
    early.reserve(len(files))
    pid = _held(early, files, written)
    meanwhile = _Meanwhile(monkeypatch, at, then=lambda: os.kill(pid, then))
    return files, early.take(), meanwhile


def _written(early: Ahead, scratch: Path, files: dict[str, bytes], ready: Ready) -> None:
    write_files(files, scratch, durable=False, ready=ready)
    early.close()
    assert all(Path(t).read_bytes() == c for t, c in files.items())
    assert list(scratch.iterdir()) == []


def test_the_caller_takes_over_from_the_last_file_down_until_it_meets_the_helper(
    dirs, early, monkeypatch
):
    scratch, folder = dirs
    files, ready, meanwhile = _taken_over(
        early, folder, monkeypatch, START_AT + 40, written=10, at=15, then=signal.SIGCONT
    )
    helper, own = _origins(ready)
    assert meanwhile.count >= 15
    assert len(helper) >= 10 and len(own) == meanwhile.count
    assert helper | own == set(range(len(files))) and not helper & own
    assert min(own) > max(helper)  # the helper's from the first up, the caller's from the last
    (shared,) = scratch.iterdir()
    twice = [n for n in own if (shared / f"{n}.tmp").stat().st_size]  # reserved: they exist
    assert len(twice) <= 1  # the helper left them alone (but the one it had begun, perhaps)
    inodes = {target: Path(tmp).stat().st_ino for target, (tmp, _) in ready.items()}
    _written(early, scratch, files, ready)
    for target in files:
        assert Path(target).stat().st_ino == inodes[target]
        assert Path(target).stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(
    ("written", "at", "then"),
    [(0, START_AT + 5, signal.SIGCONT), (5, 8, signal.SIGKILL)],
    ids=["held-before-any-file-until-all-are-made", "killed-meanwhile"],
)
def test_a_helper_that_never_moves_or_dies_leaves_its_files_to_the_caller(
    dirs, early, monkeypatch, written, at, then
):
    scratch, folder = dirs
    files, ready, _ = _taken_over(
        early, folder, monkeypatch, START_AT + 5, written=written, at=at, then=then
    )
    helper, own = _origins(ready)
    assert helper == set()  # none of the helper's: it made none, or it failed
    assert len(own) >= at  # the files made here: all of them when the helper never moved
    _written(early, scratch, files, ready)


def test_files_the_pipe_had_no_room_for_are_made_by_the_caller_not_waited_for(
    dirs, early, monkeypatch
):
    """A helper slower than the conversion fills its pipe: the rest is kept back (the caller
    does not wait for room), the helper is told the first file it will never get, and `take`
    makes those files itself."""
    scratch, folder = dirs
    files = _targets(folder, _contents(START_AT + 30))
    early.reserve(len(files))
    assert early._helper is not None
    helper = early._helper
    items = list(files.items())
    for target, content in items[:START_AT]:
        early.add(target, content)
    helper.flush()
    helper.room = lambda: 0  # a full pipe, from here on
    for target, content in items[START_AT:]:
        early.add(target, content)
    kept = list(range(START_AT, len(files)))
    assert [number for number, _ in helper.queue] == kept  # not sent, and not waited for
    told = []
    real = type(helper).end_input
    monkeypatch.setattr(type(helper), "end_input", lambda h: told.append(real(h)) or told[-1])
    ready = early.take()
    assert told == [START_AT]  # the first file the helper never got
    helper_made, own = _origins(ready)
    assert set(kept) <= own  # made here
    assert helper_made | own == set(range(len(files))) and not helper_made & own
    (shared,) = scratch.iterdir()
    unsent = [shared / f"{n}.tmp" for n in kept]
    assert not any(p.exists() and p.stat().st_size for p in unsent)  # the helper never wrote one
    _written(early, scratch, files, ready)
