"""The reconcile scenarios that need nothing but Ollama's public API, so they run against the
test server always and against a real Ollama when MODELOPS_TEST_OLLAMA_HOST names one.

On a real server everything happens in the `modelops-test` namespace, so nothing of yours is
touched; the base model is MODELOPS_TEST_OLLAMA_BASE (default llama3.2:latest).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import ollama
import pytest

from tests.helpers import RegistryFixture, run
from tests.ollama_server import OllamaServer

LIVE = os.environ.get("MODELOPS_TEST_OLLAMA_HOST")
BASE = os.environ.get("MODELOPS_TEST_OLLAMA_BASE", "llama3.2:latest")
NAMESPACE = "modelops-test"


@pytest.fixture(params=["test-server", pytest.param("live", marks=pytest.mark.live_ollama)])
def host(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "live":
        if not LIVE:
            pytest.skip("set MODELOPS_TEST_OLLAMA_HOST to run against a real Ollama")
        yield LIVE
        _clean(LIVE)
        return
    with OllamaServer() as server:
        yield server.url


def _clean(url: str) -> None:
    client = ollama.Client(host=url)
    for model in client.list().models:
        if str(model.model).startswith(f"{NAMESPACE}/"):
            client.delete(str(model.model))


@pytest.fixture
def registry(reg: RegistryFixture, host: str) -> RegistryFixture:
    (reg.root / "modelops.yaml").write_text(
        f"version: 1\ntargets:\n  test: {{type: ollama, host: '{host}', namespace: {NAMESPACE}}}\n"
    )
    reg.add("support", base=BASE, system="Answer briefly.", parameters={"temperature": 0.2})
    reg.add("support-strict", base="support", parameters={"num_predict": 64})
    return reg


def test_apply_then_a_clean_plan(registry: RegistryFixture, host: str):
    result = run("apply")
    assert result.code == 0, result.err
    names = {str(m.model) for m in ollama.Client(host=host).list().models}
    assert {f"{NAMESPACE}/support:latest", f"{NAMESPACE}/support-strict:latest"} <= names
    plan = run("plan", "--detailed-exitcode")
    assert plan.code == 0, plan.out
    assert "2 in sync" in plan.out


def test_a_registry_change_then_apply_converges(registry: RegistryFixture, host: str):
    assert run("apply").code == 0
    assert run("set", "support", "parameters.temperature=0.6").code == 0
    plan = run("plan", "--detailed-exitcode")
    assert plan.code == 2
    assert "parameters.temperature: 0.2 -> 0.6" in plan.out
    assert f"~ update  {NAMESPACE}/support-strict:latest" in plan.out  # follows its base
    assert run("apply").code == 0
    assert run("plan", "--detailed-exitcode").code == 0


def test_drift_through_the_api_is_seen_and_put_right(registry: RegistryFixture, host: str):
    assert run("apply").code == 0
    client = ollama.Client(host=host)
    client.create(model=f"{NAMESPACE}/support", from_=BASE, system="Changed by hand.")
    plan = run("plan", "--detailed-exitcode")
    assert plan.code == 2
    assert "changed on the host (drift)" in plan.out
    assert '"Changed by hand." -> "Answer briefly."' in plan.out
    assert run("apply").code == 0
    assert run("plan", "--detailed-exitcode").code == 0


def test_prune_removes_a_deleted_model_and_nothing_else(registry: RegistryFixture, host: str):
    assert run("apply").code == 0
    client = ollama.Client(host=host)
    assert run("delete", "support-strict").code == 0
    result = run("apply", "--prune")
    assert result.code == 0, result.err
    names = {str(m.model) for m in client.list().models}
    assert f"{NAMESPACE}/support-strict:latest" not in names
    assert f"{NAMESPACE}/support:latest" in names
    assert any(n.startswith(BASE.split(":")[0]) for n in names)  # the base stays
