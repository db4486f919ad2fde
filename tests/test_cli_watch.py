"""`modelops watch` as a user runs it: a child process stopped by a signal in the middle of a
reconcile exits 0 and leaves nothing behind; bad flags and targets are refused before it
starts."""

from __future__ import annotations

import os
import signal
import socket

import pytest
from filelock import FileLock

from tests.helpers import RegistryFixture, run
from tests.ollama_server import OllamaServer
from tests.watch_helpers import Spawned, wait_until


@pytest.fixture
def setup(reg: RegistryFixture, ollama_server: OllamaServer):
    reg.add("faq", base="mistral", system="One.")
    ollama_server.add_local("mistral")
    env = {**os.environ, "OLLAMA_HOST": ollama_server.url}
    return reg, ollama_server, env


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_reconcile_lets_the_call_finish_exits_0_and_the_next_run_works(
    setup, monkeypatch, number
):
    reg, server, env = setup
    server.delay("/api/create", 1.0, times=1)
    watch = Spawned.start(cwd=reg.root, env=env)
    try:
        wait_until(lambda: server.calls("/api/create"), "the create to reach the server")
        watch.process.send_signal(number)
        code = watch.finish()
    finally:
        watch.kill()
    events = [e["event"] for e in watch.lines.events]
    assert code == 0, watch.lines.events
    assert events[-2:] == ["stopped", "eof"]
    # the create under way finished after the signal, and nothing started after it
    assert events[events.index("stopping") :] == [
        "stopping",
        "changed",
        "reconciled",
        "stopped",
        "eof",
    ]
    assert server.model("faq") is not None
    with FileLock(reg.root / ".git" / "modelops" / "lock").acquire(timeout=0):
        pass  # no lock is left behind
    monkeypatch.setenv("OLLAMA_HOST", server.url)
    again = run("apply")
    assert again.code == 0, again.err
    assert again.out == "Target local: " + server.url + "\n" + (  # in sync: no version asked
        "  = 1 model in sync\nPlan: 0 to pull, 0 to create, 0 to update, 0 to delete, 1 in sync.\n"
        "Nothing to do: every model is in sync.\n"
    )


def test_a_call_longer_than_the_target_timeout_is_abandoned_and_it_exits_0(setup):
    reg, server, env = setup
    (reg.root / "modelops.yaml").write_text(
        f"version: 1\ntargets:\n  local: {{type: ollama, host: '{server.url}', timeout: 1}}\n"
    )
    reg.commit("a short timeout")
    server.delay("/api/create", 3600, times=1)
    watch = Spawned.start(cwd=reg.root, env=env)
    try:
        wait_until(lambda: server.calls("/api/create"), "the create to reach the server")
        watch.process.send_signal(signal.SIGTERM)
        code = watch.finish()
    finally:
        watch.kill()
    assert code == 0
    assert [e["event"] for e in watch.lines.events][-3:] == ["stopping", "abandoned", "eof"]
    assert watch.wait_event("abandoned")["message"] == (
        "the current call took longer than 1 s: abandoned (the next run converges)"
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--interval", "0"], 64, "Invalid value for '--interval': '0' is not a duration"),
        (["--debounce", "soon"], 64, "Invalid value for '--debounce': 'soon' is not a duration"),
        (["--follow", "main"], 64, "--follow main: write it as REMOTE/BRANCH, e.g. origin/main"),
        (
            ["--follow", "upstream/main"],
            1,
            "--follow upstream/main: this repository has no remote 'upstream'",
        ),
        (["nosuch"], 1, "no target 'nosuch' in modelops.yaml (targets: local)"),
        (["--status-addr", "localhost"], 64, "--status-addr localhost: write HOST:PORT"),
        (["--host", "http://a", "local", "other"], 64, "--host applies to one target"),
        (["--adopt-interval", "1x"], 64, "Invalid value for '--adopt-interval': '1x' is not a"),
        (
            ["--adopt-interval", "5m"],
            64,
            "--adopt-interval adopts edits made in Open WebUI, and local is not an Open WebUI "
            "target (name one, or leave the option out)",
        ),
    ],
)
def test_bad_flags_and_targets_are_refused_before_it_starts(setup, args, code, message):
    result = run("watch", *args)
    assert result.code == code, result.err
    assert result.err.startswith(f"error: {message}")
    assert result.err.count("\n") == 1


def test_a_status_address_in_use_is_refused(setup):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("watch", "--status-addr", f"127.0.0.1:{port}")
    assert result.code == 1
    assert result.err == (
        f"error: --status-addr 127.0.0.1:{port}: cannot listen there (Address already in use)\n"
    )


def test_the_help_says_it_deploys_the_work_tree_as_saved():
    result = run("watch", "--help")
    assert result.code == 0
    assert "watch deploys the work tree as it is saved" in " ".join(result.out.split())


def test_the_daemon_collects_garbage_as_often_as_python_does(setup, monkeypatch):
    """The `modelops` command raises the collector's thresholds for its short runs; the
    watcher runs for days, and goes back to Python's own before it starts watching."""
    import gc

    import modelops
    from modelops.__main__ import GC_THRESHOLD
    from modelops.cli import watch as watch_command

    _reg, server, _env = setup
    seen = []
    monkeypatch.setattr(watch_command, "_run", lambda *_: seen.append(gc.get_threshold()) or 0)
    monkeypatch.setenv("OLLAMA_HOST", server.url)
    before = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLD)  # as `run` leaves them
    try:
        result = run("watch")
    finally:
        gc.set_threshold(*before)
    assert result.code == 0, result.err
    assert seen == [modelops.PYTHON_GC_THRESHOLD]
    assert modelops.PYTHON_GC_THRESHOLD != GC_THRESHOLD
