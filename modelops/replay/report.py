"""A replay as Markdown (fits a pull-request comment) and as a terminal summary. Pure."""

from __future__ import annotations

from modelops.replay.results import Answer, Run, duration, number


def _mode(run: Run) -> str:
    if run.mode == "switch":
        return "switch (one shared context; each turn answered by its model)"
    return "compare (each model answers every turn with its own context)"


def _options(run: Run) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(run.options.items())) or "none"


def _stats(answer: Answer) -> str:
    if answer.error:
        return f"error: {answer.error}"
    tokens = (
        "-"
        if answer.answer_tokens is None
        else f"{answer.answer_tokens}{'~' if answer.tokens_estimated else ''}"
    )
    parts = [
        f"first token {duration(answer.ttft_ms)}",
        f"total {duration(answer.total_ms)}",
        f"{tokens} tokens",
    ]
    if answer.tokens_per_s is not None:
        parts.append(f"{answer.tokens_per_s:.1f} tok/s")
    return " · ".join(parts)


def _checks(answer: Answer) -> str:
    if not answer.checks:
        return ""
    passed = sum(1 for c in answer.checks if c.ok)
    mark = "✅" if passed == len(answer.checks) else "❌"
    return f" · {mark} {passed}/{len(answer.checks)} checks"


def markdown(run: Run) -> str:
    lines = [
        f"### Replay: {run.name}",
        "",
        f"`{run.source}` · mode: {_mode(run)} · options: {_options(run)}",
        "",
        "| model | answers | errors | failed checks | mean first token | total | answer tokens "
        "| tok/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for model in run.models:
        s = run.summary(model)
        lines.append(
            f"| `{model}` | {s['answers']} | {s['errors']} | {s['checks_failed']} | "
            f"{duration(s['mean_ttft_ms'])} | {duration(s['total_ms'])} | {s['answer_tokens']} | "
            f"{number(s['mean_tokens_per_s'])} |"
        )
    verdict = (
        "all checks passed" if not run.failed_checks else f"**{run.failed_checks} check(s) failed**"
    )
    lines += ["", verdict + (f", **{run.errors} error(s)**" if run.errors else ""), ""]
    for t, turn in enumerate(run.turns):
        pin = f" → `{turn.model}`" if turn.model else ""
        lines += [f"#### Turn {t + 1}{pin}", "", *_quote(turn.user, "🧑 "), ""]
        if turn.images:
            lines += [f"_{len(turn.images)} image(s) attached_", ""]
        for model in run.models:
            answer = run.answer(model, t)
            if answer is None:
                continue
            state = " open" if not answer.passed else ""  # failures are shown unfolded
            summary = f"<b>{model}</b> · {_stats(answer)}{_checks(answer)}"
            lines.append(f"<details{state}><summary>{summary}</summary>")
            lines.append("")
            lines += _quote(answer.text or "(no answer)")
            for c in answer.checks:
                if not c.ok:
                    detail = f" ({c.detail})" if c.detail else ""
                    lines.append(f"\n- ❌ {c.name}{detail}")
            lines += ["", "</details>", ""]
    return "\n".join(lines).rstrip() + "\n"


def _quote(text: str, lead: str = "") -> list[str]:
    lines = text.splitlines() or [""]
    return [f"> {lead if i == 0 else ''}{line}" for i, line in enumerate(lines)]


def text(run: Run) -> str:
    """The terminal summary: a line per model, then each failed check and error."""
    lines = [f"{run.name}: {run.mode} mode, {len(run.turns)} turn(s), {len(run.models)} model(s)"]
    width = max(len(m) for m in run.models) if run.models else 0
    for model in run.models:
        s = run.summary(model)
        lines.append(
            f"  {model:<{width}}  {s['answers']} answers, "
            f"first token {duration(s['mean_ttft_ms'])}, "
            f"total {duration(s['total_ms'])}, {s['answer_tokens']} tokens, "
            f"{number(s['mean_tokens_per_s'])} tok/s, {s['checks_failed']} failed check(s)"
        )
    for answer in run.answers:
        if answer.error:
            lines.append(f"  error: turn {answer.turn + 1}, {answer.model}: {answer.error}")
        for c in answer.checks:
            if not c.ok:
                detail = f" ({c.detail})" if c.detail else ""
                lines.append(f"  failed: turn {answer.turn + 1}, {answer.model}: {c.name}{detail}")
    return "\n".join(lines) + "\n"
