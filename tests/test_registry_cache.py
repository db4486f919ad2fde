"""The validated-file cache: keyed by git blob id, so an unchanged file is not parsed again and a
changed one always is; only valid files are kept; bounded; off with --no-cache or
MODELOPS_NO_CACHE; damage to it never changes a result."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from modelops.registry import snapshot as snap
from modelops.registry.cache import FILE, Cache, blob_id, git_dir
from modelops.registry.store import Registry
from tests.helpers import REPO_ROOT, RegistryFixture, png, run

CACHE = Path(".git") / "modelops" / FILE


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the model files parsed, in order."""
    seen: list[str] = []
    real = snap.parse_model

    def counting(raw: bytes, shown: str, path: str):
        seen.append(path)
        return real(raw, shown, path)

    monkeypatch.setattr(snap, "parse_model", counting)
    return seen


def _three(reg: RegistryFixture) -> None:
    reg.add("faq", system="Answer briefly.", parameters={"temperature": 0.2, "stop": ["###"]})
    reg.add("helper", base="faq", tags=["a", "b"], access={"public": True})
    reg.add("writer", base="mistral", suggestions=[{"prompt": "Go", "title": "Start"}])


def test_blob_ids_are_gits():
    for content in (b"", b"version: 1\n", "naïve: ü\n".encode()):
        expected = (
            subprocess.run(
                ["git", "hash-object", "--stdin"], input=content, capture_output=True, check=True
            )
            .stdout.decode()
            .strip()
        )
        assert blob_id(content) == expected


def test_an_unchanged_registry_is_not_parsed_again(reg: RegistryFixture, parses: list[str]):
    _three(reg)
    first = Registry(reg.root, reg.root).load()
    assert sorted(parses) == ["models/faq.yaml", "models/helper.yaml", "models/writer.yaml"]
    assert (reg.root / CACHE).is_file()
    parses.clear()
    again = Registry(reg.root, reg.root).load()
    assert parses == []
    assert not again.problems
    assert {m: again.models[m].spec for m in again.models} == first.specs()
    assert again.models["helper"].digest == first.models["helper"].digest
    assert again.config == first.config
    assert reg.status() == ""  # the cache is under .git, never in the work tree


def test_a_file_edited_in_the_work_tree_is_checked_afresh(reg: RegistryFixture, parses):
    _three(reg)
    Registry(reg.root, reg.root).load()
    parses.clear()
    reg.write("helper", reg.read("helper").replace("base: faq", "base: faq\ntemprature: 1"))
    loaded = Registry(reg.root, reg.root).load()
    assert parses == ["models/helper.yaml"]
    assert [(p.path, p.message) for p in loaded.problems] == [
        ("models/helper.yaml", "unknown key (did you mean 'template'?)")
    ]
    reg.write("helper", reg.read("helper").replace("temprature: 1\n", ""))
    parses.clear()
    assert not Registry(reg.root, reg.root).load().problems
    assert parses == []  # the content is what was cached before: the same blob id


def test_files_with_problems_are_never_kept(reg: RegistryFixture, parses: list[str]):
    reg.write("bad", "version: 1\nid: bad\nbase: llama3.2\nparameters: {temperature: hot}\n")
    for _ in range(2):
        loaded = Registry(reg.root, reg.root).load()
        assert [p.key for p in loaded.problems] == ["parameters.temperature"]
    assert parses == ["models/bad.yaml", "models/bad.yaml"]


def test_a_revision_is_loaded_from_the_cache_without_reading_blobs(
    reg: RegistryFixture, parses: list[str], monkeypatch: pytest.MonkeyPatch
):
    _three(reg)
    Registry(reg.root, reg.root).load("HEAD")
    assert len(parses) == 3
    parses.clear()
    registry = Registry(reg.root, reg.root)
    reads: list[str] = []
    real = type(registry.repo).read_object
    monkeypatch.setattr(
        type(registry.repo), "read_object", lambda self, sha: reads.append(sha) or real(self, sha)
    )
    loaded = registry.load("HEAD")
    assert parses == []
    assert reads == []
    assert loaded.models["writer"].spec.suggestions is not None
    assert [m.shown for m in (loaded.models["faq"].placed,)] == ["HEAD:models/faq.yaml"]


def test_cached_specs_equal_freshly_checked_ones_for_the_shipped_registry(tmp_path: Path):
    root = tmp_path / "registry"
    shutil.copytree(REPO_ROOT / "registry", root)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    fresh = Registry(root, root, cache=False).load()
    assert len(fresh.models) == 7
    Registry(root, root).load()  # fills the cache
    cached = Registry(root, root).load()
    assert cached.cache.misses == 0
    for model_id, model in fresh.models.items():
        again = cached.models[model_id]
        assert again.spec == model.spec
        assert again.spec.to_data() == model.spec.to_data()
        assert again.placed == model.placed
        assert (again.placed.name, again.placed.avatar) == (model.spec.name, model.spec.avatar)


def test_a_plan_from_the_cache_builds_no_spec_and_wants_what_the_specs_want(
    reg: RegistryFixture,
):
    """From the cache's plain data, inheritance and the Ollama requests are exactly what the
    checked specs give, over every field inheritance reads: prompts, a template, messages,
    licenses as text and as a list, typed parameters, and a chain of registry bases."""
    from modelops.reconcile.desired import desired_models
    from modelops.spec.inherit import Basis

    reg.add(
        "root",
        system="Be brief.",
        template="{{ .Prompt }}",
        license="MIT",
        parameters={"temperature": 0.5, "num_ctx": 4096, "stop": ["###", "END"]},
        messages=[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}],
    )
    reg.add("child", base="root", license=["Apache-2.0", "CC-BY-4.0"], parameters={"top_k": 20})
    reg.add("grandchild", base="child", system="Be poetic.")
    reg.add("plain", base="llama3.2:1b")
    fresh = Registry(reg.root, reg.root, cache=False).load()
    wanted = desired_models(fresh.specs(), "team")
    Registry(reg.root, reg.root).load()  # fills the cache
    cached = Registry(reg.root, reg.root).load()
    bases = cached.bases()
    assert all(isinstance(b, Basis) for b in bases.values())  # no pydantic model was built
    assert not any(m.lazy_spec.ready for m in cached.models.values())
    assert desired_models(bases, "team") == wanted
    assert wanted["grandchild"].values.license == ("MIT", "Apache-2.0", "CC-BY-4.0")
    assert wanted["grandchild"].request["system"] == "Be poetic."


def test_a_cached_problem_position_points_where_a_fresh_one_does(reg: RegistryFixture):
    reg.add("a", base="b")
    reg.add("b", base="a")
    fresh = Registry(reg.root, reg.root, cache=False).load().problems
    Registry(reg.root, reg.root).load()
    cached = Registry(reg.root, reg.root).load()
    assert cached.cache.misses == 0
    assert cached.problems == fresh
    assert [(p.line, p.col, p.key) for p in fresh] == [(4, 1, "base"), (4, 1, "base")]


def test_avatar_verdicts_are_cached_by_content(reg: RegistryFixture, monkeypatch):
    (reg.root / "avatars" / "faq.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    reg.add("faq", avatar="avatars/faq.png")
    checked: list[str] = []
    real = snap.avatar_problem
    monkeypatch.setattr(
        snap, "avatar_problem", lambda ref, content: checked.append(ref) or real(ref, content)
    )
    for _ in range(2):
        problems = Registry(reg.root, reg.root).load().problems
        assert [p.message for p in problems] == [
            "file 'avatars/faq.png' is not a PNG, JPEG, GIF or WebP image (or a damaged one)"
        ]
    assert checked == ["avatars/faq.png"]
    (reg.root / "avatars" / "faq.png").write_bytes(png())
    assert not Registry(reg.root, reg.root).load().problems
    assert checked == ["avatars/faq.png", "avatars/faq.png"]


def _entries(reg: RegistryFixture) -> dict[str, list[str]]:
    """The cache file's entries: key -> [generation, fields...]."""
    lines = (reg.root / CACHE).read_text().splitlines()[1:]
    return {line.split("\t")[0]: line.split("\t")[1:] for line in lines}


def _rewrite(reg: RegistryFixture, header: str, entries: dict[str, list[str]]) -> None:
    lines = [header, *("\t".join([key, *fields]) for key, fields in entries.items())]
    (reg.root / CACHE).write_text("\n".join(lines) + "\n")


def test_another_version_of_the_checks_starts_afresh(reg: RegistryFixture, parses: list[str]):
    _three(reg)
    Registry(reg.root, reg.root).load()
    header = (reg.root / CACHE).read_text().splitlines()[0]
    magic, version, _, generation = header.split("\t")
    _rewrite(reg, f"{magic}\t{version}\tan older modelops\t{generation}", _entries(reg))
    parses.clear()
    Registry(reg.root, reg.root).load()
    assert len(parses) == 3


@pytest.mark.parametrize(
    "damage",
    ["truncated", "not text", "entries of the wrong shape", "a spec that no longer checks"],
)
def test_a_damaged_cache_changes_no_result(reg: RegistryFixture, damage: str):
    _three(reg)
    fresh = Registry(reg.root, reg.root, cache=False).load()
    Registry(reg.root, reg.root).load()
    path = reg.root / CACHE
    text = path.read_text()
    header = text.splitlines()[0]
    entries = _entries(reg)
    if damage == "truncated":
        path.write_text(text[: len(text) // 2])
    elif damage == "not text":
        path.write_bytes(header.encode() + b"\n\x00\xff" * 10)
    elif damage == "entries of the wrong shape":
        _rewrite(reg, header, {key: ["1", "42"] for key in entries})
    else:
        for key, fields in entries.items():
            if key.startswith("model:"):
                fields[-1] = json.dumps({"version": 1, "id": "x", "base": ""})
        _rewrite(reg, header, entries)
    loaded = Registry(reg.root, reg.root).load()
    assert not loaded.problems
    assert loaded.specs() == fresh.specs()
    assert loaded.config == fresh.config


def test_the_cache_drops_what_went_unused_longest_beyond_its_bound(reg: RegistryFixture):
    def load_with(names: tuple[str, ...]) -> set[str]:
        for path in (reg.root / "models").glob("*.yaml"):
            path.unlink()
        for name in names:
            reg.write(name, reg.model_text(name))
        cache = Cache.for_folder(reg.root)
        cache.max_entries = 3
        source = Registry(reg.root, reg.root, cache=False).load().source
        assert not snap.load(source, cache).problems
        return set(_entries(reg))

    def key(name: str) -> str:
        return f"model:{blob_id(reg.model_text(name).encode())}"

    config = f"config:{blob_id((reg.root / 'modelops.yaml').read_bytes())}"
    assert load_with(("a", "b")) == {config, key("a"), key("b")}
    assert load_with(("c", "d")) == {config, key("c"), key("d")}


def test_no_cache_and_the_environment_variable_turn_it_off(
    reg: RegistryFixture, monkeypatch: pytest.MonkeyPatch, parses: list[str]
):
    _three(reg)
    assert run("validate", "--no-cache").code == 0
    assert not (reg.root / CACHE).exists()
    monkeypatch.setenv("MODELOPS_NO_CACHE", "1")
    assert run("list").code == 0
    assert not (reg.root / CACHE).exists()
    assert len(parses) == 6
    monkeypatch.setenv("MODELOPS_NO_CACHE", "0")
    assert run("list").code == 0
    assert (reg.root / CACHE).exists()


def test_a_registry_outside_git_is_validated_without_a_cache(tmp_path: Path):
    root = tmp_path / "plain"
    shutil.copytree(REPO_ROOT / "registry", root, ignore=shutil.ignore_patterns(".git"))
    assert git_dir(root) is None
    registry = Registry(root, root)
    assert not registry.cache.enabled
    assert len(registry.load().require_valid().models) == 7


def test_a_linked_work_tree_keeps_its_cache_in_its_own_git_directory(reg: RegistryFixture):
    _three(reg)
    linked = reg.root.parent / "linked"
    reg.git("worktree", "add", "-q", str(linked))
    found = git_dir(linked)
    assert found is not None
    assert found.parent == (reg.root / ".git" / "worktrees").resolve()
    Registry(linked, linked).load()
    assert (found / "modelops" / FILE).is_file()


def test_validate_parses_no_conversation_and_decodes_no_image_twice(
    reg: RegistryFixture, monkeypatch: pytest.MonkeyPatch
):
    from modelops.registry import checked

    reg.add("writer", avatar="avatars/writer.png")
    (reg.root / "avatars" / "writer.png").write_bytes(png((600, 20)))
    conversation = reg.root / "conversations" / "c.yaml"
    conversation.write_text("version: 1\nmodels: [writter]\nturns:\n  - user: hi\n")
    reg.commit("a model, its avatar and a conversation")
    read: list[str] = []
    real_mentioned, real_dimensions = checked.mentioned, checked.dimensions
    monkeypatch.setattr(
        checked, "mentioned", lambda raw, shown: read.append(shown) or real_mentioned(raw, shown)
    )
    monkeypatch.setattr(
        checked, "dimensions", lambda data: read.append("image") or real_dimensions(data)
    )
    first, second = run("validate"), run("validate")
    assert read == ["conversations/c.yaml", "image"]
    assert first == second
    assert "conversations/c.yaml:2:10: models[0]: warning: 'writter' is not a registry model" in (
        first.err
    )
    assert "avatars/writer.png is 600x20 pixels" in first.err
    conversation.write_text("version: 1\nmodels: [writer]\nturns:\n  - user: hi\n")
    third = run("validate")
    assert read == ["conversations/c.yaml", "image", "conversations/c.yaml"]
    assert "writter" not in third.err
