"""The review as Markdown: it parses as CommonMark with GFM tables, its <details> blocks are
balanced, user text cannot break it, and a change to 300 models stays under GitHub's limit."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

from modelops.reconcile.plan import HostPlan, Plan
from modelops.review import document, markdown
from modelops.review.diff import Side, compare
from modelops.review.document import GITHUB_LIMIT, TargetPlan, length
from modelops.spec.model import ModelSpec
from modelops.targets.base import Change, FieldChange

PARSER = MarkdownIt("commonmark", {"html": True}).enable("table")


def spec(model_id: str, **fields) -> ModelSpec:
    return ModelSpec.model_validate({"version": 1, "id": model_id, "base": "mistral", **fields})


def html_tags(text: str) -> list[str]:
    """The <details> and </details> tags the renderer sees as HTML (not those in code)."""
    tags = []
    for token in PARSER.parse(text):
        pieces = [token, *(token.children or [])]
        for piece in pieces:
            if piece.type in ("html_block", "html_inline"):
                tags += re.findall(r"</?details\b", piece.content)
    return tags


def balanced(text: str) -> bool:
    depth = 0
    for tag in html_tags(text):
        depth += -1 if tag.startswith("</") else 1
        if depth < 0:
            return False
    return depth == 0


def big_change(count: int, prompt_lines: int = 12) -> tuple:
    def prompt(version: str, i: int) -> str:
        return "\n".join(f"Rule {n} of model {i}, {version}." for n in range(prompt_lines))

    before = [
        spec(f"m{i:03}", system=prompt("old", i), parameters={"top_k": 40}) for i in range(count)
    ]
    after = [
        spec(f"m{i:03}", system=prompt("new", i), parameters={"top_k": 41}, hidden=True)
        for i in range(count)
    ]
    base = Side("main", {s.id: s for s in before}, lambda p: None)
    head = Side("work", {s.id: s for s in after}, lambda p: None)
    return compare(base, head)


def a_plan(count: int) -> Plan:
    changes = tuple(
        Change(
            "update",
            "http://h:11434",
            f"m{i:03}:latest",
            f"m{i:03}",
            "changed in the registry",
            (FieldChange("parameters.top_k", 40, 41),),
        )
        for i in range(count)
    )
    return Plan("local", (HostPlan("http://h:11434", "0.12.6", changes),), prune=False)


def review_of(diff, plans=(), limit=GITHUB_LIMIT):
    return document.build(
        markdown.section(diff, level=3),
        diff.base,
        diff.head,
        plans,
        (),
        full_at="`review.md`",
        limit=limit,
    )


def test_a_300_model_change_stays_under_the_limit_and_says_where_the_rest_is():
    diff = big_change(300)
    result = review_of(diff, [TargetPlan("local", a_plan(300)), TargetPlan("far", None, "down")])
    assert length(result.full) > GITHUB_LIMIT  # the whole review would not fit
    assert length(result.comment) <= GITHUB_LIMIT
    assert result.shortened
    assert result.comment.startswith("<!-- modelops-review -->\n")
    assert "The whole review is in `review.md`." in result.comment
    # every model is still named in the comment's table, in order
    rows = re.findall(r"^\| ✏️ \| `(m\d{3})` \|", result.comment, re.M)
    assert rows == [f"m{i:03}" for i in range(300)]
    # each plan keeps at least its summary; the unreachable target is named
    assert "**0 to pull, 0 to create, 300 to update, 0 to delete, 0 in sync.**" in result.comment
    assert "> :warning: not planned: down" in result.comment
    assert balanced(result.comment)
    assert balanced(result.full)
    assert result.full.count("<details>") == 300 + 300  # one per model, one per plan change


def test_the_table_itself_is_cut_when_even_it_does_not_fit():
    diff = big_change(300, prompt_lines=1)
    result = review_of(diff, limit=8_000)
    assert length(result.comment) <= 8_000
    shown = re.findall(r"^\| ✏️ \| `(m\d{3})` \|", result.comment, re.M)
    assert 0 < len(shown) < 300
    assert shown == [f"m{i:03}" for i in range(len(shown))]
    assert f"| | … | {300 - len(shown)} more model(s): see the whole review |" in result.comment
    assert f"{300 - len(shown)} row(s) of the model table" in result.comment


def test_a_small_review_is_whole_and_the_same_every_time():
    diff = big_change(3)
    first, second = review_of(diff), review_of(diff)
    assert first.comment == first.full == second.comment
    assert not first.shortened
    assert "shortened" not in first.comment


def test_a_marker_name_tells_reviews_apart():
    assert document.marker() == "<!-- modelops-review -->"
    assert document.marker("gpu") == "<!-- modelops-review:gpu -->"


def test_user_text_cannot_break_the_layout():
    hostile = "```\n</details>\n<script>alert(1)</script>\n| a | b |\n````"
    before = [spec("x", name="A | B <b>", system="plain")]
    after = [spec("x", name="A | B <b> *bold*", system=hostile, tags=["`tick`", "x|y"])]
    diff = compare(
        Side("a", {"x": before[0]}, lambda p: None), Side("b", {"x": after[0]}, lambda p: None)
    )
    text = markdown.markdown(diff)
    assert balanced(text)
    html = PARSER.render(text)
    assert "<script>" not in html
    # the table keeps its cells per row even with pipes in the values
    rows = [t for t in PARSER.parse(text) if t.type == "tr_open"]
    cells = [t for t in PARSER.parse(text) if t.type in ("td_open", "th_open")]
    assert len(cells) == 3 * len(rows)  # the model table and the before/after table
    assert len(rows) == 2 + 3  # head and row of each: one model; name and tags
    # the system prompt, fenced, comes out whole inside one code block
    fences = [t for t in PARSER.parse(text) if t.type == "fence"]
    assert len(fences) == 1
    assert "+</details>" in fences[0].content
    assert "+````" in fences[0].content


def test_a_broken_renderer_is_caught_by_the_balance_check():
    assert not balanced("<details><summary>x</summary>\n\ntext\n")
    assert not balanced("</details>\n\n<details>\n\n")
    assert balanced("```\n<details>\n```\n")  # inside code it is text, not a tag
