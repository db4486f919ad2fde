"""Open WebUI as a target, against a real Open WebUI 0.12.4: the shipped registry applies from
empty with every field, a plan right after has nothing to do, each edit made the way the UI
makes it shows as drift with before and after, what the UI made is never touched, an
unresolvable name changes nothing, and every way it can go wrong says so and converges."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import REPO_ROOT, RegistryFixture, png, run
from tests.http_proxy import Answer, Proxy, Seen
from tests.openwebui_server import REFUSING_URL, OpenWebUI
from tests.webui_objects import SHIPPED, delete_models, ensure

SHIPPED_IDS = sorted(p.stem for p in (REPO_ROOT / "registry" / "models").glob("*.yaml"))


def _config(url: str, extra: str = "") -> str:
    return (
        "version: 1\n"
        "name: modelops-tests\n"
        "targets:\n"
        f"  webui: {{type: openwebui, url: '{url}', timeout: 30}}\n"
        f"{extra}"
        "default_target: webui\n"
    )


@pytest.fixture
def shipped(
    openwebui: OpenWebUI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RegistryFixture, httpx.Client]]:
    """The shipped registry in a fresh repository, aimed at the test Open WebUI, with the
    objects its models name made there first; its models are gone before and after."""
    root = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "registry", root)
    (root / "modelops.yaml").write_text(_config(openwebui.url))
    reg = RegistryFixture(root)
    reg.git("init", "-q")
    reg.commit("the shipped registry")
    monkeypatch.chdir(root)
    monkeypatch.setenv("OPENWEBUI_API_KEY", openwebui.api_key)
    with openwebui.client() as client:
        ensure(client, SHIPPED)
        delete_models(client, SHIPPED_IDS)
        try:
            yield reg, client
        finally:
            delete_models(client, SHIPPED_IDS)


def _export(client: httpx.Client) -> dict[str, dict[str, Any]]:
    response = client.get("/api/v1/models/export")
    assert response.status_code == 200, response.text
    return {r["id"]: r for r in response.json()}


def _ids(client: httpx.Client, path: str, key: str, field: str = "name") -> dict[str, str]:
    found = client.get(path).json()
    items = found[key] if key else found
    return {i[field]: i["id"] for i in items}


def test_the_shipped_registry_applies_from_empty_with_every_field(shipped):
    reg, client = shipped
    result = run("apply", "--yes")
    assert result.code == 0, result.err
    assert result.out.endswith("Apply: 0 pulled, 7 created, 0 updated, 0 deleted, 0 failed.\n")
    live = _export(client)
    assert set(SHIPPED_IDS) <= set(live)
    groups = _ids(client, "/api/v1/groups/", "")
    collections = _ids(client, "/api/v1/knowledge/", "items")
    code = live["code-assistant"]
    assert code["meta"]["toolIds"] == ["code_runner", "repo_search"]
    assert code["meta"]["filterIds"] == ["secret_redactor"]
    assert code["meta"]["actionIds"] == ["copy_as_markdown", "open_in_playground"]
    faq = live["faq"]
    assert faq["meta"]["profile_image_url"].startswith("data:image/png;base64,")
    assert faq["meta"]["suggestion_prompts"]
    assert [k["id"] for k in faq["meta"]["knowledge"] if k["type"] == "collection"] == [
        collections["Billing FAQ"]
    ]
    assert faq["meta"]["capabilities"]["vision"] is False
    ops = live["ops-internal"]
    assert ops["meta"]["hidden"] is True
    grants = {
        (g["principal_type"], g["principal_id"], g["permission"]) for g in ops["access_grants"]
    }
    assert ("group", groups["sre"], "read") in grants
    assert ("group", groups["sre-leads"], "write") in grants
    tutor = live["sql-tutor"]
    assert [t["name"] for t in tutor["meta"]["tags"]] == ["education", "sql"]
    assert tutor["meta"]["modelops"]["registry"] == "modelops-tests"
    assert tutor["meta"]["modelops"]["commit"] == reg.head()
    assert any(r["is_active"] is False for r in live.values() if r["id"] in SHIPPED_IDS) is (
        "active: false"
        in "".join((reg.root / "models" / f"{i}.yaml").read_text() for i in SHIPPED_IDS)
    )
    again = run("plan", "--detailed-exitcode")
    assert again.code == 0, again.out + again.err
    assert "7 in sync" in again.out
    status = run("status")
    assert f"models last applied from {reg.head()[:10]} (the commit planned now)" in status.out


def _update(client: httpx.Client, model_id: str, **change: Any) -> None:
    """An edit saved in the model editor: the whole record goes back with the change."""
    now = client.get("/api/v1/models/model", params={"id": model_id}).json()
    form = {k: now[k] for k in ("id", "base_model_id", "name", "meta", "params", "is_active")}
    form["params"] = {**form["params"], **change.get("params", {})}
    form["meta"] = {**form["meta"], **change.get("meta", {})}
    response = client.post("/api/v1/models/model/update", json=form)
    assert response.status_code == 200, response.text


def test_ui_edits_show_as_drift_with_before_and_after_and_apply_puts_them_back(shipped):
    reg, client = shipped
    assert run("apply", "--yes").code == 0
    _update(client, "sql-tutor", params={"system": "Edited in the UI.", "temperature": 0.9})
    _update(client, "faq", meta={"hidden": True})
    avatar = "data:image/png;base64," + __import__("base64").b64encode(png((9, 9))).decode()
    _update(client, "creative-writer", meta={"profile_image_url": avatar})
    students = _ids(client, "/api/v1/groups/", "")["students"]
    now = client.get("/api/v1/models/model", params={"id": "faq"}).json()
    grants = [
        {k: g[k] for k in ("principal_type", "principal_id", "permission")}
        for g in now["access_grants"]
    ]
    grants.append({"principal_type": "group", "principal_id": students, "permission": "read"})
    shared = client.post(
        "/api/v1/models/model/access/update", json={"id": "faq", "access_grants": grants}
    )
    assert shared.status_code == 200, shared.text
    plan = run("plan", "--detailed-exitcode")
    assert plan.code == 2, plan.err
    out = plan.out
    assert "~ update  sql-tutor" in out and "changed in Open WebUI (drift)" in out
    assert "        -Edited in the UI." in out
    assert "      parameters.temperature: 0.9 -> 0.4" in out
    assert "      hidden: true -> (unset)" in out
    assert '      avatar: "image/png image, 1 KiB" -> "image/png image, 1 KiB"' in out
    assert f"read:group:{students}" in out
    assert plan.out.count("~ update") == 3
    applied = run("apply", "--yes")
    assert applied.code == 0, applied.err
    assert run("plan", "--detailed-exitcode").code == 0
    assert _export(client)["sql-tutor"]["params"]["temperature"] == 0.4


def test_a_model_made_in_the_ui_is_listed_and_never_pruned(shipped):
    reg, client = shipped
    assert run("apply", "--yes").code == 0
    made = {
        "id": "made-in-the-ui",
        "base_model_id": "llama3.2:latest",
        "name": "Made in the UI",
        "meta": {},
        "params": {},
    }
    assert client.post("/api/v1/models/create", json=made).status_code == 200
    try:
        assert run("delete", "vision-describer").code == 0
        plan = run("plan", "--prune")
        assert "  - delete  vision-describer  no longer in the registry" in plan.out
        assert "  ? not made by modelops, left alone: made-in-the-ui" in plan.out
        result = run("apply", "--prune", "--yes")
        assert result.code == 0, result.err
        live = _export(client)
        assert "made-in-the-ui" in live and "vision-describer" not in live
    finally:
        delete_models(client, ["made-in-the-ui"])


def test_an_unresolvable_tool_fails_the_plan_and_nothing_changes(shipped):
    reg, client = shipped
    assert run("set", "code-assistant", "tools=[code_runner, no_such_tool]").code == 0
    before = _export(client)
    result = run("apply", "--yes")
    assert result.code == 1
    assert result.err.endswith(
        "error: the plan for "
        f"{client.base_url.scheme}://{client.base_url.host}:{client.base_url.port} cannot be "
        "made; on this Open WebUI:\n  tool 'no_such_tool' (named by code-assistant) does not "
        "exist on this Open WebUI: create it there first, or name one that exists\n"
    )
    assert _export(client) == before


def test_a_wrong_url_a_wrong_key_and_an_unknown_version_each_say_so(shipped, monkeypatch):
    reg, client = shipped
    (reg.root / "modelops.yaml").write_text(_config(REFUSING_URL))
    reg.commit("a wrong url")
    refused = run("plan")
    assert refused.code == 1
    assert refused.err == (
        f"error: cannot reach Open WebUI at {REFUSING_URL} (connection refused); start it, or "
        "fix the target's url in modelops.yaml\n"
    )
    (reg.root / "modelops.yaml").write_text(_config(str(client.base_url).rstrip("/")))
    reg.commit("the right url")
    monkeypatch.setenv("OPENWEBUI_API_KEY", "sk-not-a-key-at-all")
    wrong = run("plan")
    assert wrong.code == 1
    assert "refused the API key, or its user is not an admin (check the variable" in wrong.err
    assert "sk-not-a-key" not in wrong.err


def _proxied(reg: RegistryFixture, upstream: str, hook: Any) -> Proxy:
    proxy = Proxy(upstream, hook)
    (reg.root / "modelops.yaml").write_text(_config(proxy.url))
    reg.commit("through a proxy")
    return proxy


def _direct(reg: RegistryFixture, client: httpx.Client) -> None:
    (reg.root / "modelops.yaml").write_text(_config(str(client.base_url).rstrip("/")))
    reg.commit("straight to the server")


def test_an_old_version_is_refused_with_the_versions_known(shipped):
    reg, client = shipped

    def old(seen: Seen, n: int) -> Answer | None:
        if seen.path == "/api/version":
            return Answer(200, json.dumps({"version": "0.5.20"}).encode())
        return None

    with _proxied(reg, str(client.base_url), old) as proxy:
        result = run("plan")
    assert result.code == 1
    assert result.err == (
        f"error: Open WebUI at {proxy.url} is version 0.5.20; modelops knows the model records "
        "of 0.8 to 0.12 (upgrade modelops, or Open WebUI)\n"
    )


def test_a_server_that_stops_mid_apply_and_a_409_each_fail_clearly_and_converge(shipped):
    reg, client = shipped

    def dies(seen: Seen, n: int) -> Answer | None:
        creates = sum(1 for s in proxy.seen if s.path.startswith("/api/v1/models/create"))
        if creates == 3:
            proxy.dead.set()  # the server goes away after two models were made
        return None

    with _proxied(reg, str(client.base_url), dies) as proxy:
        stopped = run("apply", "--yes", "-p", "1")
    assert stopped.code == 1
    assert "the connection broke" in stopped.out or "cannot reach" in stopped.out
    assert len([i for i in _export(client) if i in SHIPPED_IDS]) == 2
    _direct(reg, client)
    resumed = run("apply", "--yes")
    assert resumed.code == 0, resumed.out + resumed.err
    assert "5 created" in resumed.out  # a second run converges

    assert run("set", "faq", "description=Changed in git.").code == 0

    def conflict(seen: Seen, n: int) -> Answer | None:
        if seen.path.startswith("/api/v1/models/model/update"):
            return Answer(409, json.dumps({"detail": "saved by someone else"}).encode())
        return None

    with _proxied(reg, str(client.base_url), conflict):
        clash = run("apply", "--yes")
    assert clash.code == 1
    assert "someone else saved it at the same time (409); run the command again" in clash.out
    _direct(reg, client)
    converged = run("apply", "--yes")
    assert converged.code == 0, converged.out + converged.err
    assert run("plan", "--detailed-exitcode").code == 0


def test_a_model_edited_in_the_ui_during_the_apply_is_not_overwritten(shipped):
    reg, client = shipped
    assert run("apply", "--yes").code == 0
    assert run("set", "faq", "description=From git.").code == 0

    def meanwhile(seen: Seen, n: int) -> Answer | None:
        if seen.path.startswith("/api/v1/models/model?id=faq") and not edited:
            edited.append(True)  # a UI user saves between the plan and this model's update
            _update(client, "faq", params={"system": "Saved in the UI meanwhile."})
        return None

    edited: list[bool] = []
    with _proxied(reg, str(client.base_url), meanwhile):
        result = run("apply", "--yes")
    _direct(reg, client)
    assert result.code == 1
    assert "faq was changed in Open WebUI after the plan was made, so it was left as it is" in (
        result.out
    )
    assert _export(client)["faq"]["params"]["system"] == "Saved in the UI meanwhile."
    forced = run("apply", "--yes", "--force")
    assert forced.code == 0, forced.out + forced.err
    assert _export(client)["faq"]["meta"]["description"] == "From git."


def _combined(
    reg: RegistryFixture, name: str, openwebui: OpenWebUI, ollama_url: str, monkeypatch
) -> None:
    """Aim the registry at a combined target: the Ollama behind the test Open WebUI, then it."""
    (reg.root / "modelops.yaml").write_text(
        "version: 1\n"
        f"name: {name}\n"
        "targets:\n"
        f"  local: {{type: ollama, host: '{ollama_url}'}}\n"
        f"  webui: {{type: openwebui, url: '{openwebui.url}', ollama: local}}\n"
        "default_target: webui\n"
    )
    reg.commit("a combined target")
    monkeypatch.setenv("OPENWEBUI_API_KEY", openwebui.api_key)


def test_a_combined_target_wraps_each_ollama_model_once(
    openwebui: OpenWebUI, openwebui_ollama_base_url: str, reg: RegistryFixture, monkeypatch
):
    reg.add("wrap-faq", base="mistral", system="Answer briefly.", parameters={"temperature": 0.2})
    reg.add("wrap-poet", base="wrap-faq", system="Write poems.")
    _combined(reg, "modelops-combined", openwebui, openwebui_ollama_base_url, monkeypatch)
    names = ["wrap-faq", "wrap-poet", "wrap-faq:latest", "wrap-poet:latest"]
    with openwebui.client() as client:
        delete_models(client, names)
        try:
            plan = run("plan")
            assert plan.code == 0, plan.err
            assert plan.out.index("(Ollama ") < plan.out.index("(Open WebUI ")
            result = run("apply", "--yes")
            assert result.code == 0, result.out + result.err
            tags = httpx.get(f"{openwebui_ollama_base_url}/api/tags").json()["models"]
            assert {"wrap-faq:latest", "wrap-poet:latest"} <= {m["name"] for m in tags}
            live = _export(client)
            assert live["wrap-faq"]["base_model_id"] == "wrap-faq:latest"
            assert live["wrap-poet"]["base_model_id"] == "wrap-poet:latest"
            bases = {r["id"]: r for r in client.get("/api/v1/models/base").json()}
            assert bases["wrap-faq:latest"]["meta"]["hidden"] is True  # not shown twice
            picker = client.get("/api/models", params={"refresh": "true"}).json()["data"]
            shown = {
                m["id"]
                for m in picker
                if not ((m.get("info") or {}).get("meta") or {}).get("hidden")
            }
            assert {"wrap-faq", "wrap-poet"} <= shown
            assert not {"wrap-faq:latest", "wrap-poet:latest"} & shown
            assert run("plan", "--detailed-exitcode").code == 0
        finally:
            delete_models(client, names)


def test_a_saved_plan_is_applied_exactly_and_refused_once_the_ui_or_the_registry_moved(
    shipped, tmp_path: Path, openwebui: OpenWebUI
):
    reg, client = shipped
    prompt = "Send Authorization: Bearer abcdef123456 with each call."  # masked in the file
    assert run("set", "faq", f"system={prompt}").code == 0
    first = tmp_path / "first.json"
    planned = run("plan", "--out", str(first), "--detailed-exitcode")
    assert planned.code == 2, planned.err
    assert openwebui.api_key not in first.read_text()  # read from the environment when applied
    assert "abcdef123456" not in first.read_text()
    applied = run("apply", str(first), "--yes")
    assert applied.code == 0, applied.out + applied.err
    assert applied.out.endswith("Apply: 0 pulled, 7 created, 0 updated, 0 deleted, 0 failed.\n")
    assert _export(client)["faq"]["params"]["system"] == prompt  # as the registry says
    assert run("plan", "--detailed-exitcode").code == 0

    assert run("set", "faq", "description=From git.").code == 0
    second = tmp_path / "second.json"
    assert run("plan", "--out", str(second)).code == 0
    _update(client, "faq", params={"system": "Saved in the UI after the plan."})
    refused = run("apply", str(second), "--yes")
    assert refused.code == 1
    assert refused.err == (
        f"error: {second} is stale, so nothing was applied: {openwebui.url}: faq was saved in "
        "Open WebUI since the plan (make a new plan with 'plan --out')\n"
    )
    assert _export(client)["faq"]["params"]["system"] == "Saved in the UI after the plan."

    third = tmp_path / "third.json"
    assert run("plan", "--out", str(third)).code == 0
    assert run("set", "sql-tutor", "tags=[sql]").code == 0  # a field only Open WebUI shows
    refused = run("apply", str(third), "--yes")
    assert refused.code == 1
    assert "is stale, so nothing was applied: the registry" in refused.err
    assert "sql-tutor changed" in refused.err
    assert _export(client)["faq"]["params"]["system"] == "Saved in the UI after the plan."
    fourth = tmp_path / "fourth.json"
    assert run("plan", "--out", str(fourth)).code == 0
    done = run("apply", str(fourth), "--yes")
    assert done.code == 0, done.out + done.err
    assert _export(client)["faq"]["meta"]["description"] == "From git."
    assert run("plan", "--detailed-exitcode").code == 0


def test_a_saved_plan_of_a_combined_target_applies_ollama_then_open_webui(
    openwebui: OpenWebUI,
    openwebui_ollama_base_url: str,
    reg: RegistryFixture,
    monkeypatch,
    tmp_path: Path,
):
    reg.add("saved-faq", base="mistral", system="Answer briefly.")
    _combined(reg, "modelops-combined-saved", openwebui, openwebui_ollama_base_url, monkeypatch)
    names = ["saved-faq", "saved-faq:latest"]
    plan_file = tmp_path / "plan.json"
    with openwebui.client() as client:
        delete_models(client, names)
        try:
            assert run("plan", "--out", str(plan_file)).code == 0
            saved = json.loads(plan_file.read_text())
            assert saved["target"]["hosts"] == [openwebui_ollama_base_url]
            assert saved["target"]["webui"]["url"] == openwebui.url
            result = run("apply", str(plan_file), "--yes")
            assert result.code == 0, result.out + result.err
            tags = httpx.get(f"{openwebui_ollama_base_url}/api/tags").json()["models"]
            assert "saved-faq:latest" in {m["name"] for m in tags}
            assert _export(client)["saved-faq"]["base_model_id"] == "saved-faq:latest"
            assert run("plan", "--detailed-exitcode").code == 0
            again = run("apply", str(plan_file), "--yes")  # what it saw has changed since
            assert again.code == 1
            assert "is stale, so nothing was applied" in again.err
        finally:
            delete_models(client, names)
