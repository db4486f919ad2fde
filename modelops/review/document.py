"""The review: one Markdown document for a pull-request comment. Pure.

It holds, in this order: a hidden marker (so a bot finds its own comment and updates it in
place), the title, HEAD's problems if any, the registry diff, the plan against each target
(a target that could not be planned is named with the reason), and the replays. The same
inputs give the same text, byte for byte.

A comment must stay under GitHub's limit of 65,536 characters. When the whole document does
not fit, the comment keeps the marker, the title, the problems, the diff's summary and every
plan's summary, then adds, while they fit and in this order of priority: the diff's table
rows, the plans in full, each model's details, each replay in full (else its results table).
It says what it left out and where the full document is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from modelops.reconcile import render as plans
from modelops.reconcile.plan import Plan
from modelops.review import replays as replay_md
from modelops.review.markdown import Section, code, escape
from modelops.review.replays import ReplayPair

GITHUB_LIMIT = 65_536  # characters in an issue or pull-request comment
MARGIN = 512  # room for what a bot may add around the text


def marker(name: str = "") -> str:
    """The hidden first line a bot searches for; NAME tells several registries apart."""
    return f"<!-- modelops-review{':' + name if name else ''} -->"


def length(text: str) -> int:
    """Characters as GitHub counts them (UTF-16 code units: an emoji counts two)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class TargetPlan:
    """The plan for one target, or why there is none (unreachable, not supported)."""

    name: str
    plan: Plan | None
    error: str | None = None


@dataclass(frozen=True)
class Review:
    comment: str  # fits the limit
    full: str  # everything
    left_out: tuple[str, ...] = ()  # what the comment summarises instead of showing

    @property
    def shortened(self) -> bool:
        return bool(self.left_out)


@dataclass
class _Parts:
    head: list[str]
    rows: list[str]
    table_head: str
    blocks: list[str]
    plans: list[tuple[str, str]]  # (full, short)
    replays: list[tuple[str, str]]
    footer: str


def _plan_parts(target: TargetPlan) -> tuple[str, str]:
    title = f"### Plan for {code(target.name)}"
    if target.plan is None:
        text = f"{title}\n\n> :warning: not planned: {escape(target.error or 'unknown reason')}\n"
        return text, text
    full = plans.markdown(target.plan).replace(
        f"### modelops plan for `{target.plan.target}`", title, 1
    )
    short = f"{title}\n\n**{escape(plans.summary(target.plan))}**\n"
    for error in target.plan.errors:
        short += f"\n> :warning: {escape(error)}\n"
    return full, short


def _title(section: Section, base: str, head: str, problems: Sequence[str]) -> list[str]:
    out = [f"## modelops review: {escape(base)} → {escape(head)}"]
    if problems:
        shown = list(problems[:30])
        more = len(problems) - len(shown)
        listing = "\n".join(f"> - {escape(p)}" for p in shown)
        tail = f"\n> - ... and {more} more (run `modelops validate`)" if more else ""
        out.append(
            f"> :x: **HEAD has {len(problems)} problem(s)**; models in broken files are left "
            f"out below.\n>\n{listing}{tail}"
        )
    out.append(section.head)
    return out


def build(
    section: Section,
    base: str,
    head: str,
    targets: Sequence[TargetPlan],
    replays: Sequence[ReplayPair],
    problems: Sequence[str] = (),
    *,
    name: str = "",
    footer: str = "",
    full_at: str | None = None,
    limit: int = GITHUB_LIMIT,
) -> Review:
    """The review for a diff laid out as `section` (see `modelops.review.markdown`).
    `full_at` says where the complete document will be (a file name, or a link)."""
    parts = _Parts(
        head=[marker(name), *_title(section, base, head, problems)],
        rows=list(section.rows),
        table_head=section.table_head,
        blocks=list(section.blocks),
        plans=[_plan_parts(t) for t in targets],
        replays=[(replay_md.markdown(r), replay_md.short(r)) for r in replays],
        footer=footer,
    )
    everything = {
        "rows": set(range(len(parts.rows))),
        "blocks": set(range(len(parts.blocks))),
        "plans": set(range(len(parts.plans))),
        "replays": set(range(len(parts.replays))),
    }
    full = _render(parts, everything, "")
    if length(full) <= limit - MARGIN:
        return Review(full, full)
    return _shortened(parts, full, full_at, limit - MARGIN)


def _shortened(parts: _Parts, full: str, full_at: str | None, budget: int) -> Review:
    chosen: dict[str, set[int]] = {"rows": set(), "blocks": set(), "plans": set(), "replays": set()}
    where = f" The whole review is in {full_at}." if full_at else ""
    note_room = 400 + len(where)
    size = length(_render(parts, chosen, "")) + note_room
    sizes = {
        "rows": [length(r) + 1 for r in parts.rows],
        "plans": [length(f) - length(s) for f, s in parts.plans],
        "blocks": [length(b) + 2 for b in parts.blocks],
        "replays": [length(f) - length(s) for f, s in parts.replays],
    }
    for kind in ("rows", "plans", "blocks", "replays"):
        for i, cost in enumerate(sizes[kind]):
            if kind == "rows" and i and i - 1 not in chosen["rows"]:
                break  # table rows stay in order: the rest is counted in one line
            if size + cost <= budget:
                chosen[kind].add(i)
                size += cost
    left_out = _left_out(parts, chosen)
    note = (
        "> [!NOTE]\n> This comment is shortened to stay under GitHub's limit of 65,536 "
        f"characters: it leaves out {', '.join(left_out)}.{where}"
    )
    return Review(_render(parts, chosen, note), full, tuple(left_out))


def _left_out(parts: _Parts, chosen: dict[str, set[int]]) -> list[str]:
    out = []
    rows = len(parts.rows) - len(chosen["rows"])
    if rows:
        out.append(f"{rows} row(s) of the model table")
    blocks = len(parts.blocks) - len(chosen["blocks"])
    if blocks:
        out.append(f"the details of {blocks} model(s)")
    plan_count = len(parts.plans) - len(chosen["plans"])
    if plan_count:
        out.append(f"the changes of {plan_count} plan(s)")
    replay_count = len(parts.replays) - len(chosen["replays"])
    if replay_count:
        out.append(f"the answers of {replay_count} replay(s)")
    return out


def _render(parts: _Parts, chosen: dict[str, set[int]], note: str) -> str:
    out = list(parts.head)
    if note:
        out.insert(2, note)  # under the title
    rows = [r for i, r in enumerate(parts.rows) if i in chosen["rows"]]
    missing = len(parts.rows) - len(rows)
    if missing:
        rows.append(f"| | … | {missing} more model(s): see the whole review |")
    if rows:
        out.append("\n".join([parts.table_head, *rows]))
    out += [b for i, b in enumerate(parts.blocks) if i in chosen["blocks"]]
    if parts.plans:
        out += [(f if i in chosen["plans"] else s).rstrip() for i, (f, s) in enumerate(parts.plans)]
    out += [(f if i in chosen["replays"] else s).rstrip() for i, (f, s) in enumerate(parts.replays)]
    if parts.footer:
        out.append(parts.footer)
    return "\n\n".join(p.strip("\n") for p in out if p) + "\n"
