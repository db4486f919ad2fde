"""Replay end to end against the Ollama test server, whose answers reveal what each request
carried: `[model=...] [system=...] [messages=N] [options={...}] You said: ...`."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import REPO_ROOT, RegistryFixture, png_bomb, run
from tests.ollama_server import OllamaServer

BASES = [
    "mistral",
    "llava",
    "llama3.1:8b",
    "qwen2.5-coder:7b",
    "llama3.2",
    "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M",
]


@pytest.fixture
def served(ollama_server: OllamaServer, monkeypatch: pytest.MonkeyPatch) -> OllamaServer:
    for base in BASES:
        ollama_server.add_local(base)
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)
    return ollama_server


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RegistryFixture:
    """A copy of the ready-made registry, in a repository of its own."""
    root = tmp_path / "registry"
    shutil.copytree(REPO_ROOT / "registry", root)
    reg = RegistryFixture(root)
    reg.git("init", "-q")
    reg.commit("the shipped registry")
    monkeypatch.chdir(root)
    return reg


def _conversation(path: Path, text: str) -> str:
    path.write_text(textwrap.dedent(text))
    return str(path)


def _answers(result_json: str) -> list[dict]:
    return json.loads(result_json)["answers"]


def _field(answer: str, name: str) -> str:
    match = re.search(rf"\[{name}=(.*?)\](?: \[| You said)", answer, re.S)
    assert match, answer
    return match.group(1)


# What a good model would answer each turn of the shipped conversations, written by hand: the
# test server says exactly this, so the files' expectations are checked against real answers,
# not against an echo of the question (which would contain most of the words they ask for).
GOOD_ANSWERS = {
    "Write a Python function that checks whether a string is a palindrome.":
        "def is_palindrome(text):\n    cleaned = ''.join(c.lower() for c in text if c.isalnum())\n"
        "    return cleaned == cleaned[::-1]\n\nIt is True when the string is a palindrome.",
    "Add a test for it with pytest.":
        "A pytest test:\n\ndef test_is_palindrome():\n    assert is_palindrome('Never odd or even')\n"
        "    assert not is_palindrome('modelops')",
    "Write a haiku about a lighthouse in fog.":
        "Grey breath on the sea / one slow eye turns through the fog / ships hear what it sees",
    "Now a limerick about the same lighthouse.":
        "A lighthouse that stood in the fog / kept watch like a faithful old dog; / it blinked "
        "through the grey, / kept the rocks far away, / and wrote every ship in its log.",
    "Write the opening paragraph of a mystery set in a lighthouse.":
        "The lamp had turned every night for ninety years, so when the keeper found it dark at "
        "midnight he knew before he climbed the stairs that someone had been up there with him.",
    "Now rewrite it in the present tense, keeping the lighthouse.":
        "The lamp in the lighthouse turns every night, so when the keeper finds it dark at "
        "midnight he knows that someone is up there with him.",
    "How do I reset my password?":
        "Open Settings > Security and choose Reset password; we email you a link. [Accounts FAQ]",
    "And what is your refund policy?":
        "You get a full refund within 30 days of purchase. [Billing FAQ]",
    "What is your refund policy for opened items?":
        "Opened items can be returned within 14 days for a refund, less a 10% restocking fee.",
    "Here is my receipt. Which items can I still get a refund for?":
        "The receipt lists a kettle and a lamp bought 9 days ago, so both can still be refunded.",
    "Write a short, warm thank-you note to the support team for sorting out my refund.":
        "Dear support team, thank you for sorting out my refund so quickly and so kindly.",
    "The disk alert fired on db-1. What is the first step?":
        "Find which filesystem is full with df -h on db-1, then the largest files with du, "
        "before freeing any disk space; never delete database files by hand.",
    "Explain SELECT with a tiny example.":
        "SELECT picks columns from a table: SELECT name FROM users; lists every user's name.",
    "Now explain LEFT JOIN, building on that example.":
        "A LEFT JOIN keeps every row of the left table: SELECT users.name, orders.id FROM users "
        "LEFT JOIN orders ON orders.user_id = users.id; lists users without orders too.",
    "Describe this chart for an alt text.":
        "A bar chart of support tickets per month from January to June, peaking in April.",
    "Which month had the most tickets?": "April.",
}  # fmt: skip
SHIPPED = sorted(p.name for p in (REPO_ROOT / "registry/conversations").glob("*.yaml"))


def _expectations(name: str) -> int:
    """How many checks the file asks for, counted from the file itself."""
    turns = yaml.safe_load((REPO_ROOT / "registry/conversations" / name).read_text())["turns"]
    return sum(len(turn.get("expect") or {}) for turn in turns)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_conversation_passes_with_good_answers(served, shipped, name):
    for question, answer in GOOD_ANSWERS.items():
        served.reply(answer, to=question)
    result = run("replay", f"conversations/{name}", "-o", "json")
    assert result.code == 0, result.out + result.err
    report = json.loads(result.out)
    assert all(a["text"] == GOOD_ANSWERS[_question(report, a)] for a in report["answers"])
    checks = [c for a in report["answers"] for c in a["checks"]]
    assert len(checks) == _expectations(name) > 0  # every expectation ran
    assert all(c["ok"] for c in checks), checks
    assert report["failed_checks"] == 0


# What "I don't know." (three tokens) fails in each file, written by hand from the files.
USELESS_FAILS = {
    "code-assistant.yaml": ["turn 1, code-assistant: contains 'palindrome'", "turn 1, code-assistant: has at least 10 tokens (3 tokens)", "turn 2, code-assistant: contains 'pytest'"],
    "creative-poet.yaml": ["turn 1, creative-poet: has at least 5 tokens (3 tokens)", "turn 2, creative-poet: contains 'lighthouse'"],
    "creative-writer.yaml": ["turn 1, creative-writer: has at least 20 tokens (3 tokens)", "turn 2, creative-writer: contains 'lighthouse'"],
    "faq.yaml": ["turn 1, faq: contains 'password'", "turn 2, faq: contains 'refund'"],
    "multi-stage.yaml": ["turn 1, faq: contains 'refund'", "turn 1, faq: has at least 5 tokens (3 tokens)", "turn 2, vision-describer: has at least 5 tokens (3 tokens)", "turn 3, creative-writer: contains 'thank'"],
    "ops-internal.yaml": ["turn 1, ops-internal: contains 'disk'"],
    "sql-tutor.yaml": ["turn 1, sql-tutor: contains 'SELECT'", "turn 2, sql-tutor: contains 'JOIN'"],
    "vision-describer.yaml": ["turn 1, vision-describer: has at least 5 tokens (3 tokens)"],
}  # fmt: skip


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_conversation_fails_with_a_useless_answer(served, shipped, name):
    """The broken case: the same files, answered "I don't know.", exit 3 and say which check."""
    served.reply("I don't know.")
    result = run("replay", f"conversations/{name}")
    assert result.code == 3, result.out + result.err
    failed = [
        ln.removeprefix("  failed: ") for ln in result.out.splitlines() if "failed: turn" in ln
    ]
    assert sorted(failed) == sorted(USELESS_FAILS[name])


def _question(report: dict[str, Any], answer: dict[str, Any]) -> str:
    return str(report["turns"][answer["turn"]]["user"])


def test_the_registry_ships_one_conversation_per_model_and_the_multi_stage_example():
    folder = REPO_ROOT / "registry/conversations"
    models = {p.stem for p in (REPO_ROOT / "registry/models").glob("*.yaml")}
    assert models | {"multi-stage"} == {p.stem for p in folder.glob("*.yaml")}


def test_compare_mode_keeps_a_context_per_model(served, shipped, tmp_path):
    source = _conversation(
        tmp_path / "c.yaml",
        """\
        version: 1
        defaults: {seed: 42}
        turns:
          - user: first question
          - user: second question
        """,
    )
    result = run("replay", source, "--models", "faq,llama3.2:latest", "-o", "json")
    assert result.code == 0, result.err
    answers = _answers(result.out)
    assert [(a["model"], a["turn"]) for a in answers] == [
        ("faq", 0), ("llama3.2:latest", 0), ("faq", 1), ("llama3.2:latest", 1),
    ]  # fmt: skip
    faq, plain = answers[2]["text"], answers[3]["text"]
    assert _field(faq, "messages") == "4"  # its system prompt, then user, assistant, user
    assert _field(plain, "messages") == "3"  # no system prompt of its own
    assert _field(faq, "system").startswith("You answer frequently asked questions")
    options = json.loads(_field(faq, "options"))
    assert options["seed"] == 42 and options["temperature"] == 0.2 and options["num_ctx"] == 8192
    chats = served.calls("/api/chat")
    second_faq = next(
        c.body
        for c in chats
        if c.body["messages"][-1]["content"] == "second question"
        and c.body["model"] == "mistral:latest"
    )
    assert second_faq["messages"][2] == {"role": "assistant", "content": answers[0]["text"]}


def test_switch_mode_shares_one_context_across_models(served, shipped):
    result = run("replay", "conversations/multi-stage.yaml", "-o", "json")
    assert result.code == 0, result.out
    data = json.loads(result.out)
    assert data["mode"] == "switch"
    assert [a["model"] for a in data["answers"]] == ["faq", "vision-describer", "creative-writer"]
    last = served.calls("/api/chat")[-1].body
    assert last["model"] == "llama3.1:8b"  # creative-writer's base
    contents = [m["content"] for m in last["messages"]]
    assert contents[-5:] == [  # after its system prompt and its own example messages
        "What is your refund policy for opened items?",
        data["answers"][0]["text"],  # the FAQ model's answer
        "Here is my receipt. Which items can I still get a refund for?",
        data["answers"][1]["text"],  # the vision model's answer
        "Write a short, warm thank-you note to the support team for sorting out my refund.",
    ]
    assert not any("images" in m for m in last["messages"])  # not for a model that cannot see
    vision = served.calls("/api/chat")[-2].body
    assert len(vision["messages"][-1]["images"]) == 1
    assert _field(data["answers"][2]["text"], "system").startswith(
        "You are a careful literary editor"
    )


def test_a_registry_model_at_a_revision_gets_that_revisions_prompt_and_parameters(
    served, shipped, tmp_path
):
    assert run("set", "faq", "system=Changed prompt.", "parameters.temperature=0.9").code == 0
    source = _conversation(tmp_path / "c.yaml", "version: 1\nturns:\n  - user: hello\n")
    result = run("replay", source, "-m", "faq@HEAD~1,faq", "-o", "json")
    assert result.code == 0, result.err
    old, new = (a["text"] for a in _answers(result.out))
    assert _field(old, "system").startswith("You answer frequently asked questions")
    assert json.loads(_field(old, "options"))["temperature"] == 0.2
    assert _field(new, "system") == "Changed prompt."
    assert json.loads(_field(new, "options"))["temperature"] == 0.9


def test_a_derived_registry_model_carries_its_chain(served, shipped, tmp_path):
    source = _conversation(tmp_path / "c.yaml", "version: 1\nturns:\n  - user: a poem please\n")
    answer = _answers(run("replay", source, "-m", "creative-poet", "-o", "json").out)[0]["text"]
    options = json.loads(_field(answer, "options"))
    assert options["temperature"] == 1.25  # its own
    assert options["top_k"] == 60  # inherited from creative-writer
    assert _field(answer, "system").startswith("You write short poems")
    assert _field(answer, "messages") == "4"  # system, creative-writer's two examples, the question


def test_failed_expectations_exit_3_and_are_reported(served, shipped, tmp_path):
    source = _conversation(
        tmp_path / "c.yaml",
        """\
        version: 1
        models: [faq]
        turns:
          - user: hello there
            expect:
              contains: [hello]
              not_contains: [You said]
              regex: "^\\\\[model"
              json: true
              min_tokens: 1000
        """,
    )
    md = tmp_path / "report.md"
    result = run("replay", source, "--markdown", str(md))
    assert result.code == 3
    lines = result.out.splitlines()
    assert lines[2:4] == [
        "  failed: turn 1, faq: does not contain 'You said'",
        "  failed: turn 1, faq: is valid JSON (Expecting value: line 1 column 2 (char 1))",
    ]
    assert re.fullmatch(r"  failed: turn 1, faq: has at least 1000 tokens \(\d+ tokens\)", lines[4])
    text = md.read_text()
    assert "**3 check(s) failed**" in text
    assert "- ❌ does not contain 'You said'" in text


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("version: 1\nturns: []\n", "c.yaml:2:8: turns: needs at least one entry"),
        ("version: 2\nturns:\n  - user: hi\n", "c.yaml:1:10: version: unsupported conversation version 2"),
        ("version: 1\nturns:\n  - usr: hi\n", "c.yaml:3:5: turns[0].user: required key is missing\nc.yaml:3:5: turns[0].usr: unknown key"),
        ("version: 1\nturns:\n  - user: hi\n    expect: {max_ms: fast}\n", "c.yaml:4:22: turns[0].expect.max_ms: expected an integer, got string 'fast'"),
        ("version: 1\ndefaults: {temprature: 1}\nturns:\n  - user: hi\n", "c.yaml:2:12: defaults.temprature: not an Ollama option"),
        ("version: 1\nturns:\n  - user: hi\n    images: [nowhere.png]\n", "c.yaml:4:14: turns[0].images[0]: image 'nowhere.png' does not exist (paths are relative to c.yaml)"),
        ("version: 1\nturns:\n  - user: hi\n    images: [c.yaml]\n", "c.yaml:4:14: turns[0].images[0]: image 'c.yaml': not a PNG, JPEG, GIF or WebP image"),
        ("version: 1\nturns:\n  - user: hi\n  user: again\n", "c.yaml:4:3: YAML syntax"),
    ],
)  # fmt: skip
def test_a_conversation_file_with_errors_says_where(
    served, shipped, tmp_path, monkeypatch, content, error
):
    (tmp_path / "c.yaml").write_text(content)
    monkeypatch.chdir(tmp_path)
    result = run("replay", "c.yaml", "-m", "llama3.2")
    assert result.code == 1, result
    assert result.err.startswith(error), result.err
    assert "Traceback" not in result.err


def test_unreachable_provider_and_unknown_model(served, shipped, tmp_path):
    source = _conversation(tmp_path / "c.yaml", "version: 1\nturns:\n  - user: hi\n")
    refused = OllamaServer.refused_url()
    result = run("replay", source, "-m", "llama3.2", "--ollama-host", refused)
    assert result.code == 1
    assert f"cannot reach Ollama at {refused}" in result.out + result.err
    result = run("replay", source, "-m", "no-such-model")
    assert result.code == 1
    assert "error: turn 1, no-such-model: " in result.out
    assert "model 'no-such-model:latest' not found" in result.out
    assert run("replay", source, "-m", "Not A Name").err.startswith(
        "error: Not A Name: not a registry model, nor an Ollama model name"
    )
    assert run("replay", source, "-m", "openai:x").err == (
        "error: openai:x: say where the endpoint is with --openai-url URL\n"
    )


def test_models_cannot_override_pins(served, shipped):
    result = run("replay", "conversations/multi-stage.yaml", "-m", "faq")
    assert result.code == 1  # the file decides: not a usage error
    assert "pins its turns to models (switch mode)" in result.err


def test_json_report_has_timings_and_tokens(served, shipped, tmp_path):
    served.set_chat_timing("mistral", first_token=0.05, per_token=0.002)
    report = tmp_path / "r.json"
    assert run("replay", "conversations/faq.yaml", "--json", str(report)).code == 0
    data = json.loads(report.read_text())
    answer = data["answers"][0]
    assert answer["ttft_ms"] >= 50
    assert answer["total_ms"] > answer["ttft_ms"]
    assert answer["answer_tokens"] > 0 and answer["prompt_tokens"] > 0
    assert answer["tokens_per_s"] > 0
    assert data["summary"][0]["model"] == "faq"
    assert data["options"] == {"seed": 7}


def test_an_openai_compatible_endpoint(served, shipped, tmp_path):
    source = _conversation(
        tmp_path / "c.yaml",
        """\
        version: 1
        defaults: {seed: 5, num_predict: 64}
        turns:
          - user: first
          - user: what is in it?
            images: [images/p.png]
        """,
    )
    (tmp_path / "images").mkdir()
    shutil.copyfile(
        REPO_ROOT / "registry/conversations/images/chart.png", tmp_path / "images/p.png"
    )
    result = run(
        "replay", source, "-m", "openai:llava:latest", "--openai-url", served.url, "-o", "json"
    )
    assert result.code == 0, result.out + result.err
    first, second = _answers(result.out)
    options = json.loads(_field(first["text"], "options"))
    assert options["seed"] == 5 and options["num_predict"] == 64  # sent as seed and max_tokens
    assert first["answer_tokens"] > 0 and first["tokens_estimated"] is False  # from usage
    assert "[images=1]" in second["text"]
    body = served.calls("/v1/chat/completions")[-1].body
    assert body["messages"][1] == {"role": "assistant", "content": first["text"]}
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_an_openai_endpoint_that_refuses(served, shipped, tmp_path):
    source = _conversation(tmp_path / "c.yaml", "version: 1\nturns:\n  - user: hi\n")
    result = run("replay", source, "-m", "openai:nope", "--openai-url", served.url)
    assert result.code == 1
    assert "error: turn 1, openai:nope: openai:nope: " in result.out
    assert "answered 404" in result.out


def _special_images(tmp_path: Path) -> dict[str, tuple[str, str]]:
    """Image names a conversation (or /image) may give, and what each one must be refused as."""
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.png"
    with huge.open("wb") as handle:
        handle.truncate(21 * 2**20)  # sparse: nothing is written or read
    (tmp_path / "bomb.png").write_bytes(png_bomb(10_000, 10_000))
    return {
        "zero": ("/dev/zero", "is a character device, not a regular file"),
        "fifo": (str(fifo), "is a FIFO (named pipe), not a regular file"),
        "huge": (str(huge), "is 21.0 MiB; the limit is 20.0 MiB"),
        "bomb": (
            str(tmp_path / "bomb.png"),
            ": the image is 10000x10000 pixels; the limit is 16,777,216 pixels",
        ),
    }


def _finishes(work: Any) -> Any:
    """Run `work` in a thread; a read that waits forever fails the test instead of the run."""
    done: list[Any] = []
    thread = threading.Thread(target=lambda: done.append(work()), daemon=True)
    thread.start()
    thread.join(timeout=120)  # a guard against a hang, not a measure of speed
    assert done, "the read never finished"
    return done[0]


@pytest.mark.parametrize("kind", ["zero", "fifo", "huge", "bomb"])
def test_an_image_that_is_not_a_small_regular_file_is_refused_unread(
    served, shipped, tmp_path, kind
):
    name, why = _special_images(tmp_path)[kind]
    source = _conversation(
        tmp_path / "c.yaml", f"version: 1\nturns:\n  - user: hi\n    images: ['{name}']\n"
    )
    result = _finishes(lambda: run("replay", source, "-m", "llama3.2"))
    assert result.code == 1
    separator = "" if why.startswith(":") else " "
    assert result.err.splitlines() == [
        f"{source}:4:14: turns[0].images[0]: image '{name}'{separator}{why}",
        "error: 1 problem found",
    ]
    assert served.calls("/api/chat") == []


@pytest.mark.parametrize("kind", ["zero", "fifo", "huge", "bomb"])
def test_chat_image_refuses_them_too(tmp_path, kind):
    from modelops.replay.chat import ChatSession

    name, why = _special_images(tmp_path)[kind]
    out = io.StringIO()
    chat = ChatSession(lambda model: pytest.fail("no model is needed"), "faq", out)
    _finishes(lambda: chat.command(f"/image {name}"))
    separator = "" if why.startswith(":") else " "
    assert out.getvalue() == f"! {name}{separator}{why}\n"
    assert chat.pending_images == [] and chat.pending_pictures == []


def test_a_conversation_file_that_is_a_device_is_refused(served, shipped):
    result = run("replay", "/dev/zero", "-m", "llama3.2")
    assert result.code == 1
    assert result.err.splitlines()[0] == (
        "/dev/zero: the file is a character device, not a regular file"
    )
