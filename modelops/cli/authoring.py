"""Commands that change the registry; each makes exactly one commit."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from modelops.cli.common import lock_timeout, open_registry, registry_option
from modelops.cli.output import note, say
from modelops.errors import Exit, ModelopsError, NotFoundError, Problem, UsageError
from modelops.registry import authoring
from modelops.registry.edit import Choice
from modelops.registry.snapshot import Snapshot
from modelops.registry.store import Registry
from modelops.registry.store import init as init_registry
from modelops.registry.transaction import Changeset
from modelops.spec.avatar import AVATAR_MAX_BYTES, ImageError


def _apply(registry: Registry, make: Callable[[Snapshot], Changeset], unchanged: str) -> int:
    """Run one operation in a transaction and report its commit."""
    with registry.transaction(lock_timeout()) as tx:
        _notes(tx.notes)
        change = make(tx.snapshot.require_valid())
        sha = tx.commit(change)
    say(f"committed {sha[:10]}: {change.summary}" if sha else unchanged)
    return Exit.OK


def _notes(lines: list[str]) -> None:
    for line in lines:
        note(line)
    lines.clear()


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
def init(directory: str) -> int:
    """Make DIRECTORY a registry (git init too, if it is not in a repository)."""
    _, sha = init_registry(Path(directory), Path.cwd())
    say(f"initialised a modelops registry in {directory} (commit {sha[:10]})")
    return Exit.OK


@click.command()
@click.argument("model_id", metavar="ID")
@click.option(
    "--base", required=True, help="An Ollama model (e.g. llama3.2:latest) or a registry id."
)
@click.option("--name", help="Display name.")
@click.option("--description", help="One-line description.")
@click.option("--system", help="System prompt.")
@click.option(
    "--system-file",
    type=click.File("r", encoding="utf-8"),
    help="Read the system prompt from a file.",
)
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable).")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="An Ollama parameter (repeatable).",
)
@click.option("--hidden", is_flag=True, help="Hide it from the model selector.")
@registry_option
def create(
    model_id: str,
    base: str,
    name: str | None,
    description: str | None,
    system: str | None,
    system_file: Any,
    tags: tuple[str, ...],
    params: tuple[str, ...],
    hidden: bool,
    registry_dir: str | None,
) -> int:
    """Create model ID from a base model."""
    if system is not None and system_file is not None:
        raise UsageError("give --system or --system-file, not both")
    fields: dict[str, Any] = {
        "name": name,
        "description": description,
        "system": system if system_file is None else system_file.read(),
        "tags": list(tags) or None,
        "hidden": True if hidden else None,
    }
    parameters = {}
    for text in params:
        loc, value = authoring.parse_assignment(f"parameters.{text}")
        parameters[str(loc[1])] = value
    fields["parameters"] = parameters or None
    fields = {k: v for k, v in fields.items() if v is not None}
    return _apply(
        open_registry(registry_dir),
        lambda s: authoring.create(s, model_id, base, fields),
        f"{model_id} already exists",
    )


@click.command("set")
@click.argument("model_id", metavar="ID")
@click.argument("assignments", nargs=-1, metavar="KEY=VALUE...")
@click.option("--unset", "unset", multiple=True, metavar="KEY", help="Remove a key (repeatable).")
@registry_option
def set_(
    model_id: str, assignments: tuple[str, ...], unset: tuple[str, ...], registry_dir: str | None
) -> int:
    """Set fields of model ID, e.g. parameters.temperature=0.3 or tags=[a,b].

    avatar=PATH takes an image file from anywhere and commits it into avatars/ with the model;
    avatar=https://... links an image instead.
    """
    pairs = [authoring.parse_assignment(a) for a in assignments]
    keys = [authoring.parse_key(k) for k in unset]
    registry = open_registry(registry_dir)
    avatar = None
    for i, (loc, value) in enumerate(pairs):
        if loc == ("avatar",) and isinstance(value, str) and ":" not in value:
            avatar = _avatar(registry, model_id, value)
            pairs[i] = (loc, avatar[0])
    return _apply(
        registry,
        lambda s: authoring.set_fields(s, model_id, pairs, keys, avatar),
        f"nothing changed: {model_id} already has these values",
    )


def _avatar(registry: Registry, model_id: str, given: str) -> tuple[str, bytes]:
    """The image file `given` (from the current folder, else the registry), and where it goes."""
    for path in (Path.cwd() / given, registry.root / given):
        if path.is_symlink():
            raise ModelopsError(f"{given}: a symbolic link (give the image file itself)")
        if not path.is_file():
            continue
        resolved = path.resolve()
        if resolved == registry.repo.git_dir or registry.repo.git_dir in resolved.parents:
            raise ModelopsError(f"{given}: inside the git directory (give an image file)")
        if resolved.stat().st_size > AVATAR_MAX_BYTES:
            raise ModelopsError(
                f"{given}: larger than {AVATAR_MAX_BYTES // 1024} KiB (shrink the image)"
            )
        inside = registry.root in resolved.parents
        relative = resolved.relative_to(registry.root).as_posix() if inside else None
        try:
            return authoring.avatar_file(model_id, resolved.read_bytes(), relative)
        except ImageError as exc:
            raise ModelopsError(f"{given}: {exc}") from None
    raise NotFoundError(f"{given}: no such image file (give a PNG, JPEG, GIF or WebP file)")


def _run_editor(path: Path) -> None:
    command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        status = subprocess.call([*shlex.split(command), str(path)])
    except FileNotFoundError:
        raise ModelopsError(f"editor '{command}' not found (set VISUAL or EDITOR)") from None
    if status != 0:
        raise ModelopsError(f"editor '{command}' exited with status {status}; nothing was changed")


def _ask(problems: list[Problem]) -> Choice:
    """After a save with problems: edit again, keep the text aside, or abort. Without an
    answer (no terminal, end of input) the text is kept: a script never loops."""
    for problem in problems:
        click.echo(str(problem), err=True)
    choices: dict[str, Choice] = {"e": "edit", "k": "keep", "a": "abort"}
    try:
        answer = click.prompt(
            "The file has problems: [e]dit again, [k]eep it aside, or [a]bort?",
            type=click.Choice(list(choices)),
            default="e",
            err=True,
        )
    except click.exceptions.Abort:
        return "keep"
    return choices[str(answer)]


@click.command()
@click.argument("model_id", metavar="ID")
@registry_option
def edit(model_id: str, registry_dir: str | None) -> int:
    """Open model ID in $EDITOR; commit when it is saved valid."""
    from modelops.registry.edit import edit as edit_model

    edited = edit_model(open_registry(registry_dir), model_id, _run_editor, _ask, lock_timeout())
    _notes(edited.notes)
    sha = edited.sha
    say(f"committed {sha[:10]}: edited {', '.join(edited.keys)}" if sha else "no changes")
    return Exit.OK


@click.command()
@click.argument("source", metavar="SRC")
@click.argument("new_id", metavar="NEW")
@click.option("--name", help="Display name of the clone (default: '<name> (Clone)').")
@registry_option
def clone(source: str, new_id: str, name: str | None, registry_dir: str | None) -> int:
    """Copy registry model SRC as NEW."""
    return _apply(
        open_registry(registry_dir), lambda s: authoring.clone(s, source, new_id, name), ""
    )


def _visibility(hidden: bool) -> click.Command:
    verb = "hide" if hidden else "unhide"

    @click.command(verb)
    @click.argument("model_ids", nargs=-1, required=True, metavar="ID...")
    @registry_option
    def command(model_ids: tuple[str, ...], registry_dir: str | None) -> int:
        return _apply(
            open_registry(registry_dir),
            lambda s: authoring.set_hidden(s, list(model_ids), hidden),
            f"nothing changed: already {'hidden' if hidden else 'visible'}",
        )

    command.help = (
        "Hide models from the model selector (they stay usable)."
        if hidden
        else "Show hidden models in the model selector again."
    )
    return command


@click.command()
@click.argument("model_id", metavar="ID")
@click.option("--public", is_flag=True, help="Everyone may use it.")
@click.option("--group", "groups", multiple=True, help="A group (repeatable).")
@click.option("--user", "users", multiple=True, help="A user (repeatable).")
@click.option("--write", is_flag=True, help="Grant write (edit) access instead of read.")
@registry_option
def share(
    model_id: str,
    public: bool,
    groups: tuple[str, ...],
    users: tuple[str, ...],
    write: bool,
    registry_dir: str | None,
) -> int:
    """Give groups, users or everyone access to model ID in Open WebUI."""
    return _apply(
        open_registry(registry_dir),
        lambda s: authoring.share(
            s, model_id, public=public, groups=groups, users=users, write=write
        ),
        "nothing changed: already shared that way",
    )


@click.command()
@click.argument("model_id", metavar="ID")
@click.option("--public", is_flag=True, help="No longer public.")
@click.option("--group", "groups", multiple=True, help="A group (repeatable).")
@click.option("--user", "users", multiple=True, help="A user (repeatable).")
@click.option("--all", "everyone", is_flag=True, help="Remove all access: private again.")
@registry_option
def unshare(
    model_id: str,
    public: bool,
    groups: tuple[str, ...],
    users: tuple[str, ...],
    everyone: bool,
    registry_dir: str | None,
) -> int:
    """Take access to model ID away again."""
    return _apply(
        open_registry(registry_dir),
        lambda s: authoring.unshare(
            s, model_id, public=public, groups=groups, users=users, everyone=everyone
        ),
        "nothing changed: it was not shared that way",
    )


@click.command()
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW")
@registry_option
def rename(old: str, new: str, registry_dir: str | None) -> int:
    """Rename model OLD to NEW; models based on it follow."""
    return _apply(open_registry(registry_dir), lambda s: authoring.rename(s, old, new), "")


@click.command()
@click.argument("model_id", metavar="ID")
@registry_option
def delete(model_id: str, registry_dir: str | None) -> int:
    """Delete model ID (refused while another model uses it as its base)."""
    return _apply(open_registry(registry_dir), lambda s: authoring.delete(s, model_id), "")


@click.command()
@click.argument("model_id", metavar="ID")
@click.argument("rev", metavar="REV")
@registry_option
def rollback(model_id: str, rev: str, registry_dir: str | None) -> int:
    """Restore model ID as it was at revision REV, as a new commit."""
    registry = open_registry(registry_dir)
    old = registry.load(rev)
    sha = registry.resolve(rev)
    return _apply(
        registry,
        lambda s: authoring.rollback(s, old, model_id, rev, sha),
        f"nothing changed: {model_id} is already as it was at {rev}",
    )


@click.command()
@click.option(
    "--check", is_flag=True, help="Only list the files that are not formatted; exit 1 if any."
)
@click.option(
    "--write-only",
    is_flag=True,
    help="Rewrite the files but commit nothing (for pre-commit); skip files with problems.",
)
@registry_option
def fmt(check: bool, write_only: bool, registry_dir: str | None) -> int:
    """Rewrite model files in the canonical layout (key order, indentation), keeping comments."""
    registry = open_registry(registry_dir)
    if check and write_only:
        raise UsageError("--check and --write-only do not go together")
    if write_only:
        return _fmt_write_only(registry)
    if check:
        snapshot = registry.load().require_valid()
        changed, _ = authoring.fmt(snapshot)
        for path in changed:
            say(snapshot.source.shown(path))
        if changed:
            click.echo(
                f"error: {len(changed)} file(s) need formatting (run 'modelops fmt')", err=True
            )
        return Exit.FAILURE if changed else Exit.OK
    return _apply(registry, lambda s: authoring.fmt(s)[1], "all model files are formatted")


def _fmt_write_only(registry: Registry) -> int:
    """Format the valid model files in place and leave committing to the user. Files with
    problems are left as they are, and only counted: `validate` is the one that reports them,
    so a pre-commit run does not print each problem twice."""
    from modelops.registry.files import write_atomic
    from modelops.spec.paths import MODELS_DIR

    snapshot = registry.load()
    changed, change = authoring.fmt(snapshot)
    for path in changed:
        content = change.writes[path]
        assert content is not None  # fmt only rewrites files
        write_atomic(registry.root / path, content)
        say(f"formatted {snapshot.source.shown(path)}")
    broken = sum(1 for path in snapshot.file_problems if path.startswith(MODELS_DIR + "/"))
    if broken:
        note(f"{broken} file(s) with problems left as they are (see 'modelops validate')")
    return Exit.OK


hide = _visibility(True)
unhide = _visibility(False)
