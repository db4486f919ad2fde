"""Saved plans, as `plan --out FILE` writes them and `apply FILE` reads them: the plan itself
(every change with what it sends), the registry it was made from (the commit, and a hash of
each model's definition), the target's settings, and what each host held of the models the
plan is about (an Ollama model's digest; an Open WebUI model's version and save time).
Applying a saved plan re-reads both sides first; `stale` says what changed since, and a stale
plan is not applied. Pure: JSON text in and out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelops.errors import ModelopsError
from modelops.reconcile.plan import HostPlan, Plan
from modelops.spec import names
from modelops.targets.base import Change, FieldChange

FORMAT = "modelops-plan"
VERSION = 2  # 2: Open WebUI hosts (their product, settings and what was seen there)
READS = (1, 2)

Digests = dict[str, str | None]  # model name -> digest on a host (None: not there)


@dataclass(frozen=True)
class WebUISettings:
    """An Open WebUI target as the plan resolved it; its API key is read from `api_key_env`
    when the plan is applied, and is never saved."""

    url: str
    api_key_env: str
    prune: bool
    timeout: float


@dataclass(frozen=True)
class Settings:
    """The target as the plan resolved it: apply uses these, not today's configuration.
    `hosts` are the Ollama hosts (none for an Open WebUI target of its own); `webui` is the
    Open WebUI, alone or after the Ollama hosts it wraps."""

    name: str
    hosts: tuple[str, ...]
    namespace: str | None
    prune: bool
    timeout: float
    retries: int
    webui: WebUISettings | None = None


@dataclass(frozen=True)
class SavedPlan:
    plan: Plan
    target: Settings
    rev: str | None  # as the plan was asked for; None: the work tree
    commit: str | None  # what it resolved to (HEAD for the work tree)
    desired: dict[str, str]  # model id -> hash of its definition
    observed: dict[str, Digests]  # host -> what it held of the models the plan is about


def watched(plan: HostPlan) -> set[str]:
    """The models on a host whose state the plan depends on, by name: every model it names
    (in sync ones too) and every model one is created from."""
    out = {c.name for c in plan.changes}
    out |= {
        _display(str(c.request["from"])) for c in plan.changes if c.request and "from" in c.request
    }
    return out


def _display(name: str) -> str:
    try:
        return names.parse_ollama_name(name).display
    except names.InvalidName:
        return name


def observed_state(plan: Plan, tags: Mapping[str, Mapping[str, str]]) -> dict[str, Digests]:
    """What each host held of the models its plan depends on; `tags` is host -> the digests
    of its models by normalised name (Ollama). An Open WebUI host's plan carries what it saw."""
    out = {}
    for h in plan.hosts:
        if h.error is not None:
            continue
        held = dict(h.seen) if h.product != "Ollama" else tags.get(h.host, {})
        out[h.host] = {name: _held(held, name, h.product) for name in sorted(watched(h))}
    return out


def _held(held: Mapping[str, str | None], name: str, product: str) -> str | None:
    """A model's digest (Ollama, by normalised name) or version stamp (Open WebUI, by id)."""
    return held.get(names.match_key(name) if product == "Ollama" else name)


def _change(c: Change) -> dict[str, Any]:
    return {
        "action": c.action,
        "name": c.name,
        "model": c.model,
        "reason": c.reason,
        "fields": [[f.field, f.before, f.after] for f in c.fields],
        "request": c.request,
        "needs": list(c.needs),
        "enabled": c.enabled,
    }


def dumps(saved: SavedPlan) -> str:
    data = {
        "format": FORMAT,
        "version": VERSION,
        "registry": {"rev": saved.rev, "commit": saved.commit, "models": saved.desired},
        "target": vars(saved.target)
        | {
            "hosts": list(saved.target.hosts),
            "webui": vars(saved.target.webui) if saved.target.webui else None,
        },
        "observed": saved.observed,
        "plan": {
            "target": saved.plan.target,
            "prune": saved.plan.prune,
            "hosts": [
                {
                    "host": h.host,
                    "version": h.version,
                    "error": h.error,
                    "warnings": list(h.warnings),
                    "changes": [_change(c) for c in h.changes],
                    "product": h.product,
                    "seen": [list(pair) for pair in h.seen],
                }
                for h in saved.plan.hosts
            ],
        },
    }
    return json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def loads(text: str, shown: str) -> SavedPlan:
    """A saved plan, or one error that says the file is not one."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    try:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("it is not a plan that 'modelops plan --out' wrote")
        if data.get("version") not in READS:
            raise ValueError(
                f"it is a version {data.get('version')} plan; this modelops reads "
                + " and ".join(str(v) for v in READS)
            )
        return _saved(data)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        why = str(exc) if isinstance(exc, ValueError) and str(exc) else "it is damaged"
        raise ModelopsError(
            f"{shown}: cannot apply: {why} (make a new one with 'plan --out')"
        ) from None


def _saved(data: dict[str, Any]) -> SavedPlan:
    plan = data["plan"]
    hosts = tuple(
        HostPlan(
            h["host"],
            h["version"],
            tuple(
                Change(
                    c["action"],
                    h["host"],
                    c["name"],
                    c["model"],
                    c["reason"],
                    tuple(FieldChange(*f) for f in c["fields"]),
                    c["request"],
                    tuple(c["needs"]),
                    c["enabled"],
                )
                for c in h["changes"]
            ),
            h["error"],
            tuple(h["warnings"]),
            h.get("product", "Ollama"),
            seen=tuple((str(i), str(v)) for i, v in h.get("seen", ())),
        )
        for h in plan["hosts"]
    )
    target = data["target"]
    web = target.get("webui")
    registry = data["registry"]
    return SavedPlan(
        Plan(plan["target"], hosts, plan["prune"]),
        Settings(
            target["name"],
            tuple(target["hosts"]),
            target["namespace"],
            target["prune"],
            float(target["timeout"]),
            int(target["retries"]),
            WebUISettings(
                str(web["url"]), str(web["api_key_env"]), bool(web["prune"]), float(web["timeout"])
            )
            if web
            else None,
        ),
        registry["rev"],
        registry["commit"],
        dict(registry["models"]),
        {host: dict(models) for host, models in data["observed"].items()},
    )


def stale(
    saved: SavedPlan,
    desired: Mapping[str, str],
    commit: str | None,
    observed: Mapping[str, Mapping[str, str | None]],
) -> list[str]:
    """What changed since the plan was made, one line each; empty when it still holds.
    `observed` is host -> the digests of its models now, by normalised name (a host left
    out could not be asked; the caller reports it)."""
    out = []
    then, now = saved.desired, desired
    changed = sorted(m for m in then.keys() & now.keys() if then[m] != now[m])
    added, removed = sorted(now.keys() - then.keys()), sorted(then.keys() - now.keys())
    parts = [f"{m} changed" for m in changed] + [f"{m} added" for m in added]
    parts += [f"{m} removed" for m in removed]
    if parts:
        where = saved.rev or "the work tree"
        commits = ""
        if saved.commit and commit and saved.commit != commit:
            commits = f"; planned at {saved.commit[:10]}, now {commit[:10]}"
        out.append(f"the registry ({where}) changed: {', '.join(parts)}{commits}")
    products = {h.host: h.product for h in saved.plan.hosts}
    for host, models in saved.observed.items():
        if host not in observed:
            continue  # it could not be asked: the caller says so, once, not once per model
        current = observed[host]
        product = products.get(host, "Ollama")
        for key, digest in models.items():
            found = _held(current, key, product)
            if found == digest:
                continue
            if digest is None:
                what = "appeared"
            elif found is None:
                what = "is gone"
            elif product == "Ollama":
                what = f"changed (digest {digest[:12]} -> {found[:12]})"
            else:
                what = f"was saved in {product} since the plan"
            out.append(f"{host}: {key} {what}")
    return out
