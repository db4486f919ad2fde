"""The command line's one error handler: what a user sees for a bug, with and without --debug."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from modelops.errors import Exit
from modelops.registry.store import Registry
from tests.helpers import REPO_ROOT, RegistryFixture, run
from tests.ollama_server import OllamaServer


@pytest.fixture
def broken_load(monkeypatch: pytest.MonkeyPatch) -> None:
    def load(self: Registry, rev: str | None = None) -> None:
        raise RuntimeError("a deliberate bug")

    monkeypatch.setattr(Registry, "load", load)


def test_an_internal_error_is_one_line_and_a_crash_log(
    reg: RegistryFixture, broken_load: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    result = run("list")
    assert result.code == 70
    assert result.out == ""
    (line,) = result.err.splitlines()
    logs = list((tmp_path / "state" / "modelops").glob("crash-*.log"))
    assert len(logs) == 1
    assert line == (
        "internal error: RuntimeError: a deliberate bug (this is a bug; the traceback is in "
        f"{logs[0]}; rerun with --debug to print it)"
    )
    text = logs[0].read_text()
    assert "Traceback (most recent call last)" in text
    assert 'raise RuntimeError("a deliberate bug")' in text


def test_debug_prints_the_traceback(reg: RegistryFixture, broken_load: None, tmp_path: Path):
    result = run("--debug", "list")
    assert result.code == 70
    assert result.err.startswith("Traceback (most recent call last)")
    assert result.err.endswith("internal error: RuntimeError: a deliberate bug (this is a bug)\n")


def test_an_expected_failure_has_no_traceback(reg: RegistryFixture):
    result = run("show", "nothing-here")
    assert result.code == 1
    assert result.err == "error: no model 'nothing-here' in the registry (see 'modelops list')\n"


# A child that sends itself a real SIGINT the moment `click` starts to load, as a user's Ctrl-C
# during start-up would, then runs CODE.
_INTERRUPT_WHILE_LOADING = """
import os, signal, sys

class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == "click":
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, Interrupt())
"""


def _child(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _interrupted_child(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return _child(_INTERRUPT_WHILE_LOADING + code, cwd)


def test_ctrl_c_while_the_command_line_loads_exits_130_without_a_traceback(tmp_path: Path):
    # what `python -m modelops` and the `modelops` script run
    child = _interrupted_child(
        "import runpy\nsys.argv = ['modelops', '--help']\n"
        "runpy.run_module('modelops', run_name='__main__')",
        tmp_path,
    )
    assert (child.returncode, child.stderr, child.stdout) == (130, "interrupted\n", "")


def test_the_interrupt_check_would_see_a_traceback(tmp_path: Path):
    """The broken case: loading the command line outside `run` shows what users saw before."""
    child = _interrupted_child("import modelops.cli", tmp_path)
    assert child.returncode != 130
    assert "Traceback (most recent call last)" in child.stderr
    assert "KeyboardInterrupt" in child.stderr


_COUNT_COLLECTIONS = """\
import atexit, gc, sys
started = []
gc.callbacks.append(lambda phase, info: phase == "start" and started.append(info["generation"]))
atexit.register(lambda: sys.stderr.write(f"collections: {len(started)}\\n"))
"""


def _collections(code: str, cwd: Path) -> int:
    child = _child(_COUNT_COLLECTIONS + code, cwd)
    return int(child.stderr.rsplit("collections: ", 1)[1])


def test_loading_the_command_line_runs_no_garbage_collection(tmp_path: Path):
    """Python's default collects after every 700 new objects, which cost an import of a thousand
    models 70-120 ms in collections that freed almost nothing; `run` raises the threshold."""
    code = "from modelops.__main__ import run\nstarted.clear()\nsys.argv[1:] = ['--help']\nrun()"
    assert _collections(code, tmp_path) == 0


def test_the_collection_count_would_see_the_default_threshold(tmp_path: Path):
    """The broken case: the same command, with Python's default threshold, collects often."""
    code = (
        "import modelops.__main__ as entry\nentry.GC_THRESHOLD = (700, 10, 10)\n"
        "started.clear()\nsys.argv[1:] = ['--help']\nentry.run()"
    )
    assert _collections(code, tmp_path) > 5


def test_the_script_entry_point_is_the_one_that_guards_start_up():
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "modelops"]
    assert script.value == "modelops.__main__:run"


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "soon", ""])
def test_a_lock_timeout_that_is_not_a_number_of_seconds_is_one_clear_error(
    reg: RegistryFixture, monkeypatch: pytest.MonkeyPatch, value: str
):
    monkeypatch.setenv("MODELOPS_LOCK_TIMEOUT", value)
    head = reg.head()
    result = run("create", "faq", "--base", "mistral")
    assert result.code == 1
    assert result.err == (
        f"error: MODELOPS_LOCK_TIMEOUT must be a number of seconds, 0 or more, got {value!r} "
        "(unset it to wait 60 s)\n"
    )
    assert reg.head() == head and reg.status() == ""


@pytest.mark.parametrize("value", ["0", "2.5", "60"])
def test_a_lock_timeout_in_seconds_is_taken(
    reg: RegistryFixture, monkeypatch: pytest.MonkeyPatch, value: str
):
    monkeypatch.setenv("MODELOPS_LOCK_TIMEOUT", value)
    assert run("create", "faq", "--base", "mistral").code == 0


def _readme_exit_codes() -> set[int]:
    text = (REPO_ROOT / "README.md").read_text()
    table = text.split("## Exit codes", 1)[1].split("\n\n", 2)[1]
    return {int(row.split("|")[1]) for row in table.splitlines()[2:]}


def test_every_exit_code(
    reg: RegistryFixture,
    ollama_server: OllamaServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
):
    """Each code of the README's table, produced the way a user would meet it."""
    reg.add("faq", base="mistral")
    ollama_server.add_local("mistral")
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)
    conversation = tmp_path / "c.yaml"
    conversation.write_text("version: 1\nturns:\n  - user: hi\n    expect: {contains: [refund]}\n")
    ollama_server.reply("I don't know.")
    seen = {
        0: run("validate").code,
        1: run("show", "nothing-here").code,
        2: run("plan", "--detailed-exitcode").code,  # faq is not on the server yet
        3: run("replay", str(conversation), "-m", "faq").code,
        64: run("list", "--colour").code,
    }
    with monkeypatch.context() as patched:
        patched.setattr(Registry, "load", lambda self, rev=None: 1 / 0)
        seen[70] = run("list").code
    child = _interrupted_child(
        "import runpy\nsys.argv = ['modelops', 'validate']\n"
        "runpy.run_module('modelops', run_name='__main__')",
        reg.root,
    )
    seen[130] = child.returncode
    assert seen == {code: code for code in seen}
    assert set(seen) == {int(e) for e in Exit} == _readme_exit_codes()
