"""The command line's one error handler: what a user sees for a bug, with and without --debug."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelops.registry.store import Registry
from tests.helpers import RegistryFixture, run


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
