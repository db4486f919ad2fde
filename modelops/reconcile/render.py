"""Plans and apply reports as text (terminal), Markdown (pull-request comments) and JSON. Pure."""

from __future__ import annotations

import datetime as dt
import difflib
import json
from collections.abc import Sequence
from typing import Any

from modelops.reconcile.plan import HostPlan, Plan
from modelops.reconcile.record import Applied
from modelops.targets.base import Change, FieldChange, Outcome

SIGNS = {"pull": "+", "create": "+", "update": "~", "delete": "-", "noop": "="}
EMOJI = {"pull": "⬇️", "create": "➕", "update": "✏️", "delete": "🗑️", "noop": "✅"}


def summary(plan: Plan) -> str:
    c = plan.counts()
    text = (
        f"{c['pull']} to pull, {c['create']} to create, {c['update']} to update, "
        f"{c['delete']} to delete, {c['noop']} in sync"
    )
    if c["held"]:
        text += f"; {c['held']} delete(s) held back (apply with --prune to delete)"
    return text + "."


def _value(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _long(change: FieldChange) -> bool:
    return any(
        isinstance(v, str) and ("\n" in v or len(v) > 60) for v in (change.before, change.after)
    )


def _diff(change: FieldChange) -> list[str]:
    before = (change.before or "").splitlines()
    after = (change.after or "").splitlines()
    lines = difflib.unified_diff(before, after, "live", "registry", lineterm="", n=1)
    return [line for line in lines if not line.startswith(("---", "+++"))]


def field_lines(change: FieldChange) -> list[str]:
    if _long(change):
        return [f"{change.field}:", *(f"  {line}" for line in _diff(change))]
    return [f"{change.field}: {_value(change.before)} -> {_value(change.after)}"]


def text(plan: Plan) -> str:
    lines = []
    for host in plan.hosts:
        if host.error:
            continue  # errors go to stderr, one line each
        lines.append(_host_title(plan, host))
        width = max((len(c.name) for c in host.changes if c.action != "noop"), default=0)
        for change in host.changes:
            if change.action == "noop":
                continue
            sign = SIGNS[change.action] if change.enabled else "!"
            lines.append(f"  {sign} {change.action:<7} {change.name:<{width}}  {change.reason}")
            for field in change.fields:
                lines += [f"      {line}" for line in field_lines(field)]
        in_sync = sum(1 for c in host.changes if c.action == "noop")
        if in_sync:
            lines.append(f"  = {in_sync} model{'s' if in_sync != 1 else ''} in sync")
        if host.unmanaged:
            lines.append(f"  ? not made by modelops, left alone: {', '.join(host.unmanaged)}")
    lines.append(f"Plan: {summary(plan)}")
    return "\n".join(lines) + "\n"


def _host_title(plan: Plan, host: HostPlan) -> str:
    version = f" ({host.product} {host.version})" if host.version else ""
    return f"Target {plan.target}: {host.host}{version}"


def markdown(plan: Plan) -> str:
    lines = [f"### modelops plan for `{plan.target}`", "", f"**{summary(plan)}**", ""]
    for host in plan.hosts:
        lines.append(
            f"#### {host.host}" + (f" ({host.product} {host.version})" if host.version else "")
        )
        lines.append("")
        if host.error:
            lines += [f"> :warning: {host.error}", ""]
            continue
        active = [c for c in host.changes if c.action != "noop"]
        if host.unmanaged:
            lines += [f"Not made by modelops, left alone: {', '.join(host.unmanaged)}", ""]
        if not active:
            lines += ["No changes: every model is in sync.", ""]
            continue
        lines += ["| | change | model | why |", "|---|---|---|---|"]
        for c in active:
            action = c.action if c.enabled else f"{c.action} (held back)"
            lines.append(f"| {EMOJI[c.action]} | {action} | `{c.name}` | {c.reason} |")
        lines.append("")
        for c in active:
            if c.fields:
                lines += _markdown_fields(c)
    return "\n".join(lines).rstrip() + "\n"


def _markdown_fields(change: Change) -> list[str]:
    out = [
        f"<details><summary><code>{change.name}</code>: {len(change.fields)} field(s)</summary>",
        "",
    ]
    short = [f for f in change.fields if not _long(f)]
    if short:
        out += ["| field | live | registry |", "|---|---|---|"]
        out += [f"| `{f.field}` | `{_value(f.before)}` | `{_value(f.after)}` |" for f in short]
        out.append("")
    for f in change.fields:
        if _long(f):
            out += [f"`{f.field}`:", "", "```diff", *_diff(f), "```", ""]
    return [*out, "</details>", ""]


def as_json(plan: Plan, outcomes: Sequence[Outcome] = ()) -> dict[str, Any]:
    results = {(o.change.host, o.change.key): o for o in outcomes}
    return {
        "target": plan.target,
        "prune": plan.prune,
        "pending": plan.pending,
        "counts": plan.counts(),
        "hosts": [
            {
                "host": h.host,
                "product": h.product,
                "version": h.version,
                "unmanaged": list(h.unmanaged),
                "error": h.error,
                "warnings": list(h.warnings),
                "changes": [_change_json(c, results.get((h.host, c.key))) for c in h.changes],
            }
            for h in plan.hosts
        ],
    }


def _change_json(change: Change, outcome: Outcome | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "action": change.action,
        "name": change.name,
        "model": change.model,
        "reason": change.reason,
        "enabled": change.enabled,
        "fields": [{"field": f.field, "before": f.before, "after": f.after} for f in change.fields],
    }
    if outcome is not None:
        out["result"] = "ok" if outcome.ok else ("skipped" if outcome.skipped else "failed")
        out["message"] = outcome.message
    return out


def _state(outcome: Outcome) -> str:
    c = outcome.change
    return f"{c.action} {c.name} {'skipped' if outcome.skipped else 'failed'}: {outcome.message}"


def report(plan: Plan, outcomes: Sequence[Outcome]) -> str:
    """After an apply: what failed and why (progress already showed what succeeded), then
    the totals."""
    failures = [o for o in outcomes if not o.ok and not o.skipped]
    skipped = [o for o in outcomes if o.skipped]
    lines = [f"{o.change.host}: {_state(o)}" for o in [*failures, *skipped]]
    made = {"pull": 0, "create": 0, "update": 0, "delete": 0}
    for outcome in outcomes:
        if outcome.ok and outcome.change.action in made:
            made[outcome.change.action] += 1
    tail = (
        f"Apply: {made['pull']} pulled, {made['create']} created, {made['update']} updated, "
        f"{made['delete']} deleted, {len(failures)} failed"
    )
    if skipped:
        tail += f", {len(skipped)} skipped"
    if plan.errors:
        tail += f", {len(plan.errors)} host(s) unreachable"
    lines.append(tail + ".")
    return "\n".join(lines) + "\n"


def status_rows(plan: Plan) -> list[list[str]]:
    """`status`: each model on each host, in sync, drifted or missing, and why."""
    rows = []
    for host_plan in plan.hosts:
        for change in host_plan.changes:
            if change.model is None:
                continue
            state = {"noop": "in sync", "create": "missing"}.get(change.action, "drifted")
            detail = "" if change.action == "noop" else change.reason
            fields = ", ".join(f.field for f in change.fields)
            rows.append(
                [change.model, host_plan.host, state, detail + (f": {fields}" if fields else "")]
            )
    return rows


def applied_line(host: str, applied: Applied | None, planned: str | None) -> str:
    """`status`: what the last apply deployed to a host, beside what this plan reads."""
    if applied is None:
        return f"{host}: no apply from this clone recorded"
    when = dt.datetime.fromtimestamp(applied.at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    what = (applied.commit or "no commit")[:10]
    if applied.work_tree:
        what += " with uncommitted changes"
    state = "" if applied.complete else ", with failures"
    same = " (the commit planned now)" if applied.commit == planned else ""
    return f"{host}: last applied {what} at {when}{state}{same}"


def marked_line(host: str, commits: Sequence[str], planned: str | None) -> str:
    """`status` for Open WebUI: the commits its managed models were last applied from."""
    if not commits:
        return f"{host}: no model applied from this registry yet"
    shown = ", ".join(c[:10] for c in commits)
    same = " (the commit planned now)" if list(commits) == [planned] else ""
    return f"{host}: models last applied from {shown}{same}"
