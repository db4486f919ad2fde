"""Making, in a real Open WebUI, the tools, functions, knowledge, files, notes, groups and users
that a registry's models name, through the same API calls its workspace pages make. Each is
made once per server: what exists already (by name) is left alone."""

from __future__ import annotations

from typing import Any

import httpx

TOOL = 'class Tools:\n    def run(self, query: str) -> str:\n        """Run it."""\n        return query\n'
FILTER = "class Filter:\n    def inlet(self, body: dict) -> dict:\n        return body\n"
ACTION = "class Action:\n    async def action(self, body: dict):\n        return body\n"

#: What the shipped registry/ names, by kind.
SHIPPED: dict[str, list[str]] = {
    "tool": ["code_runner", "repo_search", "pagerduty_lookup"],
    "filter": ["secret_redactor"],
    "action": ["copy_as_markdown", "open_in_playground"],
    "collection": ["Billing FAQ", "Incident runbooks"],
    "file": ["Product handbook.pdf"],
    "note": ["On-call notes"],
    "group": ["engineering", "platform-team", "sre", "oncall", "sre-leads", "students"],
    "user": ["incident-bot"],
}


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, f"{response.request.url}: {response.text[:300]}"
    return response.json()


def _names(client: httpx.Client, kind: str) -> set[str]:
    if kind in ("tool",):
        return {t["id"] for t in _ok(client.get("/api/v1/tools/"))}
    if kind in ("filter", "action"):
        return {f["id"] for f in _ok(client.get("/api/v1/functions/"))}
    if kind == "collection":
        return {k["name"] for k in _ok(client.get("/api/v1/knowledge/"))["items"]}
    if kind == "file":
        return {f["filename"] for f in _ok(client.get("/api/v1/files/"))["items"]}
    if kind == "note":
        return {n["title"] for n in _ok(client.get("/api/v1/notes/"))}
    if kind == "group":
        return {g["name"] for g in _ok(client.get("/api/v1/groups/"))}
    return {u["name"] for u in _ok(client.get("/api/v1/users/all"))["users"]}


def ensure(client: httpx.Client, wanted: dict[str, list[str]]) -> None:
    """Make every object of `wanted` (kind -> names) that the server lacks."""
    for kind, names in wanted.items():
        have = _names(client, kind)
        for name in (n for n in names if n not in have):
            _make(client, kind, name)


def _make(client: httpx.Client, kind: str, name: str) -> None:
    if kind == "tool":
        body = {"id": name, "name": name, "content": TOOL, "meta": {"description": name}}
        _ok(client.post("/api/v1/tools/create", json=body))
    elif kind in ("filter", "action"):
        code = FILTER if kind == "filter" else ACTION
        body = {"id": name, "name": name, "content": code, "meta": {"description": name}}
        _ok(client.post("/api/v1/functions/create", json=body))
    elif kind == "collection":
        _ok(client.post("/api/v1/knowledge/create", json={"name": name, "description": name}))
    elif kind == "file":
        upload = {"file": (name, b"%PDF-1.4 a test file", "application/pdf")}
        _ok(client.post("/api/v1/files/", files=upload, params={"process": "false"}))
    elif kind == "note":
        body = {"title": name, "data": {"content": {"json": None, "html": "", "md": ""}}}
        _ok(client.post("/api/v1/notes/create", json={**body, "meta": None, "access_grants": []}))
    elif kind == "group":
        _ok(client.post("/api/v1/groups/create", json={"name": name, "description": name}))
    else:
        email = f"{name}@example.com"
        body = {"name": name, "email": email, "password": "Test-Passw0rd!", "role": "user"}
        _ok(client.post("/api/v1/auths/add", json=body))


def delete_models(client: httpx.Client, ids: list[str]) -> None:
    """Remove these workspace models (and base rows) if they are there."""
    for model_id in ids:
        client.post("/api/v1/models/model/delete", json={"id": model_id})
