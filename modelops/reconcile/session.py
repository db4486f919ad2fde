"""The reconcile use cases that the command line, the watcher and review call: resolve a target
from `modelops.yaml` and the caller's overrides, load the registry, observe the hosts and plan
(`session`), carry the plan out and record what was made (`apply`), and pull models (`pull`).
Nothing here parses flags or prints: callers pass values in and render what comes back."""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from modelops.errors import ModelopsError, NotFoundError, UsageError
from modelops.reconcile import apply as applying
from modelops.reconcile import observe, record
from modelops.reconcile.desired import Desired, clashes, desired_models
from modelops.reconcile.ownership import owner
from modelops.reconcile.plan import Plan, Scope, scope
from modelops.registry.snapshot import Snapshot
from modelops.registry.store import Registry
from modelops.spec import names
from modelops.spec.config import Config, OllamaTargetConfig, OpenWebUITargetConfig, TargetConfig
from modelops.spec.urls import url_problem
from modelops.targets.base import Outcome
from modelops.targets.discovery import Resolver, expand, system_resolver
from modelops.targets.ollama import OllamaHost, Retry, normalize_host

if TYPE_CHECKING:  # Open WebUI planning builds pydantic specs: a plan of Ollama does without
    from modelops.reconcile import webui

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
    environ: Mapping[str, str] = field(default_factory=dict)  # where API keys are read from
    force: bool = False  # overwrite models changed in Open WebUI since the plan


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


def choose(config: Config | None, selection: Selection) -> tuple[str, TargetConfig | None]:
    """The target a selection names, or the default one; None for the implicit `local`."""
    targets = config.targets if config else {}
    chosen = selection.target or (config.default_target if config else None)
    if chosen is None and len(targets) == 1:
        chosen = next(iter(targets))
    listed = ", ".join(sorted(targets))
    if chosen is None and targets:
        raise UsageError(f"say which target to plan ({listed}), or set default_target")
    if not targets and chosen in (None, "local"):
        return "local", None
    if chosen not in targets:
        raise NotFoundError(f"no target '{chosen}' in modelops.yaml (targets: {listed or 'none'})")
    return str(chosen), targets[str(chosen)]


def resolve_target(
    config: Config | None, selection: Selection, resolve: Resolver = system_resolver
) -> ResolvedTarget:
    """Hosts come from the selection, then the target in modelops.yaml, then OLLAMA_HOST, then
    127.0.0.1:11434. Without any targets in modelops.yaml there is one implicit target,
    `local`. A `dns://NAME` host is resolved now, to every address NAME has."""
    for url in selection.hosts:
        if why := url_problem(url, bare=True):
            raise UsageError(f"Ollama host {why}")
    chosen, found = choose(config, selection)
    if found is None:
        urls = list(selection.hosts) or [_env_host(selection)]
        return ResolvedTarget("local", _hosts(urls, resolve), prune=selection.prune)
    if not isinstance(found, OllamaTargetConfig):
        raise ModelopsError(f"target '{chosen}' is an Open WebUI target; this needs an Ollama one")
    urls = list(selection.hosts) or found.host_list(_env_host(selection))
    return ResolvedTarget(
        chosen,
        _hosts(urls, resolve),
        found.namespace,
        selection.prune or found.prune,
        found.timeout,
        found.retries,
    )


def _env_host(selection: Selection) -> str:
    """OLLAMA_HOST as the caller read it ("" when unset), checked when it is used."""
    host = selection.env_host or ""
    if host.strip() and (why := url_problem(host, bare=True)):
        raise ModelopsError(f"OLLAMA_HOST {why} (correct it, or unset it for 127.0.0.1:11434)")
    return host


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
    hosts: list[Any]  # OllamaHost, or OpenWebUIServer (both are targets)
    records: record.Records
    plan: Plan
    observed: dict[str, observe.Observed] = field(default_factory=dict)
    source: Deployed = Deployed(None, None)
    warnings: list[str] = field(default_factory=list)  # for the user: what is deployed, and
    notes: list[str] = field(default_factory=list)  # what is not
    kind: str = "ollama"  # or "openwebui", or "combined" (Ollama first, then Open WebUI)
    web: webui.WebUITarget | None = None  # the Open WebUI, for "openwebui" and "combined"


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
    warnings, notes = source.said()
    if registry.repo.is_shallow():
        warnings.append(
            "this is a shallow clone: models deleted before its oldest commit are owned only if "
            "an apply from here recorded them, so a prune may leave some (run 'git fetch "
            "--unshallow' to read the whole history)"
        )
    name, found = choose(snapshot.config, selection)
    said = (warnings, notes)
    if not isinstance(found, OpenWebUITargetConfig):
        with _ollama(registry, snapshot, source, selection, resolve, said) as s:
            yield s
        return
    from modelops.reconcile import webui

    web = webui.webui_target(name, found, selection.prune)
    server = webui.connect(web, selection.environ, selection.force)
    mark = registry.name(snapshot.config)
    dirty = source.rev is None and bool(source.uncommitted)  # marked as such: adopt must know
    try:
        if web.ollama is None:
            host_plan = webui.plan_host(
                server, snapshot, mark, source.commit, web.prune, work_tree=dirty
            )
            target = ResolvedTarget(name, (web.url,), None, web.prune, web.timeout, 1)
            the_plan = Plan(name, (host_plan,), web.prune)
            yield Session(
                registry,
                snapshot,
                target,
                {},
                [server],
                {},
                the_plan,
                {},
                source,
                *said,
                "openwebui",
                web,
            )
            return
        inner = replace(selection, target=web.ollama)
        with _ollama(registry, snapshot, source, inner, resolve, said) as s:
            wrapped = {model_id: d.name for model_id, d in s.desired.items()}
            host_plan = webui.plan_host(
                server, snapshot, mark, source.commit, web.prune, wrapped, dirty
            )
            s.plan = Plan(name, (*s.plan.hosts, host_plan), s.plan.prune or web.prune)
            s.target = replace(s.target, name=name, hosts=(*s.target.hosts, web.url))
            s.hosts = [*s.hosts, server]
            s.kind, s.web = "combined", web
            yield s
    finally:
        server.close()


@contextlib.contextmanager
def _ollama(
    registry: Registry,
    snapshot: Snapshot,
    source: Deployed,
    selection: Selection,
    resolve: Resolver,
    said: tuple[list[str], list[str]],
) -> Iterator[Session]:
    target = resolve_target(snapshot.config, selection, resolve)
    hosts = connect(target)
    try:
        ahead = [observe.Ahead(h) for h in hosts]  # their tags arrive while the rest is built
        desired = desired_models(snapshot.bases(), target.namespace)
        problems = clashes(desired)
        if problems:
            raise ModelopsError("; ".join(problems))
        records = record.load(registry.state_file(record.FILE))
        made = {key for models in records.values() for key in models}
        ids = registry.ids_in_history(source.commit) if source.commit else set()
        owned = owner(target.namespace, ids | set(desired), made)
        if selection.keep:
            owned = _sparing(owned, scope({}, selection.keep, target.namespace))
        only = None
        if selection.models is not None:
            only = scope(desired, selection.models, target.namespace)
        the_plan, observed = observe.plan(
            target.name, desired, ahead, records, owned, target.prune, selection.workers, only
        )
        yield Session(
            registry,
            snapshot,
            target,
            desired,
            list(hosts),
            records,
            the_plan,
            observed,
            source,
            *said,
        )
    finally:
        for host in hosts:
            host.close()


def _sparing(owned: Callable[[str], bool], kept: Scope) -> Callable[[str], bool]:
    """Ownership less the models that must not be deleted in this run."""

    def deletable(live_name: str) -> bool:
        return owned(live_name) and names.match_key(live_name) not in kept.keys

    return deletable


def apply(
    s: Session,
    reporter: applying.Reporter,
    workers: int,
    *,
    stop: threading.Event | None = None,
    on_interrupt: applying.OnInterrupt | None = None,
) -> list[Outcome]:
    """Carry out the session's plan. On Ollama, then record the digests of what was made or
    verified and the commit applied; wrapped by Open WebUI, Ollama goes first, and a model
    whose Ollama part failed is not wrapped.

    Interrupted (Ctrl-C, or `stop`): running changes get the target's timeout to finish,
    `applying.Interrupted` carries what was done, and nothing is recorded, so the next plan
    inspects what this run touched."""
    run = functools.partial(
        applying.apply, grace=s.target.timeout, stop=stop, on_interrupt=on_interrupt
    )
    if s.kind == "openwebui":
        return run(s.plan, s.hosts, reporter, workers) if s.plan.pending else []
    ollama = [h for h in s.plan.hosts if h.product == "Ollama"]
    ollama_plan = Plan(s.plan.target, tuple(ollama), s.plan.prune)
    outcomes = _apply_ollama(s, ollama_plan, s.hosts[: len(ollama)], reporter, workers, run)
    if s.kind != "combined":
        return outcomes
    failed = {o.change.model for o in outcomes if not o.ok and o.change.model}
    web = [h for h in s.plan.hosts if h.product != "Ollama"]
    kept, skipped = [], []
    for host_plan in web:
        changes = [c for c in host_plan.changes if c.model not in failed]
        skipped += [
            Outcome(c, False, "its Ollama model failed", skipped=True)
            for c in host_plan.changes
            if c.model in failed
        ]
        kept.append(replace(host_plan, changes=tuple(changes)))
    for outcome in skipped:
        reporter.finished(outcome)
    web_plan = Plan(s.plan.target, tuple(kept), s.plan.prune)
    if web_plan.pending:
        outcomes += run(web_plan, s.hosts[len(ollama) :], reporter, workers)
    return outcomes + skipped


def _apply_ollama(
    s: Session,
    the_plan: Plan,
    hosts: list[Any],
    reporter: applying.Reporter,
    workers: int,
    run: Callable[..., list[Outcome]],
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    if the_plan.pending:
        outcomes = run(the_plan, hosts, reporter, workers)
    records = observe.new_records(the_plan, s.desired, hosts, s.records, outcomes, s.observed)
    path = s.registry.state_file(record.FILE)
    applied = record.load_applied(path)
    failed = {o.change.host for o in outcomes if not o.ok}
    for host_plan in the_plan.hosts:
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
