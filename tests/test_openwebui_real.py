"""Export and import proven against a real Open WebUI 0.12.4, both ways, field by field.

The server is provisioned once into a cached virtual environment (tests/openwebui_server.py)
and started for the test session on a free loopback port with a temporary data folder.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelops.registry.store import Registry
from tests.helpers import REPO_ROOT, RegistryFixture, png, run
from tests.openwebui_server import OpenWebUI

pytestmark = pytest.mark.openwebui
SERVER_OWNED = {"version_id", "user_id", "created_at", "updated_at", "background_image_data"}


PNG = base64.b64encode(png((8, 8))).decode()


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, f"{response.request.url}: {response.text}"
    return response.json()


def _kept(record: dict[str, Any]) -> dict[str, Any]:
    """A record without what the server itself owns (ids, owner, timestamps)."""
    out = {k: v for k, v in record.items() if k not in SERVER_OWNED}
    out["access_grants"] = sorted(
        (g["principal_type"], g["principal_id"], g["permission"]) for g in record["access_grants"]
    )
    return out


def _export(client: httpx.Client, ids: list[str]) -> list[dict[str, Any]]:
    records = _ok(client.get("/api/v1/models/export", params=[("ids", i) for i in ids]))
    return sorted(records, key=lambda r: r["id"])


def _delete(client: httpx.Client, ids: list[str]) -> None:
    for model_id in ids:
        client.post("/api/v1/models/model/delete", json={"id": model_id})


def test_the_registry_export_imports_into_open_webui_field_by_field(
    openwebui: OpenWebUI, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(REPO_ROOT)
    exported = run("export", "--registry", "registry")
    assert exported.code == 0, exported.err
    ours = sorted(json.loads(exported.out), key=lambda r: r["id"])
    ids = [r["id"] for r in ours]
    with openwebui.client() as client:
        try:
            # what the Workspace > Models page does with the file: el.info ?? el, one request
            body = {"models": [el.get("info", el) for el in json.loads(exported.out)]}
            assert _ok(client.post("/api/v1/models/import", json=body)) is True
            theirs = _export(client, ids)
        finally:
            _delete(client, ids)
    assert [r["id"] for r in theirs] == ids
    for mine, stored in zip(ours, theirs, strict=True):
        assert _kept(stored) == _kept(mine), mine["id"]
        assert list(stored) == list(mine)  # the same shape, key for key
    # the hidden model stays hidden, the avatars arrive whole
    hidden = next(r for r in theirs if r["id"] == "ops-internal")
    assert hidden["meta"]["hidden"] is True
    faq = next(r for r in theirs if r["id"] == "faq")
    assert (
        faq["meta"]["profile_image_url"]
        == next(r for r in ours if r["id"] == "faq")["meta"]["profile_image_url"]
    )


def _created(client: httpx.Client, form: dict[str, Any]) -> None:
    _ok(client.post("/api/v1/models/create", json=form))


def test_models_made_in_open_webui_import_into_the_registry(
    openwebui: OpenWebUI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    forms = [
        {
            "id": "owui-support",
            "base_model_id": "llama3.2:latest",
            "name": "Support Desk",
            "params": {
                "system": "You answer support tickets.",
                "temperature": 0.3,
                "max_tokens": 256,
                "stop": ["###"],
                "keep_alive": "10m",
                "function_calling": "native",
            },
            "meta": {
                "profile_image_url": f"data:image/png;base64,{PNG}",
                "description": "Made in the web UI.",
                "tags": ["support", {"name": "tickets"}],
                "suggestion_prompts": [
                    {"content": "Close this ticket", "title": ["Tickets", "Close"]}
                ],
                "toolIds": ["ticket_lookup"],
                "filterIds": ["pii"],
                "actionIds": ["copy"],
                "capabilities": {"vision": False, "citations": True},
                "knowledge": [{"id": "kb-1", "name": "Handbook", "type": "collection"}],
                "defaultFeatureIds": ["web_search"],
                "hidden": True,
            },
            "access_grants": [
                {"principal_type": "user", "principal_id": "*", "permission": "read"},
                {"principal_type": "group", "principal_id": "g-support", "permission": "write"},
            ],
        },
        {
            "id": "owui-plain",
            "base_model_id": "mistral:latest",
            "name": "Plain",
            "params": {},
            "meta": {},
        },
    ]
    ids = [f["id"] for f in forms]
    with openwebui.client() as client:
        try:
            for form in forms:
                _created(client, form)
            _ok(client.post("/api/v1/models/model/toggle", params={"id": "owui-plain"}))
            theirs = _export(client, ids)
        finally:
            _delete(client, ids)
    export_file = tmp_path / "models-export.json"
    export_file.write_text(json.dumps(theirs, separators=(",", ":")))  # as the page saves it
    reg = RegistryFixture.create(tmp_path / "registry")
    monkeypatch.chdir(reg.root)
    result = run("import", str(export_file))
    assert result.code == 0, result.out + result.err
    assert result.out.splitlines()[:2] == [
        "imported   #1   owui-plain",
        "imported   #2   owui-support",
    ]

    snapshot = Registry(reg.root, reg.root).load().require_valid()
    support = snapshot.get("owui-support").spec
    assert support.name == "Support Desk"
    assert support.base == "llama3.2:latest"
    assert support.system == "You answer support tickets."
    assert support.parameters == {"temperature": 0.3, "num_predict": 256, "stop": ["###"]}
    assert support.description == "Made in the web UI."
    assert support.tags == ["support", "tickets"]
    assert [(s.prompt, s.title, s.subtitle) for s in support.suggestions or []] == [
        ("Close this ticket", "Tickets", "Close")
    ]
    assert (support.tools, support.filters, support.actions) == (
        ["ticket_lookup"],
        ["pii"],
        ["copy"],
    )
    assert support.capabilities is not None and support.capabilities.citations is True
    assert [(k.name, k.type, k.id) for k in support.knowledge or []] == [
        ("Handbook", "collection", "kb-1")
    ]
    assert support.hidden is True
    assert support.access is not None and support.access.public is True
    assert support.access.write is not None and support.access.write.groups == ["g-support"]
    assert support.openwebui is not None
    assert support.openwebui.params == {"keep_alive": "10m", "function_calling": "native"}
    assert support.openwebui.meta == {"defaultFeatureIds": ["web_search"]}
    assert snapshot.read(support.avatar or "") == base64.b64decode(PNG)
    plain = snapshot.get("owui-plain").spec
    assert plain.active is False
    assert plain.to_data() == {
        "version": 1,
        "id": "owui-plain",
        "name": "Plain",
        "base": "mistral:latest",
        "active": False,
    }
    # and back: modelops' export of what it imported keeps every field Open WebUI kept
    again = sorted(json.loads(run("export").out), key=lambda r: r["id"])
    for stored, mine in zip(theirs, again, strict=True):
        assert _kept(mine) == _kept(stored), stored["id"]


def test_a_replay_through_open_webui_reaches_ollama_with_the_model_applied(
    openwebui: OpenWebUI, openwebui_ollama_base_url: str, tmp_path: Path, monkeypatch
):
    """Open WebUI (talking to the session's Ollama test server) answers as the faq model:
    its system prompt and parameters reach Ollama, and the context is kept between turns."""
    import ollama

    ollama.Client(host=openwebui_ollama_base_url).pull("mistral")
    monkeypatch.chdir(REPO_ROOT)
    (record,) = json.loads(run("export", "faq", "--registry", "registry").out)
    with openwebui.client() as client:
        try:
            assert _ok(client.post("/api/v1/models/import", json={"models": [record]})) is True
            listed = _ok(client.get("/api/models", params={"refresh": "true"}))
            assert "faq" in {m["id"] for m in listed["data"]}
            conversation = tmp_path / "c.yaml"
            conversation.write_text(
                "version: 1\ndefaults: {seed: 11}\nturns:\n"
                "  - user: What is your refund policy?\n    expect: {contains: [refund]}\n"
                "  - user: And for opened items?\n"
            )
            monkeypatch.setenv("OPENWEBUI_API_KEY", openwebui.api_key)
            result = run(
                "replay",
                str(conversation),
                "-m",
                "openwebui:faq",
                "--openwebui-url",
                openwebui.url,
                "-o",
                "json",
            )
        finally:
            _delete(client, ["faq"])
    assert result.code == 0, result.out + result.err
    first, second = json.loads(result.out)["answers"]
    assert first["text"].startswith(
        "[model=mistral:latest] [system=You answer frequently asked questions"
    )
    assert '"temperature":0.2' in first["text"] and '"num_ctx":8192' in first["text"]
    assert "[messages=2]" in first["text"]  # the system prompt and the question
    assert "[messages=4]" in second["text"]  # ... then the answer and the next question
    assert second["text"].endswith("You said: And for opened items?")
    assert first["ttft_ms"] is not None and first["answer_tokens"] > 0
