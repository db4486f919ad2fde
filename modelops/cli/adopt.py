"""adopt: write what people changed in an Open WebUI target back into the registry."""

from __future__ import annotations

import os

import click

from modelops.cli.common import lock_timeout, open_registry, output_option, registry_option
from modelops.cli.output import emit_json, note
from modelops.errors import Exit


@click.command()
@click.argument("target_name", metavar="TARGET")
@click.argument("model_ids", nargs=-1, metavar="[ID]...")
@click.option(
    "--include-unmanaged",
    is_flag=True,
    help="Also adopt models made in Open WebUI (not by modelops) as new model files.",
)
@click.option("--dry-run", is_flag=True, help="Show the commits it would make; write nothing.")
@registry_option
@output_option("json")
def adopt(
    target_name: str,
    model_ids: tuple[str, ...],
    include_unmanaged: bool,
    dry_run: bool,
    registry_dir: str | None,
    output: str,
) -> int:
    """Write what people changed in Open WebUI back into the registry, one commit per model.

    A model changed both in the registry and in Open WebUI since it was last applied is a
    conflict: both sides are shown, nothing is written for it, and the exit code is 1.
    """
    from modelops.reconcile import adopt as adopting

    registry = open_registry(registry_dir)
    request = adopting.Request(
        target_name,
        tuple(dict.fromkeys(model_ids)),
        include_unmanaged,
        dry_run,
        dict(os.environ),
        lock_timeout(),
    )
    report = adopting.adopt(registry, request)
    for line in report.notes:
        note(line)
    if output == "json":
        emit_json(adopting.as_json(report))
    else:
        click.echo(adopting.text(report), nl=False)
    return Exit.FAILURE if report.failed else Exit.OK
