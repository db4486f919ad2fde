"""What the watcher says about a reconcile: a log line per change as apply carries it out, and
one summary per target (the counts, what failed, and the fields a JSON log line carries)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from modelops.reconcile.plan import Plan
from modelops.targets.base import Outcome, Progress
from modelops.watch.log import EventLog
from modelops.watch.status import Status


class Reporter:
    """Apply's reporter for the log: a line when a pull starts, a line per finished change."""

    def __init__(self, log: EventLog, target: str) -> None:
        self._journal = log
        self._target = target
        self._lock = threading.Lock()
        self._started: set[tuple[str, str]] = set()

    def progress(self, host: str, name: str, line: Progress) -> None:
        with self._lock:
            if (host, name) in self._started:
                return
            self._started.add((host, name))
        self._journal.info(
            "pulling", f"{name} on {host}", target=self._target, host=host, model=name
        )

    def finished(self, outcome: Outcome) -> None:
        change = outcome.change
        fields = {"target": self._target, "host": change.host, "model": change.name}
        what = f"{change.action} {change.name} on {change.host}"
        if outcome.ok:
            self._journal.info("changed", what, action=change.action, **fields)
        elif outcome.skipped:
            self._journal.warning("skipped", f"{what}: {outcome.message}", **fields)
        else:
            self._journal.error("change-failed", f"{what}: {outcome.message}", **fields)


@dataclass(frozen=True)
class Summary:
    counts: dict[str, int]  # pulled, created, updated, deleted, failed, skipped, in_sync
    drifted: int  # models the plan found to create or update
    unreachable: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.unreachable and not self.counts["failed"] and not self.counts["skipped"]

    @property
    def reason(self) -> str:
        if self.unreachable:
            return "; ".join(self.unreachable)
        if not self.ok:
            return f"{self.counts['failed'] + self.counts['skipped']} change(s) failed"
        return "ok"

    def text(self) -> str:
        c = self.counts
        line = (
            f"{c['pulled']} pulled, {c['created']} created, {c['updated']} updated, "
            f"{c['deleted']} deleted, {c['failed']} failed, {c['in_sync']} in sync"
        )
        if c["skipped"]:
            line += f", {c['skipped']} skipped"
        if self.unreachable:
            line += f", {len(self.unreachable)} host(s) unreachable"
        return line

    def fields(self) -> dict[str, Any]:
        return {**self.counts, "unreachable": len(self.unreachable)}


def summary(plan: Plan, outcomes: Sequence[Outcome]) -> Summary:
    done = {"pull": 0, "create": 0, "update": 0, "delete": 0}
    failed = skipped = 0
    for outcome in outcomes:
        if outcome.ok and outcome.change.action in done:
            done[outcome.change.action] += 1
        elif outcome.skipped:
            skipped += 1
        elif not outcome.ok:
            failed += 1
    enabled = [c for c in plan.changes if c.enabled]
    counts = {
        "pulled": done["pull"],
        "created": done["create"],
        "updated": done["update"],
        "deleted": done["delete"],
        "failed": failed,
        "skipped": skipped,
        "in_sync": sum(1 for c in enabled if c.action == "noop"),
    }
    drifted = sum(1 for c in enabled if c.action in ("create", "update"))
    return Summary(counts, drifted, tuple(plan.errors))


@dataclass(frozen=True)
class Result:
    """One target's reconcile: its summary, or why it could not run at all."""

    target: str
    hosts: tuple[str, ...]
    done: Summary | None
    error: str | None = None

    def record(self, status: Status, commit: str | None, modified: bool, when: float) -> None:
        if self.done is None:
            status.failed(self.target, self.error or "failed")
            return
        status.reconciled(
            self.target,
            reached=not self.done.unreachable,
            ok=self.done.ok,
            drifted=self.done.drifted,
            reason=self.done.reason,
            when=when,
        )
        if self.done.ok and commit:
            status.applied(self.target, commit, modified)

    def say(
        self, journal: EventLog, why: str, models: frozenset[str] | None, commit: str | None
    ) -> None:
        fields: dict[str, Any] = {
            "target": self.target,
            "why": why,
            "models": sorted(models) if models is not None else None,
        }
        if self.done is None:
            journal.error("reconcile-failed", f"{self.target}: {self.error}", **fields)
            return
        journal.write(
            "info" if self.done.ok else "error",
            "reconciled" if self.done.ok else "reconcile-failed",
            f"{self.target}: {self.done.text()} ({why})",
            {**fields, "hosts": list(self.hosts), "commit": commit, **self.done.fields()},
        )
        for error in self.done.unreachable:
            journal.error("unreachable", error, target=self.target)
