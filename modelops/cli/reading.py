"""Commands that only read: validate, list, show, history, schema."""

from __future__ import annotations

from collections.abc import Callable

import click

from modelops.cli.common import (
    lock_timeout,
    open_registry,
    output_option,
    registry_option,
    rev_option,
)
from modelops.cli.output import emit_json, say, table
from modelops.errors import Exit, ModelopsError, Problem, SpecError, UsageError
from modelops.registry.model_file import Model
from modelops.registry.store import Registry


def _problem_json(p: Problem) -> dict[str, object]:
    return {"path": p.path, "line": p.line, "column": p.col, "key": p.key, "message": p.message}


def _history_ids(registry: Registry) -> Callable[[], set[str]]:
    def ids() -> set[str]:
        try:
            return registry.ids_in_history()
        except ModelopsError:
            return set()  # no git history to ask

    return ids


@click.command()
@registry_option
@rev_option
@output_option("json")
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1).")
def validate(registry_dir: str | None, rev: str | None, output: str, strict: bool) -> int:
    """Check every model file and modelops.yaml; report every problem at once.

    Also checks the conversation files, and warns about what works but is probably a mistake:
    a base that is no registry model and has no tag, two models with one display name, an
    avatar far larger than Open WebUI shows or that no model uses, a conversation naming a
    model that is not in the registry.
    """
    from modelops.registry.checked import Checked
    from modelops.spec import lint

    registry = open_registry(registry_dir)
    snapshot = registry.load(rev)
    placed = {mid: m.placed for mid, m in snapshot.models.items()}
    checked = Checked(snapshot)  # what the checks found in each file, remembered by content
    errors, warnings = lint.check(
        placed, snapshot.source, _history_ids(registry), checked.mentions, checked.size
    )
    problems = sorted(snapshot.problems + errors + (warnings if strict else []))
    warnings = [] if strict else warnings
    if output == "json":
        emit_json(
            {
                "valid": not problems,
                "models": len(snapshot.models),
                "problems": [_problem_json(p) for p in problems],
                "warnings": [_problem_json(p) for p in warnings],
            }
        )
        return Exit.FAILURE if problems else Exit.OK
    for found in warnings:
        click.echo(str(lint.warning(found)), err=True)
    if problems:
        raise SpecError(problems)
    if rev is None:
        for name in snapshot.outdated_schemas():
            click.echo(f"warning: {name} is out of date (run 'modelops schema --write')", err=True)
    count = len(snapshot.models)
    tail = f" ({len(warnings)} warning{'s' if len(warnings) != 1 else ''})" if warnings else ""
    say(f"ok: {count} model{'s' if count != 1 else ''} valid{tail}")
    return Exit.OK


def _status(model: Model) -> str:
    s = model.spec
    flags = []
    if s.hidden:
        flags.append("hidden")
    if s.active is False:
        flags.append("inactive")
    if s.access and s.access.public:
        flags.append("public")
    return ",".join(flags) or "-"


@click.command("list")
@registry_option
@rev_option
@output_option("json")
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="TAG",
    help="Only models with this tag (repeatable: all must match).",
)
@click.option(
    "--hidden/--visible", "hidden", default=None, help="Only hidden, or only visible, models."
)
def list_(
    registry_dir: str | None,
    rev: str | None,
    output: str,
    tags: tuple[str, ...],
    hidden: bool | None,
) -> int:
    """List the models in the registry."""
    snapshot = open_registry(registry_dir).load(rev).require_valid()
    models = [
        m
        for _, m in sorted(snapshot.models.items())
        if all(t in (m.spec.tags or []) for t in tags)
        and (hidden is None or bool(m.spec.hidden) == hidden)
    ]
    if output == "json":
        emit_json([{"path": m.path, **m.spec.to_data()} for m in models])
        return Exit.OK
    rows = [
        [m.id, m.spec.name or "", m.spec.base, ",".join(m.spec.tags or []), _status(m)]
        for m in models
    ]
    table(["ID", "NAME", "BASE", "TAGS", "STATUS"], rows)
    return Exit.OK


@click.command()
@click.argument("model_id", metavar="ID")
@registry_option
@rev_option
@output_option("json")
def show(model_id: str, registry_dir: str | None, rev: str | None, output: str) -> int:
    """Print one model: its file as written, or its fields as JSON."""
    snapshot = open_registry(registry_dir).load(rev).require_valid()
    model = snapshot.get(model_id)
    if output == "json":
        from modelops.spec.inherit import base_chain

        chain = base_chain(snapshot.specs(), model_id)[1:]
        emit_json({"path": model.path, "base_chain": chain, **model.spec.to_data()})
        return Exit.OK
    click.echo((snapshot.read(model.path) or b"").decode("utf-8-sig"), nl=False)
    return Exit.OK


@click.command()
@click.argument("arguments", nargs=-1, metavar="[ID] [REVISIONS]")
@registry_option
@output_option("json")
@click.option("--limit", "-n", type=click.IntRange(min=1), help="Show at most N entries.")
def history(
    arguments: tuple[str, ...], registry_dir: str | None, output: str, limit: int | None
) -> int:
    """The changes made to the registry, or to one model, newest first.

    REVISIONS is a git revision or range such as main..HEAD (default: the history of HEAD);
    a single argument with '..' in it is a range, otherwise a model id.
    """
    if len(arguments) > 2:
        raise UsageError("history takes at most a model id and a revision range")
    model_id, revisions = [*arguments, None, None][:2]
    if revisions is None and model_id is not None and ".." in model_id:
        model_id, revisions = None, model_id
    entries = open_registry(registry_dir).history(model_id, limit, revisions)
    if output == "json":
        emit_json([e.as_json() for e in entries])
        return Exit.OK
    if not entries:
        say("no history yet")
        return Exit.OK
    rows = [
        [e.sha[:10], e.date[:10], e.author, e.op, ",".join(e.models), e.subject] for e in entries
    ]
    table(["COMMIT", "DATE", "AUTHOR", "OP", "MODELS", "SUBJECT"], rows)
    return Exit.OK


@click.command()
@registry_option
@click.option(
    "--kind",
    type=click.Choice(["model", "conversation"]),
    default="model",
    show_default=True,
    help="A model file, or a conversation file.",
)
@click.option("--write", is_flag=True, help="Write both schemas into the registry and commit.")
def schema(registry_dir: str | None, kind: str, write: bool) -> int:
    """Print the JSON Schema of a model (or conversation) file, which editors use to complete
    and check it."""
    from modelops.spec.schema import CONVERSATION_SCHEMA_FILE, MODEL_SCHEMA_FILE, schema_files

    texts = schema_files()
    if not write:
        click.echo(
            texts[MODEL_SCHEMA_FILE if kind == "model" else CONVERSATION_SCHEMA_FILE], nl=False
        )
        return Exit.OK
    from modelops.registry.transaction import Changeset

    registry = open_registry(registry_dir)
    with registry.transaction(lock_timeout()) as tx:
        writes: dict[str, bytes | None] = {name: text.encode() for name, text in texts.items()}
        change = Changeset("schema", "Update the schemas", writes, ())
        sha = tx.commit(change)
    say(f"committed {sha[:10]}: {change.summary}" if sha else "the schemas are up to date")
    return Exit.OK
