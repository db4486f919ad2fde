"""Smoke tests of the real Open WebUI fixture, used the way modelops will use it.

Every expectation here is from shared/reference/openwebui-models.md Part B (§5, §6, §8, §9).
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import httpx
import pytest

from tests.openwebui_server import OPENWEBUI_VERSION, OpenWebUI

pytestmark = pytest.mark.openwebui

BASE_MODEL = "llama3.2:latest"
PUBLIC_READ = {"principal_type": "user", "principal_id": "*", "permission": "read"}
TYPED_META_KEYS = (
    "profile_image_url",
    "background_image_url",
    "description",
    "i18n",
    "capabilities",
    "knowledge",
    "voice",
    "voice_avatar",
)


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _ok(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, f"{resp.request.method} {resp.request.url}: {resp.text}"
    return resp.json()


def _grants(entry: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {k: g[k] for k in ("principal_type", "principal_id", "permission")}
        for g in entry["access_grants"]
    ]


def test_server_is_real_and_authenticated(openwebui: OpenWebUI) -> None:
    server = openwebui
    assert server.url.startswith("http://127.0.0.1:")
    os.kill(server.pid, 0)  # alive, and ours
    assert (server.data_dir / "webui.db").is_file()
    assert server.api_key.startswith("sk-")
    assert server.token.count(".") == 2  # a JWT

    with httpx.Client(base_url=server.url, timeout=30, trust_env=False) as anon:
        assert _ok(anon.get("/api/version"))["version"] == OPENWEBUI_VERSION
        assert anon.get("/ready").status_code == 200
        resp = anon.get("/api/v1/models/export")
        assert resp.status_code == 401
        assert resp.json() == {"detail": "Not authenticated"}
        bad = anon.get("/api/v1/models/export", headers={"Authorization": "Bearer sk-nope"})
        assert bad.status_code == 401
        # Signup closes after the first user, who became the admin.
        second = anon.post(
            "/api/v1/auths/signup",
            json={"name": "Second", "email": "second@example.com", "password": "Another-Pw-123!"},
        )
        assert second.status_code == 403

    # Both credentials work as Bearer tokens.
    with server.client() as http, server.client(server.token) as jwt_http:
        assert isinstance(_ok(http.get("/api/v1/models/export")), list)
        assert isinstance(_ok(jwt_http.get("/api/v1/models/export")), list)


def test_create_import_export_round_trip(openwebui: OpenWebUI) -> None:
    created_id = _new_id("smoke-created")
    public_id = _new_id("smoke/public:v1")  # slashes and a colon are valid ids
    private_id = _new_id("smoke-private")

    created_body = {
        "id": created_id,
        "base_model_id": BASE_MODEL,
        "name": "Smoke Created",
        "params": {"system": "You are terse.", "temperature": 0.3, "num_ctx": 4096},
        "meta": {
            "description": "created by the fixture smoke test",
            "capabilities": {"vision": True, "citations": False},
            "tags": ["a", {"name": "b"}],
            "suggestion_prompts": [{"content": "Say hi."}],
        },
        "access_grants": [PUBLIC_READ],
    }
    public_entry = {
        "id": public_id,
        "base_model_id": BASE_MODEL,
        "name": "Smoke Public",
        "params": {"temperature": 0.7, "stop": ["<|end|>", "###"], "seed": 42},
        "meta": {"description": "public import", "tags": [{"name": "x"}, "round-trip"]},
        "access_grants": [PUBLIC_READ],
        "is_active": True,
    }
    private_entry = {
        "id": private_id,
        "base_model_id": BASE_MODEL,
        "name": "Smoke Private",
        "params": {"temperature": "hot", "num_ctx": "4k"},  # stored as sent
        "meta": {"toolIds": ["t1"], "custom_key": {"nested": [1, 2]}},
        "is_active": False,
        # Foreign ownership and timestamps are ignored on import.
        "user_id": "someone-else",
        "created_at": 1,
        "updated_at": 2,
    }

    with openwebui.client() as http:
        # create
        made = _ok(http.post("/api/v1/models/create", json=created_body))
        assert made["id"] == created_id
        assert made["user_id"] == openwebui.admin_id
        assert made["version_id"]
        assert made["meta"]["tags"] == [{"name": "a"}, {"name": "b"}]
        assert len(made["access_grants"]) == 1
        grant = made["access_grants"][0]
        assert grant["resource_type"] == "model"
        assert grant["resource_id"] == created_id
        assert _grants(made) == [PUBLIC_READ]

        # a duplicate id is refused with 401, not 409
        assert http.post("/api/v1/models/create", json=created_body).status_code == 401

        # import two models, wrapped as the web UI does
        assert _ok(
            http.post("/api/v1/models/import", json={"models": [public_entry, private_entry]})
        )
        # a bare array is refused
        assert http.post("/api/v1/models/import", json=[public_entry]).status_code == 422

        # read back
        ids = [created_id, public_id, private_id]
        exported = _ok(http.get("/api/v1/models/export", params={"ids": ids}))
        assert isinstance(exported, list)
        by_id = {e["id"]: e for e in exported}
        assert sorted(by_id) == sorted(ids)

        for entry in exported:
            assert entry["user_id"] == openwebui.admin_id
            assert entry["base_model_id"] == BASE_MODEL
            assert entry["background_image_data"] is None
            assert entry["version_id"]
            assert isinstance(entry["created_at"], int)
            assert isinstance(entry["updated_at"], int)
            for key in TYPED_META_KEYS:
                assert key in entry["meta"], (entry["id"], key)

        c = by_id[created_id]
        assert c["name"] == "Smoke Created"
        assert c["params"] == created_body["params"]
        assert c["meta"]["description"] == "created by the fixture smoke test"
        assert c["meta"]["capabilities"] == {"vision": True, "citations": False}
        assert c["meta"]["tags"] == [{"name": "a"}, {"name": "b"}]
        assert c["meta"]["suggestion_prompts"] == [{"content": "Say hi."}]
        assert c["meta"]["profile_image_url"] is None
        assert _grants(c) == [PUBLIC_READ]
        assert c["is_active"] is True

        p = by_id[public_id]
        assert p["name"] == "Smoke Public"
        assert p["params"] == {"temperature": 0.7, "stop": ["<|end|>", "###"], "seed": 42}
        assert p["meta"]["description"] == "public import"
        assert p["meta"]["tags"] == [{"name": "x"}, {"name": "round-trip"}]
        assert _grants(p) == [PUBLIC_READ]
        assert p["access_grants"][0]["resource_id"] == public_id
        assert p["is_active"] is True

        q = by_id[private_id]
        assert q["name"] == "Smoke Private"
        assert q["params"] == {"temperature": "hot", "num_ctx": "4k"}
        assert q["meta"]["toolIds"] == ["t1"]
        assert q["meta"]["custom_key"] == {"nested": [1, 2]}
        assert q["access_grants"] == []  # no grants sent: private
        assert q["is_active"] is False
        assert q["created_at"] > 2

        # all or nothing: one unknown id makes the export refuse
        unknown = http.get("/api/v1/models/export", params={"ids": [created_id, "no-such-model"]})
        assert unknown.status_code == 403

        # the unfiltered export holds them too
        everything = {e["id"] for e in _ok(http.get("/api/v1/models/export"))}
        assert set(ids) <= everything

        # clean up, so other tests on this session's server see only their own models
        for model_id in ids:
            assert _ok(http.post("/api/v1/models/model/delete", json={"id": model_id})) is True
        assert http.get("/api/v1/models/model", params={"id": created_id}).status_code == 404
