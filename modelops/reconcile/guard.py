"""What CI needs around a plan before it is applied: narrowing it to some registry models
(`--model`), and the limit on destructive changes (`--max-deletes`). Pure.

A plan narrowed to some models keeps their changes, the changes that wait on them (models
built on them, re-created when they change), the pulls they need, and the deletes of their
own names; everything else is left out, so it is left as it is on the hosts.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

from modelops.errors import ModelopsError
from modelops.reconcile.plan import HostPlan, Plan
from modelops.spec import names
from modelops.targets.base import Change

DEFAULT_MAX_DELETES = 5


def _model_of(change: Change) -> str | None:
    """The registry id a change is about: its model, or the model part of a deleted name."""
    if change.model is not None:
        return change.model
    if change.action != "delete":
        return None
    try:
        return names.parse_ollama_name(change.name).model
    except names.InvalidName:
        return None


def _narrow(host: HostPlan, ids: Collection[str]) -> HostPlan:
    kept = {c.key for c in host.changes if _model_of(c) in ids and c.action != "pull"}
    grew = True
    while grew:  # what waits on a kept change comes along
        more = {
            c.key
            for c in host.changes
            if c.action != "pull" and c.key not in kept and kept.intersection(c.needs)
        }
        kept |= more
        grew = bool(more)
    needed = {n for c in host.changes if c.key in kept for n in c.needs}
    changes = tuple(
        c
        for c in host.changes
        if (c.action == "pull" and c.key in needed) or (c.action != "pull" and c.key in kept)
    )
    return replace(host, changes=changes)


def select(plan: Plan, ids: Collection[str]) -> Plan:
    """The part of `plan` that is about the registry models `ids`."""
    return replace(plan, hosts=tuple(_narrow(h, ids) for h in plan.hosts))


def destructive(plan: Plan) -> list[Change]:
    """The changes that remove a model or rebuild it on another base."""
    return [
        c
        for c in plan.changes
        if c.enabled
        and (
            c.action == "delete"
            or (c.action == "update" and any(f.field == "base" for f in c.fields))
        )
    ]


def check_deletes(plan: Plan, limit: int, force: bool) -> None:
    """Refuse a plan that deletes or replaces more models than `limit`, unless forced."""
    found = sorted({c.name for c in destructive(plan)})
    if len(found) <= limit or force:
        return
    shown = ", ".join(found[:10]) + ("" if len(found) <= 10 else f" and {len(found) - 10} more")
    raise ModelopsError(
        f"refusing to apply: the plan deletes or replaces {len(found)} models ({shown}), "
        f"more than --max-deletes {limit} allows (check the plan, then pass --force or a "
        "higher --max-deletes)"
    )
