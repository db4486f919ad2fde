"""A registry diff as GitHub-flavoured Markdown (a pull-request comment) and as a self-contained
HTML page. Pure.

The Markdown is a summary table with a row per model, then one folded `<details>` block per
model: its fields in a before/after table, parameters in a table of their own, system prompts
and templates as `diff` code blocks, the avatar as two images, and the commits that made the
change. User text is escaped or fenced, so a prompt cannot break the layout.
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from modelops.review.diff import Image, ModelDiff, RegistryDiff
from modelops.review.fields import FieldDiff
from modelops.review.render import headline, summary, unified, value
from modelops.spec.avatar import MIME, SUFFIXES, data_uri

ImageSource = Callable[[str, Image], str | None]  # ("before" or "after", image) -> src, or None
EMOJI = {"added": "➕", "cloned": "🧬", "renamed": "🔀", "changed": "✏️", "removed": "🗑️"}
THROUGH_BASE = "↪️"
AVATAR_PX = 64


def inline_images(side: str, image: Image) -> str | None:
    """Images as data URIs (HTML pages, editors), https avatars as they are."""
    if image.ref.startswith("https://"):
        return image.ref
    kind = SUFFIXES.get(PurePosixPath(image.ref).suffix.lower())
    if image.data is None or kind not in MIME:
        return None
    return data_uri(image.data, kind)


def escape(text: str) -> str:
    """Free text for a Markdown line or table cell: no markup, no HTML, no cell breaks."""
    text = htmllib.escape(text, quote=False).replace("\n", " ")
    return re.sub(r"([\\`*_\[\]|#~])", r"\\\1", text)


def code(text: str) -> str:
    """`text` as an inline code span that survives inside a table cell."""
    text = text.replace("\n", " ").replace("|", "\\|")
    ticks = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (ticks + 1)
    pad = " " if ticks or text.startswith(" ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def fenced(lines: Sequence[str], language: str) -> list[str]:
    """A fenced code block longer than any backtick run inside it."""
    ticks = max((len(r) for line in lines for r in re.findall(r"`{3,}", line)), default=2)
    fence = "`" * (ticks + 1)
    return [f"{fence}{language}", *lines, fence]


@dataclass(frozen=True)
class Section:
    """A diff laid out to be cut to size: the lines that always show, a summary row per model,
    and a folded block per model."""

    head: str
    rows: tuple[str, ...]
    table_head: str
    blocks: tuple[str, ...]

    def render(self) -> str:
        table = [self.table_head, *self.rows] if self.rows else []
        parts = [self.head, "\n".join(table), *self.blocks]
        return "\n\n".join(p for p in parts if p).rstrip() + "\n"


def section(diff: RegistryDiff, images: ImageSource = inline_images, level: int = 2) -> Section:
    """The diff under a heading of `level`; below level 2 it is part of a larger document,
    whose title names the two sides."""
    title = "Registry changes"
    if level <= 2:
        title += f": {escape(diff.base)} → {escape(diff.head)}"
    head = f"{'#' * level} {title}\n\n**{escape(summary(diff))}**"
    rows = tuple(_row(m) for m in diff.models)
    blocks = tuple(b for m in diff.models if (b := model_block(m, images)))
    return Section(head, rows, "| | model | change |\n|---|---|---|", blocks)


def markdown(diff: RegistryDiff, images: ImageSource = inline_images, level: int = 2) -> str:
    return section(diff, images, level).render()


def _title(model: ModelDiff) -> str:
    name = f" {escape(model.name)}" if model.name and model.name != model.id else ""
    return f"{code(model.id)}{name}"


def _row(model: ModelDiff) -> str:
    sign = THROUGH_BASE if model.inherited_only else EMOJI[model.status]
    return f"| {sign} | {_title(model)} | {escape(headline(model))} |"


def model_block(model: ModelDiff, images: ImageSource) -> str:
    """The folded details of one model; empty for a removed one (its row says it all)."""
    if model.status == "removed":
        return ""
    body: list[str] = []
    added = model.status == "added"
    plain = [f for f in model.fields if not f.is_text and not f.field.startswith("parameters.")]
    if plain:
        body += ["| field | value |" if added else "| field | before | after |"]
        body += ["|---|---|" if added else "|---|---|---|"]
        body += [_field_row(f, added) for f in plain]
        body.append("")
    params = [f for f in model.fields if f.field.startswith("parameters.")]
    if params:
        body += ["**Parameters**", "", *_parameter_table(params, added), ""]
    for f in model.fields:
        if f.is_text:
            via = f" (from {code(f.via)})" if f.via else ""
            body += [f"**{code(f.field)}**{via}", "", *fenced(unified(f), "diff"), ""]
    if model.avatar:
        body += _avatar_table(model, images)
    if model.commits:
        refs = "; ".join(f"{code(c.sha[:10])} {escape(c.subject)}" for c in model.commits)
        body += [f"Commits: {refs}", ""]
    summary_line = f"<code>{htmllib.escape(model.id)}</code>: {htmllib.escape(headline(model))}"
    return "\n".join(
        [f"<details><summary>{summary_line}</summary>", "", *body, "</details>"]
    ).strip()


def _field_row(f: FieldDiff, added: bool) -> str:
    via = f" (from {code(f.via)})" if f.via else ""
    if added:
        return f"| {code(f.field)} | {code(value(f.after))} |"
    return f"| {code(f.field)}{via} | {code(value(f.before))} | {code(value(f.after))} |"


def _parameter_table(params: Sequence[FieldDiff], added: bool) -> list[str]:
    if added:
        rows = ["| parameter | value |", "|---|---|"]
        return rows + [f"| {code(p.field[11:])} | {code(value(p.after))} |" for p in params]
    inherited = any(p.via for p in params)
    rows = ["| parameter | before | after |" + (" from |" if inherited else "")]
    rows.append("|---|---|---|" + ("---|" if inherited else ""))
    for p in params:
        cells = f"| {code(p.field[11:])} | {code(value(p.before))} | {code(value(p.after))} |"
        rows.append(cells + (f" {code(p.via) if p.via else ''} |" if inherited else ""))
    return rows


def _img(side: str, image: Image | None, images: ImageSource) -> str:
    if image is None:
        return "(none)"
    src = images(side, image)
    if src is None:
        return f"{code(image.ref)} (not shown)"
    alt = htmllib.escape(f"{side}: {image.ref}")
    return f'<img src="{htmllib.escape(src)}" alt="{alt}" width="{AVATAR_PX}" height="{AVATAR_PX}">'


def _avatar_table(model: ModelDiff, images: ImageSource) -> list[str]:
    assert model.avatar is not None
    before, after = model.avatar.before, model.avatar.after
    refs = [f"{code(i.ref)}" if i else "(none)" for i in (before, after)]
    return [
        "| avatar before | avatar after |",
        "|---|---|",
        f"| {_img('before', before, images)} | {_img('after', after, images)} |",
        f"| {refs[0]} | {refs[1]} |",
        "",
    ]


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; }}
table {{ border-collapse: collapse; margin: .5rem 0; }}
th, td {{ border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }}
pre {{ background: #f6f8fa; padding: .5rem; overflow-x: auto; }}
details {{ margin: .5rem 0; }} summary {{ cursor: pointer; }}
</style></head>
<body>
{body}</body></html>
"""


def html(markdown_text: str, title: str) -> str:
    """A Markdown document (from this module) as one self-contained HTML page."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark", {"html": True}).enable("table")
    return PAGE.format(title=htmllib.escape(title), body=parser.render(markdown_text))
