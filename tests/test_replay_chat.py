"""`modelops chat` driven under a pseudo-terminal: switch, compare, attach, save, then replay
the saved file."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pexpect
import pytest

from tests.helpers import REPO_ROOT, RegistryFixture, run
from tests.ollama_server import OllamaServer


@pytest.fixture
def session(tmp_path: Path, ollama_server: OllamaServer, monkeypatch: pytest.MonkeyPatch):
    for base in ("mistral", "llava", "llama3.1:8b"):
        ollama_server.add_local(base)
    root = tmp_path / "registry"
    shutil.copytree(REPO_ROOT / "registry", root)
    reg = RegistryFixture(root)
    reg.git("init", "-q")
    reg.commit("shipped")
    monkeypatch.chdir(root)
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "TERM": "dumb"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "modelops", "chat", "faq"],
        cwd=str(root),
        env=env,
        encoding="utf-8",
        timeout=20,
    )
    yield child, reg, ollama_server
    child.close(force=True)


def test_switch_compare_save_then_replay(session):
    child, reg, server = session
    child.expect("chatting with faq; /help for commands")
    child.expect("> ")
    child.sendline("What is your refund policy?")
    child.expect(r"\[messages=2\].*You said: What is your refund policy\?")  # system + question
    child.expect(r"\(faq: \d+ ms, \d+ tokens")
    child.expect("> ")
    child.sendline("/model creative-writer")
    child.expect(r"now answering: creative-writer \(2 messages of context kept\)")
    child.expect("> ")
    child.sendline("Write a thank-you note.")
    # the new model sees its system prompt, its example messages and the whole conversation
    child.expect(r"\[model=llama3.1:8b\] \[system=You are a careful literary editor")
    child.expect(r"\[messages=6\]")  # system, its 2 examples, question, answer, question
    child.expect("> ")
    child.sendline("/image conversations/images/receipt.png")
    child.expect("attached conversations/images/receipt.png to the next message")
    child.sendline("/compare vision-describer faq")
    child.expect("the next message goes to vision-describer, faq")
    child.sendline("What does the receipt say?")
    child.expect(r"\[vision-describer\]")
    child.expect(r"\[model=llava:latest\].*\[images=1\]")
    child.expect(r"\[faq\]")
    child.expect("> ")
    child.sendline("/model no-such-model")
    child.expect("no-such-model")
    child.sendline("/save saved.yaml")
    child.expect(r"saved 3 turn\(s\) to saved.yaml \(play it with: modelops replay saved.yaml\)")
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    saved = (reg.root / "saved.yaml").read_text()
    assert (
        "model: faq" in saved
        and "model: creative-writer" in saved
        and "model: vision-describer" in saved
    )
    assert "images: [conversations/images/receipt.png]" in saved

    result = run("replay", "saved.yaml", "-o", "json")
    assert result.code == 0, result.out + result.err
    assert '"mode": "switch"' in result.out


def test_a_bad_model_name_fails_before_the_prompt(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OLLAMA_HOST", OllamaServer.refused_url())
    result = run("chat", "Bad Name")
    assert result.code == 1
    assert result.err.startswith("error: Bad Name: not a registry model, nor an Ollama model name")
    assert run("chat").code == 64
