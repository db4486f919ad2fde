"""diff and review: what a change to the registry means, for a reviewer and a pull request."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from modelops.cli import reviewing
from modelops.cli.common import open_registry, registry_option, scrubber
from modelops.cli.output import emit_json
from modelops.errors import Exit, ModelopsError

if TYPE_CHECKING:
    from modelops.review.diff import Image


revisions_argument = (
    click.argument("base", metavar="[BASE", required=False),
    click.argument("head", metavar="[HEAD]]", required=False),
)
avatar_url_option = click.option(
    "--avatar-url",
    metavar="TEMPLATE",
    help="Show avatars in Markdown as images at this URL: {rev} is the commit, {path} the "
    "file, e.g. https://github.com/OWNER/REPO/raw/{rev}/{path}.",
)


@click.command()
@revisions_argument[0]
@revisions_argument[1]
@registry_option
@click.option(
    "--output",
    "-o",
    type=click.Choice(["text", "markdown", "json", "html"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@avatar_url_option
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when no model differs, 2 when some do, 1 on errors.",
)
def diff(
    base: str | None,
    head: str | None,
    registry_dir: str | None,
    output: str,
    avatar_url: str | None,
    detailed_exitcode: bool,
) -> int:
    """The semantic difference between two revisions of the registry.

    BASE defaults to the merge base with the default branch (origin/HEAD, main or master),
    HEAD to the work tree; `A..B` and `A...B` work as in git. Models added, removed, renamed
    and cloned; each changed field before and after, values inherited through a base
    included; system prompts and templates as unified diffs.
    """
    from modelops.review import markdown, render

    registry = open_registry(registry_dir)
    compared = reviewing.compare(registry, base, head)
    reviewing.warn_problems(compared)
    result = compared.diff
    if output == "json":
        emit_json(render.as_json(result))
    elif output in ("markdown", "html"):
        images = (
            reviewing.url_images(avatar_url, registry, compared)
            if avatar_url
            else markdown.inline_images
        )
        text = markdown.markdown(result, images)
        if output == "html":
            text = markdown.html(text, f"modelops diff: {result.base} → {result.head}")
        click.echo(text, nl=False)
    else:
        colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        click.echo(render.text(result, colour), nl=False)
    if detailed_exitcode and not result.empty:
        return Exit.PENDING
    return Exit.OK


def _write(path: str, text: str) -> None:
    try:
        Path(path).write_text(scrubber()(text), encoding="utf-8")
    except OSError as exc:
        raise ModelopsError(f"cannot write {path}: {exc.strerror}") from None


@click.command()
@revisions_argument[0]
@revisions_argument[1]
@registry_option
@click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="TARGET",
    help="Plan against this target (repeatable; default: every target in modelops.yaml).",
)
@click.option(
    "--host",
    "hosts",
    multiple=True,
    metavar="URL",
    help="Plan against this Ollama server instead of the targets' hosts (repeatable).",
)
@click.option(
    "--replay",
    "with_replay",
    is_flag=True,
    help="Replay the conversations that use a changed model, at BASE and at HEAD.",
)
@click.option(
    "--ollama-host",
    metavar="URL",
    help="The Ollama that replayed registry models run on (default: the registry's target).",
)
@avatar_url_option
@click.option(
    "--output",
    "-o",
    "out_path",
    metavar="FILE",
    help="Write the comment to FILE instead of stdout.",
)
@click.option(
    "--full",
    "full_path",
    metavar="FILE",
    help="Also write the whole review to FILE (the comment links it when it is shortened).",
)
@click.option(
    "--full-url",
    metavar="URL",
    help="Where readers find the whole review (e.g. the CI run's artifacts).",
)
@click.option(
    "--name",
    default="",
    metavar="NAME",
    help="Tell this review's comment apart from others in the same pull request.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=2048),
    default=65_536,
    show_default=True,
    help="The most characters a comment may hold (GitLab allows 1,000,000).",
)
def review(
    base: str | None,
    head: str | None,
    registry_dir: str | None,
    targets: tuple[str, ...],
    hosts: tuple[str, ...],
    with_replay: bool,
    ollama_host: str | None,
    avatar_url: str | None,
    out_path: str | None,
    full_path: str | None,
    full_url: str | None,
    name: str,
    limit: int,
) -> int:
    """A pull-request comment: the diff, the plan against every target, and replays.

    BASE and HEAD as for diff. A target that cannot be planned is named, not fatal. The first
    line is a hidden marker (<!-- modelops-review -->) a bot uses to update its comment in
    place. Exits 1 when HEAD has problems, 3 when a replayed expectation fails at HEAD.
    """
    from modelops import __version__
    from modelops.review import document, markdown

    registry = open_registry(registry_dir)
    compared = reviewing.compare(registry, base, head)
    problems = reviewing.warn_problems(compared)
    images = reviewing.url_images(avatar_url, registry, compared) if avatar_url else _no_images
    pairs = reviewing.replays(registry, compared, ollama_host) if with_replay else []
    head_ref = compared.head_sha[:10] if compared.head_sha else "the work tree"
    result = document.build(
        markdown.section(compared.diff, images, level=3),
        compared.diff.base,
        compared.diff.head,
        reviewing.plans(registry, compared, targets, hosts),
        pairs,
        [str(p) for p in problems],
        name=name,
        footer=f"<sub>modelops {__version__} · base {compared.base_sha[:10]} · "
        f"head {head_ref}</sub>",
        full_at=_where(full_path, full_url),
        limit=limit,
    )
    if full_path:
        _write(full_path, result.full)
    if out_path:
        _write(out_path, result.comment)
    else:
        click.echo(result.comment, nl=False)
    if problems:
        return Exit.FAILURE
    if any(p.failed_at_head for p in pairs):
        return Exit.EXPECTATION
    return Exit.OK


def _no_images(side: str, image: Image) -> str | None:
    """Without --avatar-url, a comment shows avatars by name only (a comment cannot carry
    the image itself), except https avatars."""
    return image.ref if image.ref.startswith("https://") else None


def _where(path: str | None, url: str | None) -> str | None:
    if url and path:
        return f"[{Path(path).name}]({url})"
    if url:
        return f"[the full review]({url})"
    return f"`{Path(path).name}`" if path else None
