"""The ready-made registry/ that ships with modelops is valid, formatted and complete."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from modelops.registry.store import Registry
from modelops.spec.model import FIELDS
from modelops.spec.schema import MODEL_SCHEMA_FILE as SCHEMA_FILE
from modelops.spec.schema import model_schema, schema_files
from tests.helpers import REPO_ROOT, run

REGISTRY = REPO_ROOT / "registry"


@pytest.fixture(scope="module")
def snapshot():
    return Registry(REGISTRY, REPO_ROOT).load().require_valid()


def test_validates_and_is_formatted(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(REPO_ROOT)
    result = run("validate", "--registry", "registry")
    assert result.code == 0, result.err
    assert result.err == ""  # the committed schema is current, too
    assert result.out == "ok: 7 models valid\n"
    check = run("fmt", "--check", "--registry", "registry")
    assert check.code == 0, check.out


def test_every_field_of_the_spec_is_used(snapshot):
    used = {key for model in snapshot.models.values() for key in model.spec.to_data()}
    assert used == set(FIELDS)
    knowledge_types = {k.type for m in snapshot.models.values() for k in (m.spec.knowledge or [])}
    assert knowledge_types == {"collection", "file", "note"}


def test_holds_the_multi_stage_example_and_the_other_kinds(snapshot):
    models = snapshot.models
    assert models["faq"].spec.base.startswith("mistral")
    assert models["vision-describer"].spec.base.startswith("llava")
    assert models["vision-describer"].spec.capabilities.vision is True
    assert "creative" in (models["creative-writer"].spec.tags or [])
    assert models["code-assistant"].spec.tools
    assert models["ops-internal"].spec.hidden is True
    assert models["creative-poet"].spec.base in models  # based on a registry model


def test_avatars_are_real_small_images(snapshot):
    for model in snapshot.models.values():
        if model.spec.avatar is None:
            continue
        path = REGISTRY / model.spec.avatar
        assert path.stat().st_size < 16 * 1024
        with Image.open(path) as image:
            image.verify()
            assert image.format in ("PNG", "JPEG", "WEBP")


def test_schema_files_match_and_files_point_at_them():
    for name, text in schema_files().items():
        assert (REGISTRY / name).read_text() == text, (
            f"{name} is stale: run 'modelops schema --write'"
        )
    for folder, schema in (("models", SCHEMA_FILE), ("conversations", "conversation.schema.json")):
        for path in sorted((REGISTRY / folder).glob("*.yaml")):
            first = path.read_text().splitlines()[0]
            assert first == f"# yaml-language-server: $schema=../{schema}", path


def test_the_shipped_conversations_load():
    from modelops.replay.source import load

    for path in sorted((REGISTRY / "conversations").glob("*.yaml")):
        conversation, images = load(path, path.name)
        assert conversation.turns
        for turn in conversation.turns:
            assert turn.model is None or (REGISTRY / "models" / f"{turn.model}.yaml").exists()


def test_schema_checks_what_the_loader_checks():
    schema = model_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == set(FIELDS)
    params = schema["properties"]["parameters"]
    assert params["additionalProperties"] is False
    assert params["properties"]["temperature"]["type"] == "number"
    assert params["properties"]["stop"] == {
        "type": "array",
        "items": {"type": "string"},
        "description": "stop sequences; generation ends at any of them (a list of strings)",
    }
    assert "mirostat" not in params["properties"]
    assert schema["required"] == ["version", "id", "base"]


def test_schema_command_prints_it(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("schema")
    assert result.code == 0
    assert result.out == schema_files()[SCHEMA_FILE]
