"""plan, apply (alias reconcile), status and pull: the registry against Ollama hosts."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

import click

from modelops.cli import applying
from modelops.cli.common import (
    F,
    open_registry,
    output_option,
    registry_option,
    rev_option,
    work_tree_option,
)
from modelops.cli.output import emit_json, say, table
from modelops.errors import Exit
from modelops.reconcile import guard, record, render, session
from modelops.reconcile.plan import Plan
from modelops.reconcile.session import Selection
from modelops.registry.store import Registry

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
            work_tree_option,
            host_option,
            prune_option,
            parallelism_option,
            output_option("json", "markdown"),
        )
    ):
        command = option(command)
    return command


def _selection(
    target_name: str | None,
    hosts: tuple[str, ...],
    prune: bool,
    rev: str | None = None,
    workers: int = 4,
    work_tree: bool = False,
    force: bool = False,
) -> Selection:
    env_host = os.environ.get("OLLAMA_HOST")
    return Selection(
        target_name,
        hosts,
        prune,
        rev,
        workers,
        env_host,
        work_tree=work_tree,
        environ=dict(os.environ),
        force=force,
    )


def _said(s: session.Session) -> None:
    """What is deployed and what is not, on stderr (stdout holds the plan)."""
    for line in s.warnings:
        click.echo(f"warning: {line}", err=True)
    for line in s.notes:
        click.echo(f"note: {line}", err=True)


def _print_plan(the_plan: Plan, output: str) -> None:
    if output == "json":
        emit_json(render.as_json(the_plan))
    elif output == "markdown":
        click.echo(render.markdown(the_plan), nl=False)
    elif len(the_plan.errors) < len(the_plan.hosts):
        click.echo(render.text(the_plan), nl=False)


def _unreachable(the_plan: Plan) -> None:
    for warning in the_plan.warnings:
        click.echo(f"warning: {warning}", err=True)
    for error in the_plan.errors:
        click.echo(f"error: {error}", err=True)


@click.command()
@target_options
@detailed_option
@applying.target_option
@applying.model_option
@click.option(
    "--out",
    "out_path",
    metavar="FILE",
    help="Also save the plan to FILE, for 'apply FILE' to carry out exactly.",
)
def plan(
    target_name: str | None,
    registry_dir: str | None,
    rev: str | None,
    work_tree: bool,
    hosts: tuple[str, ...],
    prune: bool,
    parallelism: int,
    output: str,
    detailed_exitcode: bool,
    target_flag: str | None,
    models: tuple[str, ...],
    out_path: str | None,
) -> int:
    """Show what apply would change on the target. Changes nothing."""
    registry = open_registry(registry_dir)
    target_name = applying.one_target(target_name, target_flag)
    selection = _selection(target_name, hosts, prune, rev, parallelism, work_tree)
    with session.session(registry, selection) as s:
        _said(s)
        applying.narrow(s, models)
        if out_path:
            from modelops.reconcile import saved

            applying.write_plan(out_path, saved.to_save(s))
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
@applying.target_option
@applying.model_option
@applying.max_deletes_option
@applying.force_option
@applying.yes_option
def apply(
    target_name: str | None,
    registry_dir: str | None,
    rev: str | None,
    work_tree: bool,
    hosts: tuple[str, ...],
    prune: bool,
    parallelism: int,
    output: str,
    target_flag: str | None,
    models: tuple[str, ...],
    max_deletes: int,
    force: bool,
    yes: bool,
) -> int:
    """Make the target match the registry: pull missing bases, then create and
    update models; delete owned models no longer defined only with --prune.

    With a FILE that 'plan --out' saved instead of a TARGET, apply exactly that plan, and
    refuse it if the registry or a host changed since. On a terminal, asks first (--yes
    does not).
    """
    registry = open_registry(registry_dir)
    if applying.is_plan_file(target_name):
        given = {
            "--target": target_flag,
            "--rev": rev,
            "--work-tree": work_tree,
            "--host": hosts,
            "--prune": prune,
        }
        applying.refuse_with_saved_plan(given)
        return _apply_saved(
            registry, str(target_name), models, max_deletes, force, yes, parallelism, output
        )
    target_name = applying.one_target(target_name, target_flag)
    selection = _selection(target_name, hosts, prune, rev, parallelism, work_tree, force)
    with session.session(registry, selection) as s:
        _said(s)
        return _carry_out(s, models, max_deletes, force, yes, parallelism, output)


def _apply_saved(
    registry: Registry,
    path: str,
    models: tuple[str, ...],
    max_deletes: int,
    force: bool,
    yes: bool,
    parallelism: int,
    output: str,
) -> int:
    from modelops.reconcile import saved

    plan = applying.read_plan(path, registry)
    with saved.checked(registry, plan, path, dict(os.environ)) as s:
        return _carry_out(s, models, max_deletes, force, yes, parallelism, output)


def _carry_out(
    s: session.Session,
    models: tuple[str, ...],
    max_deletes: int,
    force: bool,
    yes: bool,
    parallelism: int,
    output: str,
) -> int:
    """Narrow, check, show, ask, apply, report."""
    from modelops.reconcile.apply import Interrupted

    applying.narrow(s, models)
    guard.check_deletes(s.plan, max_deletes, force)
    if output == "text":
        _print_plan(s.plan, output)
    applying.confirm(s.plan, yes)
    interrupted: Interrupted | None = None
    with _reporter(len(s.hosts) > 1) as reporter:
        try:
            outcomes = session.apply(s, reporter, parallelism, on_interrupt=_stopping)
        except Interrupted as exc:  # report what was done, then exit 130
            outcomes, interrupted = exc.outcomes, exc
    if output == "json":
        emit_json(render.as_json(s.plan, outcomes))
    elif output == "markdown":
        click.echo(render.markdown(s.plan), nl=False)
        click.echo("\n" + render.report(s.plan, outcomes), nl=False)
    elif outcomes:
        click.echo(render.report(s.plan, outcomes), nl=False)
    elif not s.plan.errors and interrupted is None:
        say("Nothing to do: every model is in sync.")
    _unreachable(s.plan)
    if interrupted is not None:
        raise interrupted
    failed = s.plan.errors or any(not o.ok for o in outcomes)
    return Exit.FAILURE if failed else Exit.OK


def _stopping(running: int, grace: float) -> None:
    click.echo(
        f"interrupted: starting nothing new; waiting up to {grace:g} s for {running} running "
        "change(s) to finish (Ctrl-C again to stop at once)",
        err=True,
    )


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
@work_tree_option
@host_option
@parallelism_option
@output_option("json")
@applying.target_option
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when every model is in sync, 2 when some drifted or are missing, 1 on errors.",
)
def status(
    target_name: str | None,
    registry_dir: str | None,
    rev: str | None,
    work_tree: bool,
    hosts: tuple[str, ...],
    parallelism: int,
    output: str,
    target_flag: str | None,
    detailed_exitcode: bool,
) -> int:
    """Each model on each host: in sync, drifted or missing."""
    target_name = applying.one_target(target_name, target_flag)
    registry = open_registry(registry_dir)
    selection = _selection(target_name, hosts, False, rev, parallelism, work_tree)
    with session.session(registry, selection) as s:
        _said(s)
        rows = render.status_rows(s.plan)
        applied = record.load_applied(registry.state_file(record.FILE))
    deployed = [
        {"host": h.host, "applied": vars(applied[h.host]) if h.host in applied else None}
        for h in s.plan.hosts
        if not h.error
    ]
    if output == "json":
        emit_json(
            [{"model": r[0], "host": r[1], "status": r[2], "detail": r[3]} for r in rows]
            + [{"host": h.host, "error": h.error} for h in s.plan.hosts if h.error]
            + deployed
        )
    else:
        table(["MODEL", "HOST", "STATUS", "DETAIL"], rows)
        for host_plan in s.plan.hosts:
            if host_plan.error:
                continue
            host = host_plan.host
            if host_plan.product == "Ollama":
                say(render.applied_line(host, applied.get(host), s.source.commit))
            else:
                say(render.marked_line(host, host_plan.applied, s.source.commit))
    _unreachable(s.plan)
    if s.plan.errors:
        return Exit.FAILURE
    return Exit.PENDING if detailed_exitcode and s.plan.pending else Exit.OK


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
    config = None
    if registry_dir or not hosts:
        config = open_registry(registry_dir).load().config
    target = session.resolve_target(config, _selection(target_name, hosts, False))
    with _reporter(len(target.hosts) > 1) as reporter:
        the_plan, outcomes = session.pull(target, models, reporter)
    _unreachable(the_plan)
    failed = the_plan.errors or any(not o.ok for o in outcomes)
    return Exit.FAILURE if failed else Exit.OK
