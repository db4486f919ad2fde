"""export and import: Open WebUI JSON (every version) and Ollama Modelfiles."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from modelops.cli.common import (
    lock_timeout,
    open_registry,
    output_option,
    registry_option,
    rev_option,
)
from modelops.cli.output import emit_json, say
from modelops.errors import Exit, NotFoundError, UsageError
from modelops.spec.avatar import AVATAR_MAX_BYTES


@click.command()
@click.argument("model_ids", nargs=-1, metavar="[ID]...")
@click.option(
    "--output",
    "-o",
    "target",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Write to FILE instead of stdout.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["openwebui", "modelfile"]),
    default="openwebui",
    show_default=True,
    help="Open WebUI's JSON array, or an Ollama Modelfile (one model).",
)
@click.option(
    "--community",
    "community",
    metavar="ID",
    help="The payload Open WebUI posts when sharing ID to the community site.",
)
@click.option("--pretty", is_flag=True, help="Indent the JSON (Open WebUI writes it compact).")
@registry_option
@rev_option
def export(
    model_ids: tuple[str, ...],
    target: str | None,
    fmt: str,
    community: str | None,
    pretty: bool,
    registry_dir: str | None,
    rev: str | None,
) -> int:
    """Write models as Open WebUI 0.12 exports them (all, or the IDs given)."""
    from modelops.exchange import modelfile
    from modelops.exchange.openwebui_export import (
        COMMUNITY_URL,
        community_payload,
        dumps,
        export_records,
    )

    registry = open_registry(registry_dir)
    snapshot = registry.load(rev).require_valid()
    if fmt == "modelfile":
        if len(model_ids) != 1 or community:
            raise UsageError("--format modelfile writes one model: give exactly one ID")
        model = snapshot.get(model_ids[0])
        _write(modelfile.render(model.spec, model.path), target)
        return Exit.OK
    if community and model_ids:
        raise UsageError("--community takes the model's ID itself; give no other IDs")
    wanted = [community] if community else list(dict.fromkeys(model_ids)) or sorted(snapshot.models)
    ids = [snapshot.get(model_id).id for model_id in wanted]
    records = export_records(snapshot, ids, registry.file_times())
    if community:
        _write(dumps(community_payload(records[0]), pretty), target)
        click.echo(
            f"open {COMMUNITY_URL} and share it there; Open WebUI posts this payload to that "
            "page when you press Share",
            err=True,
        )
        return Exit.OK
    _write(dumps(records, pretty), target)
    if target:
        say(f"exported {len(records)} model{'s' if len(records) != 1 else ''} to {target}")
    return Exit.OK


def _write(text: str, target: str | None) -> None:
    if target is None:
        sys.stdout.write(text)
        return
    Path(target).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def _read_source(source: str, limit: int) -> tuple[bytes, str]:
    """The bytes of the file to import (a file, a pipe, or - for stdin), never more than
    `limit`, and the name the commit message gives it."""
    from modelops.registry.files import Unreadable, read_limited, read_stream

    try:
        if source == "-":
            return read_stream(sys.stdin.buffer, limit), "stdin"
        return read_limited(Path(source), limit, streams=True), Path(source).name
    except Unreadable as exc:
        shown = "stdin" if source == "-" else source
        raise NotFoundError(f"{shown} {exc} (give an Open WebUI export or a Modelfile)") from None


def _entry_count(document: object) -> int:
    """How many model files an import of `document` writes, about: its entries (the importer
    decides what each becomes; a guess that is off only costs a file created for nothing)."""
    from modelops.exchange import openwebui_shapes as shapes

    try:
        return len(shapes.entries(document))
    except shapes.EntryError:  # the importer says what is wrong with the file
        return 0


def _id_map(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        old, sep, new = pair.rpartition("=")
        if not sep or not old or not new:
            raise UsageError(f"--map-id takes OLD=NEW, got '{pair}'")
        out[old] = new
    return out


@click.command("import")
@click.argument("source", metavar="FILE")
@click.option(
    "--on-conflict",
    type=click.Choice(["skip", "overwrite", "fail"]),
    default="skip",
    show_default=True,
    help="What to do with a model that is already in the registry.",
)
@click.option("--dry-run", is_flag=True, help="Report what would happen; write nothing.")
@click.option(
    "--map-id",
    "map_ids",
    multiple=True,
    metavar="OLD=NEW",
    help="Import the model with id OLD as NEW (repeatable).",
)
@click.option("--id", "modelfile_id", metavar="ID", help="The id of the model a Modelfile defines.")
@click.option(
    "--avatar-limit",
    type=click.IntRange(1, AVATAR_MAX_BYTES // 1024),
    default=AVATAR_MAX_BYTES // 1024,
    show_default=True,
    metavar="KIB",
    help="Largest avatar accepted.",
)
@click.option(
    "--drop-bad-avatars",
    is_flag=True,
    help="Import a model whose avatar is refused, without the avatar.",
)
@registry_option
@output_option("json")
def import_(
    source: str,
    on_conflict: str,
    dry_run: bool,
    map_ids: tuple[str, ...],
    modelfile_id: str | None,
    avatar_limit: int,
    drop_bad_avatars: bool,
    registry_dir: str | None,
    output: str,
) -> int:
    """Import Open WebUI model JSON (any version; a file, or - for stdin) or a Modelfile.
    One commit for the whole import."""
    from modelops.exchange import source as documents
    from modelops.registry.transaction import Changeset

    id_map = _id_map(map_ids)
    raw, name = _read_source(source, documents.MAX_FILE_BYTES)
    registry = open_registry(registry_dir)
    document = documents.read_document(raw, source, modelfile_id)
    expect = 0 if dry_run else _entry_count(document)  # created while the importer loads
    with registry.transaction(lock_timeout(), expect) as tx:
        from modelops.exchange import importer

        options = importer.Options(
            on_conflict=importer.CONFLICTS[on_conflict],
            id_map=id_map,
            modelfile_id=modelfile_id,
            avatar_limit=avatar_limit * 1024,
            drop_bad_avatars=drop_bad_avatars,
        )
        prepare = None if dry_run else tx.prepare
        result = importer.plan_import(tx.snapshot.require_valid(), document, name, options, prepare)
        change = Changeset(
            op="import",
            summary=result.summary,
            writes=result.writes,
            models=result.models,
            details=result.details,
            trailers=(("Modelops-Source", name),),
        )
        sha = None if dry_run or not change.writes else tx.commit(change)
    lines = result.lines
    if output == "json":
        emit_json({"commit": sha, "dry_run": dry_run, "entries": [ln.as_json() for ln in lines]})
    else:
        if change.details:  # the report, as the commit message holds it, in one write
            say("\n".join(change.details))
        counts = {
            s: sum(1 for ln in lines if ln.status == s)
            for s in ("imported", "updated", "unchanged", "skipped")
        }
        summary = ", ".join(f"{n} {s}" for s, n in counts.items())
        if dry_run:
            say(f"dry run: {summary}; nothing written")
        elif sha:
            say(f"committed {sha[:10]}: {change.summary} ({summary})")
        else:
            say(f"nothing to commit ({summary})")
    return Exit.FAILURE if any(ln.error for ln in lines) else Exit.OK
