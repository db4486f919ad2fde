"""The saved-plan use cases: turn a session's plan into a saved plan (`plan --out`), and check
a saved plan against the registry and the targets as they are now before it is applied
(`apply FILE`). A plan that no longer holds is refused with what changed; one that holds is
applied exactly as it was saved, by the same apply as any plan."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from modelops.errors import ConflictError, TargetError
from modelops.reconcile import observe, planfile, record, webui
from modelops.reconcile.desired import Desired, desired_models
from modelops.reconcile.plan import HostPlan, Plan
from modelops.reconcile.planfile import SavedPlan, Settings, WebUISettings
from modelops.reconcile.session import Deployed, ResolvedTarget, Session, connect
from modelops.registry.snapshot import Snapshot
from modelops.registry.store import Registry
from modelops.targets.base import Change


def _commit(registry: Registry, rev: str | None) -> str | None:
    return registry.resolve(rev) if rev else registry.repo.head()


def definitions(snapshot: Snapshot, desired: Mapping[str, Desired], web: bool) -> dict[str, str]:
    """What the plan was made from, a hash per model: for Ollama alone, what each model asks
    of Ollama; with Open WebUI, each model's file and avatar as well (its tags, sharing or
    picture change the record Open WebUI is sent)."""
    if not web:
        return {d.id: d.spec_hash for d in desired.values()}
    out = {}
    for model in snapshot.models.values():
        avatar = model.placed.avatar
        parts = [
            desired[model.id].spec_hash if model.id in desired else None,
            model.digest,
            snapshot.blob(avatar) if avatar and ":" not in avatar else None,
        ]
        out[model.id] = hashlib.sha256(json.dumps(parts).encode()).hexdigest()
    return out


def to_save(s: Session) -> SavedPlan:
    """The session's plan, with what it was made from."""
    rev = s.source.rev
    tags = {
        host: {key: tag.digest for key, tag in seen.tags.items()}
        for host, seen in s.observed.items()
    }
    t, web = s.target, s.web
    ollama = tuple(h for h in t.hosts if web is None or h != web.url)
    settings = Settings(
        t.name,
        ollama,
        t.namespace,
        t.prune,
        t.timeout,
        t.retries,
        WebUISettings(web.url, web.api_key_env, web.prune, web.timeout) if web else None,
    )
    return SavedPlan(
        s.plan,
        settings,
        rev,
        _commit(s.registry, rev),
        definitions(s.snapshot, s.desired, web is not None),
        planfile.observed_state(s.plan, tags),
    )


@contextlib.contextmanager
def checked(
    registry: Registry, saved: SavedPlan, shown: str, environ: Mapping[str, str]
) -> Iterator[Session]:
    """A session that carries out `saved`, once the registry and every host are found as the
    plan saw them; a ConflictError says what changed otherwise. Connections close at the end
    of the block. An Open WebUI's API key is read from `environ`."""
    snapshot = registry.load(saved.rev).require_valid()
    t, web = saved.target, saved.target.webui
    ollama = ResolvedTarget(t.name, t.hosts, t.namespace, t.prune, t.timeout, t.retries)
    desired = desired_models(snapshot.bases(), ollama.namespace) if t.hosts else {}
    hosts: list[Any] = list(connect(ollama))
    wrapper = None
    try:
        observed: dict[str, observe.Observed] = {}
        now: dict[str, dict[str, str]] = {}
        problems = []
        for host in hosts:
            if host.url not in saved.observed:
                continue  # not observed when planned: its plan holds no changes
            try:
                observed[host.url] = observe.Observed(host.tags(), set())
            except TargetError as exc:
                problems.append(f"{host.url} cannot be checked: {exc.message}")
        now.update(
            {url: {k: tag.digest for k, tag in seen.tags.items()} for url, seen in observed.items()}
        )
        commit = _commit(registry, saved.rev)
        uncommitted = tuple(registry.uncommitted()) if saved.rev is None else ()
        source = Deployed(saved.rev, commit, uncommitted)
        plan = _as_sent(saved, desired)
        fresh = None
        if web is not None:
            wrapper = webui.WebUITarget(
                t.name, web.url, web.api_key_env, web.prune, web.timeout, None
            )
            server = webui.connect(wrapper, environ, force=False)
            hosts.append(server)
            wrapped = {model_id: d.name for model_id, d in desired.items()} if t.hosts else None
            dirty = saved.rev is None and bool(uncommitted)
            mark = registry.name(snapshot.config)
            # planned again, as when the plan was made: what it sees is what the plan saw
            fresh = webui.plan_host(server, snapshot, mark, commit, web.prune, wrapped, dirty)
            if fresh.error:
                problems.append(f"{web.url} cannot be checked: {fresh.error}")
            else:
                now[web.url] = dict(fresh.seen)
        then = definitions(snapshot, desired, web is not None)
        problems += planfile.stale(saved, then, commit, now)
        if fresh is not None and not problems:
            plan, moved = _with_records(plan, fresh)
            problems += moved
        if problems:
            raise ConflictError(
                f"{shown} is stale, so nothing was applied: {'; '.join(problems)} "
                "(make a new plan with 'plan --out')"
            )
        records = record.load(registry.state_file(record.FILE))
        target = (
            ollama
            if web is None
            else ResolvedTarget(
                t.name, (*t.hosts, web.url), t.namespace, t.prune or web.prune, t.timeout, t.retries
            )
        )
        kind = "ollama" if web is None else "combined" if t.hosts else "openwebui"
        yield Session(
            registry,
            snapshot,
            target,
            desired,
            hosts,
            records,
            plan,
            observed,
            source,
            kind=kind,
            web=wrapper,
        )
    finally:
        for host in hosts:
            host.close()


def _as_sent(saved: SavedPlan, desired: Mapping[str, Desired]) -> Plan:
    """The saved plan with each Ollama request as the registry defines it. The plan file was
    written with secrets masked, and a prompt may hold text that reads like one (a URL with a
    password, a bearer token); the requests are equal to what was planned, since each model's
    definition hash, which covers its request, was found unchanged."""

    def sent(c: Change) -> Change:
        if c.request is None or c.model is None or c.model not in desired:
            return c
        return replace(c, request=desired[c.model].request)

    hosts = tuple(
        replace(h, changes=tuple(sent(c) for c in h.changes)) if h.product == "Ollama" else h
        for h in saved.plan.hosts
    )
    return replace(saved.plan, hosts=hosts)


def _with_records(plan: Plan, fresh: HostPlan) -> tuple[Plan, list[str]]:
    """The Open WebUI changes with the records the server is sent made afresh (from the same
    registry and the same server state, so the same, unless an object a model names was made
    again under another id); what no longer matches, if anything."""
    now: dict[tuple[str, str], Change] = {
        (c.action, c.name): c for c in fresh.changes if c.action != "noop"
    }
    moved, hosts = [], []
    for h in plan.hosts:
        if h.host != fresh.host:
            hosts.append(h)
            continue
        then = {(c.action, c.name) for c in h.changes if c.action != "noop"}
        moved += [f"{h.host}: {a} {n} is no longer planned" for a, n in sorted(then - set(now))]
        moved += [f"{h.host}: {a} {n} is now planned" for a, n in sorted(set(now) - then)]
        changes = tuple(
            replace(c, request=now[(c.action, c.name)].request) if (c.action, c.name) in now else c
            for c in h.changes
        )
        hosts.append(replace(h, changes=changes))
    return replace(plan, hosts=tuple(hosts)), moved
