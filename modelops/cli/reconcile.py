"""plan, apply (alias reconcile), status and pull: the registry against Ollama hosts."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from modelops.cli.common import F, open_registry, output_option, registry_option, rev_option
from modelops.cli.render import emit_json, say, table
from modelops.errors import Exit

if TYPE_CHECKING:  # the ollama client costs ~300 ms to import: only these commands pay for it
    from modelops.desired import Desired
    from modelops.plan import Plan
    from modelops.reconcile import Observed, Target
    from modelops.record import Records
    from modelops.targets.ollama import OllamaHost

detailed_option = click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when in sync, 2 when changes are pending, 1 on errors.",
)
parallelism_option = click.option(
    "--parallelism",
    "-p",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Models created at once on each host.",
)
host_option = click.option(
    "--host",
    "hosts",
    multiple=True,
    metavar="URL",
    help="Reconcile this Ollama server instead of the target's hosts (repeatable).",
)
prune_option = click.option(
    "--prune", is_flag=True, help="Delete owned models that are no longer in the registry."
)


def target_options(command: F) -> F:
    """The options plan and apply share."""
    for option in reversed(
        (
            click.argument("target_name", metavar="[TARGET]", required=False),
            registry_option,
            rev_option,
            host_option,
            prune_option,
            parallelism_option,
            output_option("json", "markdown"),
        )
    ):
        command = option(command)
    return command


@dataclass
class Session:
    """Everything a reconcile command works with, built once from the flags."""

    plan: Plan
    observed: dict[str, Observed]
    desired: dict[str, Desired]
    hosts: list[OllamaHost]
    records: Records
    record_path: Path


@contextlib.contextmanager
def _session(
    registry_dir: str | None,
    rev: str | None,
    target_name: str | None,
    hosts: tuple[str, ...],
    prune: bool,
    workers: int,
) -> Iterator[Session]:
    from modelops import reconcile, record
    from modelops.desired import clashes, desired_models
    from modelops.errors import ModelopsError
    from modelops.snapshot import MODELS_DIR

    registry = open_registry(registry_dir)
    snapshot = registry.load(rev).require_valid()
    target, timeout, retries = reconcile.resolve_target(
        snapshot.config, target_name, os.environ.get("OLLAMA_HOST"), hosts, prune
    )
    desired = desired_models(snapshot.specs(), target.namespace)
    problems = clashes(desired)
    if problems:
        raise ModelopsError("; ".join(problems))
    folder = f"{registry.prefix}/{MODELS_DIR}" if registry.prefix else MODELS_DIR
    ever = {n.removesuffix(".yaml") for n in registry.repo.names_in_history(folder)}
    owned = reconcile.owner(target.namespace, ever | set(desired))
    record_path = registry.repo.git_dir / "modelops" / record.FILE
    records = record.load(record_path)
    clients = _clients(target, timeout, retries)
    try:
        the_plan, observed = reconcile.plan(target, desired, clients, records, owned, workers)
        yield Session(the_plan, observed, desired, clients, records, record_path)
    finally:
        _close(clients)


def _clients(target: Target, timeout: float, retries: int) -> list[OllamaHost]:
    from modelops.targets.ollama import OllamaHost, Retry

    return [OllamaHost(h, timeout=timeout, retry=Retry(attempts=retries)) for h in target.hosts]


def _close(clients: list[OllamaHost]) -> None:
    for client in clients:
        client.close()


def _print_plan(the_plan: Plan, output: str) -> None:
    from modelops import plan_render

    if output == "json":
        emit_json(plan_render.as_json(the_plan))
    elif output == "markdown":
        click.echo(plan_render.markdown(the_plan), nl=False)
    elif len(the_plan.errors) < len(the_plan.hosts):
        click.echo(plan_render.text(the_plan), nl=False)


def _unreachable(the_plan: Plan) -> None:
    for warning in the_plan.warnings:
        click.echo(f"warning: {warning}", err=True)
    for error in the_plan.errors:
        click.echo(f"error: {error}", err=True)


@click.command()
@target_options
@detailed_option
def plan(
    target_name: str | None,
    registry_dir: str | None,
    rev: str | None,
    hosts: tuple[str, ...],
    prune: bool,
    parallelism: int,
    output: str,
    detailed_exitcode: bool,
) -> int:
    """Show what apply would change on the target's Ollama hosts. Changes nothing."""
    with _session(registry_dir, rev, target_name, hosts, prune, parallelism) as s:
        _print_plan(s.plan, output)
    _unreachable(s.plan)
    if s.plan.errors:
        return Exit.FAILURE
    if detailed_exitcode and s.plan.pending:
        return Exit.PENDING
    return Exit.OK


def _reporter(show_host: bool) -> Any:
    from modelops.cli.progress import PlainReporter, RichReporter

    if sys.stderr.isatty():
        return RichReporter(sys.stderr, show_host)
    return contextlib.nullcontext(PlainReporter(sys.stderr, show_host))


@click.command()
@target_options
def apply(
    target_name: str | None,
    registry_dir: str | None,
    rev: str | None,
    hosts: tuple[str, ...],
    prune: bool,
    parallelism: int,
    output: str,
) -> int:
    """Make the target's Ollama hosts match the registry: pull missing bases, then create and
    update models; delete owned models no longer defined only with --prune."""
    from modelops import plan_render, reconcile, record

    with _session(registry_dir, rev, target_name, hosts, prune, parallelism) as s:
        if output == "text":
            _print_plan(s.plan, output)
        outcomes: list[Any] = []
        if s.plan.pending:
            with _reporter(len(s.hosts) > 1) as reporter:
                outcomes = reconcile.apply(s.plan, s.hosts, reporter, parallelism)
        records = reconcile.new_records(s.plan, s.desired, s.hosts, s.records, outcomes, s.observed)
        record.save(s.record_path, records)
    if output == "json":
        emit_json(plan_render.as_json(s.plan, outcomes))
    elif output == "markdown":
        click.echo(plan_render.markdown(s.plan), nl=False)
        click.echo("\n" + plan_render.report(s.plan, outcomes), nl=False)
    elif outcomes:
        click.echo(plan_render.report(s.plan, outcomes), nl=False)
    elif not s.plan.errors:
        say("Nothing to do: every model is in sync.")
    _unreachable(s.plan)
    failed = s.plan.errors or any(not o.ok for o in outcomes)
    return Exit.FAILURE if failed else Exit.OK


reconcile_alias = click.Command(
    "reconcile",
    callback=apply.callback,
    params=apply.params,
    help="The same as apply.",
)


@click.command()
@click.argument("target_name", metavar="[TARGET]", required=False)
@registry_option
@rev_option
@host_option
@parallelism_option
@output_option("json")
def status(
    target_name: str | None,
    registry_dir: str | None,
    rev: str | None,
    hosts: tuple[str, ...],
    parallelism: int,
    output: str,
) -> int:
    """Each model on each host: in sync, drifted or missing."""
    with _session(registry_dir, rev, target_name, hosts, False, parallelism) as s:
        rows = []
        for host_plan in s.plan.hosts:
            for change in host_plan.changes:
                if change.model is None:
                    continue
                state = {"noop": "in sync", "create": "missing"}.get(change.action, "drifted")
                detail = "" if change.action == "noop" else change.reason
                fields = ", ".join(f.field for f in change.fields)
                rows.append(
                    [
                        change.model,
                        host_plan.host,
                        state,
                        detail + (f": {fields}" if fields else ""),
                    ]
                )
    if output == "json":
        emit_json(
            [{"model": r[0], "host": r[1], "status": r[2], "detail": r[3]} for r in rows]
            + [{"host": h.host, "error": h.error} for h in s.plan.hosts if h.error]
        )
    else:
        table(["MODEL", "HOST", "STATUS", "DETAIL"], rows)
    _unreachable(s.plan)
    return Exit.FAILURE if s.plan.errors else Exit.OK


@click.command()
@click.argument("models", nargs=-1, required=True, metavar="NAME...")
@click.option("--target", "target_name", metavar="TARGET", help="Pull onto this target's hosts.")
@registry_option
@host_option
def pull(
    models: tuple[str, ...],
    target_name: str | None,
    registry_dir: str | None,
    hosts: tuple[str, ...],
) -> int:
    """Pull Ollama models (e.g. llama3.2:latest or hf.co/<user>/<repo>:<quant>) onto the hosts
    of a target, with progress and retries."""
    from modelops import reconcile
    from modelops.snapshot import WorkTree
    from modelops.snapshot import load as load_snapshot

    config = None
    if registry_dir or not hosts:
        registry = open_registry(registry_dir)
        config = load_snapshot(WorkTree(registry.root, registry.display)).config
    target, timeout, retries = reconcile.resolve_target(
        config, target_name, os.environ.get("OLLAMA_HOST"), hosts, False
    )
    clients = _clients(target, timeout, retries)
    try:
        with _reporter(len(clients) > 1) as reporter:
            the_plan, outcomes = reconcile.pull_models(target.name, clients, models, reporter)
    finally:
        _close(clients)
    _unreachable(the_plan)
    failed = the_plan.errors or any(not o.ok for o in outcomes)
    return Exit.FAILURE if failed else Exit.OK


COMMANDS = [plan, apply, reconcile_alias, status, pull]
