"""Carrying out a plan on the hosts of a target, all hosts at once.

On each host: pull every missing base first, then create and update models (parents before
children, independent ones in parallel). One model's failure does not stop the others, and
what depends on it is skipped. Deletes run last, and only when nothing in the whole run
failed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Protocol

from modelops.errors import ModelopsError, TargetError, UsageError
from modelops.reconcile.plan import HostPlan, Plan
from modelops.spec import names
from modelops.targets.base import Change, Outcome, Progress, Target


class Reporter(Protocol):
    """Where apply tells what it is doing (a terminal, a log, nothing)."""

    def progress(self, host: str, name: str, line: Progress) -> None: ...
    def finished(self, outcome: Outcome) -> None: ...


class Versioned(Target, Protocol):
    def version(self) -> str: ...


def apply(
    the_plan: Plan, hosts: Sequence[Target], reporter: Reporter, workers: int
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
    return outcomes + _run(
        deletes, lambda c: _execute(by_url[c.host], c, reporter), reporter, workers
    )


def _execute(host: Target, change: Change, reporter: Reporter) -> None:
    host.execute(change, lambda line: reporter.progress(host.url, change.name, line))


def _apply_host(
    host_plan: HostPlan, host: Target, reporter: Reporter, workers: int
) -> list[Outcome]:
    changes = [c for c in host_plan.changes if c.action in ("pull", "create", "update")]
    pulls = [c for c in changes if c.action == "pull"]
    models = [c for c in changes if c.action != "pull"]

    def create(change: Change) -> None:
        host.execute(change, lambda line: None)  # layer lines of a create say nothing useful

    done = _run(pulls, lambda c: _execute(host, c, reporter), reporter, workers)
    return done + _run(models, create, reporter, workers, {o.change.key: o for o in done})


_NOTHING = Outcome(Change("noop", "", "", None, ""), ok=True)


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
                failed = [
                    results[n].change for n in change.needs if not results.get(n, _NOTHING).ok
                ]
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
    target: str, hosts: Sequence[Versioned], models: Sequence[str], reporter: Reporter
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
