"""The replay report as HTML: a self-contained page with escaped text, checked as text and then
rendered and clicked through in headless Chromium (Debian's package, driven by Playwright)."""

from __future__ import annotations

import base64
import html
import io
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from modelops.replay.html import render
from modelops.replay.results import Answer, Check, Run, TurnInfo

if TYPE_CHECKING:
    from playwright.sync_api import Dialog

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LEAD_SCREENSHOT = Path("/tmp/replay-report.png")
MODELS = ["faq", "general", "vision:7b"]
SCRIPT = "<script>alert(1)</script>"
REFUND, NO_REFUND = Check("contains 'refund'", True), Check("contains 'refund'", False)
FAST = "takes at most 1000 ms"


def png_data_uri() -> str:
    image = Image.new("RGB", (24, 16), "#3b6ea5")
    image.paste((242, 142, 43), (12, 0, 24, 16))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def answer(
    model: str,
    turn: int,
    text: str,
    ms: tuple[float, float],
    tokens: int,
    *checks: Check,
    estimated: bool = False,
) -> Answer:
    ttft, total = ms
    return Answer(
        model, turn, text, ttft, total, 30 + 50 * turn, tokens, estimated, None, list(checks)
    )


def make_run() -> Run:
    turns = [
        TurnInfo("How do I get a refund?", [], None, {"contains": ["refund"]}),
        TurnInfo("What is in this picture?", [png_data_uri()], None, None),
        TurnInfo("Quote this: <img src=x onerror=alert(2)>", [], None, {"max_ms": 1000}),
    ]
    answers = [
        answer("faq", 0, "Open Orders, pick the order and press Refund.", (120, 640), 14, REFUND),
        answer("general", 0, "You can ask for a refund within 30 days.", (210, 980), 12, REFUND),
        answer("vision:7b", 0, "Contact the shop.", (340, 1500), 5, NO_REFUND, estimated=True),
        answer("faq", 1, "Two colours: blue and orange.", (110, 520), 8),
        Answer("general", 1, error="model 'general' does not support images"),
        answer("vision:7b", 1, "A blue rectangle beside an orange one.", (600, 2400), 11),
        answer("faq", 2, f"Here it is: {SCRIPT}", (100, 700), 9, Check(FAST, True, "700 ms")),
        answer(
            "general", 2, "&lt;img&gt; quoted as text", (190, 900), 7, Check(FAST, True, "900 ms")
        ),
        answer("vision:7b", 2, "I'd rather not.", (500, 1700), 4, Check(FAST, False, "1700 ms")),
    ]
    options = {"seed": 42, "temperature": 0}
    return Run(
        "refund-flow", "conversations/refund.yaml", "compare", MODELS, turns, answers, options
    )


# The page as text


def test_page_loads_nothing_from_elsewhere() -> None:
    page = render(make_run())
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert "<link" not in page
    assert "@import" not in page
    assert "url(" not in page
    assert "default-src 'none'; img-src data:" in page  # the browser enforces it (see below)
    assert page.count("<script") == 1  # ours, at the end


def test_run_text_is_escaped() -> None:
    page = render(make_run())
    assert SCRIPT not in page
    assert html.escape(SCRIPT) in page
    assert "<img src=x" not in page
    assert "&amp;lt;img&amp;gt; quoted as text" in page  # already-escaped text stays as typed


def test_every_answer_and_turn_is_there() -> None:
    run = make_run()
    page = render(run)
    for answer in run.answers:
        assert html.escape(answer.text or str(answer.error)) in page
    for t in range(3):
        assert page.count(f'data-turn="{t}"') == 1
    assert page.count('<article class="answer"') == 9
    assert "<title>Replay: refund-flow</title>" in page
    assert "compare: each model keeps its own context" in page
    assert "seed=42 · temperature=0" in page
    assert "✗ 2 failed checks" in page
    assert "⚠ 1 error" in page


def test_rendering_is_deterministic() -> None:
    assert render(make_run()) == render(make_run())


def test_switch_mode_shows_the_turns_own_model() -> None:
    turns = [TurnInfo("Hi", [], "faq", None), TurnInfo("And now?", [], "general", None)]
    answers = [
        Answer("faq", 0, "Hello.", 50, 200, 3, 2),
        Answer("general", 1, "Now this.", 60, 300, 9, 3),
    ]
    page = render(Run("handover", "c.yaml", "switch", ["faq", "general"], turns, answers, {}))
    assert "switch: one shared context, each turn pinned to a model" in page
    assert page.count('<article class="answer"') == 2
    assert "answered by <b>faq</b>" in page
    assert "answered by <b>general</b>" in page
    assert 'data-role="stepper"' not in page  # one answer per turn: nothing to step through
    assert "<dt>Options</dt><dd>none</dd>" in page


def test_one_model_with_no_numbers_still_renders() -> None:
    turns = [TurnInfo("Hi", [], None, None)]
    answers = [Answer("solo", 0, error="connection refused")]
    page = render(Run("down", "c.yaml", "compare", ["solo"], turns, answers, {}))
    assert page.count('data-role="bar"') == 2  # total time 0 ms and 0 tokens: slivers
    assert page.count(">n/a</text>") == 2  # no first token, no speed
    assert "<b>⚠ Error:</b> connection refused" in page


# The page in a browser


def require_browser() -> None:
    """Playwright driving Debian's Chromium; a missing piece fails the test, saying how to add it."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("Playwright is missing: pip install -e '.[test]' (never `playwright install`)")
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: apt-get install -y chromium")


def test_the_report_in_chromium(tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    run = make_run()
    report = tmp_path / "report.html"
    report.write_text(render(run), encoding="utf-8")
    screenshot = Path(os.environ.get("MODELOPS_REPORT_SCREENSHOT", tmp_path / "replay-report.png"))
    dialogs: list[str] = []
    problems: list[str] = []
    requests: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(5_000)  # a page whose script did not run fails fast
            page.on("dialog", on_dialog)
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("request", lambda r: requests.append(r.url))
            page.goto(report.as_uri())

            assert page.title() == "Replay: refund-flow"
            assert page.locator("h1").inner_text() == "refund-flow"
            assert "conversations/refund.yaml" in page.locator(".facts").inner_text()

            rows = page.locator("[data-role=summary] tbody tr")
            assert rows.count() == 3
            assert [rows.nth(i).get_attribute("data-model") for i in range(3)] == MODELS
            general = page.locator("[data-role=summary] tr[data-model=general] td")
            assert [general.nth(i).inner_text() for i in range(7)] == [
                "2",
                "⚠ 1",
                "0",
                "200 ms",
                "1.88 s",
                "19",
                "12.7",
            ]
            assert (
                page.locator("[data-role=summary] tr[data-model='vision:7b'] td")
                .nth(2)
                .inner_text()
                == "✗ 2"
            )

            for chart in ("ttft", "total", "tokens", "speed"):
                bars = page.locator(f"svg[data-chart={chart}] rect[data-role=bar]")
                assert bars.count() == 3, chart
                assert [bars.nth(i).get_attribute("data-model") for i in range(3)] == MODELS
                for i in range(3):
                    box = bars.nth(i).bounding_box()
                    assert box and box["width"] > 0 and box["height"] > 0, (chart, i)
            ttft = page.locator("svg[data-chart=ttft] rect[data-role=bar]")
            widths = [(ttft.nth(i).bounding_box() or {"width": 0})["width"] for i in range(3)]
            assert widths[0] < widths[1] < widths[2]  # 110, 200 and 480 ms
            assert "480 ms" in (page.locator("svg[data-chart=ttft]").text_content() or "")

            for t in range(3):
                cards = page.locator(f"section[data-turn='{t}'] article.answer")
                assert [cards.nth(i).get_attribute("data-model") for i in range(3)] == MODELS
                boxes = [cards.nth(i).bounding_box() for i in range(3)]
                assert all(b is not None for b in boxes)
                assert len({round(b["y"]) for b in boxes if b}) == 1, "side by side, one row"
                assert [b["x"] for b in boxes if b] == sorted(b["x"] for b in boxes if b)

            assert page.get_by_text(f"Here it is: {SCRIPT}").is_visible()
            image = page.locator("section[data-turn='1'] .thumbs img")
            assert image.evaluate("img => img.complete && img.naturalWidth") == 24

            turn = page.locator("section[data-turn='0']")
            label = turn.locator("[data-role=focus-label]")
            prev, next_ = turn.locator("[data-role=prev]"), turn.locator("[data-role=next]")
            assert label.inner_text() == "Answer 1 of 3: faq"
            assert prev.is_disabled()
            next_.click()
            assert label.inner_text() == "Answer 2 of 3: general"
            assert (
                turn.locator("article[data-focused=true]").get_attribute("data-model") == "general"
            )
            assert turn.locator("[data-role=tab][aria-pressed=true]").inner_text() == "general"
            next_.click()
            assert label.inner_text() == "Answer 3 of 3: vision:7b"
            assert next_.is_disabled()
            prev.click()
            assert label.inner_text() == "Answer 2 of 3: general"
            page.keyboard.press("ArrowLeft")  # the focus is still on the Previous button
            assert label.inner_text() == "Answer 1 of 3: faq"
            turn.locator("[data-role=tab][data-model='vision:7b']").click()
            assert turn.get_attribute("data-focus") == "2"
            turn.locator("[data-role=view]").click()  # one at a time
            assert turn.locator("article[data-model=faq]").is_hidden()
            assert turn.locator("article[data-model='vision:7b']").is_visible()
            turn.locator("[data-role=view]").click()  # back to side by side
            assert turn.locator("article[data-model=faq]").is_visible()
            page.locator("section[data-turn='2'] [data-role=next]").click()
            assert page.locator("section[data-turn='2'] [data-role=focus-label]").inner_text() == (
                "Answer 2 of 3: general"
            )
            assert label.inner_text() == "Answer 3 of 3: vision:7b"  # turns step on their own

            failed = page.locator("li[data-ok=false]")
            assert failed.count() == 2
            assert failed.first.is_visible()
            assert failed.first.inner_text() == "✗ FAIL: contains 'refund'"
            assert failed.first.evaluate("e => getComputedStyle(e).color") == "rgb(180, 35, 24)"
            error = page.locator("[data-role=error]")
            assert error.is_visible() and "does not support images" in error.inner_text()

            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    assert dialogs == [], "text from the run ran as script"
    assert problems == [], "the page logged errors (a blocked script or style breaks the CSP)"
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    assert screenshot.stat().st_size > 10_000
    shutil.copyfile(screenshot, LEAD_SCREENSHOT)


def test_a_missing_answer_keeps_its_column() -> None:
    run = make_run()
    run.answers = [a for a in run.answers if not (a.model == "general" and a.turn == 2)]
    page = render(run)
    turn = page.split('data-turn="2"')[1]
    assert turn.count('<article class="answer"') == 3
    assert 'data-model="general" data-index="1" data-focused="false" data-status="missing"' in turn
    assert "no answer" in turn
