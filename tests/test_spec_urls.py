"""Server URLs are checked before any call: in `modelops.yaml` (by `validate` too), `--host`,
`--ollama-host`, `--openai-url`, `--openwebui-url` and `OLLAMA_HOST`. A name that does not
resolve is reported as such, never as a refused connection."""

from __future__ import annotations

import os
import socket
import string
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelops.spec.urls import url_problem
from modelops.targets.ollama import normalize_host
from tests.helpers import REPO_ROOT, RegistryFixture, run, run_process
from tests.ollama_server import OllamaServer

GOOD = [
    "http://127.0.0.1:11434",
    "https://user:secret@proxy.example:8443/ollama",  # shown masked by the scrubber
    "https://ollama.example.com",
    "http://gpu-1.internal:11434/ollama",
    "http://[::1]:11434",
    "http://LOCALHOST:80/",
    "http://bücher.example:8080",
]
BARE_ONLY = ["127.0.0.1:11434", "gpu1", "gpu1:11434", "[::1]:8080"]
BAD = [
    ("not a url", "'not a url' contains a space or a control character"),
    ("", "'' is empty"),
    ("http://", "'http://' names no host"),
    ("ftp://host", "'ftp://host' has the scheme 'ftp'; use http:// or https://"),
    ("http://host:99999", "'http://host:99999' has the port '99999'; a port is a number from 1 to 65535"),
    ("http://host:0", "'http://host:0' has the port '0'; a port is a number from 1 to 65535"),
    ("http://host:abc", "'http://host:abc' has the port 'abc'; a port is a number from 1 to 65535"),
    ("http://user:secret@host:99999", "'http://***@host:99999' has the port '99999'; a port is a number from 1 to 65535"),
    ("http://host/?x=1", "'http://host/?x=1' has a query or a fragment ('?' or '#'); give only scheme, host, port and path"),
    ("http://exa_mple..com", "'http://exa_mple..com' has an invalid host name 'exa_mple..com'"),
    ("http://[::1", "'http://[::1' has an invalid host name '[::1'"),
    ("http://[nope]:1", "'http://[nope]:1' has an invalid host name '[nope]'"),
    ("http://-bad-.com", "'http://-bad-.com' has an invalid host name '-bad-.com'"),
    ("http://host\n", "'http://host\\n' contains a space or a control character"),
]  # fmt: skip


@pytest.mark.parametrize("url", GOOD)
def test_usable_urls(url: str):
    assert url_problem(url) is None
    assert url_problem(url, bare=True) is None


@pytest.mark.parametrize("url", BARE_ONLY)
def test_host_and_port_without_a_scheme_is_ollamas_form(url: str):
    assert url_problem(url, bare=True) is None
    assert url_problem(url) == f"{url!r} needs a scheme: http:// or https://"


@pytest.mark.parametrize("url", ["dns://ollama.svc", "dns://ollama.team.svc:11434"])
def test_dns_names_are_ollama_hosts_only(url: str):
    assert url_problem(url, bare=True) is None
    assert url_problem(url) == f"{url!r} has the scheme 'dns'; use http:// or https://"
    assert url_problem(url + "/api", bare=True) == (
        f"'{url}/api' has a path; write dns://NAME or dns://NAME:PORT"
    )


@pytest.mark.parametrize(("url", "why"), BAD, ids=[b[0] or "empty" for b in BAD])
def test_unusable_urls_say_why(url: str, why: str):
    assert url_problem(url, bare=True) == why


netloc = st.text(alphabet=string.ascii_letters + string.digits + ".-_:[]@%", max_size=20)


@given(
    st.sampled_from(["http://", "https://", ""]),
    netloc,
    st.text(alphabet=string.printable, max_size=10),
)
def test_what_is_accepted_is_what_the_http_client_reads_the_same_way(scheme, host, rest):
    text = scheme + host + rest
    if url_problem(text, bare=True) is not None:
        return
    full = text if "://" in text else f"http://{text}"
    parts = urlsplit(full)
    assert parts.hostname and parts.port != 0  # urlsplit agrees; .port raises if it does not
    assert normalize_host(text).startswith(("http://", "https://"))


@pytest.fixture
def served(reg: RegistryFixture, ollama_server: OllamaServer) -> RegistryFixture:
    reg.add("faq", base="mistral")
    return reg


def test_validate_reports_every_unusable_url_in_modelops_yaml(reg: RegistryFixture):
    (reg.root / "modelops.yaml").write_text(
        "version: 1\n"
        "targets:\n"
        "  local: {type: ollama, host: not a url}\n"
        "  gpus: {type: ollama, hosts: ['http://gpu1:11434', 'http://gpu2:99999']}\n"
        "  webui: {type: openwebui, url: 'localhost:8080'}\n"
        "default_target: local\n"
    )
    result = run("validate")
    assert result.code == 1
    assert result.err.splitlines() == [
        "modelops.yaml:3:25: targets.local.host: 'not a url' contains a space or a control "
        "character",
        "modelops.yaml:4:53: targets.gpus.hosts[1]: 'http://gpu2:99999' has the port '99999'; a "
        "port is a number from 1 to 65535",
        "modelops.yaml:5:28: targets.webui.url: 'localhost:8080' needs a scheme: http:// or "
        "https://",
        "error: 3 problems found",
    ]


def test_plan_refuses_an_unusable_url_in_modelops_yaml_before_any_call(served, ollama_server):
    (served.root / "modelops.yaml").write_text(
        "version: 1\ntargets:\n  local: {type: ollama, host: 'http://h:port'}\n"
    )
    served.commit("a bad host")  # plan deploys what is committed
    result = run("plan")
    assert result.code == 1
    assert result.err.startswith("HEAD:modelops.yaml:3:25: targets.local.host: 'http://h:port' has")
    assert ollama_server.requests == []


@pytest.mark.parametrize("command", ["plan", "apply", "status"])
def test_a_bad_host_flag_is_a_usage_error_before_any_call(served, ollama_server, command):
    result = run(command, "--host", ollama_server.url, "--host", "http://x y")
    assert result.code == 64
    assert result.err == (
        "error: Ollama host 'http://x y' contains a space or a control character\n"
    )
    assert ollama_server.requests == []


def test_a_bad_ollama_host_variable_is_one_error_before_any_call(
    served, ollama_server, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:70000")
    result = run("plan")
    assert result.code == 1
    assert result.err == (
        "error: OLLAMA_HOST 'http://127.0.0.1:70000' has the port '70000'; a port is a number "
        "from 1 to 65535 (correct it, or unset it for 127.0.0.1:11434)\n"
    )


@pytest.mark.parametrize(
    ("flag", "model", "shown"),
    [
        ("--openai-url", "openai:gpt", "--openai-url (or OPENAI_BASE_URL)"),
        ("--openwebui-url", "openwebui:faq", "--openwebui-url (or OPENWEBUI_URL)"),
    ],
)
def test_replay_endpoints_are_checked_before_any_call(served, tmp_path, flag, model, shown):
    source = tmp_path / "c.yaml"
    source.write_text("version: 1\nturns:\n  - user: hi\n")
    result = run("replay", str(source), "-m", model, flag, "localhost:8080")
    assert result.code == 64
    assert result.err == f"error: {shown}: 'localhost:8080' needs a scheme: http:// or https://\n"
    result = run("replay", str(source), "-m", "llama3.2", "--ollama-host", "http://a b")
    assert result.code == 64
    assert result.err == "error: Ollama host 'http://a b' contains a space or a control character\n"


@pytest.fixture
def no_such_host(monkeypatch: pytest.MonkeyPatch) -> str:
    """A host name the resolver says does not exist (no DNS query leaves the machine)."""
    name = "gpu-typo.example"
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host == name:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return name


def test_a_name_that_does_not_resolve_is_reported_as_such(served, no_such_host):
    result = run("plan", "--host", f"http://{no_such_host}:11434")
    assert result.code == 1
    assert result.err == (
        f"error: cannot reach Ollama at http://{no_such_host}:11434: the host name does not "
        "resolve (check the name in OLLAMA_HOST, --host or the target in modelops.yaml)\n"
    )


def test_a_refused_connection_is_still_reported_as_refused(served):
    url = OllamaServer.refused_url()
    result = run("plan", "--host", url)
    assert result.code == 1
    assert "(connection refused)" in result.err
    assert "does not resolve" not in result.err


def test_replay_names_the_cause_too(served, tmp_path, no_such_host):
    source = tmp_path / "c.yaml"
    source.write_text("version: 1\nturns:\n  - user: hi\n")
    url = f"http://{no_such_host}:8080"
    result = run("replay", str(source), "-m", "openai:gpt", "--openai-url", url, "-o", "json")
    assert result.code == 1
    assert f"openai:gpt: cannot reach {url} (its host name does not resolve)" in result.out


def test_a_bad_ollama_host_is_one_error_in_a_fresh_process_too(served):
    """A fresh process reads OLLAMA_HOST before anything else: that must not crash either."""
    env = {**os.environ, "OLLAMA_HOST": "http://127.0.0.1:70000", "PYTHONPATH": str(REPO_ROOT)}
    result = run_process("plan", cwd=served.root, env=env)
    assert (result.code, result.err) == (
        1,
        "error: OLLAMA_HOST 'http://127.0.0.1:70000' has the port '70000'; a port is a number "
        "from 1 to 65535 (correct it, or unset it for 127.0.0.1:11434)\n",
    )
