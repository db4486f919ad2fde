"""The plan for Ollama: desired models, what one Ollama host holds, and the ownership set in; an
ordered list of changes out (pull, create, update with per-field before and after, delete,
no-op).

Pure. Observing happens in two steps so that an unchanged model costs no `/api/show` call:
`to_inspect` says which models the digest record cannot vouch for, the caller shows only
those (and their bases), and `host_changes` turns it all into changes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Protocol

from modelops.reconcile.desired import Desired, creation_order, ollama_name
from modelops.reconcile.drift import Live, compare
from modelops.reconcile.record import Recorded
from modelops.spec import names
from modelops.spec.params import too_new
from modelops.targets.base import Action, Change, FieldChange, change_key


class Listed(Protocol):
    """A model as the host's listing shows it (`modelops.targets.ollama.Tag`)."""

    @property
    def name(self) -> str: ...
    @property
    def digest(self) -> str: ...


@dataclass(frozen=True)
class HostPlan:
    host: str
    version: str
    changes: tuple[Change, ...]
    error: str | None = None  # the host could not be observed
    warnings: tuple[str, ...] = ()
    product: str = "Ollama"
    unmanaged: tuple[str, ...] = ()  # models someone else made there: never touched
    applied: tuple[str, ...] = ()  # Open WebUI: the commits its managed models were applied from
    # Open WebUI: each model's version and save time as observed ("version_id@updated_at"),
    # which a saved plan checks before it is applied
    seen: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Plan:
    target: str
    hosts: tuple[HostPlan, ...]
    prune: bool

    @property
    def changes(self) -> list[Change]:
        return [c for h in self.hosts for c in h.changes]

    @property
    def pending(self) -> bool:
        return any(c.action != "noop" and c.enabled for c in self.changes)

    @property
    def errors(self) -> list[str]:
        return [h.error for h in self.hosts if h.error]

    @property
    def warnings(self) -> list[str]:
        return [w for h in self.hosts for w in h.warnings]

    def counts(self) -> dict[str, int]:
        out = {action: 0 for action in ("pull", "create", "update", "delete", "noop")}
        for change in self.changes:
            if change.enabled:
                out[change.action] += 1
        out["held"] = sum(1 for c in self.changes if not c.enabled)
        return out


@dataclass(frozen=True)
class Scope:
    """A plan narrowed to some registry models: they and the models built on them are planned
    (with the pulls they need), and of the owned models on a host only theirs may be deleted.
    Every other model is left as it is, unobserved."""

    ids: frozenset[str]
    keys: frozenset[str]  # the Ollama names of `ids`, normalised

    def __contains__(self, model_id: object) -> bool:
        return model_id in self.ids


def scope(desired: Mapping[str, Desired], ids: Collection[str], namespace: str | None) -> Scope:
    """The scope of `ids` (defined or no longer defined) and every model built on them."""
    closure = set(ids)
    grew = True
    while grew:
        children = {d.id for d in desired.values() if d.parent in closure} - closure
        closure |= children
        grew = bool(children)
    keys = set()
    for model_id in closure:
        try:
            keys.add(ollama_name(model_id, namespace).key)
        except names.InvalidName:
            continue  # not a name a model of ours can have on a host
    return Scope(frozenset(closure), frozenset(keys))


def version_warnings(host: str, version: str, desired: Mapping[str, Desired]) -> list[str]:
    """Parameters the server is too old to know: it would store them and ignore them."""
    out = []
    for d in sorted(desired.values(), key=lambda d: d.id):
        for name in d.request.get("parameters", {}):
            since = too_new(name, version)
            if since:
                out.append(
                    f"{host}: {d.id}: parameters.{name} needs Ollama {since} or newer; this server "
                    f"({version}) will ignore it"
                )
    return out


def _in_sync(
    desired: Desired, tag: Listed, record: Recorded | None, tags: Mapping[str, Listed]
) -> bool:
    """The quick path: the record vouches for the model, so nothing needs inspecting."""
    source = tags.get(names.match_key(desired.request["from"]))
    return (
        record is not None
        and record.spec == desired.spec_hash
        and record.digest == tag.digest
        and source is not None
        and record.from_digest == source.digest
    )


def to_inspect(
    desired: Mapping[str, Desired],
    tags: Mapping[str, Listed],
    record: Mapping[str, Recorded],
    only: Scope | None = None,
) -> list[str]:
    """Names to `/api/show`: present models the record cannot vouch for, and their bases."""
    out: list[str] = []
    for d in desired.values():
        if only is not None and d.id not in only:
            continue
        tag = tags.get(d.key)
        if tag is None or _in_sync(d, tag, record.get(d.key), tags):
            continue
        out.append(d.name)
        if d.parent is None and names.match_key(d.root) in tags:
            out.append(tags[names.match_key(d.root)].name)
    return sorted(set(out))


def host_changes(
    host: str,
    desired: Mapping[str, Desired],
    tags: Mapping[str, Listed],
    lives: Mapping[str, Live],
    record: Mapping[str, Recorded],
    owned: Callable[[str], bool],
    prune: bool,
    only: Scope | None = None,
) -> list[Change]:
    """Pulls first, then creates and updates parents before children, then deletes. With
    `only`, the models outside it are neither planned nor deleted."""
    changes: list[Change] = []
    pulls: dict[str, str] = {}
    for d in desired.values():
        if only is not None and d.id not in only:
            continue
        root_key = names.match_key(d.root)
        if d.parent is None and root_key not in tags and root_key not in pulls:
            pulls[root_key] = d.root
    for root_key in sorted(pulls):
        changes.append(Change("pull", host, pulls[root_key], None, "base model not on the host"))
    pending: dict[str, Change] = {}
    for model_id in creation_order(desired):
        if only is not None and model_id not in only:
            continue
        d = desired[model_id]
        needs = []
        if d.parent is None and names.match_key(d.root) in pulls:
            needs.append(change_key("pull", d.root))
        if d.parent is not None and d.parent in pending:
            needs.append(pending[d.parent].key)
        change = _model_change(host, d, tags, lives, record, d.parent in pending, tuple(needs))
        changes.append(change)
        if change.action != "noop":
            pending[model_id] = change
    wanted = {d.key for d in desired.values()} | {names.match_key(d.root) for d in desired.values()}
    for key, tag in sorted(tags.items()):
        if only is not None and key not in only.keys:
            continue
        if key not in wanted and owned(tag.name):
            reason = (
                "no longer in the registry" if prune else "no longer in the registry (prune is off)"
            )
            changes.append(Change("delete", host, tag.name, None, reason, enabled=prune))
    return changes


def _model_change(
    host: str,
    d: Desired,
    tags: Mapping[str, Listed],
    lives: Mapping[str, Live],
    record: Mapping[str, Recorded],
    parent_changes: bool,
    needs: tuple[str, ...],
) -> Change:
    def change(action: Action, reason: str, fields: tuple[FieldChange, ...] = ()) -> Change:
        request = d.request if action in ("create", "update") else None
        return Change(action, host, d.name, d.id, reason, fields, request, needs)

    tag = tags.get(d.key)
    if tag is None:
        return change("create", "not on the host")
    recorded = record.get(d.key)
    if parent_changes:
        return change("update", f"its base {d.parent} changes")
    if _in_sync(d, tag, recorded, tags):
        return change("noop", "in sync")
    live = lives.get(d.key)
    if live is None:
        return change("update", "could not be inspected")
    base = lives.get(names.match_key(d.root)) if d.parent is None else None
    fields = tuple(compare(d, live, base))
    source = tags.get(names.match_key(d.request["from"]))
    if recorded and source and recorded.from_digest and recorded.from_digest != source.digest:
        return change("update", f"its base {d.request['from']} was updated", fields)
    if not fields:
        return change("noop", "in sync")
    if recorded is None:
        reason = "differs from the registry"
    elif recorded.digest != tag.digest:
        reason = "changed on the host (drift)"
    else:
        reason = "changed in the registry"
    return change("update", reason, fields)
