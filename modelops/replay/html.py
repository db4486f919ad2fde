"""A replay as one self-contained HTML page: a summary and charts per model, then every turn with
its answers side by side and a stepper to read them one at a time. Pure and deterministic."""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Callable
from html import escape

from modelops.replay.html_assets import CSS, SCRIPT
from modelops.replay.results import Answer, Check, Run, TurnInfo, duration, number

MODES = {
    "compare": "compare: each model keeps its own context",
    "switch": "switch: one shared context, each turn pinned to a model",
}
COLOURS = 8  # the model colour classes .m0 to .m7 below, reused in turn
SUMMARY_COLUMNS = "Model|Answers|Errors|Failed checks|Mean TTFT|Total time|Answer tokens|Tokens/s"
CHART_WIDTH, LABEL_WIDTH, VALUE_WIDTH, ROW, TOP = 290, 96, 54, 24, 6


def _source_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# Only this page's own style and script may run, and nothing may be fetched but data: images:
# text from a run that slipped past escaping still could neither execute nor load anything.
CSP = (
    f"default-src 'none'; img-src data:; style-src {_source_hash(CSS)}; "
    f"script-src {_source_hash(SCRIPT)}"
)


def render(run: Run) -> str:
    """The whole page. Every text from the run is escaped."""
    colour = {model: f"m{i % COLOURS}" for i, model in enumerate(run.models)}
    turns = "".join(_turn(run, t, info, colour) for t, info in enumerate(run.turns))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Replay: {_e(run.name)}</title>\n<style>{CSS}</style></head>\n<body><main>\n"
        f"{_header(run)}{_summary(run, colour)}{_charts(run, colour)}"
        f'<section class="block"><h2>Turns</h2>{turns}</section>\n'
        f"</main><script>{SCRIPT}</script></body></html>\n"
    )


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _header(run: Run) -> str:
    options = " · ".join(
        f"{key}={json.dumps(value, sort_keys=True, ensure_ascii=False)}"
        for key, value in sorted(run.options.items())
    )
    marks = [(run.failed_checks, "✗", "failed check"), (run.errors, "⚠", "error")]
    verdict = " · ".join(f'<span class="bad">{m} {_plural(n, w)}</span>' for n, m, w in marks if n)
    return (
        f'<header><h1 data-role="title">{_e(run.name)}</h1>\n<div class="muted">'
        f"{_plural(len(run.turns), 'turn')} · {_plural(len(run.models), 'model')} · "
        f"{verdict or '<span class=good>✓ all checks passed</span>'}</div>\n<dl class=facts>"
        f"<dt>Source</dt><dd><code>{_e(run.source)}</code></dd>"
        f"<dt>Mode</dt><dd>{_e(MODES.get(run.mode, run.mode))}</dd>"
        f"<dt>Models</dt><dd>{_e(', '.join(run.models))}</dd>"
        f"<dt>Options</dt><dd>{f'<code>{_e(options)}</code>' if options else 'none'}</dd>"
        "</dl></header>\n"
    )


def _summary(run: Run, colour: dict[str, str]) -> str:
    def count(n: int, mark: str) -> str:
        return f'<td class="bad">{mark} {n}</td>' if n else "<td>0</td>"

    rows = []
    for model in run.models:
        s = run.summary(model)
        rows.append(
            f'<tr data-model="{_e(model)}"><th scope="row"><span class="swatch {colour[model]}">'
            f"</span>{_e(model)}</th><td>{s['answers']}</td>{count(s['errors'], '⚠')}"
            f"{count(s['checks_failed'], '✗')}<td>{duration(s['mean_ttft_ms'])}</td>"
            f"<td>{duration(s['total_ms'])}</td><td>{number(s['answer_tokens'])}</td>"
            f"<td>{number(s['mean_tokens_per_s'])}</td></tr>"
        )
    head = "".join(f'<th scope="col">{h}</th>' for h in SUMMARY_COLUMNS.split("|"))
    return (
        '<section class="block"><h2>Summary</h2><table data-role="summary">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></section>\n"
    )


def _nice(top: float) -> float:
    """The axis end: the smallest round number (1, 1.2, 1.5, 2, ... 8 times a power of ten) that
    is at least `top`, so that the longest bar fills most of the chart."""
    if top <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(top))
    return next(
        m * power for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * power >= top * (1 - 1e-9)
    )


ChartSpec = tuple[str, str, str, Callable[[float | None], str], str]
CHARTS: list[ChartSpec] = [  # key, title, axis unit, number format, summary field
    ("ttft", "Mean time to first token", "time", duration, "mean_ttft_ms"),
    ("total", "Total time", "time", duration, "total_ms"),
    ("tokens", "Answer tokens", "tokens", number, "answer_tokens"),
    ("speed", "Tokens per second", "tokens per second", number, "mean_tokens_per_s"),
]


def _chart(spec: ChartSpec, values: list[tuple[str, float | None]], colour: dict[str, str]) -> str:
    key, title, unit, fmt, _ = spec
    top = _nice(max((v for _, v in values if v is not None), default=0.0))
    left, plot = LABEL_WIDTH, CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bottom = TOP + ROW * len(values)
    parts = [f'<line class="axis" x1="{left}" x2="{left}" y1="{TOP}" y2="{bottom}"/>']
    for i, (model, value) in enumerate(values):
        y, short = TOP + i * ROW, model if len(model) <= 13 else model[:12] + "…"
        parts.append(
            f'<text class="label" x="{left - 8}" y="{y + 15}" text-anchor="end">'
            f"<title>{_e(model)}</title>{_e(short)}</text>"
        )
        if value is None:
            parts.append(f'<text class="na" x="{left + 6}" y="{y + 15}">n/a</text>')
            continue
        width = max(value / top * plot, 2.0)  # a zero still shows, as a sliver
        parts.append(
            f'<rect data-role="bar" data-model="{_e(model)}" data-value="{value:g}" '
            f'class="{colour[model]}" x="{left}" y="{y + 4}" width="{width:.1f}" '
            f'height="{ROW - 8}" rx="2"/><text class="value" x="{left + width + 4:.1f}" '
            f'y="{y + 15}">{fmt(value)}</text>'
        )
    for tick in (0.0, top / 2, top):
        x = left + tick / top * plot
        parts.append(
            f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 4}"/>'
            f'<text class="tick" x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">'
            f"{fmt(tick)}</text>"
        )
    height = bottom + 32
    return (
        f'<figure class="card"><figcaption>{title}</figcaption><svg data-chart="{key}" role="img" '
        f'aria-label="{title} per model" width="{CHART_WIDTH}" height="{height}" '
        f'viewBox="0 0 {CHART_WIDTH} {height}"><line class="axis" x1="{left}" '
        f'x2="{left + plot}" y1="{bottom}" y2="{bottom}"/>{"".join(parts)}<text class="unit" '
        f'x="{left + plot / 2:.1f}" y="{height - 3}" text-anchor="middle">{unit}</text>'
        "</svg></figure>"
    )


def _charts(run: Run, colour: dict[str, str]) -> str:
    sums = [run.summary(model) for model in run.models]
    charts = "".join(_chart(c, [(s["model"], s[c[4]]) for s in sums], colour) for c in CHARTS)
    return (
        '<section class="block"><h2>Latency and tokens</h2>'
        f'<div class="charts">{charts}</div></section>\n'
    )


def _turn(run: Run, t: int, info: TurnInfo, colour: dict[str, str]) -> str:
    models = list(run.models)
    if run.mode == "switch":  # the turn's own model answered it
        models = [a.model for a in run.answers if a.turn == t] or [m for m in [info.model] if m]
    cards = "".join(_card(m, run.answer(m, t), k, colour) for k, m in enumerate(models))
    pinned = ""
    if run.mode == "switch" and models:
        pinned = f' <span class="pinned">answered by <b>{_e(models[0])}</b></span>'
    images = "".join(
        f'<img src="{_e(uri)}" alt="image {i + 1} of turn {t + 1}">'
        if uri.startswith("data:image/")  # never a link to elsewhere
        else f'<span class="muted">image {i + 1}: not embedded</span>'
        for i, uri in enumerate(info.images)
    )
    return (
        f'<section class="turn" id="turn-{t}" data-turn="{t}" data-view="grid" data-focus="0">'
        f'<h2>Turn {t + 1}{pinned}</h2>\n<div class="user"><span class="who">USER</span>'
        f"<p>{_e(info.user)}</p>{f'<div class=thumbs>{images}</div>' if images else ''}</div>\n"
        f'{_stepper(t, models) if len(models) > 1 else ""}<div class="answers">'
        f"{cards or '<p class=muted>No answer recorded.</p>'}</div></section>\n"
    )


def _stepper(t: int, models: list[str]) -> str:
    """Hidden until the script runs: without it, the grid alone still shows every answer."""
    tabs = "".join(
        f'<button type="button" data-role="tab" data-model="{_e(m)}" '
        f'aria-pressed="{str(k == 0).lower()}">{_e(m)}</button>'
        for k, m in enumerate(models)
    )
    return (
        f'<div class="stepper" data-role="stepper" role="group" aria-label="Answers to turn '
        f'{t + 1}" hidden><button type="button" data-role="prev" disabled>← Previous</button>'
        f'<span data-role="focus-label" aria-live="polite">Answer 1 of {len(models)}: '
        f'{_e(models[0])}</span><button type="button" data-role="next">Next →</button>'
        f'<div class="tabs">{tabs}</div>'
        '<button type="button" data-role="view" aria-pressed="false">Show one at a time</button>'
        "</div>\n"
    )


def _card(model: str, answer: Answer | None, k: int, colour: dict[str, str]) -> str:
    focused = "true" if k == 0 else "false"
    attrs = f'class="answer" data-model="{_e(model)}" data-index="{k}" data-focused="{focused}"'
    head = f'<h3><span class="swatch {colour.get(model, "m7")}"></span>{_e(model)}</h3>'
    if answer is None:
        no = '<span class="badge">no answer</span>'
        return f'<article {attrs} data-status="missing"><header>{head}{no}</header></article>'
    failed = sum(1 for c in answer.checks if not c.ok)
    if answer.error:
        status, badge = "error", '<span class="badge bad">⚠ error</span>'
    elif failed:
        status, badge = "failed", f'<span class="badge bad">✗ {failed} failed</span>'
    else:
        word = "passed" if answer.checks else "answered"
        status, badge = "passed", f'<span class="badge good">✓ {word}</span>'
    text = f'<div class="text">{_e(answer.text)}</div>' if answer.text else ""
    error = f'<p class="error" data-role="error"><b>⚠ Error:</b> {_e(answer.error)}</p>'
    checks = "".join(_check(c) for c in answer.checks)
    return (
        f'<article {attrs} data-status="{status}"><header>{head}{badge}</header>'
        f'<div class="meta">{_meta(answer)}</div>{text}{error if answer.error else ""}'
        f"{f'<ul class=checks>{checks}</ul>' if checks else ''}</article>"
    )


def _meta(answer: Answer) -> str:
    parts = [f"TTFT {duration(answer.ttft_ms)}", f"total {duration(answer.total_ms)}"]
    if answer.answer_tokens is not None:
        parts.append(f"{'≈' if answer.tokens_estimated else ''}{answer.answer_tokens:,} tokens")
    if (speed := answer.tokens_per_s) is not None:
        parts.append(f"{speed:.1f} tok/s")
    if answer.prompt_tokens is not None:
        parts.append(f"prompt {answer.prompt_tokens:,}")
    return " · ".join(f"<span>{part}</span>" for part in parts)  # wraps between parts only


def _check(check: Check) -> str:
    detail = f" — {_e(check.detail)}" if check.detail else ""
    if check.ok:
        return f'<li class="good" data-ok="true"><b>✓</b> {_e(check.name)}{detail}</li>'
    return f'<li class="bad" data-ok="false">✗ FAIL: {_e(check.name)}{detail}</li>'
