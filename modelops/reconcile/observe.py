"""Observing the Ollama hosts of a target and planning against what they hold, all hosts at
once. On each host: the tags, `/api/show` only for the models the digest record cannot vouch
for, and the version unless the record vouches for the whole plan. A host that cannot be
observed gets a plan that says why, and the other hosts go on. After an apply, the digests of
what was made or verified are recorded, so that the next plan needs no `/api/show` for them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from modelops.errors import TargetError
from modelops.reconcile.desired import Desired
from modelops.reconcile.drift import Live
from modelops.reconcile.plan import (
    HostPlan,
    Plan,
    Scope,
    host_changes,
    to_inspect,
    version_warnings,
)
from modelops.reconcile.record import Recorded
from modelops.spec import names
from modelops.spec.params import CATALOGUE
from modelops.targets.base import Change, Outcome
from modelops.targets.ollama import Tag

SHOW_WORKERS = 8


class Observable(Protocol):
    """What planning reads of one Ollama server (`modelops.targets.ollama.OllamaHost`)."""

    url: str

    def version(self) -> str: ...
    def tags(self) -> dict[str, Tag]: ...
    def show(self, name: str) -> dict[str, Any]: ...


class Ahead:
    """A host whose tags are asked for at once, in the background, while the caller goes on
    (building the desired state of a large registry, say): the first `tags()` waits for that
    answer, or raises what asking for it raised. For one plan; then use the host itself."""

    def __init__(self, host: Observable) -> None:
        self.url = host.url
        self._host = host
        self._answered = threading.Event()
        self._tags: dict[str, Tag] = {}
        self._error: Exception | None = None
        threading.Thread(target=self._ask, name=f"tags of {host.url}", daemon=True).start()

    def _ask(self) -> None:
        try:
            self._tags = self._host.tags()
        except Exception as exc:  # raised again, in the caller's thread, by tags()
            self._error = exc
        finally:
            self._answered.set()

    def tags(self) -> dict[str, Tag]:
        self._answered.wait()
        if self._error is not None:
            raise self._error
        return self._tags

    def version(self) -> str:
        return self._host.version()

    def show(self, name: str) -> dict[str, Any]:
        return self._host.show(name)


@dataclass
class Observed:
    """One host as the plan saw it."""

    tags: dict[str, Tag] = field(default_factory=dict)
    inspected: set[str] = field(default_factory=set)  # model keys that were shown


def plan(
    target: str,
    desired: Mapping[str, Desired],
    hosts: Sequence[Observable],
    records: Mapping[str, Mapping[str, Recorded]],
    owned: Callable[[str], bool],
    prune: bool,
    workers: int,
    only: Scope | None = None,
) -> tuple[Plan, dict[str, Observed]]:
    with ThreadPoolExecutor(max(1, len(hosts))) as pool:
        futures = [
            pool.submit(_plan_host, desired, h, records.get(h.url, {}), owned, prune, workers, only)
            for h in hosts
        ]
        results = [f.result() for f in futures]
    host_plans = tuple(r[0] for r in results)
    observed = {h.url: r[1] for h, r in zip(hosts, results, strict=True)}
    return Plan(target, host_plans, prune), observed


def _plan_host(
    desired: Mapping[str, Desired],
    host: Observable,
    record: Mapping[str, Recorded],
    owned: Callable[[str], bool],
    prune: bool,
    workers: int,
    only: Scope | None,
) -> tuple[HostPlan, Observed]:
    try:
        tags = host.tags()
        wanted = to_inspect(desired, tags, record, only)
        # reading is cheap for the server: inspect more at once than we create
        with ThreadPoolExecutor(max(SHOW_WORKERS, workers)) as pool:
            shows = list(pool.map(lambda n: _show(host, n), wanted))
        lives = {
            names.match_key(n): live
            for n, live in zip(wanted, shows, strict=True)
            if live is not None
        }
        changes = host_changes(host.url, desired, tags, lives, record, owned, prune, only)
        version = host.version() if _version_needed(desired, wanted, changes) else ""
    except TargetError as exc:
        return HostPlan(host.url, "", (), error=exc.message), Observed()
    warnings = tuple(version_warnings(host.url, version, desired)) if version else ()
    return HostPlan(host.url, version, tuple(changes), warnings=warnings), Observed(
        tags, set(lives)
    )


def _version_needed(
    desired: Mapping[str, Desired], inspected: Sequence[str], changes: Sequence[Change]
) -> bool:
    """The version refuses servers too old to create from JSON before any change, and decides
    the warnings about parameters newer than the server. A plan that the digest record vouches
    for entirely (nothing inspected, nothing to do, no parameter that needs a recent server)
    asks the server for its tags alone."""
    return (
        bool(inspected)
        or any(c.action != "noop" for c in changes)
        or any(
            name in CATALOGUE and CATALOGUE[name].since
            for d in desired.values()
            for name in d.request.get("parameters", {})
        )
    )


def _show(host: Observable, name: str) -> Live | None:
    try:
        return Live.from_show(host.show(name))
    except TargetError:
        return None  # planned as "could not be inspected": an update puts it right


def new_records(
    the_plan: Plan,
    desired: Mapping[str, Desired],
    hosts: Sequence[Observable],
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
            tag, source = tags.get(d.key), tags.get(names.match_key(d.request["from"]))
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
                mine.pop(names.match_key(change.name), None)
    return out
