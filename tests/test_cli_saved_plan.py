"""Saved plans and CI safety end to end, against the Ollama test server: plan --out, apply FILE
exactly as planned or refused when stale, --max-deletes, --model, status --detailed-exitcode,
and the confirmation an interactive terminal gets."""

from __future__ import annotations

import json
import os
import sys

import pexpect
import pytest

from tests.helpers import RegistryFixture, after_apply, run
from tests.ollama_server import OllamaServer


@pytest.fixture
def setup(reg: RegistryFixture, ollama_server: OllamaServer, monkeypatch: pytest.MonkeyPatch):
    reg.add("faq", base="mistral", system="Answer briefly.", parameters={"temperature": 0.2})
    reg.add("writer", base="llama3.1:8b", parameters={"temperature": 1.1})
    reg.add("poet", base="writer", system="Write poems.")
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)
    return reg, ollama_server


def test_a_saved_plan_is_applied_exactly(setup, tmp_path):
    reg, server = after_apply(setup)
    reg.write("faq", reg.model_text("faq", base="mistral", system="Answer in one line."))
    reg.commit("shorter answers")
    plan_file = tmp_path / "plan.json"
    result = run("plan", "--out", str(plan_file), "--detailed-exitcode")
    assert result.code == 2, result.err
    saved = json.loads(plan_file.read_text())
    assert saved["format"] == "modelops-plan"
    assert saved["registry"]["commit"] == reg.head()
    assert set(saved["registry"]["models"]) == {"faq", "writer", "poet"}
    (host,) = saved["plan"]["hosts"]
    assert [(c["action"], c["name"]) for c in host["changes"] if c["action"] != "noop"] == [
        ("update", "faq:latest")
    ]
    assert saved["observed"][server.url]["faq:latest"] == server.digest("faq")
    server.clear_log()
    applied = run("apply", str(plan_file))
    assert applied.code == 0, applied.err
    creates = [r.body["model"] for r in server.calls("/api/create")]
    assert creates == ["faq:latest"]
    assert server.model("faq").system == "Answer in one line."
    assert applied.out.endswith("Apply: 0 pulled, 0 created, 1 updated, 0 deleted, 0 failed.\n")


def test_a_plan_is_refused_when_the_registry_changed_since(setup, tmp_path):
    reg, server = after_apply(setup)
    plan_file = tmp_path / "plan.json"
    assert run("plan", "--out", str(plan_file)).code == 0
    before = reg.head()
    reg.write("writer", reg.model_text("writer", base="llama3.1:8b", parameters={"top_k": 5}))
    reg.add("extra", base="mistral")
    server.clear_log()
    result = run("apply", str(plan_file))
    assert result.code == 1
    assert result.err == (
        f"error: {plan_file} is stale, so nothing was applied: the registry (HEAD) "
        f"changed: poet changed, writer changed, extra added; planned at {before[:10]}, now "
        f"{reg.head()[:10]} (make a new plan with 'plan --out')\n"
    )
    assert server.calls("/api/create") == []


def test_a_plan_is_refused_when_a_host_changed_since(setup, tmp_path):
    reg, server = after_apply(setup)
    reg.write("faq", reg.model_text("faq", base="mistral", system="Answer in one line."))
    plan_file = tmp_path / "plan.json"
    assert run("plan", "--out", str(plan_file)).code == 0
    old = server.digest("poet")
    new = server.modify_local("poet", system="Hand-made.")
    server.remove_local("faq")
    server.clear_log()
    result = run("apply", str(plan_file))
    assert result.code == 1
    assert result.err == (
        f"error: {plan_file} is stale, so nothing was applied: {server.url}: faq:latest is "
        f"gone; {server.url}: poet:latest changed (digest {old[:12]} -> {new[:12]}) (make a "
        "new plan with 'plan --out')\n"
    )
    assert server.calls("/api/create") == []


def test_a_saved_plan_holds_its_target(setup, tmp_path):
    plan_file = tmp_path / "plan.json"
    assert run("plan", "--out", str(plan_file)).code == 0
    result = run("apply", str(plan_file), "--host", "http://127.0.0.1:1")
    assert result.code == 64
    assert "--host does not go with a saved plan" in result.err
    plan_file.write_text('{"format": "something else"}')
    bad = run("apply", str(plan_file))
    assert bad.code == 1
    assert bad.err == (
        f"error: {plan_file}: cannot apply: it is not a plan that 'modelops plan --out' wrote "
        "(make a new one with 'plan --out')\n"
    )


def test_max_deletes_stops_a_mass_delete(reg: RegistryFixture, ollama_server, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)
    for i in range(7):
        reg.add(f"m{i}", base="mistral")
    assert run("apply").code == 0
    for i in range(7):
        (reg.root / "models" / f"m{i}.yaml").unlink()
    reg.add("keep", base="mistral")
    ollama_server.clear_log()
    result = run("apply", "--prune")
    assert result.code == 1
    assert result.err == (
        "error: refusing to apply: the plan deletes or replaces 7 models (m0:latest, "
        "m1:latest, m2:latest, m3:latest, m4:latest, m5:latest, m6:latest), more than "
        "--max-deletes 5 allows (check the plan, then pass --force or a higher --max-deletes)\n"
    )
    assert ollama_server.calls("/api/delete") == []
    assert ollama_server.calls("/api/create") == []
    assert run("apply", "--prune", "--max-deletes", "7").code == 0
    assert len(ollama_server.calls("/api/delete")) == 7


def test_force_goes_past_max_deletes(reg: RegistryFixture, ollama_server, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)
    reg.add("a", base="mistral")
    reg.add("b", base="mistral")
    assert run("apply").code == 0
    for name in ("a", "b"):
        (reg.root / "models" / f"{name}.yaml").unlink()
    reg.add("c", base="mistral")
    assert run("apply", "--prune", "--max-deletes", "1").code == 1
    result = run("apply", "--prune", "--max-deletes", "1", "--force")
    assert result.code == 0, result.err
    assert sorted(r.body["model"] for r in ollama_server.calls("/api/delete")) == [
        "a:latest",
        "b:latest",
    ]


def test_model_selects_a_model_and_what_is_built_on_it(setup):
    reg, server = after_apply(setup)
    reg.write("writer", reg.model_text("writer", base="llama3.1:8b", parameters={"top_k": 5}))
    reg.write("faq", reg.model_text("faq", base="mistral", system="Other."))
    reg.commit("change writer and faq")
    result = run("apply", "--model", "writer")
    assert result.code == 0, result.err
    assert [r.body["model"] for r in server.calls("/api/create")] == [
        "writer:latest",
        "poet:latest",
    ]
    assert server.model("faq").system == "Answer briefly."  # left as it was
    unknown = run("plan", "--model", "nope")
    assert unknown.code == 1  # not found, as for 'show nope': not a usage error
    assert "--model nope: no such model" in unknown.err


def test_status_detailed_exitcode(setup):
    reg, server = setup
    assert run("status", "--detailed-exitcode").code == 2  # nothing made yet
    after_apply(setup)
    assert run("status", "--detailed-exitcode").code == 0
    server.modify_local("faq", system="Drifted.")
    drift = run("status", "--detailed-exitcode", "--target", "local")
    assert drift.code == 2
    assert "faq" in drift.out and "drifted" in drift.out
    server.refuse_connections()
    assert run("status", "--detailed-exitcode").code == 1


def _spawn(reg: RegistryFixture, server: OllamaServer, *args: str) -> pexpect.spawn:
    env = {**os.environ, "OLLAMA_HOST": server.url, "NO_COLOR": "1", "COLUMNS": "200"}
    return pexpect.spawn(
        sys.executable,
        ["-m", "modelops", *args],
        cwd=str(reg.root),
        env=env,
        encoding="utf-8",
        timeout=60,
    )


def test_a_terminal_is_asked_before_anything_changes(setup):
    reg, server = setup
    child = _spawn(reg, server, "apply")
    child.expect(
        r"This downloads 2 model\(s\) onto the target's hosts: llama3.1:8b, mistral:latest"
    )
    child.expect(r"Apply these changes to local\? \[y/N\]: ")
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert "apply cancelled: nothing was changed" in child.before
    assert server.calls("/api/pull") == [] and server.calls("/api/create") == []
    child = _spawn(reg, server, "apply")
    child.expect(r"\[y/N\]: ")
    child.sendline("y")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert len(server.calls("/api/create")) == 3


def test_yes_does_not_ask(setup):
    reg, server = setup
    child = _spawn(reg, server, "apply", "--yes")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "[y/N]" not in child.before
    assert len(server.calls("/api/create")) == 3


def test_a_plan_saved_before_open_webui_plans_were_saved_still_applies(setup, tmp_path):
    """A version 1 file (no products, no Open WebUI settings) reads as Ollama hosts; a version
    this modelops does not know is refused with the versions it reads."""
    reg, server = setup
    plan_file = tmp_path / "plan.json"
    assert run("plan", "--out", str(plan_file)).code == 0
    data = json.loads(plan_file.read_text())
    assert data["version"] == 2
    data["version"] = 1
    del data["target"]["webui"]
    for host in data["plan"]["hosts"]:
        del host["product"], host["seen"]
    plan_file.write_text(json.dumps(data))
    result = run("apply", str(plan_file), "--yes")
    assert result.code == 0, result.err
    assert len(server.calls("/api/create")) == 3  # faq, writer, poet
    data["version"] = 3
    plan_file.write_text(json.dumps(data))
    newer = run("apply", str(plan_file))
    assert newer.code == 1
    assert newer.err == (
        f"error: {plan_file}: cannot apply: it is a version 3 plan; this modelops reads 1 and 2 "
        "(make a new one with 'plan --out')\n"
    )


def test_text_that_reads_like_a_secret_is_masked_in_the_file_but_applied_as_written(
    setup, tmp_path
):
    """The plan file masks what looks like a credential, even in a prompt; apply sends what
    the registry says, which the plan's definition hashes vouch for."""
    reg, server = setup
    prompt = "Call https://bob:hunter22@api.example.com with Authorization: Bearer abcdef123456"
    assert run("set", "faq", f"system={prompt}").code == 0
    plan_file = tmp_path / "plan.json"
    assert run("plan", "--out", str(plan_file)).code == 0
    text = plan_file.read_text()
    assert "hunter22" not in text and "abcdef123456" not in text
    result = run("apply", str(plan_file), "--yes")
    assert result.code == 0, result.err
    sent = [r.body for r in server.requests if r.path == "/api/create" and r.body]
    assert [b["system"] for b in sent if b["model"] == "faq:latest"] == [prompt]
    assert run("plan", "--detailed-exitcode").code == 0


def test_a_host_that_cannot_be_asked_is_one_reason_not_every_model_gone(setup, tmp_path):
    reg, server = setup
    plan_file = tmp_path / "plan.json"
    assert run("plan", "--out", str(plan_file)).code == 0
    server.stop()
    result = run("apply", str(plan_file), "--yes")
    assert result.code == 1
    assert result.err.count("\n") == 1
    assert result.err.startswith(
        f"error: {plan_file} is stale, so nothing was applied: {server.url} cannot be checked: "
        f"cannot reach Ollama at {server.url} (connection refused)"
    )
    assert "is gone" not in result.err


def test_a_masked_open_webui_url_is_found_again_in_the_configuration(reg, tmp_path):
    """The plan file masks the password in the Open WebUI's URL; reading it back restores it
    from modelops.yaml, and a URL no longer configured is refused."""
    from modelops.cli.applying import read_plan
    from modelops.errors import ConflictError, Scrubber
    from modelops.reconcile import planfile
    from modelops.reconcile.plan import Plan
    from modelops.registry.store import Registry

    url = "http://admin:pw-SECRET-77@127.0.0.1:9"
    config = (
        f"version: 1\ntargets:\n  webui: {{type: openwebui, url: '{url}'}}\ndefault_target: webui\n"
    )
    (reg.root / "modelops.yaml").write_text(config)
    reg.commit("an Open WebUI behind a password")
    web = planfile.WebUISettings(url, "OPENWEBUI_API_KEY", False, 30.0)
    settings = planfile.Settings("webui", (), None, False, 30.0, 1, web)
    saved = planfile.SavedPlan(Plan("webui", (), False), settings, None, reg.head(), {}, {})
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(Scrubber()(planfile.dumps(saved)))
    assert "pw-SECRET-77" not in plan_file.read_text()
    registry = Registry(reg.root, reg.root)
    assert read_plan(str(plan_file), registry).target.webui == web
    (reg.root / "modelops.yaml").write_text(config.replace("127.0.0.1:9", "127.0.0.1:10"))
    with pytest.raises(ConflictError, match="is no longer a host of target 'webui'"):
        read_plan(str(plan_file), Registry(reg.root, reg.root))
