"""The status server: `/healthz` is ready only after a successful reconcile and flips while the
target is away; `/metrics` is what Prometheus parses, with the counts a user would alert on."""

from __future__ import annotations

import dataclasses
import os

import pytest
from prometheus_client.parser import text_string_to_metric_families

from modelops.watch.daemon import Options
from modelops.watch.status import Status
from tests.helpers import RegistryFixture
from tests.ollama_server import OllamaServer
from tests.watch_helpers import watching


@pytest.fixture
def setup(reg: RegistryFixture, ollama_server: OllamaServer, monkeypatch: pytest.MonkeyPatch):
    reg.add("faq", base="mistral", system="Answer briefly.")
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)
    return reg, ollama_server


def options(**changes: object) -> Options:
    base = Options(interval=3600, env_host=os.environ.get("OLLAMA_HOST"))
    return dataclasses.replace(base, **changes)


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return out


def test_healthz_is_ready_after_a_successful_reconcile_and_flips_while_the_target_is_away(setup):
    reg, server = setup
    server.refuse_connections()
    with watching(reg.root, options(interval=0.2), status_server=True) as watch:
        assert watch.reconciles("start")[0]["event"] == "reconcile-failed"
        code, body = watch.get("/healthz")
        assert code == 503
        assert body.startswith("not ready: local: no successful reconcile yet (cannot reach Ollama")
        server.accept_connections()
        watch.wait_event("reconciled")
        assert watch.get("/healthz") == (200, "ok\n")
        failed = len(watch.named("reconcile-failed"))
        server.refuse_connections()
        watch.wait_event("reconcile-failed", count=failed + 1)
        code, body = watch.get("/healthz")
        assert code == 503
        assert body.startswith(f"not ready: local: cannot reach Ollama at {server.url}")
        assert watch.get("/livez") == (200, "ok\n")
        assert watch.get("/nothing")[0] == 404


def test_metrics_parse_and_count_reconciles_failures_drift_and_the_commit(setup):
    reg, server = setup
    with watching(reg.root, options(), status_server=True) as watch:
        server.clear_log()
        reg.write("faq", "version: 1\nid: faq\nbase: mistral\nsystem: [")
        watch.wait_event("invalid")
        server.fail("/api/create", "disk full", times=9)
        reg.write("helper", reg.model_text("helper", "mistral"))
        watch.wait_event("reconcile-failed")
        code, text = watch.get("/metrics")
    assert code == 200
    found = samples(text)
    assert found["modelops_reconciles_total"] == [({"target": "local"}, 2.0)]
    assert found["modelops_reconcile_failures_total"] == [({"target": "local"}, 1.0)]
    assert found["modelops_drifted_models"] == [({"target": "local"}, 1.0)]  # helper
    assert found["modelops_invalid_files"] == [({}, 1.0)]
    assert found["modelops_follow_diverged"] == [({}, 0.0)]
    [(labels, value)] = found["modelops_applied_commit_info"]
    assert (labels, value) == ({"target": "local", "commit": reg.head(), "work_tree": "clean"}, 1)
    [(_, stamp)] = found["modelops_last_success_timestamp_seconds"]
    assert stamp > 1.7e9  # a Unix time, set by the first reconcile


def test_health_names_the_first_target_that_is_not_ready():
    status = Status()
    assert status.health() == (False, "no target reconciled yet")
    status.expect("a")
    status.expect("b")
    status.reconciled("a", reached=True, ok=True, drifted=0, reason="ok", when=1.0)
    assert status.health() == (
        False,
        "b: no successful reconcile yet (no reconcile has finished yet)",
    )
    status.reconciled("b", reached=True, ok=False, drifted=0, reason="1 change(s) failed", when=2.0)
    assert status.health() == (False, "b: no successful reconcile yet (1 change(s) failed)")
    status.reconciled("b", reached=True, ok=True, drifted=0, reason="ok", when=3.0)
    assert status.health() == (True, "ok")
    status.failed("a", "dns://x:11434: x resolves to no address")
    assert status.health() == (False, "a: dns://x:11434: x resolves to no address")
