"""The reconcile use cases that the command line, the watcher and review call: resolve a target
from `modelops.yaml` and the caller's overrides, load the registry, observe the hosts and plan
(`session`), carry the plan out and record what was made (`apply`), and pull models (`pull`).
Nothing here parses flags or prints: callers pass values in and render what comes back."""

from __future__ import annotations

import contextlib
import time
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
    work_tree: bool = False  # deploy the files as saved, uncommitted changes included


@dataclass(frozen=True)
class Deployed:
    """Which registry a run deploys: a revision (HEAD unless another is asked for), or the
    work tree as saved; and what of the work tree differs from HEAD."""

    rev: str | None  # None: the work tree
    commit: str | None  # the commit (for the work tree: HEAD, which its changes sit on)
    uncommitted: tuple[str, ...] = ()

    def said(self) -> tuple[list[str], list[str]]:
        """What the caller should tell the user about it: warnings, then notes."""
        if not self.uncommitted:
            return [], []
        listed = ", ".join(self.uncommitted[:5])
        if len(self.uncommitted) > 5:
            listed += f" and {len(self.uncommitted) - 5} more"
        if self.rev is None:
            return [f"deploying uncommitted changes of the work tree: {listed}"], []
        return [], [
            f"uncommitted changes are not deployed: {listed} (commit them, or pass --work-tree "
            "to deploy the files as saved)"
        ]


def deployed(registry: Registry, selection: Selection) -> tuple[Snapshot, Deployed]:
    """The registry a selection deploys: HEAD by default, another revision with `rev`, the
    work tree with `work_tree`."""
    if selection.rev and selection.work_tree:
        raise UsageError("give --rev or --work-tree, not both")
    uncommitted = tuple(registry.uncommitted())
    if selection.work_tree:
        return registry.load(None), Deployed(None, registry.repo.head(), uncommitted)
    rev = selection.rev or "HEAD"
    shown = uncommitted if rev == "HEAD" else ()
    return registry.load(rev), Deployed(rev, registry.resolve(rev), shown)


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
    source: Deployed = Deployed(None, None)
    warnings: list[str] = field(default_factory=list)  # for the user: what is deployed, and
    notes: list[str] = field(default_factory=list)  # what is not


@contextlib.contextmanager
def session(
    registry: Registry,
    selection: Selection,
    snapshot: Snapshot | None = None,
    resolve: Resolver = system_resolver,
) -> Iterator[Session]:
    """Load the registry the selection deploys (or take the `snapshot` given: a work tree the
    caller read), resolve the target, observe its hosts and plan; the connections are closed
    when the block ends.

    What modelops owns on a host is read from the history of what is deployed (never from
    other branches or stashes) and from the record of what earlier applies made there."""
    if snapshot is None:
        snapshot, source = deployed(registry, selection)
    else:
        source = Deployed(None, registry.repo.head(), tuple(registry.uncommitted()))
    snapshot.require_valid()
    target = resolve_target(snapshot.config, selection, resolve)
    desired = desired_models(snapshot.specs(), target.namespace)
    problems = clashes(desired)
    if problems:
        raise ModelopsError("; ".join(problems))
    records = record.load(registry.state_file(record.FILE))
    made = {key for models in records.values() for key in models}
    ids = registry.ids_in_history(source.commit) if source.commit else set()
    owned = owner(target.namespace, ids | set(desired), made)
    warnings, notes = source.said()
    if registry.repo.is_shallow():
        warnings.append(
            "this is a shallow clone: models deleted before its oldest commit are owned only if "
            "an apply from here recorded them, so a prune may leave some (run 'git fetch "
            "--unshallow' to read the whole history)"
        )
    if selection.keep:
        owned = _sparing(owned, scope({}, selection.keep, target.namespace))
    only = None
    if selection.models is not None:
        only = scope(desired, selection.models, target.namespace)
    hosts = connect(target)
    try:
        the_plan, observed = observe.plan(
            target.name, desired, hosts, records, owned, target.prune, selection.workers, only
        )
        yield Session(
            registry,
            snapshot,
            target,
            desired,
            hosts,
            records,
            the_plan,
            observed,
            source,
            warnings,
            notes,
        )
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
    path = s.registry.state_file(record.FILE)
    applied = record.load_applied(path)
    failed = {o.change.host for o in outcomes if not o.ok}
    for host_plan in s.plan.hosts:
        if host_plan.error is None:
            applied[host_plan.host] = record.Applied(
                s.source.commit,
                s.source.rev is None and bool(s.source.uncommitted),
                host_plan.host not in failed,
                time.time(),
            )
    record.save(path, records, applied)
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
