"""One Ollama server through `OllamaHost`, against the test server: one pool of connections per
host, the timeout as the longest silence of a stream, and every failure a TargetError that
names the server."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator

import pytest

from modelops.errors import TargetError
from modelops.targets.base import Progress
from modelops.targets.ollama import OllamaHost, Retry
from tests.ollama_server import OllamaServer


@pytest.fixture
def server() -> Iterator[OllamaServer]:
    with OllamaServer() as running:
        yield running
    assert not running.errors, running.errors


def _host(server: OllamaServer, timeout: float = 10.0, attempts: int = 1) -> OllamaHost:
    return OllamaHost(server.url, timeout=timeout, retry=Retry(attempts=attempts, backoff=0))


def _lines(seen: list[Progress]):
    return seen.append


def test_calls_share_one_connection(server: OllamaServer):
    server.add_local("mistral")
    host = _host(server)
    try:
        assert host.version() == "0.12.6"
        assert [tag.name for tag in host.tags().values()] == ["mistral:latest"]
        for _ in range(3):
            assert host.show("mistral")["details"]
        seen: list[Progress] = []
        host.pull("llama3.2", _lines(seen))
        host.create({"model": "faq", "from": "mistral", "system": "Be brief."}, _lines(seen))
        host.delete("faq")
        assert host.connections == 1
    finally:
        host.close()
    assert len(server.requests) == 8


def test_a_restarted_server_is_reached_on_a_new_connection(server: OllamaServer):
    host = _host(server)
    try:
        host.version()
        server.refuse_connections()
        with pytest.raises(TargetError, match=r"\(connection refused\)"):
            host.tags()
        server.accept_connections()
        assert host.tags() == {}
        assert host.connections == 2
    finally:
        host.close()


def test_a_stream_that_stalls_fails_after_the_timeout_and_is_retried(server: OllamaServer):
    server.delay("/api/pull", 60.0, after=2)  # cut short when the server stops
    host = _host(server, timeout=0.3, attempts=2)
    seen: list[Progress] = []
    try:
        with pytest.raises(TargetError) as caught:
            host.pull("mistral", _lines(seen))
    finally:
        host.close()
    assert caught.value.message == (
        f"{server.url}: could not pull mistral: no answer within 0.3 s (the server is busy or "
        "stuck; retry, or raise the target's timeout)"
    )
    assert len(server.calls("/api/pull")) == 2
    assert len(seen) == 4  # two lines from each attempt, then silence
    assert "success" not in [p.status for p in seen]


def test_a_stream_that_keeps_talking_may_outlast_the_timeout(server: OllamaServer):
    # two pauses, each well within the timeout, together longer than it
    server.delay("/api/pull", 1.2, after=1, times=1)
    server.delay("/api/pull", 1.2, after=3, times=1)
    host = _host(server, timeout=2.0)
    seen: list[Progress] = []
    try:
        host.pull("mistral", _lines(seen))
    finally:
        host.close()
    assert seen[-1].status == "success"
    assert "mistral:latest" in server.local_names()


def test_a_create_that_stalls_fails_after_the_timeout(server: OllamaServer):
    server.add_local("mistral")
    server.delay("/api/create", 60.0, after=1)
    host = _host(server, timeout=0.3)
    try:
        with pytest.raises(TargetError, match=r"could not create faq: no answer within 0.3 s"):
            host.create({"model": "faq", "from": "mistral"}, _lines([]))
    finally:
        host.close()


def test_an_error_line_a_retry_cannot_fix_is_not_retried(server: OllamaServer):
    host = _host(server, attempts=3)
    try:
        with pytest.raises(TargetError) as caught:
            host.pull("no-such-model", _lines([]))
        server.fail_mid_stream("/api/pull", "registry went away", after=1)
        with pytest.raises(TargetError, match="registry went away") as transient:
            host.pull("mistral", _lines([]))
    finally:
        host.close()
    assert caught.value.message.startswith(f"{server.url}: could not pull no-such-model: ")
    assert "file does not exist" in caught.value.message
    pulls = [r.body["model"] for r in server.calls("/api/pull")]
    assert pulls.count("no-such-model") == 1
    assert pulls.count("mistral") == 3
    assert transient.value.transient


def test_error_statuses_carry_the_servers_message(server: OllamaServer):
    host = _host(server)
    try:
        with pytest.raises(TargetError) as missing:
            host.show("ghost")
        server.fail("/api/tags", status=502, body="bad gateway from the proxy")
        with pytest.raises(TargetError) as proxy:
            host.tags()
    finally:
        host.close()
    assert (
        missing.value.message
        == f"{server.url}: could not inspect ghost: model 'ghost:latest' not found"
    )
    assert not missing.value.transient
    assert proxy.value.message == f"{server.url}: could not list models: bad gateway from the proxy"
    assert proxy.value.transient


def test_a_cut_stream_is_a_broken_connection_not_an_end(server: OllamaServer):
    server.cut_connection("/api/pull", after=2)
    host = _host(server)
    try:
        with pytest.raises(TargetError) as caught:
            host.pull("mistral", _lines([]))
    finally:
        host.close()
    assert caught.value.message == (
        f"{server.url}: could not pull mistral: the connection broke (the answer was cut short)"
    )


def test_deleting_a_model_that_is_gone_is_done(server: OllamaServer):
    host = _host(server)
    try:
        host.delete("ghost")
        server.fail("/api/delete", "permission denied", status=403)
        with pytest.raises(TargetError, match="could not delete ghost: permission denied"):
            host.delete("ghost")
    finally:
        host.close()


@pytest.mark.parametrize(
    ("errno", "transient"), [(socket.EAI_NONAME, False), (socket.EAI_AGAIN, True)]
)
def test_an_unknown_host_name_is_named_as_such(
    monkeypatch: pytest.MonkeyPatch, errno: int, transient: bool
):
    """A name that does not exist is final; a resolver that cannot answer now is worth a
    retry (pulls and creates retry what is transient)."""

    def no_such_name(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(errno, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    host = OllamaHost("http://ollama.example:11434", timeout=1.0)
    with pytest.raises(TargetError) as caught:
        host.version()
    assert caught.value.message == (
        "cannot reach Ollama at http://ollama.example:11434: the host name does not resolve "
        "(check the name in OLLAMA_HOST, --host or the target in modelops.yaml)"
    )
    assert caught.value.transient is transient


def test_chat_streams_the_answer_and_its_counts(server: OllamaServer):
    server.add_local("mistral")
    host = _host(server)
    try:
        chunks = list(host.chat("mistral", [{"role": "user", "content": "hello"}], {"seed": 1}))
    finally:
        host.close()
    assert chunks[-1].done
    assert chunks[-1].answer_tokens
    assert "".join(c.text for c in chunks)
    assert server.calls("/api/chat")[0].body["options"] == {"seed": 1}


def test_a_host_url_with_a_user_and_password_authenticates_and_never_shows_them(server):
    """For an Ollama behind a proxy that asks for it, as httpx and browsers treat user-info."""
    port = server.url.rsplit(":", 1)[1]
    host = OllamaHost(f"http://team%40corp:s3cr%3At@127.0.0.1:{port}", timeout=5.0)
    try:
        host.tags()
    finally:
        host.close()
    assert host.url == f"http://127.0.0.1:{port}"
    sent = server.requests[-1].authorization
    assert sent == "Basic " + base64.b64encode(b"team@corp:s3cr:t").decode()
    plain = OllamaHost(server.url, timeout=5.0)
    try:
        plain.tags()
    finally:
        plain.close()
    assert server.requests[-1].authorization is None
