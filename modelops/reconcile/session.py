"""The reconcile use cases that the command line, the watcher and review call: resolve a target
from `modelops.yaml` and the caller's overrides, load the registry, observe the hosts and plan
(`session`), carry the plan out and record what was made (`apply`), and pull models (`pull`).
Nothing here parses flags or prints: callers pass values in and render what comes back."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from modelops.errors import ModelopsError, UsageError
from modelops.reconcile import apply as applying
from modelops.reconcile import observe, record
from modelops.reconcile.desired import Desired, clashes, desired_models
from modelops.reconcile.ownership import owner
from modelops.reconcile.plan import Plan, Scope, scope
from modelops.registry.snapshot import Snapshot
from modelops.registry.store import Registry
from modelops.spec import names
from modelops.spec.config import Config, OllamaTargetConfig
from modelops.targets.base import Outcome
from modelops.targets.discovery import Resolver, expand, system_resolver
from modelops.targets.ollama import OllamaHost, Retry, normalize_host

DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3


@dataclass(frozen=True)
class ResolvedTarget:
    """A target as this run reconciles it: its hosts after overrides, with its settings."""

    name: str
    hosts: tuple[str, ...]
    namespace: str | None = None
    prune: bool = False
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES


@dataclass(frozen=True)
class Selection:
    """What a caller asks to reconcile: a target by name (or the default), optionally other
    hosts, pruning, a revision of the registry, and how many models to create at once.

    `models` narrows the plan to those registry ids and the models built on them (None: all).
    `keep` names registry ids that this run must not delete, whatever the plan says (the
    watcher's models whose files could not be read)."""

    target: str | None = None
    hosts: tuple[str, ...] = ()
    prune: bool = False
    rev: str | None = None
    workers: int = 4
    env_host: str | None = None  # OLLAMA_HOST, as the caller read it
    models: frozenset[str] | None = None
    keep: frozenset[str] = frozenset()


def resolve_target(
    config: Config | None, selection: Selection, resolve: Resolver = system_resolver
) -> ResolvedTarget:
    """Hosts come from the selection, then the target in modelops.yaml, then OLLAMA_HOST, then
    127.0.0.1:11434. Without any targets in modelops.yaml there is one implicit target,
    `local`. A `dns://NAME` host is resolved now, to every address NAME has."""
    targets = config.targets if config else {}
    chosen = selection.target or (config.default_target if config else None)
    if chosen is None and len(targets) == 1:
        chosen = next(iter(targets))
    listed = ", ".join(sorted(targets))
    if chosen is None and targets:
        raise UsageError(f"say which target to plan ({listed}), or set default_target")
    if not targets and chosen in (None, "local"):
        urls = list(selection.hosts) or [selection.env_host or ""]
        return ResolvedTarget("local", _hosts(urls, resolve), prune=selection.prune)
    if chosen not in targets:
        raise UsageError(f"no target '{chosen}' in modelops.yaml (targets: {listed or 'none'})")
    found = targets[chosen]
    if not isinstance(found, OllamaTargetConfig):
        raise UsageError(f"target '{chosen}' is an Open WebUI target; plan and apply need Ollama")
    urls = list(selection.hosts) or found.host_list(selection.env_host or "")
    return ResolvedTarget(
        chosen,
        _hosts(urls, resolve),
        found.namespace,
        selection.prune or found.prune,
        found.timeout,
        found.retries,
    )


def _hosts(urls: Sequence[str], resolve: Resolver) -> tuple[str, ...]:
    return tuple(dict.fromkeys(normalize_host(url) for url in expand(urls, resolve)))


def connect(target: ResolvedTarget) -> list[OllamaHost]:
    return [
        OllamaHost(h, timeout=target.timeout, retry=Retry(attempts=target.retries))
        for h in target.hosts
    ]


@dataclass
class Session:
    """A registry planned against a target: everything apply and status work with."""

    registry: Registry
    snapshot: Snapshot
    target: ResolvedTarget
    desired: dict[str, Desired]
    hosts: list[OllamaHost]
    records: record.Records
    plan: Plan
    observed: dict[str, observe.Observed] = field(default_factory=dict)


@contextlib.contextmanager
def session(
    registry: Registry,
    selection: Selection,
    snapshot: Snapshot | None = None,
    resolve: Resolver = system_resolver,
) -> Iterator[Session]:
    """Load the registry (or take the `snapshot` given), resolve the target, observe its hosts
    and plan; the connections are closed when the block ends."""
    if snapshot is None:
        snapshot = registry.load(selection.rev)
    snapshot.require_valid()
    target = resolve_target(snapshot.config, selection, resolve)
    desired = desired_models(snapshot.specs(), target.namespace)
    problems = clashes(desired)
    if problems:
        raise ModelopsError("; ".join(problems))
    owned = owner(target.namespace, registry.ids_in_history() | set(desired))
    if selection.keep:
        owned = _sparing(owned, scope({}, selection.keep, target.namespace))
    only = None
    if selection.models is not None:
        only = scope(desired, selection.models, target.namespace)
    records = record.load(registry.state_file(record.FILE))
    hosts = connect(target)
    try:
        the_plan, observed = observe.plan(
            target.name, desired, hosts, records, owned, target.prune, selection.workers, only
        )
        yield Session(registry, snapshot, target, desired, hosts, records, the_plan, observed)
    finally:
        for host in hosts:
            host.close()


def _sparing(owned: Callable[[str], bool], kept: Scope) -> Callable[[str], bool]:
    """Ownership less the models that must not be deleted in this run."""

    def deletable(live_name: str) -> bool:
        return owned(live_name) and names.match_key(live_name) not in kept.keys

    return deletable


def apply(s: Session, reporter: applying.Reporter, workers: int) -> list[Outcome]:
    """Carry out the session's plan, then record the digests of what was made or verified."""
    outcomes: list[Outcome] = []
    if s.plan.pending:
        outcomes = applying.apply(s.plan, s.hosts, reporter, workers)
    records = observe.new_records(s.plan, s.desired, s.hosts, s.records, outcomes, s.observed)
    record.save(s.registry.state_file(record.FILE), records)
    return outcomes


def pull(
    target: ResolvedTarget, models: Sequence[str], reporter: applying.Reporter
) -> tuple[Plan, list[Outcome]]:
    """Pull Ollama models onto every reachable host of a target."""
    hosts = connect(target)
    try:
        return applying.pull_models(target.name, hosts, models, reporter)
    finally:
        for host in hosts:
            host.close()
