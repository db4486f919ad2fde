"""One Open WebUI server, driven through its REST API: observe its workspace models (the full
records, avatars included), what it calls its tools, functions, knowledge, files, notes,
groups and users, and create, update, re-share and delete models.

Its rules, as a real 0.12 server shows them: `update` replaces `params` and most of `meta`,
so the whole record is always sent; access grants change only through the access endpoint;
"not found" and "id taken" come back as 401; `/models/sync`, which deletes every model it is
not sent, is never called. A model changed in the UI since the plan (its `updated_at`) is not
overwritten unless forced. httpx's errors become `TargetError` here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from modelops.errors import TargetError
from modelops.spec.params import version_tuple
from modelops.targets.base import Change, ProgressCallback

KNOWN = ((0, 8, 0), (0, 13, 0))  # access grants arrived in 0.8; 0.12 is the newest known
KNOWN_TEXT = "0.8 to 0.12"
PAGE = 30  # Open WebUI's page size for paged lists
# Open WebUI answers 401 for these too; any other 401 is about the key
_NOT_AUTH = ("We could not find", "Uh-oh! This model id is already registered")


@dataclass
class Directory:
    """What this instance calls things the registry names: each kind maps a name (or an id)
    to the ids that carry it. Only the kinds asked for are read."""

    found: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    labels: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # kind -> id -> names

    def ids(self, kind: str, name: str) -> set[str]:
        return self.found.get(kind, {}).get(name, set())

    def names(self, kind: str, ident: str) -> list[str]:
        """What an object is called, in the order its kind is named by (a user: name, email,
        username), without its id; adopting turns ids back into such names."""
        return self.labels.get(kind, {}).get(ident, [])


# kind -> (path, the key of the list in the answer or "", fields that name it, paged)
_KINDS: dict[str, tuple[str, str, tuple[str, ...], bool]] = {
    "tool": ("/api/v1/tools/", "", ("name",), False),
    "filter": ("/api/v1/functions/", "", ("name",), False),
    "action": ("/api/v1/functions/", "", ("name",), False),
    "collection": ("/api/v1/knowledge/", "items", ("name",), True),
    "file": ("/api/v1/files/", "items", ("filename",), True),
    "note": ("/api/v1/notes/", "", ("title",), False),
    "group": ("/api/v1/groups/", "", ("name",), False),
    "user": ("/api/v1/users/all", "users", ("name", "email", "username"), False),
}


class OpenWebUIServer:
    def __init__(self, url: str, api_key: str, *, timeout: float = 30.0, force: bool = False):
        self.url = url.rstrip("/")
        self.force = force
        self._timeout = timeout
        headers = {"Authorization": f"Bearer {api_key}"}
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, trust_env=False
        )
        self.calls = 0  # HTTP requests made, for the plan's report and the benchmark

    def close(self) -> None:
        self._http.close()

    # --- observing ---

    def version(self) -> str:
        """The server's version; one this modelops does not know is refused."""
        version = str(self._get("/api/version", "read the version").get("version", ""))
        low, high = KNOWN
        if not low <= version_tuple(version) < high:
            raise TargetError(
                f"Open WebUI at {self.url} is version {version or 'unknown'}; modelops knows "
                f"the model records of {KNOWN_TEXT} (upgrade modelops, or Open WebUI)"
            )
        return version

    def models(self) -> list[dict[str, Any]]:
        """Every workspace model, whole (avatars included), in one call."""
        found = self._get("/api/v1/models/export", "list the models")
        return [m for m in found if isinstance(m, dict)] if isinstance(found, list) else []

    def base_overrides(self) -> list[dict[str, Any]]:
        """The rows that change how a base (an Ollama model) shows, e.g. hide it."""
        found = self._get("/api/v1/models/base", "list the base models")
        return [m for m in found if isinstance(m, dict)] if isinstance(found, list) else []

    def model(self, model_id: str) -> dict[str, Any] | None:
        with self._errors(f"read {model_id}"):
            response = self._http.get("/api/v1/models/model", params={"id": model_id})
        self.calls += 1
        if response.status_code == 404:
            return None
        found = self._json(response, f"read {model_id}")
        return found if isinstance(found, dict) else None

    def directory(self, kinds: set[str]) -> Directory:
        """Names to ids for the kinds of object asked for (tool, filter, action, collection,
        file, note, group, user)."""
        out = Directory()
        for kind in sorted(kinds):
            path, key, naming, paged = _KINDS[kind]
            names: dict[str, set[str]] = {}
            for item in self._items(path, key, paged):
                if kind in ("filter", "action") and item.get("type") != kind:
                    continue
                ident = str(item.get("id", ""))
                labels = [str(item[f]) for f in naming if item.get(f)]
                out.labels.setdefault(kind, {})[ident] = labels
                for name in {ident, *labels}:
                    names.setdefault(name, set()).add(ident)
            out.found[kind] = names
        return out

    def _items(self, path: str, key: str, paged: bool) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            answer = self._get(path, f"list {path}", {"page": page} if paged else None)
            items = answer.get(key, []) if key and isinstance(answer, dict) else answer
            batch = [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
            yield from batch
            if not paged or len(batch) < PAGE:
                return
            page += 1

    # --- changing ---

    def execute(self, change: Change, progress: ProgressCallback) -> None:
        """Carry out one planned change (the `Target` protocol)."""
        request = dict(change.request or {})
        model_id = change.name
        if change.action == "create":
            self._post("/api/v1/models/create", request["record"], f"create {model_id}")
        elif change.action == "update":
            self._unchanged_since_plan(model_id, request.get("seen"))
            self._post("/api/v1/models/model/update", request["record"], f"update {model_id}")
            if request.get("grants") is not None:
                body = {"id": model_id, "access_grants": request["grants"]}
                self._post("/api/v1/models/model/access/update", body, f"share {model_id}")
        elif change.action == "delete":
            self._unchanged_since_plan(model_id, request.get("seen"))
            self._post("/api/v1/models/model/delete", {"id": model_id}, f"delete {model_id}")

    def _unchanged_since_plan(self, model_id: str, planned: object) -> None:
        if self.force or planned is None:
            return
        now = self.model(model_id)
        if now is not None and [now.get("version_id"), now.get("updated_at")] != planned:
            raise TargetError(
                f"{self.url}: {model_id} was changed in Open WebUI after the plan was made, so it "
                "was left as it is (plan again to see the change, adopt it with 'modelops "
                "adopt', or apply --force to overwrite it)"
            )

    # --- HTTP ---

    def _get(self, path: str, what: str, params: Mapping[str, Any] | None = None) -> Any:
        with self._errors(what):
            response = self._http.get(path, params=params)
        self.calls += 1
        return self._json(response, what)

    def _post(self, path: str, body: Mapping[str, Any], what: str) -> Any:
        with self._errors(what):
            response = self._http.post(path, json=body)
        self.calls += 1
        return self._json(response, what)

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except httpx.ConnectError as exc:
            raise TargetError(
                f"cannot reach Open WebUI at {self.url} ({_cause(exc)}); start it, or fix the "
                "target's url in modelops.yaml",
                transient=True,
            ) from None
        except httpx.TimeoutException:
            raise TargetError(
                f"{self.url}: could not {what}: no answer within {self._timeout:g} s "
                "(the server is busy or stuck; retry, or raise the target's timeout)",
                transient=True,
            ) from None
        except httpx.HTTPError as exc:
            raise TargetError(
                f"{self.url}: could not {what}: the connection broke ({exc or type(exc).__name__})",
                transient=True,
            ) from None

    def _json(self, response: httpx.Response, what: str) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = {"detail": response.text.strip()[:200]}
        if response.status_code < 400:
            return body
        detail = body.get("detail") if isinstance(body, dict) else None
        text = detail if isinstance(detail, str) else f"HTTP {response.status_code}"
        if response.status_code == 401 and not text.startswith(_NOT_AUTH):
            raise TargetError(_refused(self.url))
        if response.status_code == 409:
            raise TargetError(
                f"{self.url}: could not {what}: someone else saved it at the same time (409); "
                "run the command again",
                transient=True,
            )
        raise TargetError(f"{self.url}: could not {what}: {text}")


def _refused(url: str) -> str:
    return (
        f"Open WebUI at {url} refused the API key, or its user is not an admin (check the "
        "variable the target's api_key_env names; an admin's key is made under Settings > "
        "Account > API keys)"
    )


def _cause(exc: httpx.ConnectError) -> str:
    text = str(exc).lower()
    if "name or service not known" in text or "nodename nor servname" in text:
        return "its name does not resolve"
    if "refused" in text:
        return "connection refused"
    return str(exc) or "no connection"
