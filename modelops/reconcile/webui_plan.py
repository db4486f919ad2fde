"""The plan for an Open WebUI target: each registry model as the workspace record it should be
(its tools, filters, actions, knowledge, groups and users named in the registry resolved to
this instance's ids), compared field by field with the record the server holds, into changes
with each field's before and after. Pure.

Only models carrying modelops's marker (`meta.modelops`, naming this registry) are changed or
deleted; a model someone made in Open WebUI is listed as unmanaged and left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from modelops.exchange.openwebui_export import to_record
from modelops.spec.model import MANAGED_META, MANAGED_PARAMS, ModelSpec
from modelops.spec.params import CATALOGUE
from modelops.targets.base import Change, FieldChange

MARKER = "modelops"
FORM_KEYS = ("id", "base_model_id", "name", "meta", "params", "access_grants", "is_active")
_SERVER_META = {MARKER, "chat_variables_schema"}  # ours, and computed by the server
_PARAM_FIELDS = MANAGED_PARAMS  # Open WebUI's key -> the field of a model file
_META_FIELDS = {key: name for key, name in MANAGED_META.items() if name}
Lookup = Callable[[str, str], set[str]]  # (kind, name) -> ids on this instance


def wanted_kinds(specs: Mapping[str, ModelSpec]) -> set[str]:
    """The kinds of object the models name, so only those are listed on the server."""
    kinds = set()
    for spec in specs.values():
        kinds |= {"tool"} if spec.tools else set()
        kinds |= {"filter"} if spec.filters else set()
        kinds |= {"action"} if spec.actions else set()
        kinds |= {k.type for k in spec.knowledge or ()}
        for principals in (spec.access.read, spec.access.write) if spec.access else ():
            kinds |= {"group"} if principals and principals.groups else set()
            kinds |= {"user"} if principals and principals.users else set()
    return kinds


@dataclass
class _Resolver:
    lookup: Lookup
    missing: dict[tuple[str, str], list[str]]  # (kind, name) -> the models that name it
    ambiguous: dict[tuple[str, str], set[str]]  # (kind, name) -> the ids it names

    def one(self, model_id: str, kind: str, name: str) -> str:
        found = self.lookup(kind, name)
        if len(found) == 1:
            return next(iter(found))
        if found:
            self.ambiguous[(kind, name)] = found
        else:
            self.missing.setdefault((kind, name), []).append(model_id)
        return name

    def problems(self) -> list[str]:
        """One line per object, naming the models that use it."""
        out = []
        for (kind, name), users in sorted(self.missing.items()):
            named = ", ".join(users[:3]) + (f" and {len(users) - 3} more" if len(users) > 3 else "")
            out.append(
                f"{kind} '{name}' (named by {named}) does not exist on this Open WebUI: create "
                "it there first, or name one that exists"
            )
        for (kind, name), ids in sorted(self.ambiguous.items()):
            out.append(
                f"{kind} '{name}' names {len(ids)} objects ({', '.join(sorted(ids))}): name it "
                "by its id instead"
            )
        return out


def desired_records(
    specs: Mapping[str, ModelSpec],
    avatars: Mapping[str, str | None],
    bases: Mapping[str, str],
    lookup: Lookup,
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Each model's create/update body, and every name that did not resolve (all at once)."""
    resolver = _Resolver(lookup, {}, {})
    out = {}
    for model_id, spec in sorted(specs.items()):
        record = to_record(
            spec, registry_ids=specs, avatar=avatars.get(model_id), created_at=0, updated_at=0
        )
        form = {key: record[key] for key in FORM_KEYS}
        form["base_model_id"] = bases.get(model_id, form["base_model_id"])
        _resolve(model_id, form, resolver)
        out[model_id] = form
    return out, resolver.problems()


def _resolve(model_id: str, form: dict[str, Any], resolver: _Resolver) -> None:
    meta = form["meta"]
    for key, kind in (("toolIds", "tool"), ("filterIds", "filter"), ("actionIds", "action")):
        if meta.get(key):
            meta[key] = [resolver.one(model_id, kind, name) for name in meta[key]]
    for item in meta.get("knowledge") or []:
        kind, name = item.get("type", "collection"), item.get("name", "")
        ids = resolver.lookup(kind, str(item.get("id") or "")) or resolver.lookup(kind, name)
        item["id"] = next(iter(ids)) if len(ids) == 1 else resolver.one(model_id, kind, name)
    grants = []
    for grant in form["access_grants"]:
        who = grant["principal_id"]
        if who != "*":
            who = resolver.one(model_id, grant["principal_type"], who)
        kind, permission = grant["principal_type"], grant["permission"]
        grants.append({"principal_type": kind, "principal_id": who, "permission": permission})
    form["access_grants"] = grants


def marked(record: Mapping[str, Any], registry: str) -> bool:
    """Whether modelops made this record, for this registry."""
    meta = record.get("meta")
    marker = meta.get(MARKER) if isinstance(meta, dict) else None
    return isinstance(marker, dict) and marker.get("registry") == registry


def copied(record: Mapping[str, Any]) -> bool:
    """Whether the record is a copy made in Open WebUI of a model modelops made: the copy
    keeps the marker, which names the model it was made for. Not modelops's to delete."""
    meta = record.get("meta")
    marker = meta.get(MARKER) if isinstance(meta, dict) else None
    made_for = marker.get("model") if isinstance(marker, dict) else None
    return made_for is not None and made_for != record.get("id")


def with_marker(
    form: Mapping[str, Any], registry: str, commit: str | None, work_tree: bool = False
) -> dict[str, Any]:
    """The record with the marker: the registry, the commit applied (and whether uncommitted
    changes of a work tree went with it), and the model's id (a copy made in the UI keeps the
    marker, and so names the model it was copied from)."""
    out = dict(form)
    marker: dict[str, Any] = {"registry": registry, "commit": commit, "model": form["id"]}
    if work_tree:
        marker["work_tree"] = True
    out["meta"] = {**form["meta"], MARKER: marker}
    return out


def view(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record as fields a user reads, named as in a model file, with the server's own
    keys and defaults left out, so that two records compare by what they mean."""
    out: dict[str, Any] = {
        "name": record.get("name"),
        "base": record.get("base_model_id"),
        "active": record.get("is_active", True) is not False,
    }
    for key, value in (record.get("params") or {}).items():
        out[_param_field(key)] = value
    for key, value in (record.get("meta") or {}).items():
        if key in _SERVER_META or value is None or (key == "hidden" and value is False):
            continue
        field_name = _META_FIELDS.get(key, f"openwebui.meta.{key}")
        out[field_name] = _tags(value) if key == "tags" else value
    out["access"] = sorted(
        f"{g.get('permission')}:{g.get('principal_type')}:{g.get('principal_id')}"
        for g in record.get("access_grants") or []
    )
    return out


def _param_field(key: str) -> str:
    if key in _PARAM_FIELDS:
        return _PARAM_FIELDS[key]
    return f"parameters.{key}" if key in CATALOGUE else f"openwebui.params.{key}"


def _tags(value: Any) -> Any:
    if isinstance(value, list):
        return [t.get("name") if isinstance(t, dict) else t for t in value]
    return value


def compare(desired: Mapping[str, Any], live: Mapping[str, Any]) -> list[FieldChange]:
    want, have = view(desired), view(live)
    keys = [*want, *(k for k in have if k not in want)]
    return [
        FieldChange(key, _shown(key, have.get(key)), _shown(key, want.get(key)))
        for key in keys
        if have.get(key) != want.get(key)
    ]


def _shown(key: str, value: Any) -> Any:
    """Avatars are data URIs: shown by their kind and size, not their bytes."""
    if key == "avatar" and isinstance(value, str) and value.startswith("data:"):
        kind = value[5:].split(";", 1)[0]
        return f"{kind} image, {len(value) * 3 // 4 // 1024 + 1} KiB"
    return value


def _why(marker: Mapping[str, Any], commit: str | None) -> str:
    """Why a marked model needs an update: the UI changed it (drift) when it was last applied
    from exactly what is planned now, else the registry moved on since."""
    then = marker.get("commit")
    if then == commit and not marker.get("work_tree"):
        return "changed in Open WebUI (drift)"
    if marker.get("work_tree"):
        return f"differs from the registry (last applied from a work tree on {str(then)[:10]})"
    if not isinstance(then, str) or not then:
        return "differs from the registry"
    return f"differs from the registry (last applied from {then[:10]})"


def seen(record: Mapping[str, Any]) -> list[Any]:
    """What says a record changed since the plan: its version and when it was saved."""
    return [record.get("version_id"), record.get("updated_at")]


@dataclass(frozen=True)
class WebUIPlan:
    changes: list[Change]
    unmanaged: list[str]  # made in Open WebUI: listed, never touched
    warnings: list[str]


def plan_webui(
    url: str,
    desired: Mapping[str, dict[str, Any]],
    live: list[dict[str, Any]],
    registry: str,
    commit: str | None,
    prune: bool,
    work_tree: bool = False,
) -> WebUIPlan:
    """Creates and updates in id order, then deletes of managed models no longer defined."""
    by_id = {str(r.get("id")): r for r in live}
    changes, warnings = [], []
    for model_id, form in desired.items():
        found = by_id.get(model_id)
        if found is None:
            body: dict[str, Any] = {"record": with_marker(form, registry, commit, work_tree)}
            create = Change("create", url, model_id, model_id, "not in Open WebUI", request=body)
            changes.append(create)
            continue
        if not marked(found, registry):
            warnings.append(
                f"{url}: {model_id} exists in Open WebUI but modelops did not make it, so it is "
                f"left alone (adopt it with 'modelops adopt TARGET {model_id} "
                "--include-unmanaged', or delete it in Open WebUI)"
            )
            continue
        fields = compare(form, found)
        then = found["meta"][MARKER]
        if not fields and (work_tree or not then.get("work_tree")):
            changes.append(Change("noop", url, model_id, model_id, "in sync"))
            continue
        body = {
            "record": with_marker(form, registry, commit, work_tree),
            "grants": form["access_grants"] if any(f.field == "access" for f in fields) else None,
            "seen": seen(found),
        }
        why = _why(then, commit) if fields else f"marks it applied from {str(commit)[:10]}"
        changes.append(Change("update", url, model_id, model_id, why, tuple(fields), body))
    ours = {i for i, r in by_id.items() if marked(r, registry) and not copied(r)}
    unmanaged = sorted(i for i in by_id if i not in desired and i not in ours)
    for model_id, found in sorted(by_id.items()):
        if model_id in desired or model_id not in ours:
            continue
        reason = "no longer in the registry" + ("" if prune else " (prune is off)")
        body = {"seen": seen(found)}
        changes.append(Change("delete", url, model_id, None, reason, request=body, enabled=prune))
    return WebUIPlan(changes, unmanaged, warnings)
