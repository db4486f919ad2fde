"""Model definitions as the records Open WebUI 0.12.4 exports (Workspace > Models > Export),
and the payload it posts when a model is shared to the community site. Pure: the registry is
passed in, avatars go out as data URIs and timestamps come in as numbers.

Where the fields go:
base -> base_model_id (an Ollama name in full `name:tag` form, as Open WebUI needs for an exact
match; a registry base stays the other model's id), system and parameters -> params (with
num_predict under Open WebUI's name, max_tokens; template where old Open WebUI kept it),
everything shown in the UI -> meta, the Ollama-only messages and license -> meta.ollama (which
Open WebUI keeps and sends nowhere), access -> access_grants, active -> is_active;
`openwebui:` is merged back verbatim.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from modelops.spec import names
from modelops.spec.avatar import check_image, data_uri
from modelops.spec.model import ModelSpec
from modelops.spec.paths import model_path


class Exported(Protocol):
    """What an export needs of the registry (a loaded snapshot has it)."""

    def specs(self) -> dict[str, ModelSpec]: ...
    def read(self, path: str) -> bytes | None: ...


DECLARED_META = (
    "profile_image_url",
    "background_image_url",
    "description",
    "i18n",
    "capabilities",
    "knowledge",
    "voice",
    "voice_avatar",
)
# Ollama parameter names that Open WebUI stores under another name.
OWUI_NAMES = {"num_predict": "max_tokens"}
PUBLIC = ("user", "*", "read")
COMMUNITY_URL = "https://openwebui.com/post?type=model"
_GRANT_NAMESPACE = uuid.UUID("6f1f0d7e-4e7a-4d1c-9a55-6d6f64656c6f")


def export_records(
    registry: Exported, ids: Sequence[str], times: Mapping[str, tuple[int, int]]
) -> list[dict[str, Any]]:
    """Open WebUI 0.12.4 export records of `ids` (which exist); the timestamps are those of the
    commits that first added and last changed each file."""
    specs = registry.specs()
    out = []
    for model_id in ids:
        spec = specs[model_id]
        created, updated = times.get(model_path(model_id), (0, 0))
        avatar = avatar_uri(registry, spec)
        out.append(
            to_record(
                spec, registry_ids=specs, avatar=avatar, created_at=created, updated_at=updated
            )
        )
    return out


def avatar_uri(registry: Exported, spec: ModelSpec) -> str | None:
    """`meta.profile_image_url`: an https avatar as it is, a file as a data URI."""
    avatar = spec.avatar
    if avatar is None or avatar.startswith("https://"):
        return avatar
    data = registry.read(avatar) or b""  # validation checked that it exists and decodes
    return data_uri(data, check_image(data))


def dumps(value: Any, pretty: bool) -> str:
    """JSON as Open WebUI writes it. NaN and infinities never validate; should one slip
    through, this fails (allow_nan=False) rather than write what no JSON reader takes."""
    if pretty:
        return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    # compact, as Open WebUI saves it
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def base_model_id(base: str, registry_ids: Mapping[str, object]) -> str:
    if base in registry_ids:
        return base
    try:
        return names.parse_ollama_name(base).display
    except names.InvalidName:
        return base


def to_record(
    spec: ModelSpec,
    *,
    registry_ids: Mapping[str, object],
    avatar: str | None,
    created_at: int,
    updated_at: int,
) -> dict[str, Any]:
    """One element of Open WebUI's export array, keys in the order Open WebUI writes them.
    `avatar` is the data URI (or https URL) for `meta.profile_image_url`."""
    extra = spec.openwebui
    return {
        "version_id": None,
        "id": spec.id,
        "user_id": None,
        "base_model_id": base_model_id(spec.base, registry_ids),
        "name": spec.name or spec.id,
        "params": _params(spec, dict(extra.params or {}) if extra else {}),
        "meta": _meta(spec, avatar, dict(extra.meta or {}) if extra else {}),
        "access_grants": grants(spec, created_at),
        "is_active": spec.active is not False,
        "updated_at": updated_at,
        "created_at": created_at,
        "background_image_data": None,
    }


def _params(spec: ModelSpec, extra: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if spec.system is not None:
        params["system"] = spec.system
    for name, value in (spec.parameters or {}).items():
        params[OWUI_NAMES.get(name, name)] = value
    if spec.template is not None:
        params["template"] = spec.template
    params.update(extra)
    return params


def _meta(spec: ModelSpec, avatar: str | None, extra: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = dict.fromkeys(DECLARED_META)
    meta["profile_image_url"] = avatar
    meta["description"] = spec.description
    if spec.capabilities is not None:
        meta["capabilities"] = spec.capabilities.model_dump(exclude_none=True)
    if spec.knowledge is not None:
        meta["knowledge"] = [k.model_dump(exclude_none=True) for k in spec.knowledge]
    if spec.tags is not None:
        meta["tags"] = [{"name": tag} for tag in spec.tags]
    if spec.suggestions is not None:
        meta["suggestion_prompts"] = [
            {"content": s.prompt, "title": [s.title or "", s.subtitle or ""]}
            if s.title or s.subtitle
            else {"content": s.prompt}
            for s in spec.suggestions
        ]
    for key, value in (
        ("toolIds", spec.tools),
        ("filterIds", spec.filters),
        ("actionIds", spec.actions),
    ):
        if value is not None:
            meta[key] = list(value)
    if spec.hidden is not None:
        meta["hidden"] = spec.hidden
    meta.update(extra)
    ollama = _ollama_only(spec)
    if ollama:  # no Open WebUI field holds them; meta keeps them without sending them anywhere
        meta["ollama"] = {**(meta.get("ollama") or {}), **ollama}
    return meta


def _ollama_only(spec: ModelSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if spec.messages is not None:
        out["messages"] = [m.model_dump() for m in spec.messages]
    if spec.license is not None:
        out["license"] = spec.license
    return out


def grants(spec: ModelSpec, created_at: int) -> list[dict[str, Any]]:
    """Access as Open WebUI's grant objects; public read is user `*`."""
    access = spec.access
    if access is None:
        return []
    wanted: list[tuple[str, str, str]] = [PUBLIC] if access.public else []
    for permission, principals in (("read", access.read), ("write", access.write)):
        if principals is None:
            continue
        wanted += [("group", g, permission) for g in principals.groups]
        wanted += [("user", u, permission) for u in principals.users]
    return [
        {
            "id": str(uuid.uuid5(_GRANT_NAMESPACE, f"{spec.id}/{kind}/{who}/{permission}")),
            "resource_type": "model",
            "resource_id": spec.id,
            "principal_type": kind,
            "principal_id": who,
            "permission": permission,
            "created_at": created_at,
        }
        for kind, who, permission in wanted
    ]


def community_payload(record: Mapping[str, Any]) -> dict[str, Any]:
    """What Open WebUI posts to the community site when a model is shared: the full record as
    `GET /api/v1/models/model` returns it, so with `write_access` and `user`."""
    payload = {k: v for k, v in record.items() if k != "background_image_data"}
    payload["user"] = None
    payload["write_access"] = True
    return payload
