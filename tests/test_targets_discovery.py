"""Host discovery: `dns://NAME[:PORT]` stands for every address NAME resolves to, resolved
when the target is resolved, so a plan follows replicas as they come and go."""

from __future__ import annotations

import pytest

from modelops.errors import TargetError, UsageError
from modelops.reconcile.session import Selection, resolve_target
from modelops.spec.config_check import parse_config
from modelops.targets.discovery import expand, parse, system_resolver


def answer(*pairs: tuple[str, int]):
    asked: list[tuple[str, int]] = []

    def resolve(name: str, port: int) -> list[tuple[str, int]]:
        asked.append((name, port))
        return list(pairs)

    return resolve, asked


def test_a_dns_host_becomes_one_url_per_address_in_a_stable_order():
    resolve, asked = answer(
        ("10.0.0.12", 11434), ("10.0.0.3", 11434), ("fd00::1", 11434), ("10.0.0.3", 11434)
    )
    urls = expand(["dns://ollama-headless.ns.svc", "http://gpu9:11434"], resolve)
    assert urls == [
        "http://10.0.0.3:11434",
        "http://10.0.0.12:11434",
        "http://[fd00::1]:11434",
        "http://gpu9:11434",
    ]
    assert asked == [("ollama-headless.ns.svc", 11434)]


def test_the_port_of_the_dns_host_is_asked_for():
    resolve, asked = answer(("10.0.0.3", 8080))
    assert expand(["dns://ollama:8080"], resolve) == ["http://10.0.0.3:8080"]
    assert asked == [("ollama", 8080)]


def test_a_name_with_no_address_is_a_target_error():
    resolve, _ = answer()
    with pytest.raises(TargetError, match=r"^dns://ollama:11434: ollama resolves to no address"):
        expand(["dns://ollama"], resolve)


@pytest.mark.parametrize(
    "url", ["dns://", "dns://ollama/path", "dns://ollama:99999", "dns://u:p@ollama"]
)
def test_a_malformed_dns_host_is_a_usage_error(url):
    with pytest.raises(UsageError, match="write dns://NAME or dns://NAME:PORT"):
        parse(url)


def test_the_system_resolver_resolves_localhost_and_reports_an_unknown_name():
    assert ("127.0.0.1", 11434) in system_resolver("localhost", 11434)
    with pytest.raises(TargetError, match=r"^dns://no-such-host\.invalid:11434: cannot resolve"):
        system_resolver("no-such-host.invalid", 11434)


def test_a_target_is_resolved_afresh_each_time():
    config = parse_config(
        b"version: 1\ntargets:\n  gpus: {type: ollama, hosts: ['dns://ollama-headless']}\n", "m"
    )
    first, _ = answer(("10.0.0.1", 11434), ("10.0.0.2", 11434))
    second, _ = answer(("10.0.0.2", 11434))
    assert resolve_target(config, Selection(), first).hosts == (
        "http://10.0.0.1:11434",
        "http://10.0.0.2:11434",
    )
    assert resolve_target(config, Selection(), second).hosts == ("http://10.0.0.2:11434",)
