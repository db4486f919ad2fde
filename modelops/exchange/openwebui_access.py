"""Who may use a model, from any Open WebUI version: 0.8+ `access_grants`, or 0.6-0.7
`access_control` (null meant public). Wrong types are errors of the entry, never guessed at;
grants Open WebUI itself drops for a model are noted. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelops.exchange.openwebui_shapes import EntryError
from modelops.spec.words import describe

Grant = tuple[str, str, str]  # principal type, principal id, permission


def as_list(key: str, value: Any, *, top: bool = False) -> list[Any]:
    """`value` if it is a list; `key` is under meta unless `top`."""
    if not isinstance(value, list):
        raise EntryError(f"{'' if top else 'meta.'}{key}: expected a list, got {describe(value)}")
    return value


def access_of(record: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
    """The spec's `access` block of a record; empty when the record is private."""
    if record.get("access_grants") is not None:
        triples = _grants(record["access_grants"], notes)
    elif "access_control" in record:
        triples = _access_control(record["access_control"])
    else:
        return {}
    access: dict[str, Any] = {}
    for kind, who, permission in triples:
        if (kind, who, permission) == ("user", "*", "read"):
            access["public"] = True
            continue
        level = access.setdefault(permission, {"groups": [], "users": []})
        bucket = level["groups" if kind == "group" else "users"]
        if who not in bucket:
            bucket.append(who)
    return access


def _grants(grants: Any, notes: list[str]) -> list[Grant]:
    """0.8+ `access_grants`; grants Open WebUI would drop for a model are noted and left out."""
    out = []
    for i, grant in enumerate(as_list("access_grants", grants, top=True)):
        if not isinstance(grant, dict):
            raise EntryError(f"access_grants[{i}]: expected an object, got {describe(grant)}")
        kind, who, permission = (
            _text(f"access_grants[{i}].{key}", grant.get(key))
            for key in ("principal_type", "principal_id", "permission")
        )
        if kind not in ("user", "group") or permission not in ("read", "write"):
            notes.append(f"access_grants[{i}] ({kind} {permission}) not kept (Open WebUI drops it)")
            continue
        out.append((kind, who, permission))
    return out


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise EntryError(f"{key}: expected a string, got {describe(value)}")
    return value


def _access_control(control: Any) -> list[Grant]:
    """0.6-0.7 `access_control`: null was public, {} private, else ids per permission."""
    if control is None:
        return [("user", "*", "read")]
    if not isinstance(control, dict):
        raise EntryError(f"access_control: expected an object or null, got {describe(control)}")
    out = []
    for permission in ("read", "write"):
        level = control.get(permission)
        if level is None:
            continue
        if not isinstance(level, dict):
            raise EntryError(
                f"access_control.{permission}: expected an object, got {describe(level)}"
            )
        for kind, key in (("group", "group_ids"), ("user", "user_ids")):
            ids = level.get(key)
            where = f"access_control.{permission}.{key}"
            for who in as_list(where, ids, top=True) if ids is not None else []:
                if not isinstance(who, str):
                    raise EntryError(f"{where}: expected a list of ids, got {describe(who)}")
                out.append((kind, who, permission))
    return out
