"""Carrying out a plan on the hosts of a target, all hosts at once.

On each host: pull every missing base first, then create and update models (parents before
children, independent ones in parallel). One model's failure does not stop the others, and
what depends on it is skipped. Deletes run last, and only when nothing in the whole run
failed.

Ctrl-C (or `stop`, set by a caller such as a daemon on SIGTERM) starts no new change: the
changes already running get `grace` seconds to finish, a second Ctrl-C abandons them at once,
and `Interrupted` carries the outcomes so far. The work runs in daemon threads, so an abandoned
call never keeps the process from exiting.
"""

from __future__ import annotations

import contextlib
import functools
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
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


class Interrupted(KeyboardInterrupt):
    """Apply was interrupted; `outcomes` holds what finished (or was skipped) before it ended."""

    def __init__(self, outcomes: list[Outcome]) -> None:
        super().__init__()
        self.outcomes = outcomes


OnInterrupt = Callable[[int, float], None]  # changes still running, seconds they may take
NOT_STARTED = "not started: interrupted"
ABANDONED = "abandoned: interrupted while it ran (the host may still finish it)"


class _Run:
    """What the threads of one apply share: the stop flag and every outcome so far."""

    def __init__(self, reporter: Reporter, stop: threading.Event) -> None:
        self.reporter = reporter
        self.stop = stop
        self.lock = threading.Lock()
        self.outcomes: list[Outcome] = []
        self.active: dict[str, Change] = {}  # running, by host and key

    @property
    def running(self) -> int:
        return len(self.active)

    def started(self, change: Change) -> None:
        with self.lock:
            self.active[f"{change.host} {change.key}"] = change

    def finished(self, outcome: Outcome) -> None:
        with self.lock:
            self.active.pop(f"{outcome.change.host} {outcome.change.key}", None)
            self.outcomes.append(outcome)
        self.reporter.finished(outcome)

    def so_far(self) -> list[Outcome]:
        """Every outcome, and the changes still running as abandoned."""
        with self.lock:
            gone = [Outcome(c, False, ABANDONED) for c in self.active.values()]
            return [*self.outcomes, *gone]


def apply(
    the_plan: Plan,
    hosts: Sequence[Target],
    reporter: Reporter,
    workers: int,
    *,
    grace: float = 30.0,
    stop: threading.Event | None = None,
    on_interrupt: OnInterrupt | None = None,
) -> list[Outcome]:
    """Run the plan. Returns one outcome per change that was attempted or skipped; raises
    Interrupted on Ctrl-C, or when `stop` is set, once running changes end (or are abandoned)."""
    run = _Run(reporter, stop or threading.Event())
    result: list[list[Outcome]] = []
    failure: list[BaseException] = []
    ended = threading.Event()  # not Thread.join: after a Ctrl-C, join may return too early

    def drive() -> None:
        try:
            result.append(_apply(the_plan, hosts, run, workers))
        except BaseException as exc:  # handed to the waiting thread, which raises it
            failure.append(exc)
        finally:
            ended.set()

    driver = threading.Thread(target=drive, name="modelops-apply", daemon=True)
    try:  # from before the start: a Ctrl-C at any moment takes the way below
        driver.start()
        ended.wait()
    except KeyboardInterrupt:
        run.stop.set()
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C abandons what runs
            if on_interrupt is not None:
                on_interrupt(run.running, grace)
            if driver.ident is not None:  # it started: what runs may finish, within the
                ended.wait(grace)  # target's timeout
    if failure:
        raise failure[0]
    if run.stop.is_set():
        outcomes = run.so_far()
        seen = {(o.change.host, o.change.key) for o in outcomes}
        rest = [
            Outcome(c, False, NOT_STARTED, skipped=True)
            for c in the_plan.changes
            if c.action != "noop" and c.enabled and (c.host, c.key) not in seen
        ]
        raise Interrupted(outcomes + rest)
    return result[0]


def _apply(the_plan: Plan, hosts: Sequence[Target], run: _Run, workers: int) -> list[Outcome]:
    by_url = {h.url: h for h in hosts}
    runnable = [hp for hp in the_plan.hosts if hp.error is None]
    per_host = _parallel(
        [functools.partial(_apply_host, hp, by_url[hp.host], run, workers) for hp in runnable]
    )
    outcomes = [o for host_outcomes in per_host for o in host_outcomes]
    deletes = [c for c in the_plan.changes if c.action == "delete" and c.enabled]
    if not deletes:
        return outcomes
    if the_plan.errors or any(not o.ok for o in outcomes) or run.stop.is_set():
        why = NOT_STARTED if run.stop.is_set() else "this run had errors"
        skipped = [Outcome(c, False, why, skipped=True) for c in deletes]
        for outcome in skipped:
            run.finished(outcome)
        return outcomes + skipped
    return outcomes + _run(
        deletes, lambda c: _execute(by_url[c.host], c, run.reporter), run, workers
    )


def _parallel(jobs: Sequence[Callable[[], list[Outcome]]]) -> list[list[Outcome]]:
    """Run each job in a daemon thread of its own; their results in order, or the first error."""
    results: list[list[Outcome] | BaseException] = [[] for _ in jobs]

    def call(i: int, job: Callable[[], list[Outcome]]) -> None:
        try:
            results[i] = job()
        except BaseException as exc:  # re-raised below, in the caller's thread
            results[i] = exc

    threads = [
        threading.Thread(target=call, args=(i, job), daemon=True) for i, job in enumerate(jobs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out = []
    for item in results:
        if isinstance(item, BaseException):
            raise item
        out.append(item)
    return out


def _execute(host: Target, change: Change, reporter: Reporter) -> None:
    host.execute(change, lambda line: reporter.progress(host.url, change.name, line))


def _apply_host(host_plan: HostPlan, host: Target, run: _Run, workers: int) -> list[Outcome]:
    changes = [c for c in host_plan.changes if c.action in ("pull", "create", "update")]
    pulls = [c for c in changes if c.action == "pull"]
    models = [c for c in changes if c.action != "pull"]

    def create(change: Change) -> None:
        host.execute(change, lambda line: None)  # layer lines of a create say nothing useful

    done = _run(pulls, lambda c: _execute(host, c, run.reporter), run, workers)
    return done + _run(models, create, run, workers, {o.change.key: o for o in done})


_NOTHING = Outcome(Change("noop", "", "", None, ""), ok=True)


def _run(
    changes: Sequence[Change],
    work: Callable[[Change], None],
    run: _Run,
    workers: int,
    earlier: Mapping[str, Outcome] | None = None,
) -> list[Outcome]:
    """Run changes, at most `workers` at once, each once everything it needs has succeeded;
    none is started once the run is told to stop."""
    results: dict[str, Outcome] = dict(earlier or {})
    waiting = list(changes)
    running: set[str] = set()
    ended: queue.SimpleQueue[tuple[Change, BaseException | None]] = queue.SimpleQueue()
    outcomes: list[Outcome] = []

    def finish(outcome: Outcome) -> None:
        results[outcome.change.key] = outcome
        outcomes.append(outcome)
        run.finished(outcome)

    def call(change: Change) -> None:
        try:
            work(change)
        except BaseException as exc:  # reported (or re-raised) by the loop below
            ended.put((change, exc))
        else:
            ended.put((change, None))

    while waiting or running:
        for change in list(waiting):
            if run.stop.is_set() or len(running) >= max(1, workers):
                break
            failed = [results[n].change for n in change.needs if not results.get(n, _NOTHING).ok]
            if failed:
                waiting.remove(change)
                why = f"{failed[0].action} of {failed[0].name} failed"
                finish(Outcome(change, False, why, skipped=True))
            elif all(n in results for n in change.needs):
                waiting.remove(change)
                running.add(change.key)
                run.started(change)
                threading.Thread(target=call, args=(change,), daemon=True).start()
        if not running:
            why = NOT_STARTED if run.stop.is_set() else "a change it needs never ran"
            for change in waiting:  # needs that never come (a bug), or a stop: never hang
                finish(Outcome(change, False, why, skipped=True))
            break
        change, error = ended.get()
        running.discard(change.key)
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
