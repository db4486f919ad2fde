"""Known secrets go in through every door (key variables, passwords in target and endpoint
URLs, a server that echoes the key back in its error) and come out nowhere: not in output,
errors, Markdown, HTML or JSON reports, saved plans, state files or crash logs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from modelops.errors import Scrubber
from modelops.registry.store import Registry
from tests.helpers import RegistryFixture, run

SECRETS = {
    "OPENAI_API_KEY": "sk-openai-SECRET-1111",
    "OPENWEBUI_API_KEY": "owui-SECRET-2222",
    "TEAM_WEBUI": "custom-SECRET-3333",  # named as a key variable only in modelops.yaml
}
TARGET_PASSWORD = "pw-SECRET-4444"
ENDPOINT_PASSWORD = "pw-SECRET-6666"
ALL = [*SECRETS.values(), TARGET_PASSWORD, ENDPOINT_PASSWORD]


class _Echo(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that refuses the key and says it back, as some do."""

    def do_POST(self) -> None:
        key = self.headers.get("Authorization", "")
        body = json.dumps({"error": {"message": f"Incorrect API key provided: {key}"}}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def echo() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def secret_registry(reg: RegistryFixture, monkeypatch: pytest.MonkeyPatch) -> RegistryFixture:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    (reg.root / "modelops.yaml").write_text(
        "version: 1\n"
        "targets:\n"
        f"  local: {{type: ollama, host: 'http://admin:{TARGET_PASSWORD}@127.0.0.1:9'}}\n"
        "  webui: {type: openwebui, url: 'http://127.0.0.1:9', api_key_env: TEAM_WEBUI}\n"
        "default_target: local\n"
    )
    reg.add("faq", base="mistral", system="Answer briefly.")
    (reg.root / "conversations" / "c.yaml").write_text("version: 1\nturns:\n  - user: hi\n")
    return reg


def _leaks(text: str) -> list[str]:
    return [s for s in ALL if s in text]


def test_no_secret_leaves_through_any_output(secret_registry, echo, tmp_path, monkeypatch):
    reg = secret_registry
    endpoint = f"http://user:{ENDPOINT_PASSWORD}@{echo}"
    reports = tmp_path / "reports"
    reports.mkdir()
    runs = [
        run("plan"),
        run("plan", "-o", "json"),
        run("plan", "-o", "markdown"),
        run("plan", "--out", str(reports / "plan.json")),
        run("apply", "--yes"),
        run("status"),
        run("status", "-o", "json"),
        run("plan", "webui"),
        run("review", "HEAD~1", "HEAD", "--target", "local"),
        run(
            "replay",
            "conversations/c.yaml",
            "-m",
            "openai:gpt-x",
            "--openai-url",
            endpoint,
            "--markdown",
            str(reports / "r.md"),
            "--html",
            str(reports / "r.html"),
            "--json",
            str(reports / "r.json"),
            "-o",
            "json",
        ),
        run("replay", "conversations/c.yaml", "-m", "openwebui:faq", "--openwebui-url", endpoint),
        run("replay", "conversations/c.yaml", "-m", "openai:x", "--openai-url", f"http://{echo}"),
        run("pull", "mistral"),
    ]
    said = [r.out + r.err for r in runs]
    assert any("Incorrect API key provided: Bearer ***" in s for s in said)  # it did echo
    assert any(f"http://***@{echo}" in s for s in said)  # it did print the URL
    assert [(i, _leaks(s)) for i, s in enumerate(said) if _leaks(s)] == []
    written = [p for p in [*reports.rglob("*"), *(reg.root / ".git" / "modelops").rglob("*")]]
    assert (reports / "r.md").exists() and (reports / "r.html").exists()
    leaking = [str(p) for p in written if p.is_file() and _leaks(p.read_text(errors="replace"))]
    assert leaking == []


def test_a_crash_log_holds_no_secret(secret_registry, tmp_path, monkeypatch):
    def load(self: Registry, rev: str | None = None) -> None:
        raise RuntimeError(f"cannot reach http://admin:{TARGET_PASSWORD}@host with {ALL[0]}")

    monkeypatch.setattr(Registry, "load", load)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    result = run("list")
    assert result.code == 70
    assert _leaks(result.err) == []
    (log,) = (tmp_path / "state" / "modelops").glob("crash-*.log")
    assert "http://***@host with ***" in log.read_text()
    assert _leaks(log.read_text()) == []


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("http://user:pass@host:1/x", "http://***@host:1/x"),
        ("https://token@example.com", "https://***@example.com"),
        ("Authorization: Bearer abc.def", "Authorization: Bearer ***"),
        ('{"authorization": "Basic dXNlcjpwYXNz"}', '{"authorization": "Basic ***"}'),
        ("got bearer abcdef123 back", "got bearer *** back"),
        ("provided: Basic dXNlcjpwdy1TRUNSRVQ=", "provided: Basic ***"),
        ("GET /v1?api_key=abc123&x=1", "GET /v1?api_key=***&x=1"),
        ("the key sk-openai-SECRET-1111 again", "the key *** again"),
        ("a plain sentence with user@example.com", "a plain sentence with user@example.com"),
    ],
)
def test_the_scrubber(text: str, shown: str):
    scrub = Scrubber.from_environment({"OPENAI_API_KEY": "sk-openai-SECRET-1111", "HOME": "/x"})
    assert scrub(text) == shown
