"""Plan and apply against the Ollama hosts of one target (DESIGN 4).

Hosts are observed and changed in parallel. On each host: pull every missing base first, then
create and update models (parents before children, independent ones in parallel). One model's
failure does not stop the others. Deletes run last, and only when nothing in the whole run
failed. Afterwards the new digests are recorded so the next plan can skip `/api/show`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Protocol

from modelops import names
from modelops.config import Config, OllamaTarget
from modelops.desired import Desired
from modelops.drift import Live
from modelops.errors import ModelopsError, UsageError
from modelops.plan import (
    Change,
    HostPlan,
    Plan,
    Recorded,
    Tag,
    host_changes,
    to_inspect,
    version_warnings,
)
from modelops.plan_render import Outcome
from modelops.targets.ollama import Progress, TargetError, normalize_host

SHOW_WORKERS = 8


class Host(Protocol):
    """What reconciling needs of one server (modelops.targets.ollama.OllamaHost)."""

    url: str

    def version(self) -> str: ...
    def tags(self) -> dict[str, Tag]: ...
    def show(self, name: str) -> dict[str, object]: ...
    def pull(self, name: str, progress: Callable[[Progress], None]) -> None: ...
    def create(
        self, request: Mapping[str, object], progress: Callable[[Progress], None]
    ) -> None: ...
    def delete(self, name: str) -> None: ...


class Reporter(Protocol):
    def progress(self, host: str, name: str, line: Progress) -> None: ...
    def finished(self, outcome: Outcome) -> None: ...


@dataclass(frozen=True)
class Target:
    name: str
    hosts: tuple[str, ...]
    namespace: str | None
    prune: bool


@dataclass
class Observed:
    """One host as the plan saw it."""

    tags: dict[str, Tag] = field(default_factory=dict)
    inspected: set[str] = field(default_factory=set)  # model keys that were shown


def owner(namespace: str | None, ids_ever: Iterable[str]) -> Callable[[str], bool]:
    """Whether modelops owns a live model: it is in the target's namespace, or (without a
    namespace) it is `<id>:latest` for an id the registry defined at some commit."""
    known = set(ids_ever)

    def owned(live_name: str) -> bool:
        try:
            name = names.parse_ollama_name(live_name)
        except names.InvalidName:
            return False
        if name.host != names.DEFAULT_HOST:
            return False
        if namespace is not None:
            return name.namespace.lower() == namespace.lower()
        return (
            name.namespace == names.DEFAULT_NAMESPACE
            and name.tag == "latest"
            and (name.model.lower() in known)
        )

    return owned


def plan(
    target: Target,
    desired: Mapping[str, Desired],
    hosts: Sequence[Host],
    records: Mapping[str, Mapping[str, Recorded]],
    owned: Callable[[str], bool],
    workers: int,
) -> tuple[Plan, dict[str, Observed]]:
    with ThreadPoolExecutor(max(1, len(hosts))) as pool:
        futures = [
            pool.submit(_plan_host, target, desired, h, records.get(h.url, {}), owned, workers)
            for h in hosts
        ]
        results = [f.result() for f in futures]
    host_plans = tuple(r[0] for r in results)
    observed = {h.url: r[1] for h, r in zip(hosts, results, strict=True)}
    return Plan(target.name, host_plans, target.prune), observed


def _plan_host(
    target: Target,
    desired: Mapping[str, Desired],
    host: Host,
    record: Mapping[str, Recorded],
    owned: Callable[[str], bool],
    workers: int,
) -> tuple[HostPlan, Observed]:
    try:
        version = host.version()
        tags = host.tags()
        wanted = to_inspect(desired, tags, record)
        # reading is cheap for the server: inspect more at once than we create
        with ThreadPoolExecutor(max(SHOW_WORKERS, workers)) as pool:
            shows = list(pool.map(lambda n: _show(host, n), wanted))
    except TargetError as exc:
        return HostPlan(host.url, "", (), error=exc.message), Observed()
    lives = {_key(n): live for n, live in zip(wanted, shows, strict=True) if live is not None}
    changes = host_changes(host.url, desired, tags, lives, record, owned, target.prune)
    warnings = tuple(version_warnings(host.url, version, desired))
    return HostPlan(host.url, version, tuple(changes), warnings=warnings), Observed(
        tags, set(lives)
    )


def _show(host: Host, name: str) -> Live | None:
    try:
        return Live.from_show(host.show(name))
    except TargetError:
        return None  # planned as "could not be inspected": an update puts it right


def _key(name: str) -> str:
    return names.parse_ollama_name(name).key


def apply(
    the_plan: Plan,
    hosts: Sequence[Host],
    reporter: Reporter,
    workers: int,
) -> list[Outcome]:
    """Run the plan. Returns one outcome per change that was attempted or skipped."""
    by_url = {h.url: h for h in hosts}
    runnable = [hp for hp in the_plan.hosts if hp.error is None]
    with ThreadPoolExecutor(max(1, len(runnable))) as pool:
        futures = [
            pool.submit(_apply_host, hp, by_url[hp.host], reporter, workers) for hp in runnable
        ]
        outcomes = [o for f in futures for o in f.result()]
    deletes = [c for c in the_plan.changes if c.action == "delete" and c.enabled]
    if not deletes:
        return outcomes
    if the_plan.errors or any(not o.ok for o in outcomes):
        skipped = [Outcome(c, False, "this run had errors", skipped=True) for c in deletes]
        for outcome in skipped:
            reporter.finished(outcome)
        return outcomes + skipped
    return outcomes + _run(deletes, lambda c: by_url[c.host].delete(c.name), reporter, workers)


def _apply_host(host_plan: HostPlan, host: Host, reporter: Reporter, workers: int) -> list[Outcome]:
    changes = [c for c in host_plan.changes if c.action in ("pull", "create", "update")]
    pulls = [c for c in changes if c.action == "pull"]
    models = [c for c in changes if c.action != "pull"]

    def pull(change: Change) -> None:
        host.pull(change.name, lambda line: reporter.progress(host.url, change.name, line))

    def create(change: Change) -> None:
        assert change.request is not None
        host.create(change.request, lambda line: None)  # layer lines say nothing useful

    done = _run(pulls, pull, reporter, workers)
    return done + _run(models, create, reporter, workers, {o.change.key: o for o in done})


OK = Outcome(Change("noop", "", "", None, ""), ok=True)


def _run(
    changes: Sequence[Change],
    work: Callable[[Change], None],
    reporter: Reporter,
    workers: int,
    earlier: Mapping[str, Outcome] | None = None,
) -> list[Outcome]:
    """Run changes in parallel, each once everything it needs has succeeded."""
    results: dict[str, Outcome] = dict(earlier or {})
    waiting = list(changes)
    running: dict[Future[None], Change] = {}
    outcomes: list[Outcome] = []

    def finish(outcome: Outcome) -> None:
        results[outcome.change.key] = outcome
        outcomes.append(outcome)
        reporter.finished(outcome)

    with ThreadPoolExecutor(max(1, workers)) as pool:
        while waiting or running:
            for change in list(waiting):
                failed = [results[n].change for n in change.needs if not results.get(n, OK).ok]
                if failed:
                    waiting.remove(change)
                    why = f"{failed[0].action} of {failed[0].name} failed"
                    finish(Outcome(change, False, why, skipped=True))
                elif all(n in results for n in change.needs):
                    waiting.remove(change)
                    running[pool.submit(work, change)] = change
            if not running:
                for change in waiting:  # needs that never come: a bug, but never hang
                    finish(Outcome(change, False, "a change it needs never ran", skipped=True))
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                change = running.pop(future)
                error = future.exception()
                if error is not None and not isinstance(error, ModelopsError):
                    raise error
                message = error.message if isinstance(error, ModelopsError) else ""
                finish(Outcome(change, error is None, message))
    return outcomes


def pull_models(
    target: str, hosts: Sequence[Host], models: Sequence[str], reporter: Reporter
) -> tuple[Plan, list[Outcome]]:
    """`modelops pull`: the named models onto every reachable host."""
    for name in models:
        try:
            names.parse_ollama_name(name)
        except names.InvalidName as exc:
            raise UsageError(f"'{name}' is not an Ollama model name ({exc})") from None
    host_plans = []
    for host in hosts:
        try:
            version = host.version()
        except TargetError as exc:
            host_plans.append(HostPlan(host.url, "", (), error=exc.message))
            continue
        pulls = tuple(Change("pull", host.url, name, None, "asked for") for name in models)
        host_plans.append(HostPlan(host.url, version, pulls))
    the_plan = Plan(target, tuple(host_plans), prune=False)
    return the_plan, apply(the_plan, hosts, reporter, workers=4)


def new_records(
    the_plan: Plan,
    desired: Mapping[str, Desired],
    hosts: Sequence[Host],
    records: Mapping[str, Mapping[str, Recorded]],
    outcomes: Sequence[Outcome],
    observed: Mapping[str, Observed],
) -> dict[str, dict[str, Recorded]]:
    """The record after an apply: fresh digests for what was created or verified."""
    failed = {(o.change.host, o.change.key) for o in outcomes if not o.ok}
    by_id = {d.id: d for d in desired.values()}
    out = {host: dict(models) for host, models in records.items()}
    for host_plan, host in zip(the_plan.hosts, hosts, strict=True):
        if host_plan.error:
            continue
        seen = observed.get(host.url, Observed())
        changed = any(c.action != "noop" for c in host_plan.changes)
        try:
            tags = host.tags() if changed else seen.tags
        except TargetError:
            continue
        mine = out.setdefault(host.url, {})
        for change in host_plan.changes:
            if change.model is None or change.model not in by_id:
                continue
            d = by_id[change.model]
            tag, source = tags.get(d.key), tags.get(_key(d.request["from"]))
            verified = change.action != "noop" or d.key in seen.inspected
            if (host.url, change.key) in failed or tag is None or source is None:
                mine.pop(d.key, None)
            elif verified:
                mine[d.key] = Recorded(d.spec_hash, tag.digest, source.digest)
        for change in host_plan.changes:
            if (
                change.action == "delete"
                and (host.url, change.key) not in failed
                and change.enabled
            ):
                mine.pop(_key(change.name), None)
    return out


def resolve_target(
    config: Config | None, name: str | None, env_host: str | None, hosts: Sequence[str], prune: bool
) -> tuple[Target, float, int]:
    """The target to reconcile, with its timeout and retries. Hosts come from the flags, then
    the target in modelops.yaml, then OLLAMA_HOST, then 127.0.0.1:11434. Without any targets
    in modelops.yaml there is one implicit target, `local`."""
    targets = config.targets if config else {}
    chosen = name or (config.default_target if config else None)
    if chosen is None and len(targets) == 1:
        chosen = next(iter(targets))
    listed = ", ".join(sorted(targets))
    if chosen is None and targets:
        raise UsageError(f"say which target to plan ({listed}), or set default_target")
    if not targets and chosen in (None, "local"):
        urls = list(hosts) or [env_host or ""]
        return Target("local", tuple(normalize_host(h) for h in urls), None, prune), 30.0, 3
    if chosen not in targets:
        raise UsageError(f"no target '{chosen}' in modelops.yaml (targets: {listed or 'none'})")
    found = targets[chosen]
    if not isinstance(found, OllamaTarget):
        raise UsageError(f"target '{chosen}' is an Open WebUI target; plan and apply need Ollama")
    urls = list(hosts) or found.host_list(env_host or "")
    target = Target(
        chosen, tuple(normalize_host(h) for h in urls), found.namespace, prune or found.prune
    )
    return target, found.timeout, found.retries
