"""Registry-level checks in validate: conversation files are errors when broken; bases that
name no registry model, duplicate display names, oversized and unused avatars, and
conversations naming unknown models are warnings; --strict makes them errors."""

from __future__ import annotations

import json

from tests.helpers import RegistryFixture, png, run


def _conversation(reg: RegistryFixture, name: str, text: str) -> None:
    folder = reg.root / "conversations"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)


def test_a_clean_registry_has_no_warnings(reg: RegistryFixture):
    reg.add("writer", base="llama3.1:8b", name="Writer")
    reg.add("poet", base="writer", name="Poet")
    _conversation(
        reg, "poem.yaml", "version: 1\nmodels: [poet, llama3.2:latest]\nturns:\n  - user: hi\n"
    )
    result = run("validate", "--strict")
    assert (result.code, result.out, result.err) == (0, "ok: 2 models valid\n", "")


def test_each_warning_with_its_place(reg: RegistryFixture):
    reg.add("writer", base="llama3.1:8b", name="Writer")
    reg.add("poet", base="writter", name="writer")  # a typo, and the writer's display name
    reg.add("old", base="mistral:latest")
    assert run("delete", "old").code == 0
    reg.add("orphan-child", base="old")
    (reg.root / "avatars" / "big.png").write_bytes(png((600, 20)))
    (reg.root / "avatars" / "unused.png").write_bytes(png())
    reg.add("shown", base="mistral:latest", avatar="avatars/big.png")
    _conversation(
        reg,
        "chat.yaml",
        "version: 1\n"
        "turns:\n"
        "  - user: hi\n"
        "    model: poett\n"
        "  - user: and you?\n"
        "    model: ollama:whatever\n"
        "  - user: last\n"
        "    model: gone@HEAD~1\n"
        "  - user: then\n"
        "    model: old@HEAD~1\n"
        "  - user: and\n"
        "    model: llama3.2\n",
    )
    result = run("validate")
    assert result.code == 0, result.err
    assert result.out == "ok: 4 models valid (8 warnings)\n"
    assert result.err == (
        "avatars/unused.png: warning: no model uses this avatar (delete it?)\n"
        "conversations/chat.yaml:4:12: turns[0].model: warning: 'poett' is not a registry model "
        "(did you mean 'poet'?); replay reads it as the Ollama model poett:latest (write "
        "ollama:poett if that is meant)\n"
        "conversations/chat.yaml:8:12: turns[2].model: warning: 'gone' was never a registry "
        "model\n"
        "models/orphan-child.yaml:4:1: base: warning: 'old' was a registry model but is no "
        "longer (deleted or renamed); it is read as the Ollama model old:latest (write "
        "old:latest if that is meant)\n"
        "models/poet.yaml:4:1: name: warning: 'writer' is also the display name of writer; the "
        "model selector shows them alike (give each its own name)\n"
        "models/poet.yaml:5:1: base: warning: 'writter' is not a registry model (did you mean "
        "'writer'?); it is read as the Ollama model writter:latest (write writter:latest if "
        "that is meant)\n"
        "models/shown.yaml:5:1: avatar: warning: avatars/big.png is 600x20 pixels; Open WebUI "
        "shows avatars at 250x250 (shrink it to at most 512x512)\n"
        "models/writer.yaml:4:1: name: warning: 'Writer' is also the display name of poet; the "
        "model selector shows them alike (give each its own name)\n"
    )


def test_strict_makes_warnings_errors(reg: RegistryFixture):
    reg.add("mistral-chat", base="mistral")  # an Ollama model: no warning
    reg.add("poet", base="writer")
    reg.add("writers", base="mistral:latest")
    result = run("validate", "--strict")
    assert result.code == 1
    assert result.err == (
        "models/poet.yaml:4:1: base: 'writer' is not a registry model (did you mean "
        "'writers'?); it is read as the Ollama model writer:latest (write writer:latest if "
        "that is meant)\n"
        "error: 1 problem found\n"
    )
    data = json.loads(run("validate", "-o", "json").out)
    assert data["valid"] is True
    assert [w["key"] for w in data["warnings"]] == ["base"]
    strict = run("validate", "-o", "json", "--strict")
    assert strict.code == 1
    assert json.loads(strict.out)["valid"] is False


def test_a_broken_conversation_or_a_missing_image_is_an_error(reg: RegistryFixture):
    reg.add("faq", base="mistral:latest")
    _conversation(reg, "bad.yaml", "version: 1\nturns: []\n")
    _conversation(
        reg,
        "pics.yaml",
        "version: 1\nmodels: [faq]\nturns:\n  - user: look\n    images: [images/x.png]\n",
    )
    result = run("validate")
    assert result.code == 1
    lines = result.err.splitlines()
    assert lines[0].startswith("conversations/bad.yaml:2:8: turns: ")
    assert lines[1] == (
        "conversations/pics.yaml:5:14: turns[0].images[0]: image 'images/x.png' not found "
        "(paths are relative to the file)"
    )
    assert lines[2] == "error: 2 problems found"
    (reg.root / "conversations" / "images").mkdir()
    (reg.root / "conversations" / "images" / "x.png").write_bytes(png())
    (reg.root / "conversations" / "bad.yaml").unlink()
    assert run("validate").code == 0


def test_validate_at_a_revision_checks_that_revision(reg: RegistryFixture):
    reg.add("writers", base="mistral:latest")
    reg.add("poet", base="writer")
    sha = reg.head()
    reg.write("poet", reg.model_text("poet", base="writer:latest"))
    reg.commit("say the tag")
    assert run("validate", "--strict").code == 0
    assert run("validate", "--strict", "--rev", sha).code == 1
