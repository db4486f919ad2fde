"""One Open WebUI model record (0.12 shape; `openwebui_shapes` brings older shapes to it) as a
model definition: spec data, the decoded avatar, and notes about what could not be kept; or
`EntryError` with the reason it cannot be imported. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelops.exchange import avatars
from modelops.exchange.openwebui_access import access_of, as_list
from modelops.exchange.openwebui_shapes import EntryError, NotAModel
from modelops.spec import names
from modelops.spec.avatar import ImageError, check_image
from modelops.spec.model import CAPABILITIES, MANAGED_META
from modelops.spec.params import CATALOGUE, REMOVED, type_error
from modelops.spec.words import describe

DEFAULT_AVATARS = {"", "/user.png", "/favicon.png", "/static/favicon.png"}
KNOWLEDGE_KEYS = ("name", "type", "id", "description", "context")
SERVER_OWNED = {"user_id", "created_at", "updated_at", "version_id", "user", "write_access"}
OWUI_PARAMS = {"max_tokens": "num_predict"}


@dataclass
class Definition:
    data: dict[str, Any]  # spec fields, without the avatar path
    avatar: bytes | None = None  # the decoded image, checked
    avatar_kind: str | None = None  # png, jpeg, gif or webp
    notes: list[str] = field(default_factory=list)


def slug(text: str) -> str:
    """A registry id made from any text, for the --map-id hint."""
    value = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._")
    return value[: names.ID_MAX] or "model"


def to_definition(
    record: Mapping[str, Any],
    model_id: str,
    registry_bases: set[str],
    *,
    avatar_limit: int,
    drop_bad_avatars: bool,
) -> Definition:
    """`registry_bases`: ids (after mapping) that a base_model_id may name as a registry model."""
    out = Definition({"version": 1, "id": model_id})
    name = record.get("name")
    if name is not None and not isinstance(name, str):
        raise EntryError(f"name: expected a string, got {describe(name)}")
    base = record.get("base_model_id")
    if base is None or base == record.get("id"):
        raise NotAModel(override_reason(record))
    if not isinstance(base, str) or not base.strip():
        raise EntryError(f"base_model_id: expected a model name, got {describe(base)}")
    if name and name != model_id:
        out.data["name"] = name  # Open WebUI needs a name; the export fills in the id
    out.data["base"] = _base(base.strip(), registry_bases)
    params = record.get("params")
    meta = record.get("meta")
    for label, value in (("params", params), ("meta", meta)):
        if value is not None and not isinstance(value, dict):
            raise EntryError(f"{label}: expected an object, got {describe(value)}")
    _from_params(dict(params or {}), out)
    _from_meta(dict(meta or {}), out, avatar_limit, drop_bad_avatars)
    access = access_of(record, out.notes)
    if access:
        out.data["access"] = access
    if _flag("is_active", record.get("is_active")) is False:
        out.data["active"] = False
    if record.get("background_image_data"):
        out.notes.append("background image not kept (modelops has no field for it)")
    return out


def is_override(record: Mapping[str, Any]) -> bool:
    """An admin's override of a base model (its name, prompt or parameters in Open WebUI's
    admin panel): stored without a base_model_id, or with the model's own id as its base."""
    base = record.get("base_model_id")
    return base is None or base == record.get("id")


def override_reason(record: Mapping[str, Any]) -> str:
    model = record.get("id")
    return f"an admin override of the base model {model!r} (Admin > Models), not a workspace model"


def _flag(key: str, value: Any) -> bool | None:
    """A true/false field: JSON true or false, or absent (null); never the text "false"."""
    if value is None or isinstance(value, bool):
        return value
    raise EntryError(f"{key}: expected true or false, got {describe(value)}")


def _base(base: str, registry_bases: set[str]) -> str:
    if base in registry_bases:
        return base
    try:
        names.parse_ollama_name(base)
    except names.InvalidName as exc:
        raise EntryError(f"base_model_id '{base}' is not an Ollama model name ({exc})") from None
    return base


def _from_params(params: dict[str, Any], out: Definition) -> None:
    parameters: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in params.items():
        if value is None or value == "":
            continue
        name = OWUI_PARAMS.get(key, key)
        if key in ("system", "template"):
            if not isinstance(value, str):
                raise EntryError(f"params.{key}: expected a string, got {describe(value)}")
            out.data[key] = value
        elif name in REMOVED:
            out.notes.append(f"params.{key} dropped (removed in Ollama {REMOVED[name]})")
        elif name in CATALOGUE:
            parameters[name] = _typed(key, name, value)
        else:
            extra[key] = value
    if parameters:
        out.data["parameters"] = parameters
    if extra:
        out.data.setdefault("openwebui", {})["params"] = extra


def _typed(key: str, name: str, value: Any) -> Any:
    """Open WebUI stores parameters as sent, so strings such as "0.3" are common."""
    param = CATALOGUE[name]
    if param.type == "str_list" and isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    elif param.type in ("int", "float") and isinstance(value, str):
        try:
            number = float(value)
            value = int(number) if param.type == "int" and number.is_integer() else number
        except ValueError:
            pass
    why = type_error(param, value)
    if why:
        raise EntryError(f"params.{key}: {why}")
    return value


def _from_meta(meta: dict[str, Any], out: Definition, avatar_limit: int, drop_bad: bool) -> None:
    data = out.data
    extra: dict[str, Any] = {}
    for key, value in meta.items():
        if value is None and key in (
            "background_image_url", "i18n", "voice", "voice_avatar", "knowledge", "capabilities"
        ):  # fmt: skip
            continue
        if key == "description":
            if value is not None and value != "":
                data["description"] = _text(key, value)
        elif key == "profile_image_url":
            _avatar(value, out, avatar_limit, drop_bad)
        elif key == "tags":
            if value is not None:
                data["tags"] = _tags(value)
        elif key == "hidden":
            if _flag("meta.hidden", value):
                data["hidden"] = True
        elif key == "suggestion_prompts":
            if value is not None:
                data["suggestions"] = _suggestions(value)
        elif key == "knowledge":
            data["knowledge"] = _knowledge(value, out.notes)
        elif key in ("toolIds", "filterIds", "actionIds"):
            if value is not None:
                items = as_list(key, value)
                data[MANAGED_META[key]] = [_text(f"{key}[{i}]", v) for i, v in enumerate(items)]
        elif key == "capabilities":
            data["capabilities"] = _capabilities(value, out.notes)
        elif key == "chat_variables_schema":
            continue  # computed by Open WebUI on every read
        elif key == "ollama" and isinstance(value, dict):
            rest = _ollama_only(value, data)
            if rest:
                extra[key] = rest
        else:
            extra[key] = value
    if extra:
        data.setdefault("openwebui", {})["meta"] = extra


def _ollama_only(block: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """meta.ollama: the Ollama-only fields modelops exports there; the rest stays verbatim."""
    rest = dict(block)
    messages, license_text = rest.pop("messages", None), rest.pop("license", None)
    if messages is not None:
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise EntryError(
                f"meta.ollama.messages: expected a list of messages, got {describe(messages)}"
            )
        data["messages"] = [{"role": m.get("role"), "content": m.get("content")} for m in messages]
    if license_text is not None:
        data["license"] = license_text
    return rest


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise EntryError(f"meta.{key}: expected a string, got {describe(value)}")
    return value


def _tags(value: Any) -> list[str]:
    out: list[str] = []
    for i, item in enumerate(as_list("tags", value)):
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str):
            shown = "a tag without a name" if isinstance(item, dict) else describe(item)
            raise EntryError(f'meta.tags[{i}]: expected {{"name": "..."}}, got {shown}')
        if name.strip() and name.strip() not in out:
            out.append(name.strip())
    return out


def _suggestions(value: Any) -> list[dict[str, str]]:
    out = []
    for i, item in enumerate(as_list("suggestion_prompts", value)):
        key = f"suggestion_prompts[{i}]"
        if not isinstance(item, dict):
            raise EntryError(f"meta.{key}: expected an object, got {describe(item)}")
        content = item.get("content")
        if content is None or (isinstance(content, str) and not content.strip()):
            continue  # Open WebUI drops empty prompts too
        entry = {"prompt": _text(f"{key}.content", content)}
        title = item.get("title")
        titles = title if isinstance(title, list) else [title]
        for label, text in zip(("title", "subtitle"), titles, strict=False):
            if text is not None and text != "":
                entry[label] = _text(f"{key}.title", text)
        out.append(entry)
    return out


def _knowledge(value: Any, notes: list[str]) -> list[dict[str, Any]]:
    out = []
    for i, item in enumerate(as_list("knowledge", value)):
        if not isinstance(item, dict):
            raise EntryError(f"meta.knowledge[{i}]: expected an object, got {describe(item)}")
        ref = {k: item[k] for k in KNOWLEDGE_KEYS if item.get(k) is not None}
        if "collection_name" in item and "id" not in ref:  # a 0.3 "document"
            ref["id"] = item["collection_name"]
        ref.setdefault("type", "collection")
        ref.setdefault("name", str(ref.get("id") or f"knowledge {i + 1}"))
        dropped = sorted(set(item) - set(KNOWLEDGE_KEYS) - {"collection_name", "data", "file"})
        if dropped:
            notes.append(f"meta.knowledge[{i}]: {', '.join(dropped)} not kept")
        out.append(ref)
    return out


def _capabilities(value: Any, notes: list[str]) -> dict[str, bool]:
    if not isinstance(value, dict):
        raise EntryError(f"meta.capabilities: expected an object, got {describe(value)}")
    out = {}
    for key, flag in value.items():
        if key not in CAPABILITIES:
            notes.append(f"meta.capabilities.{key} not kept (not a capability of Open WebUI 0.12)")
        elif isinstance(flag, bool):
            out[key] = flag
        else:
            raise EntryError(
                f"meta.capabilities.{key}: expected true or false, got {describe(flag)}"
            )
    return out


def _avatar(value: Any, out: Definition, limit: int, drop_bad: bool) -> None:
    if value is None or (isinstance(value, str) and value in DEFAULT_AVATARS):
        return
    if isinstance(value, str) and value.endswith("/static/favicon.png"):
        return  # the default avatar of an old dev build
    try:
        if not isinstance(value, str):
            raise ImageError(f"expected a string, got {describe(value)}")
        if value.startswith("https://"):
            out.data["avatar"] = value
            return
        if not value.startswith("data:"):
            scheme = value.split(":", 1)[0] + ":" if ":" in value else value
            raise ImageError(f"'{scheme[:40]}' is not an image (use a data URI or https URL)")
        data = avatars.decode_data_uri(value, limit)
        out.avatar_kind = check_image(data, limit)
        out.avatar = data
    except ImageError as exc:
        if not drop_bad:
            raise EntryError(
                f"meta.profile_image_url: {exc} (--drop-bad-avatars imports it without one)"
            ) from None
        out.notes.append(f"avatar dropped: {exc}")
