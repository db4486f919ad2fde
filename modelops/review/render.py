"""A registry diff as terminal text (coloured when asked) and as JSON. Pure.

Text: a line per model (`+` added, `>` cloned, `~` renamed or changed, `-` removed) followed
by its changed fields, before and after; system prompts and templates as unified diffs,
parameters as a table, values inherited through a base marked with the model they come from.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from modelops.review.diff import AvatarDiff, Image, ModelDiff, RegistryDiff
from modelops.review.fields import FieldDiff

SIGNS = {"added": "+", "cloned": ">", "renamed": "~", "changed": "~", "removed": "-"}
_COLOURS = {"+": "32", "-": "31", "~": "33", ">": "36", "@": "36", "dim": "2", "bold": "1"}


def value(text: Any) -> str:
    """A value as the diff shows it inline: JSON (strings quoted), None as (unset)."""
    if text is None:
        return "(unset)"
    return json.dumps(text, ensure_ascii=False, separators=(", ", ": "))


def size(data: bytes | None) -> str:
    if data is None:
        return "missing"
    return f"{len(data)} B" if len(data) < 1024 else f"{len(data) / 1024:.1f} KiB"


def unified(change: FieldDiff) -> list[str]:
    """The unified diff of a text field, without its file header lines."""
    before = str(change.before).splitlines() if change.before is not None else []
    after = str(change.after).splitlines() if change.after is not None else []
    lines = difflib.unified_diff(before, after, "before", "after", lineterm="", n=2)
    return [line for line in lines if not line.startswith(("---", "+++"))]


def headline(model: ModelDiff) -> str:
    """What happened to a model, in a few words."""
    if model.status == "added":
        what = f"added, on {model.base}"
    elif model.status == "removed":
        what = "removed"
    elif model.status == "renamed":
        what = f"renamed from {model.source}" + (
            " (detected by content)" if model.detected == "content" else ""
        )
    elif model.status == "cloned":
        what = f"cloned from {model.source}"
    elif model.inherited_only:
        vias = sorted({f.via for f in model.fields if f.via})
        what = f"changed through its base {', '.join(vias)}"
    else:
        what = "changed"
    return "; ".join([what, *model.labels])


def summary(diff: RegistryDiff) -> str:
    c = diff.counts()
    parts = [f"{c[s]} {s}" for s in ("added", "cloned", "renamed", "changed", "removed") if c[s]]
    if c["inherited"]:
        parts[parts.index(f"{c['changed']} changed")] += f" ({c['inherited']} through a base)"
    text = ", ".join(parts) if parts else "no model changes"
    return f"{text}; {diff.unchanged} unchanged"


class _Paint:
    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def __call__(self, text: str, kind: str) -> str:
        if not self.colour or kind not in _COLOURS:
            return text
        return f"\x1b[{_COLOURS[kind]}m{text}\x1b[0m"

    def diff_line(self, line: str) -> str:
        return self(line, line[:1] if line[:1] in "+-@" else "")


def text(diff: RegistryDiff, colour: bool = False) -> str:
    paint = _Paint(colour)
    lines = [paint(f"Diff from {diff.base} to {diff.head}: {summary(diff)}", "bold")]
    width = max((len(m.id) for m in diff.models), default=0)
    for model in diff.models:
        sign = SIGNS[model.status]
        lines.append(paint(f"{sign} {model.id:<{width}}  {headline(model)}", sign))
        lines += [f"    {line}" for line in _field_lines(model, paint)]
        if model.avatar:
            lines.append(f"    {_avatar_line(model.avatar)}")
        lines += [paint(f"    commit {c.sha[:10]} {c.subject}", "dim") for c in model.commits]
    return "\n".join(lines) + "\n"


def _field_lines(model: ModelDiff, paint: _Paint) -> list[str]:
    added = model.status == "added"
    out: list[str] = []
    params = [f for f in model.fields if f.field.startswith("parameters.")]
    for change in model.fields:
        if change.field.startswith("parameters."):
            if change is params[0]:
                out += ["parameters:", *(f"  {row}" for row in parameter_table(params, added))]
            continue
        via = f" (from {change.via})" if change.via else ""
        if change.is_text:
            out.append(f"{change.field}{via}:")
            out += [f"  {paint.diff_line(line)}" for line in unified(change)]
        elif added:
            out.append(f"{change.field}: {value(change.after)}")
        else:
            out.append(f"{change.field}: {value(change.before)} -> {value(change.after)}{via}")
    return out


def parameter_table(params: Sequence[FieldDiff], added: bool = False) -> list[str]:
    """Parameters as aligned rows: name, before, after, and where an inherited one comes from."""
    head = ["PARAMETER", "VALUE"] if added else ["PARAMETER", "BEFORE", "AFTER"]
    rows = [head + (["FROM"] if any(p.via for p in params) else [])]
    for p in params:
        cells = [p.field.split(".", 1)[1]]
        cells += [value(p.after)] if added else [value(p.before), value(p.after)]
        rows.append(cells + ([p.via or ""] if len(rows[0]) > len(cells) else []))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def _image_text(image: Image | None) -> str:
    if image is None:
        return "(none)"
    return image.ref if image.ref.startswith("https://") else f"{image.ref} ({size(image.data)})"


def _avatar_line(avatar: AvatarDiff) -> str:
    before, after = avatar.before, avatar.after
    if before and after and before.ref == after.ref:
        return f"avatar: {before.ref} changed ({size(before.data)} -> {size(after.data)})"
    if before is None:
        return f"avatar: {_image_text(after)}"
    return f"avatar: {_image_text(before)} -> {_image_text(after)}"


def _image_json(image: Image | None) -> dict[str, Any] | None:
    if image is None:
        return None
    data = image.data
    return {
        "ref": image.ref,
        "bytes": None if data is None else len(data),
        "sha256": None if data is None else hashlib.sha256(data).hexdigest(),
    }


def as_json(diff: RegistryDiff) -> dict[str, Any]:
    return {
        "base": diff.base,
        "head": diff.head,
        "counts": diff.counts(),
        "unchanged": diff.unchanged,
        "models": [_model_json(m) for m in diff.models],
    }


def _model_json(model: ModelDiff) -> dict[str, Any]:
    fields = []
    for f in model.fields:
        entry: dict[str, Any] = {"field": f.field, "before": f.before, "after": f.after}
        entry["inherited_from"] = f.via
        if f.is_text:
            entry["diff"] = unified(f)
        fields.append(entry)
    avatar = model.avatar
    return {
        "id": model.id,
        "status": model.status,
        "name": model.name,
        "base": model.base,
        "source": model.source,
        "detected": model.detected,
        "labels": list(model.labels),
        "through_base_only": model.inherited_only,
        "fields": fields,
        "avatar": None
        if avatar is None
        else {"before": _image_json(avatar.before), "after": _image_json(avatar.after)},
        "commits": [{"commit": c.sha, "op": c.op, "subject": c.subject} for c in model.commits],
    }
