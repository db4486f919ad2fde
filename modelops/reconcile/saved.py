"""The saved-plan use cases: turn a session's plan into a saved plan (`plan --out`), and check
a saved plan against the registry and the hosts as they are now before it is applied (`apply
FILE`). A plan that no longer holds is refused with what changed; one that holds is applied
exactly as it was saved, by the same apply as any plan."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from modelops.errors import ConflictError, TargetError
from modelops.reconcile import observe, planfile, record
from modelops.reconcile.desired import desired_models
from modelops.reconcile.planfile import SavedPlan, Settings
from modelops.reconcile.session import Deployed, ResolvedTarget, Session, connect
from modelops.registry.store import Registry


def _commit(registry: Registry, rev: str | None) -> str | None:
    return registry.resolve(rev) if rev else registry.repo.head()


def to_save(s: Session) -> SavedPlan:
    """The session's plan, with what it was made from."""
    rev = s.source.rev
    tags = {
        host: {key: tag.digest for key, tag in seen.tags.items()}
        for host, seen in s.observed.items()
    }
    t = s.target
    return SavedPlan(
        s.plan,
        Settings(t.name, t.hosts, t.namespace, t.prune, t.timeout, t.retries),
        rev,
        _commit(s.registry, rev),
        {d.id: d.spec_hash for d in s.desired.values()},
        planfile.observed_state(s.plan, tags),
    )


@contextlib.contextmanager
def checked(registry: Registry, saved: SavedPlan, shown: str) -> Iterator[Session]:
    """A session that carries out `saved`, once the registry and every host are found as the
    plan saw them; a ConflictError says what changed otherwise. Connections close at the end
    of the block."""
    snapshot = registry.load(saved.rev).require_valid()
    t = saved.target
    target = ResolvedTarget(t.name, t.hosts, t.namespace, t.prune, t.timeout, t.retries)
    desired = desired_models(snapshot.specs(), target.namespace)
    hosts = connect(target)
    try:
        observed: dict[str, observe.Observed] = {}
        problems = []
        for host in hosts:
            if host.url not in saved.observed:
                continue  # not observed when planned: its plan holds no changes
            try:
                observed[host.url] = observe.Observed(host.tags(), set())
            except TargetError as exc:
                problems.append(f"{host.url} cannot be checked: {exc.message}")
        now = {
            url: {k: tag.digest for k, tag in seen.tags.items()} for url, seen in observed.items()
        }
        problems += planfile.stale(
            saved, {d.id: d.spec_hash for d in desired.values()}, _commit(registry, saved.rev), now
        )
        if problems:
            raise ConflictError(
                f"{shown} is stale, so nothing was applied: {'; '.join(problems)} "
                "(make a new plan with 'plan --out')"
            )
        records = record.load(registry.state_file(record.FILE))
        source = Deployed(saved.rev, _commit(registry, saved.rev))
        yield Session(
            registry, snapshot, target, desired, hosts, records, saved.plan, observed, source
        )
    finally:
        for host in hosts:
            host.close()
