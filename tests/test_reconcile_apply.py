"""Stopping an apply: nothing new starts once it is told to stop (Ctrl-C, or a caller's stop
event); what runs may finish within the target's timeout; a second Ctrl-C abandons it; the
command exits 130 with what it did, and leaves no temporary file. End to end with a real
SIGINT to a child process, against the Ollama test server holding a create open."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelops.reconcile import apply as applying
from modelops.reconcile.plan import HostPlan, Plan
from modelops.targets.base import Change, Outcome, Progress, ProgressCallback
from tests.helpers import REPO_ROOT, RegistryFixture
from tests.ollama_server import OllamaServer

# --- the core, with a target that runs changes only when the test lets it ---------------------


class GatedTarget:
    """A target whose every change waits for the test; it counts what was started."""

    url = "http://gated:11434"

    def __init__(self) -> None:
        self.started: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.release = threading.Event()
        self.names: list[str] = []

    def execute(self, change: Change, progress: ProgressCallback) -> None:
        self.names.append(change.name)
        self.started.put(change.name)
        self.release.wait()

    def close(self) -> None:
        pass


class Quiet:
    def progress(self, host: str, name: str, line: Progress) -> None:
        pass

    def finished(self, outcome: Outcome) -> None:
        pass


def _plan(count: int) -> Plan:
    url = GatedTarget.url
    changes = tuple(
        Change("create", url, f"m{i}:latest", f"m{i}", "new", request={"model": f"m{i}"})
        for i in range(count)
    )
    return Plan("t", (HostPlan(url, "0.12.6", changes),), prune=False)


def test_a_stop_starts_nothing_new_and_lets_the_running_change_finish():
    target, stop = GatedTarget(), threading.Event()
    result: list[BaseException | list[Outcome]] = []

    def run() -> None:
        try:
            result.append(applying.apply(_plan(5), [target], Quiet(), workers=2, stop=stop))
        except applying.Interrupted as exc:
            result.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    first, second = target.started.get(timeout=60), target.started.get(timeout=60)
    stop.set()  # as a watcher does on SIGTERM
    target.release.set()
    thread.join(timeout=60)
    (interrupted,) = result
    assert isinstance(interrupted, applying.Interrupted)
    assert sorted(target.names) == sorted([first, second])  # the two running, nothing more
    done = {o.change.name: o for o in interrupted.outcomes}
    assert all(done[name].ok for name in (first, second))
    assert sorted(o.message for o in interrupted.outcomes if not o.ok) == [applying.NOT_STARTED] * 3


def test_without_a_stop_every_change_runs():
    """The broken case for the test above: the same plan, not stopped, starts all five."""
    target = GatedTarget()
    target.release.set()
    outcomes = applying.apply(_plan(5), [target], Quiet(), workers=2)
    assert len(target.names) == 5 and all(o.ok for o in outcomes)


# --- the command, in a child process, with real signals ---------------------------------------


@pytest.fixture
def child_env(reg: RegistryFixture, ollama_server: OllamaServer) -> dict[str, str]:
    ollama_server.add_local("mistral")
    for name in ("a", "b", "c", "d"):
        reg.add(name, base="mistral", system=f"Model {name}.")
    return {
        **os.environ,
        "OLLAMA_HOST": ollama_server.url,
        "PYTHONPATH": str(REPO_ROOT),
        "MODELOPS_DEBUG": "1",  # a traceback, if any, is printed and fails the test
    }


class Child:
    """`modelops apply` in a child process; its stderr lines as they come."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "modelops", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,  # not a terminal: apply does not ask first
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self.err: list[str] = []
        self.out: list[str] = []
        threading.Thread(target=self._read_err, daemon=True).start()
        self.out_read = threading.Thread(target=self._read_out, daemon=True)
        self.out_read.start()

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)
        self.lines.put(None)

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        self.out.append(self.proc.stdout.read())

    def expect(self, start: str) -> str:
        """The next stderr line that starts with `start` (60 s guard against a hang)."""
        while (line := self.lines.get(timeout=60)) is not None:
            self.err.append(line)
            if line.startswith(start):
                return line
        raise AssertionError(f"no line starting {start!r} in:\n{''.join(self.err)}")

    def finish(self) -> tuple[int, str, str]:
        """The exit code, stdout and stderr, once the child has ended (60 s guard)."""
        code = self.proc.wait(timeout=60)
        while (line := self.lines.get(timeout=60)) is not None:
            self.err.append(line)
        self.out_read.join(timeout=60)
        return code, "".join(self.out), "".join(self.err)

    def interrupt(self) -> None:
        self.proc.send_signal(signal.SIGINT)


@pytest.fixture
def cleanup() -> Iterator[list[Child]]:
    children: list[Child] = []
    yield children
    for child in children:
        if child.proc.poll() is None:
            child.proc.kill()
            child.proc.wait()


def _temporary_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".tmp")]


def test_ctrl_c_starts_nothing_new_finishes_the_running_create_and_exits_130(
    reg: RegistryFixture, ollama_server: OllamaServer, child_env, cleanup
):
    gate = ollama_server.hold("/api/create")
    child = Child(["apply", "-p", "1"], reg.root, child_env)
    cleanup.append(child)
    ollama_server.wait_for("/api/create")  # the first create is running, held open
    child.interrupt()
    line = child.expect("interrupted: starting nothing new")
    assert line == (
        "interrupted: starting nothing new; waiting up to 30 s for 1 running change(s) to "
        "finish (Ctrl-C again to stop at once)\n"
    )
    gate.set()  # the running create may now finish
    code, out, err = child.finish()
    assert code == 130, err
    assert err.endswith("\ninterrupted\n")
    assert "Traceback" not in err
    (create,) = ollama_server.calls("/api/create")  # no other create was started
    created = create.body["model"]
    assert ollama_server.model(created) is not None  # and the running one finished
    assert f"create {created}" not in out  # not reported as failed or skipped
    assert out.count("skipped: not started: interrupted") == 3
    assert _temporary_files(reg.root) == [] and reg.status() == ""


def test_a_second_ctrl_c_abandons_the_running_create(
    reg: RegistryFixture, ollama_server: OllamaServer, child_env, cleanup
):
    gate = ollama_server.hold("/api/create")
    child = Child(["apply", "-p", "2"], reg.root, child_env)
    cleanup.append(child)
    ollama_server.wait_for("/api/create", 2)
    child.interrupt()
    child.expect("interrupted: starting nothing new; waiting up to 30 s for 2 running")
    child.interrupt()
    code, out, err = child.finish()  # while both creates are still held
    gate.set()
    assert code == 130, err
    assert err.endswith("\ninterrupted\n") and "Traceback" not in err
    assert len(ollama_server.calls("/api/create")) == 2
    assert out.count("failed: abandoned: interrupted while it ran") == 2
    assert out.count("skipped: not started: interrupted") == 2
    assert _temporary_files(reg.root) == [] and reg.status() == ""


def test_a_running_change_is_abandoned_after_the_target_timeout(
    reg: RegistryFixture, ollama_server: OllamaServer, child_env, cleanup
):
    (reg.root / "modelops.yaml").write_text(
        "version: 1\ntargets:\n"
        f"  local: {{type: ollama, timeout: 1, host: '{ollama_server.url}'}}\n"
    )
    reg.commit("a one-second timeout")
    gate = ollama_server.hold("/api/create")
    child = Child(["apply", "-p", "1"], reg.root, child_env)
    cleanup.append(child)
    ollama_server.wait_for("/api/create")
    child.interrupt()
    child.expect("interrupted: starting nothing new; waiting up to 1 s for 1 running")
    code, out, err = child.finish()  # the create is never released: abandoned after 1 s
    gate.set()
    assert code == 130, err
    assert err.endswith("\ninterrupted\n") and "Traceback" not in err
    assert len(ollama_server.calls("/api/create")) == 1
