"""Replays of a conversation at BASE and at HEAD, side by side, for the review. Pure: the caller
plays the conversations (`modelops.replay`) and passes the runs in; this module reads them
through the small protocols below.

For each conversation: a table per model of checks passed, time and tokens at BASE and at
HEAD, then each turn folded, with the two answers next to each other and the expectations
that failed. A turn whose expectations fail at HEAD is shown unfolded.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from modelops.review.markdown import code, escape


class CheckLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def ok(self) -> bool: ...
    @property
    def detail(self) -> str: ...


class AnswerLike(Protocol):
    @property
    def text(self) -> str: ...
    @property
    def error(self) -> str | None: ...
    @property
    def checks(self) -> Sequence[CheckLike]: ...
    @property
    def passed(self) -> bool: ...


class TurnLike(Protocol):
    @property
    def user(self) -> str: ...


class RunLike(Protocol):
    """A played conversation (`modelops.replay.results.Run`)."""

    @property
    def mode(self) -> str: ...
    @property
    def models(self) -> Sequence[str]: ...
    @property
    def turns(self) -> Sequence[TurnLike]: ...
    def answer(self, model: str, turn: int) -> AnswerLike | None: ...
    def summary(self, model: str) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class ReplayPair:
    """One conversation played at BASE and at HEAD; a side that could not be played is None,
    with the reason in its note."""

    source: str  # the conversation file, as shown
    name: str
    changed: tuple[str, ...]  # the changed registry models it uses
    base: RunLike | None
    head: RunLike | None
    base_note: str = ""
    head_note: str = ""

    @property
    def failed_at_head(self) -> int:
        """Expectations that fail, and answers that are errors, at HEAD."""
        if self.head is None:
            return 0
        return sum(_failures(self.head, m) for m in self.head.models)


def _failures(run: RunLike, model: str) -> int:
    s = run.summary(model)
    return int(s["checks_failed"]) + int(s["errors"])


def _checks(run: RunLike | None, model: str) -> str:
    if run is None or model not in run.models:
        return "-"
    answers = [a for t in range(len(run.turns)) if (a := run.answer(model, t)) is not None]
    total = sum(len(a.checks) for a in answers)
    passed = sum(1 for a in answers for c in a.checks if c.ok)
    errors = sum(1 for a in answers if a.error)
    mark = "✅" if passed == total and not errors else "❌"
    text = f"{mark} {passed}/{total}"
    return text + (f", {errors} error(s)" if errors else "")


def _seconds(run: RunLike | None, model: str, key: str) -> str:
    if run is None or model not in run.models:
        return "-"
    ms = run.summary(model)[key]
    return "n/a" if ms is None else f"{ms / 1000:.1f} s"


def _tokens(run: RunLike | None, model: str) -> str:
    if run is None or model not in run.models:
        return "-"
    return str(run.summary(model)["answer_tokens"])


def heading(pair: ReplayPair, level: int) -> str:
    return f"{'#' * level} Replay: {escape(pair.name)} ({code(pair.source)})"


def short(pair: ReplayPair, level: int = 3) -> str:
    """The table of results per model, without the answers."""
    lines = [heading(pair, level), ""]
    uses = ", ".join(code(m) for m in pair.changed)
    lines.append(f"Uses the changed model(s) {uses}.")
    for label, note in (("BASE", pair.base_note), ("HEAD", pair.head_note)):
        if note:
            lines.append(f"Not played at {label}: {escape(note)}.")
    lines.append("")
    models = list(dict.fromkeys([*_models(pair.base), *_models(pair.head)]))
    if models:
        lines += [
            "| model | checks at BASE | checks at HEAD | total at BASE | total at HEAD "
            "| tokens at BASE | tokens at HEAD |",
            "|---|---|---|---|---|---|---|",
        ]
        for m in models:
            b, h = pair.base, pair.head
            lines.append(
                f"| {code(m)} | {_checks(b, m)} | {_checks(h, m)} | "
                f"{_seconds(b, m, 'total_ms')} | {_seconds(h, m, 'total_ms')} | "
                f"{_tokens(b, m)} | {_tokens(h, m)} |"
            )
    return "\n".join(lines).rstrip() + "\n"


def _models(run: RunLike | None) -> Sequence[str]:
    return run.models if run is not None else ()


def markdown(pair: ReplayPair, level: int = 3) -> str:
    """The table, then each turn with the answers at BASE and at HEAD side by side."""
    lines = [short(pair, level).rstrip(), ""]
    runs = [r for r in (pair.base, pair.head) if r is not None]
    if not runs:
        return "\n".join(lines).rstrip() + "\n"
    for t, turn in enumerate(runs[0].turns):
        cells = []
        failing = False
        for model in list(dict.fromkeys(m for r in runs for m in r.models)):
            base = pair.base.answer(model, t) if pair.base else None
            head = pair.head.answer(model, t) if pair.head else None
            if base is None and head is None:
                continue
            failing = failing or (head is not None and not head.passed)
            cells.append(
                f"<tr><td><code>{html.escape(model)}</code></td>"
                f"<td>{_answer(base)}</td><td>{_answer(head)}</td></tr>"
            )
        state = " open" if failing else ""
        user = html.escape(_first_line(turn.user))
        lines += [
            f"<details{state}><summary>Turn {t + 1}: {user}</summary>",
            "",
            "<table><tr><th>model</th><th>at BASE</th><th>at HEAD</th></tr>",
            *cells,
            "</table>",
            "",
            "</details>",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def _first_line(text: str, width: int = 80) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def _answer(answer: AnswerLike | None) -> str:
    if answer is None:
        return "-"
    if answer.error:
        return f"⚠️ error: {html.escape(answer.error)}"
    body = html.escape(answer.text or "(no answer)").replace("\n", "<br>")
    marks = [
        f"{'✅' if c.ok else '❌'} {html.escape(c.name)}"
        + (f" ({html.escape(c.detail)})" if c.detail and not c.ok else "")
        for c in answer.checks
    ]
    return body + ("<br><br>" + "<br>".join(marks) if marks else "")
