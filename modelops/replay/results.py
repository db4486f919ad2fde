"""What a replay produced: each model's answer to each turn, with timings, tokens and checks,
and the expectations that judged them. Pure."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from statistics import mean
from typing import Any

from modelops.spec.conversation import Expect


@dataclass(frozen=True)
class Check:
    name: str  # e.g. "contains 'refund'"
    ok: bool
    detail: str = ""


@dataclass
class Answer:
    model: str  # the model reference as given
    turn: int  # 0-based
    text: str = ""
    ttft_ms: float | None = None  # time to first token
    total_ms: float = 0.0
    prompt_tokens: int | None = None
    answer_tokens: int | None = None
    tokens_estimated: bool = False  # the provider reported none: counted from the text
    error: str | None = None
    checks: list[Check] = field(default_factory=list)

    @property
    def tokens_per_s(self) -> float | None:
        if not self.answer_tokens or self.ttft_ms is None or self.total_ms <= self.ttft_ms:
            return None
        return self.answer_tokens / ((self.total_ms - self.ttft_ms) / 1000)

    @property
    def passed(self) -> bool:
        return self.error is None and all(c.ok for c in self.checks)


@dataclass(frozen=True)
class TurnInfo:
    user: str
    images: list[str]  # data URIs, so reports are self-contained
    model: str | None
    expect: dict[str, Any] | None


@dataclass
class Run:
    name: str
    source: str
    mode: str  # "compare" (each model its own context) or "switch" (one shared context)
    models: list[str]
    turns: list[TurnInfo]
    answers: list[Answer]
    options: dict[str, Any]

    def answer(self, model: str, turn: int) -> Answer | None:
        return next((a for a in self.answers if a.model == model and a.turn == turn), None)

    @property
    def failed_checks(self) -> int:
        return sum(1 for a in self.answers for c in a.checks if not c.ok)

    @property
    def errors(self) -> int:
        return sum(1 for a in self.answers if a.error)

    def summary(self, model: str) -> dict[str, Any]:
        mine = [a for a in self.answers if a.model == model and a.error is None]
        ttfts = [a.ttft_ms for a in mine if a.ttft_ms is not None]
        speeds = [s for a in mine if (s := a.tokens_per_s) is not None]
        return {
            "model": model,
            "answers": len(mine),
            "errors": sum(1 for a in self.answers if a.model == model and a.error),
            "checks_failed": sum(
                1 for a in self.answers if a.model == model for c in a.checks if not c.ok
            ),
            "mean_ttft_ms": round(mean(ttfts), 1) if ttfts else None,
            "total_ms": round(sum(a.total_ms for a in mine), 1),
            "answer_tokens": sum(a.answer_tokens or 0 for a in mine),
            "prompt_tokens": sum(a.prompt_tokens or 0 for a in mine),
            "mean_tokens_per_s": round(mean(speeds), 1) if speeds else None,
        }

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for answer, raw in zip(self.answers, data["answers"], strict=True):
            raw["tokens_per_s"] = answer.tokens_per_s
            raw["passed"] = answer.passed
        data["summary"] = [self.summary(m) for m in self.models]
        data["failed_checks"] = self.failed_checks
        data["errors"] = self.errors
        return data


def check(expect: Expect | None, answer: Answer) -> list[Check]:
    """The expectations of a turn, judged on one answer."""
    if expect is None or answer.error:
        return []
    text = answer.text
    out = []
    for needle in expect.contains or []:
        out.append(Check(f"contains {needle!r}", needle in text))
    for needle in expect.not_contains or []:
        out.append(Check(f"does not contain {needle!r}", needle not in text))
    if expect.regex is not None:
        try:
            found = re.search(expect.regex, text) is not None
            out.append(Check(f"matches /{expect.regex}/", found))
        except re.error as exc:
            out.append(Check(f"matches /{expect.regex}/", False, f"bad regular expression: {exc}"))
    if expect.json_:
        try:
            json.loads(text)
            out.append(Check("is valid JSON", True))
        except ValueError as exc:
            out.append(Check("is valid JSON", False, str(exc)))
    if expect.max_ms is not None:
        out.append(
            Check(
                f"takes at most {expect.max_ms} ms",
                answer.total_ms <= expect.max_ms,
                f"{answer.total_ms:.0f} ms",
            )
        )
    if expect.min_tokens is not None:
        tokens = answer.answer_tokens or 0
        out.append(
            Check(
                f"has at least {expect.min_tokens} tokens",
                tokens >= expect.min_tokens,
                f"{tokens} tokens",
            )
        )
    return out


def duration(ms: float | None) -> str:
    """Milliseconds as reports show them: `640 ms`, `1.86 s`, `n/a`."""
    if ms is None:
        return "n/a"
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.2f}".rstrip("0").rstrip(".") + " s"


def number(value: float | None) -> str:
    """A count or a rate as reports show it: `1,234`, `12.7`, `n/a`."""
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
