"""Shared fixtures: an isolated home and git config for every test, and throw-away registries."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.helpers import RegistryFixture

pytest_plugins = ["tests.conftest_openwebui"]

# Property tests draw the same examples on every run, so a run passes or fails for a reason in
# the code; `pytest --hypothesis-profile explore` draws new ones, more of them, to hunt.
settings.register_profile("repeatable", derandomize=True, database=None, max_examples=300)
settings.register_profile("explore", max_examples=2000)
settings.load_profile("repeatable")
REAL_HOME = Path.home()


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """No test reads or writes the real home, the user's git config or a real Ollama."""
    home = tmp_path_factory.mktemp("home")
    gitconfig = home / ".gitconfig"
    gitconfig.write_text("[user]\n\tname = Test User\n\temail = test@example.com\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("MODELOPS_REGISTRY", "OLLAMA_HOST", "OLLAMA_API_KEY", "VISUAL", "EDITOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    yield
    stray = [p for p in (REAL_HOME / ".modelops",) if p.exists()]
    assert not stray, f"a test wrote into the real home: {stray}"


@pytest.fixture
def reg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RegistryFixture:
    """An initialised registry at the top of a fresh git repository; the cwd is its folder."""
    fixture = RegistryFixture.create(tmp_path / "repo")
    monkeypatch.chdir(fixture.root)
    return fixture


class Tripwire:
    """A listener on 127.0.0.1 that counts the connections it gets and closes each one. It
    stands where a real Ollama would be found (OLLAMA_HOST, which every test and every child
    process inherits), so a test that forgets to point modelops at the test server fails
    instead of reaching the Ollama on this machine."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._lock = threading.Lock()
        self._hits = 0
        self._mark = 0  # hits when the current test started
        threading.Thread(target=self._serve, name="ollama-tripwire", daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._sock.accept()
            except OSError:  # closed at the end of the session
                return
            with self._lock:
                self._hits += 1
            connection.close()

    @property
    def hits(self) -> int:
        with self._lock:
            return self._hits

    def mark(self) -> None:
        """A test starts: count from here."""
        self._mark = self.hits

    def check(self) -> None:
        """Fail when anything connected since the mark."""
        touched = self.hits - self._mark
        assert touched == 0, (
            f"the test connected {touched} time(s) to OLLAMA_HOST, where a real Ollama would "
            "answer: point it at the test server (the ollama_server fixture)"
        )

    def close(self) -> None:
        self._sock.close()


@pytest.fixture(scope="session")
def tripwire() -> Iterator[Tripwire]:
    wire = Tripwire()
    yield wire
    wire.close()


@pytest.fixture(autouse=True)
def _no_real_ollama(
    tripwire: Tripwire, isolated_environment: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """OLLAMA_HOST points at the tripwire unless a test points it elsewhere; a test that
    reaches it fails (tests/test_conftest.py proves that it does)."""
    monkeypatch.setenv("OLLAMA_HOST", tripwire.url)
    tripwire.mark()
    yield
    tripwire.check()


@pytest.fixture(scope="session")
def openwebui_ollama_base_url():
    """The Ollama test server that the session's Open WebUI talks to."""
    from tests.ollama_server import OllamaServer

    with OllamaServer() as server:
        yield server.url


@pytest.fixture
def ollama_server():
    """The Ollama test server, on a free port; it must not have hit a bug of its own."""
    from tests.ollama_server import OllamaServer

    with OllamaServer() as server:
        yield server
    assert not server.errors, server.errors
