"""diff end to end on a scripted history; the goldens are written by hand from the script in
tests/review_history.py (commit ids and subjects stand as <name>)."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from tests import review_history
from tests.helpers import RegistryFixture, run


@pytest.fixture
def history(reg: RegistryFixture) -> review_history.History:
    return review_history.build(reg)


def _kib(data: bytes) -> str:
    return f"{len(data)} B"


def test_diff_text_of_the_scripted_history(history):
    result = run("diff")
    assert result.code == 0, result.err
    red, blue = _kib(review_history.RED), _kib(review_history.BLUE)
    assert history.placeholders(result.out) == (
        "Diff from <main> (merge base with main) to the work tree: 1 added, 1 cloned, "
        "2 renamed, 4 changed (1 through a base), 1 removed; 1 unchanged\n"
        "+ support-bot  added, on mistral:latest\n"
        '    name: "Support Bot"\n'
        '    base: "mistral:latest"\n'
        "    system:\n"
        "      @@ -0,0 +1 @@\n"
        "      +Help customers.\n"
        "    commit <create>\n"
        "> coder-2      cloned from coder\n"
        '    name: "Coder" -> "Coder 2"\n'
        f"    avatar: avatars/coder.png changed ({red} -> {blue})\n"
        "    commit <clone>\n"
        "~ scribe       renamed from notes (detected by content)\n"
        "    commit <hand-rename>\n"
        "~ support      renamed from faq\n"
        "    system:\n"
        "      @@ -1 +1 @@\n"
        "      -Answer briefly.\n"
        "      +Answer briefly and cite your source.\n"
        "    parameters:\n"
        "      PARAMETER    BEFORE  AFTER\n"
        "      temperature  0.2     0.3\n"
        "    commit <rename>\n"
        "    commit <faq-temperature>\n"
        "    commit <faq-system>\n"
        "~ coder        changed; hidden\n"
        "    hidden: (unset) -> true\n"
        f"    avatar: avatars/coder.png changed ({red} -> {blue})\n"
        "    commit <hide>\n"
        "~ tutor        changed; rolled back\n"
        "    parameters:\n"
        "      PARAMETER    BEFORE  AFTER\n"
        "      temperature  0.5     0.4\n"
        "    commit <rollback>\n"
        "~ writer       changed; shared with group writers\n"
        "    system:\n"
        "      @@ -1 +1 @@\n"
        "      -Write stories.\n"
        "      +Write short stories.\n"
        '    access.read.groups: (unset) -> ["writers"]\n'
        "    commit <share>\n"
        "    commit <writer-system>\n"
        "~ poet         changed through its base writer\n"
        "    system (from writer):\n"
        "      @@ -1 +1 @@\n"
        "      -Write stories.\n"
        "      +Write short stories.\n"
        "- helper       removed\n"
        "    commit <delete>\n"
    )


# The diff of the scripted history below its summary line, as Markdown; {avatars} stands for
# the avatar table, which depends on how images are shown.
DIFF_BODY = (
    "| | model | change |\n"
    "|---|---|---|\n"
    "| ➕ | `support-bot` Support Bot | added, on mistral:latest |\n"
    "| 🧬 | `coder-2` Coder 2 | cloned from coder |\n"
    "| 🔀 | `scribe` Notes | renamed from notes (detected by content) |\n"
    "| 🔀 | `support` Quick FAQ | renamed from faq |\n"
    "| ✏️ | `coder` Coder | changed; hidden |\n"
    "| ✏️ | `tutor` | changed; rolled back |\n"
    "| ✏️ | `writer` | changed; shared with group writers |\n"
    "| ↪️ | `poet` | changed through its base writer |\n"
    "| 🗑️ | `helper` | removed |\n"
    "\n"
    "<details><summary><code>support-bot</code>: added, on mistral:latest</summary>\n"
    "\n"
    "| field | value |\n"
    "|---|---|\n"
    '| `name` | `"Support Bot"` |\n'
    '| `base` | `"mistral:latest"` |\n'
    "\n"
    "**`system`**\n"
    "\n"
    "```diff\n"
    "@@ -0,0 +1 @@\n"
    "+Help customers.\n"
    "```\n"
    "\n"
    "Commits: <create>\n"
    "\n"
    "</details>\n"
    "\n"
    "<details><summary><code>coder-2</code>: cloned from coder</summary>\n"
    "\n"
    "| field | before | after |\n"
    "|---|---|---|\n"
    '| `name` | `"Coder"` | `"Coder 2"` |\n'
    "\n"
    "{avatars}"
    "\n"
    "Commits: <clone>\n"
    "\n"
    "</details>\n"
    "\n"
    "<details><summary><code>scribe</code>: renamed from notes (detected by content)</summary>\n"
    "\n"
    "Commits: <hand-rename>\n"
    "\n"
    "</details>\n"
    "\n"
    "<details><summary><code>support</code>: renamed from faq</summary>\n"
    "\n"
    "**Parameters**\n"
    "\n"
    "| parameter | before | after |\n"
    "|---|---|---|\n"
    "| `temperature` | `0.2` | `0.3` |\n"
    "\n"
    "**`system`**\n"
    "\n"
    "```diff\n"
    "@@ -1 +1 @@\n"
    "-Answer briefly.\n"
    "+Answer briefly and cite your source.\n"
    "```\n"
    "\n"
    "Commits: <rename>; <faq-temperature>; <faq-system>\n"
    "\n"
    "</details>\n"
    "\n"
    "<details><summary><code>coder</code>: changed; hidden</summary>\n"
    "\n"
    "| field | before | after |\n"
    "|---|---|---|\n"
    "| `hidden` | `(unset)` | `true` |\n"
    "\n"
    "{avatars}"
    "\n"
    "Commits: <hide>\n"
    "\n"
    "</details>\n"
    "\n"
    "<details><summary><code>tutor</code>: changed; rolled back</summary>\n"
    "\n"
    "**Parameters**\n"
    "\n"
    "| parameter | before | after |\n"
    "|---|---|---|\n"
    "| `temperature` | `0.5` | `0.4` |\n"
    "\n"
    "Commits: <rollback>\n"
    "\n"
    "</details>\n"
    "\n"
    "<details><summary><code>writer</code>: changed; shared with group writers</summary>\n"
    "\n"
    "| field | before | after |\n"
    "|---|---|---|\n"
    '| `access.read.groups` | `(unset)` | `["writers"]` |\n'
    "\n"
    "**`system`**\n"
    "\n"
    "```diff\n"
    "@@ -1 +1 @@\n"
    "-Write stories.\n"
    "+Write short stories.\n"
    "```\n"
    "\n"
    "Commits: <share>; <writer-system>\n"
    "\n"
    "</details>\n"
    "\n"
    "<details><summary><code>poet</code>: changed through its base writer</summary>\n"
    "\n"
    "**`system`** (from `writer`)\n"
    "\n"
    "```diff\n"
    "@@ -1 +1 @@\n"
    "-Write stories.\n"
    "+Write short stories.\n"
    "```\n"
    "\n"
    "</details>\n"
)


def _img(side: str, data: bytes) -> str:
    import base64

    uri = "data:image/png;base64," + base64.b64encode(data).decode()
    return f'<img src="{uri}" alt="{side}: avatars/coder.png" width="64" height="64">'


def test_diff_markdown_of_the_scripted_history(history):
    result = run("diff", "-o", "markdown")
    assert result.code == 0, result.err
    avatars = (
        "| avatar before | avatar after |\n"
        "|---|---|\n"
        f"| {_img('before', review_history.RED)} | {_img('after', review_history.BLUE)} |\n"
        "| `avatars/coder.png` | `avatars/coder.png` |\n"
    )
    assert history.placeholders(result.out) == (
        "## Registry changes: <main> (merge base with main) → the work tree\n"
        "\n"
        "**1 added, 1 cloned, 2 renamed, 4 changed (1 through a base), 1 removed; 1 unchanged**\n"
        "\n"
    ) + DIFF_BODY.format(avatars=avatars)


def _targets(reg: RegistryFixture, far: str) -> None:
    (reg.root / "modelops.yaml").write_text(
        "version: 1\n"
        "targets:\n"
        "  local: {type: ollama}\n"
        f"  far: {{type: ollama, host: '{far}'}}\n"
        "  webui: {type: openwebui, url: 'http://127.0.0.1:8080'}\n"
        "default_target: local\n"
    )
    reg.commit("three targets")


@pytest.fixture
def applied(reg: RegistryFixture, ollama_server, monkeypatch):
    """The scripted history, with main applied to the Ollama test server (target local) and
    two more targets: one that refuses connections and an Open WebUI."""
    from tests.ollama_server import OllamaServer

    far = OllamaServer.refused_url()
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)

    def apply_main() -> None:
        _targets(reg, far)
        result = run("apply", "local")
        assert result.code == 0, result.err

    history = review_history.build(reg, apply_main)
    history.main = reg.git("rev-parse", "main").strip()
    return history, ollama_server, far


def test_review_of_the_scripted_history(applied):
    from modelops import __version__

    history, server, far = applied
    result = run("review")
    assert result.code == 0, result.err
    text = history.placeholders(result.out).replace(server.url, "<local>").replace(far, "<far>")
    avatars = (
        "| avatar before | avatar after |\n"
        "|---|---|\n"
        "| `avatars/coder.png` (not shown) | `avatars/coder.png` (not shown) |\n"
        "| `avatars/coder.png` | `avatars/coder.png` |\n"
    )
    assert text == (
        "<!-- modelops-review -->\n"
        "\n"
        "## modelops review: <main> (merge base with main) → the work tree\n"
        "\n"
        "### Registry changes\n"
        "\n"
        "**1 added, 1 cloned, 2 renamed, 4 changed (1 through a base), 1 removed; 1 unchanged**\n"
        "\n" + DIFF_BODY.format(avatars=avatars) + "\n"
        "### Plan for `far`\n"
        "\n"
        "**0 to pull, 0 to create, 0 to update, 0 to delete, 0 in sync.**\n"
        "\n"
        "#### <far>\n"
        "\n"
        "> :warning: cannot reach Ollama at <far> (connection refused); start it, or point "
        "modelops at a server with OLLAMA_HOST=host:port or a target in modelops.yaml\n"
        "\n"
        "### Plan for `local`\n"
        "\n"
        "**0 to pull, 4 to create, 3 to update, 0 to delete, 2 in sync; 3 delete(s) held back "
        "(apply with --prune to delete).**\n"
        "\n"
        f"#### <local> (Ollama {server.version})\n"
        "\n"
        "| | change | model | why |\n"
        "|---|---|---|---|\n"
        "| ➕ | create | `coder-2:latest` | not on the host |\n"
        "| ✏️ | update | `writer:latest` | changed in the registry |\n"
        "| ✏️ | update | `poet:latest` | its base writer changes |\n"
        "| ➕ | create | `scribe:latest` | not on the host |\n"
        "| ➕ | create | `support:latest` | not on the host |\n"
        "| ➕ | create | `support-bot:latest` | not on the host |\n"
        "| ✏️ | update | `tutor:latest` | changed in the registry |\n"
        "| 🗑️ | delete (held back) | `faq:latest` | no longer in the registry (prune is off) |\n"
        "| 🗑️ | delete (held back) | `helper:latest` | no longer in the registry (prune is off) |\n"
        "| 🗑️ | delete (held back) | `notes:latest` | no longer in the registry (prune is off) |\n"
        "\n"
        "<details><summary><code>writer:latest</code>: 1 field(s)</summary>\n"
        "\n"
        "| field | live | registry |\n"
        "|---|---|---|\n"
        '| `system` | `"Write stories."` | `"Write short stories."` |\n'
        "\n"
        "</details>\n"
        "\n"
        "<details><summary><code>tutor:latest</code>: 1 field(s)</summary>\n"
        "\n"
        "| field | live | registry |\n"
        "|---|---|---|\n"
        "| `parameters.temperature` | `0.5` | `0.4` |\n"
        "\n"
        "</details>\n"
        "\n"
        "### Plan for `webui`\n"
        "\n"
        "> :warning: not planned: target 'webui' needs an Open WebUI API key in "
        "OPENWEBUI\\_API\\_KEY (an admin's key, made under Settings &gt; Account &gt; API keys)\n"
        "\n"
        f"<sub>modelops {__version__} · base <main> · head the work tree</sub>\n"
    )


def test_diff_json_names_every_model_with_its_fields(history):
    result = run("diff", "-o", "json")
    assert result.code == 0, result.err
    data = json.loads(history.placeholders(result.out))
    assert data["base"] == "<main> (merge base with main)"
    assert data["head"] == "the work tree"
    assert data["counts"] == {
        "added": 1,
        "cloned": 1,
        "renamed": 2,
        "changed": 4,
        "removed": 1,
        "inherited": 1,
    }
    by_id = {m["id"]: m for m in data["models"]}
    assert by_id["support"]["source"] == "faq"
    assert by_id["support"]["commits"][0] == {
        "commit": "<rename>",
        "op": "rename",
        "subject": "Rename faq to support",
    }
    assert by_id["poet"]["through_base_only"] is True
    assert by_id["poet"]["fields"] == [
        {
            "field": "system",
            "before": "Write stories.",
            "after": "Write short stories.",
            "inherited_from": "writer",
            "diff": ["@@ -1 +1 @@", "-Write stories.", "+Write short stories."],
        }
    ]
    red = review_history.RED
    assert by_id["coder"]["avatar"]["before"]["bytes"] == len(red)
    assert by_id["coder"]["avatar"]["before"]["sha256"] == hashlib.sha256(red).hexdigest()


def test_revisions_as_git_takes_them(history):
    reg = history.reg
    whole = run("diff", "main", "feature", "-o", "json")
    dots = run("diff", "main..feature", "-o", "json")
    three = run("diff", "main...feature", "-o", "json")
    assert whole.code == dots.code == three.code == 0
    assert json.loads(whole.out)["models"] == json.loads(dots.out)["models"]
    assert json.loads(three.out)["models"] == json.loads(whole.out)["models"]
    assert json.loads(whole.out)["head"] == f"feature ({reg.head()[:10]})"
    # one step back: only the avatar commit
    last = run("diff", "HEAD~1", "HEAD")
    assert last.code == 0, last.err
    assert last.out.splitlines()[0].endswith(": 2 changed; 7 unchanged")
    assert "avatars/coder.png changed" in last.out


def test_detailed_exitcode_and_an_uncommitted_edit(history):
    reg = history.reg
    assert run("diff", "HEAD", "--detailed-exitcode").code == 0  # the work tree is HEAD
    reg.write("plain", reg.model_text("plain", base="mistral:latest", system="New."))
    result = run("diff", "HEAD", "--detailed-exitcode")
    assert result.code == 2
    assert result.out == (
        f"Diff from HEAD ({reg.head()[:10]}) to the work tree: 1 changed; 8 unchanged\n"
        "~ plain  changed\n"
        "    system:\n"
        "      @@ -0,0 +1 @@\n"
        "      +New.\n"
    )


def test_bad_revisions_and_no_default_branch_are_one_line_errors(reg: RegistryFixture):
    reg.add("faq")
    result = run("diff", "nope")
    assert result.code == 1
    assert result.err == (
        "error: unknown revision 'nope' (name a commit, branch or tag; see 'git log')\n"
    )
    reg.git("branch", "-M", "trunk")
    result = run("diff")
    assert result.code == 1  # the repository's state, not the command line
    assert result.err.startswith("error: no default branch to compare with")


def test_diff_as_an_html_page_shows_the_avatars_inline(history):
    import base64

    result = run("diff", "-o", "html")
    assert result.code == 0, result.err
    assert result.out.startswith("<!doctype html>")
    blue = base64.b64encode(review_history.BLUE).decode()
    assert f'<img src="data:image/png;base64,{blue}"' in result.out
    assert "<table>" in result.out and "<details>" in result.out


def _conversations(reg: RegistryFixture) -> None:
    folder = reg.root / "conversations"
    folder.mkdir(exist_ok=True)
    (folder / "poems.yaml").write_text(
        "version: 1\n"
        "name: Poems\n"
        "models: [poet]\n"
        "turns:\n"
        "  - user: A poem about rain, please.\n"
        "    expect: {contains: [short stories]}\n"
    )
    (folder / "support.yaml").write_text(
        "version: 1\n"
        "name: Support\n"
        "turns:\n"
        "  - user: Where is my order?\n"
        "    model: support\n"
        "    expect: {contains: [cite your source]}\n"
    )
    (folder / "plain.yaml").write_text("version: 1\nmodels: [plain]\nturns:\n  - user: Hello?\n")
    reg.commit("three conversations")


def test_review_replays_the_conversations_of_changed_models_at_both_sides(applied):
    history, server, far = applied
    _conversations(history.reg)
    result = run("review", "--target", "local", "--replay")
    assert result.code == 0, result.err
    text = re.sub(r"\d+\.\d s", "<t>", history.placeholders(result.out))
    text = re.sub(r"\| \d+ \| \d+ \|$", "| <n> | <n> |", text, flags=re.M)  # tokens
    replays = text[text.index("### Replay: Poems") : text.index("<sub>")]
    llama_options = (
        "{&quot;num_predict&quot;:300,&quot;stop&quot;:[&quot;&lt;|start_header_id|&gt;&quot;,"
        "&quot;&lt;|end_header_id|&gt;&quot;,&quot;&lt;|eot_id|&gt;&quot;],"
        "&quot;temperature&quot;:1.1}"
    )
    mistral_options = (
        "{&quot;stop&quot;:[&quot;[INST]&quot;,&quot;[/INST]&quot;],&quot;temperature&quot;:"
    )
    assert replays == (
        "### Replay: Poems (`conversations/poems.yaml`)\n"
        "\n"
        "Uses the changed model(s) `poet`.\n"
        "\n"
        "| model | checks at BASE | checks at HEAD | total at BASE | total at HEAD | tokens at BASE "
        "| tokens at HEAD |\n"
        "|---|---|---|---|---|---|---|\n"
        "| `poet` | ❌ 0/1 | ✅ 1/1 | <t> | <t> | <n> | <n> |\n"
        "\n"
        "<details><summary>Turn 1: A poem about rain, please.</summary>\n"
        "\n"
        "<table><tr><th>model</th><th>at BASE</th><th>at HEAD</th></tr>\n"
        "<tr><td><code>poet</code></td>"
        f"<td>[model=llama3.1:8b] [system=Write stories.] [messages=2] [options={llama_options}] "
        "You said: A poem about rain, please.<br><br>❌ contains &#x27;short stories&#x27;</td>"
        f"<td>[model=llama3.1:8b] [system=Write short stories.] [messages=2] "
        f"[options={llama_options}] You said: A poem about rain, please.<br><br>"
        "✅ contains &#x27;short stories&#x27;</td></tr>\n"
        "</table>\n"
        "\n"
        "</details>\n"
        "\n"
        "### Replay: Support (`conversations/support.yaml`)\n"
        "\n"
        "Uses the changed model(s) `support`.\n"
        "\n"
        "| model | checks at BASE | checks at HEAD | total at BASE | total at HEAD | tokens at BASE "
        "| tokens at HEAD |\n"
        "|---|---|---|---|---|---|---|\n"
        "| `support` | ❌ 0/1 | ✅ 1/1 | <t> | <t> | <n> | <n> |\n"
        "\n"
        "<details><summary>Turn 1: Where is my order?</summary>\n"
        "\n"
        "<table><tr><th>model</th><th>at BASE</th><th>at HEAD</th></tr>\n"
        "<tr><td><code>support</code></td>"
        "<td>[model=mistral:latest] [system=Answer briefly.] [messages=2] "
        f"[options={mistral_options}0.2}}] You said: Where is my order?<br><br>"
        "❌ contains &#x27;cite your source&#x27;</td>"
        "<td>[model=mistral:latest] [system=Answer briefly and cite your source.] [messages=2] "
        f"[options={mistral_options}0.3}}] You said: Where is my order?<br><br>"
        "✅ contains &#x27;cite your source&#x27;</td></tr>\n"
        "</table>\n"
        "\n"
        "</details>\n"
        "\n"
    )
    assert "conversations/plain.yaml" not in text  # plain did not change


def test_review_exits_3_when_a_replayed_expectation_fails_at_head(applied):
    history, server, far = applied
    reg = history.reg
    (reg.root / "conversations").mkdir(exist_ok=True)
    (reg.root / "conversations" / "old.yaml").write_text(
        "version: 1\nmodels: [writer]\nturns:\n"
        "  - user: Once upon a time\n    expect: {contains: ['[system=Write stories.]']}\n"
    )
    result = run("review", "--target", "local", "--replay")
    assert result.code == 3, result.err
    assert "| `writer` | ✅ 1/1 | ❌ 0/1 |" in result.out
    assert "<details open><summary>Turn 1: Once upon a time</summary>" in result.out


def test_review_of_a_broken_head_lists_its_problems_and_plans_nothing(
    reg: RegistryFixture, tmp_path
):
    reg.git("branch", "-M", "main")
    reg.add("faq", base="mistral:latest")
    reg.git("checkout", "-q", "-b", "broken")
    reg.write("faq", reg.model_text("faq", base="mistral:latest", parameters={"temprature": 1}))
    out, full = tmp_path / "review.md", tmp_path / "whole.md"
    result = run("review", "-o", str(out), "--full", str(full))
    assert result.code == 1
    assert result.out == ""
    assert "warning: HEAD has 1 problem" in result.err
    text = out.read_text()
    assert text == full.read_text()  # short enough to be whole
    assert text.startswith("<!-- modelops-review -->\n\n## modelops review: ")
    assert "> :x: **HEAD has 1 problem(s)**; models in broken files are left out below." in text
    assert "> - models/faq.yaml:6:3: parameters.temprature: unknown parameter" in text
    assert "**no model changes; 0 unchanged**" in text  # the broken faq is not "removed"
    assert "> :warning: not planned: HEAD has problems (see above); fix them first" in text
