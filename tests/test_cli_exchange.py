"""End to end: export and import through the CLI, with the report, the commit and the files."""

from __future__ import annotations

import base64
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from modelops.registry.store import Registry
from tests.helpers import DATA, REPO_ROOT, RegistryFixture, png, run

OPENWEBUI_FILES = DATA / "openwebui"  # real Open WebUI files; see its README
PNG_URI = "data:image/png;base64," + base64.b64encode(png()).decode()


def _write(tmp_path: Path, name: str, value: Any) -> Path:
    path = tmp_path / name
    path.write_text(value if isinstance(value, str) else json.dumps(value))
    return path


def _record(model_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": model_id,
        "name": model_id.title(),
        "base_model_id": "llama3.2:latest",
        "params": {},
        "meta": {},
        **fields,
    }


def test_the_real_0_12_4_export_imports_with_its_report(reg: RegistryFixture):
    result = run("import", str(OPENWEBUI_FILES / "export-0.12.4.json"))
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[:3] == [
        "imported   #1   rt-acme-helper",
        "imported   #2   rt-mini",
        "imported   #3   rt-public",
    ]
    assert lines[3].endswith(
        ": Import 3 models from export-0.12.4.json (3 imported, 0 updated, 0 unchanged, 0 skipped)"
    )
    assert reg.subjects()[0] == "Import 3 models from export-0.12.4.json"
    assert reg.last_paths() == [
        "avatars/rt-acme-helper.png",
        "models/rt-acme-helper.yaml",
        "models/rt-mini.yaml",
        "models/rt-public.yaml",
    ]
    assert "avatar: avatars/rt-acme-helper.png" in reg.read("rt-public")  # one file, shared
    assert "public: true" in reg.read("rt-public")
    assert reg.read("rt-mini").endswith("id: rt-mini\nname: Mini\nbase: llama3.2:latest\n")
    again = run("import", str(OPENWEBUI_FILES / "export-0.12.4.json"))
    assert again.out.splitlines()[:3] == [
        "unchanged  #1   rt-acme-helper",
        "unchanged  #2   rt-mini",
        "unchanged  #3   rt-public",
    ]
    assert (
        again.out.splitlines()[3]
        == "nothing to commit (0 imported, 0 updated, 3 unchanged, 0 skipped)"
    )


def test_the_legacy_shapes_import_with_their_report(reg: RegistryFixture):
    result = run("import", str(OPENWEBUI_FILES / "legacy-shapes.json"))
    assert result.code == 0, result.err
    assert result.out.splitlines()[:4] == [
        "imported   #1   lg-old-style",
        "imported   #2   lg-wrapped",
        "skipped    #3   lg-self-base: an admin override of the base model 'lg-self-base' "
        "(Admin > Models), not a workspace model; to keep its settings as a model based on it: "
        "--map-id 'lg-self-base=lg-self-base-custom'",
        "imported   #4   lg-inactive",
    ]
    assert "active: false" in reg.read("lg-inactive")
    assert "name: Wrapped info" in reg.read("lg-wrapped")
    message = reg.last_message()
    assert (
        "Modelops-Op: import\nModelops-Model: lg-old-style\nModelops-Model: lg-wrapped" in message
    )
    assert "Modelops-Source: legacy-shapes.json" in message


def test_export_then_import_is_the_identity_on_the_shipped_registry(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    exported = run("export", "--registry", "registry")
    assert exported.code == 0, exported.err
    records = json.loads(exported.out)
    assert [r["id"] for r in records] == sorted(
        p.stem for p in (REPO_ROOT / "registry/models").glob("*.yaml")
    )
    assert records[0]["meta"]["profile_image_url"].startswith("data:image/png;base64,")
    fresh = RegistryFixture.create(tmp_path / "fresh")
    monkeypatch.chdir(fresh.root)
    source = _write(tmp_path, "models.json", exported.out)
    assert run("import", str(source)).code == 0
    original = Registry(REPO_ROOT / "registry", REPO_ROOT).load().require_valid()
    copy = Registry(fresh.root, fresh.root).load().require_valid()
    for model_id, model in original.models.items():
        assert _meaning(copy.models[model_id].spec) == _meaning(model.spec), model_id
        if model.spec.avatar:
            assert copy.read(model.spec.avatar) == original.read(model.spec.avatar)
    again = json.loads(run("export").out)
    assert [_untimed(r) for r in again] == [_untimed(r) for r in records]  # only times differ


def _untimed(record: dict[str, Any]) -> dict[str, Any]:
    grants = [{**g, "created_at": 0} for g in record["access_grants"]]
    return {**record, "created_at": 0, "updated_at": 0, "access_grants": grants}


def _meaning(spec: Any) -> dict[str, Any]:
    """A definition without the values that only restate a default."""
    from tests.test_exchange_openwebui import canonical

    return canonical(spec.to_data())


def test_export_selected_models_to_a_file(reg: RegistryFixture, tmp_path: Path):
    reg.add("faq", base="mistral", system="Be brief.")
    reg.add("other", base="mistral")
    target = tmp_path / "out.json"
    result = run("export", "faq", "-o", str(target))
    assert result.out == f"exported 1 model to {target}\n"
    (record,) = json.loads(target.read_text())
    assert record["params"] == {"system": "Be brief."}
    assert record["created_at"] == record["updated_at"] > 1_700_000_000
    assert (
        run("export", "nope").err
        == "error: no model 'nope' in the registry (see 'modelops list')\n"
    )


def test_community_payload(reg: RegistryFixture):
    reg.add("faq", base="mistral")
    result = run("export", "--community", "faq")
    payload = json.loads(result.out)
    assert payload["id"] == "faq"
    assert payload["write_access"] is True and payload["user"] is None
    assert "background_image_data" not in payload
    assert result.err.startswith("open https://openwebui.com/post?type=model ")


@pytest.mark.parametrize("policy", ["skip", "overwrite", "fail"])
def test_on_conflict(reg: RegistryFixture, tmp_path: Path, policy: str):
    reg.add("faq", base="mistral", system="Mine.")
    source = _write(
        tmp_path, "in.json", [_record("faq", params={"system": "Theirs."}), _record("new-one")]
    )
    head = reg.head()
    result = run("import", str(source), "--on-conflict", policy)
    if policy == "fail":
        assert result.code == 1
        assert (
            result.err
            == "error: faq: already in the registry and --on-conflict is fail; nothing imported\n"
        )
        assert reg.head() == head
        return
    assert result.code == 0, result.err
    first = result.out.splitlines()[0]
    if policy == "skip":
        assert (
            first
            == "skipped    #1   faq: exists in the registry (--on-conflict overwrite replaces it)"
        )
        assert "system: Mine." in reg.read("faq")
        assert reg.last_paths() == ["models/new-one.yaml"]
    else:
        assert first == "updated    #1   faq"
        assert "system: Theirs." in reg.read("faq")
        assert reg.last_paths() == ["models/faq.yaml", "models/new-one.yaml"]


def test_overwrite_keeps_the_comments_of_the_existing_file(reg: RegistryFixture, tmp_path: Path):
    reg.write(
        "faq",
        "# our FAQ model\nversion: 1\nid: faq   # do not rename\nbase: mistral\nsystem: Old.\n",
    )
    reg.commit("hand-written")
    source = _write(
        tmp_path,
        "in.json",
        [_record("faq", name="faq", base_model_id="mistral", params={"system": "New."})],
    )
    assert run("import", str(source), "--on-conflict", "overwrite").code == 0
    assert (
        reg.read("faq")
        == "# our FAQ model\nversion: 1\nid: faq   # do not rename\nbase: mistral\nsystem: New.\n"
    )


def test_dry_run_writes_nothing(reg: RegistryFixture):
    head = reg.head()
    result = run("import", str(OPENWEBUI_FILES / "export-0.12.4.json"), "--dry-run")
    assert result.code == 0
    assert (
        result.out.splitlines()[-1]
        == "dry run: 3 imported, 0 updated, 0 unchanged, 0 skipped; nothing written"
    )
    assert reg.head() == head
    assert reg.status() == ""


def _big_png(size: int) -> str:
    image = Image.effect_noise((1200, 1200), 64).convert("RGB")
    out = io.BytesIO()
    image.save(out, "PNG")
    data = out.getvalue()
    while len(data) < size:
        data += data
    return "data:image/png;base64," + base64.b64encode(data[:size]).decode()


BAD = [
    ("name is a number", _record("n1", name=123), "skipped    #1   n1: name: expected a string, got number 123"),
    ("meta is a string", _record("n2", meta="oops"), "skipped    #1   n2: meta: expected an object, got string 'oops'"),
    ("params.temperature is text", _record("n3", params={"temperature": "hot"}), "skipped    #1   n3: params.temperature: expected a number, got string 'hot'"),
    ("an SVG avatar", _record("n4", meta={"profile_image_url": "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4="}), "skipped    #1   n4: meta.profile_image_url: SVG avatars are refused (they can carry scripts); convert it to PNG (--drop-bad-avatars imports it without one)"),
    ("a javascript: URL", _record("n5", meta={"profile_image_url": "javascript:alert(1)"}), "skipped    #1   n5: meta.profile_image_url: 'javascript:' is not an image (use a data URI or https URL) (--drop-bad-avatars imports it without one)"),
    ("an id with whitespace", _record("Acme Helper"), "skipped    #1   Acme Helper: 'Acme Helper' is not a valid registry id (use lowercase letters, digits, '.', '_' and '-', starting with a letter or digit, at most 80 characters); map it with --map-id 'Acme Helper=acme-helper'"),
    ("an id with a path separator", _record("team/../etc"), "skipped    #1   team/../etc: 'team/../etc' is not a valid registry id (use lowercase letters, digits, '.', '_' and '-', starting with a letter or digit, at most 80 characters); map it with --map-id 'team/../etc=team-..-etc'"),
    ("a bad base", _record("n8", base_model_id="Llama 3"), "skipped    #1   n8: base_model_id 'Llama 3' is not an Ollama model name (invalid model 'Llama 3')"),
    ("not an object", "just a string", "skipped    #1   (no id): expected an object, got string 'just a string'"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "entry", "line"), BAD, ids=[b[0] for b in BAD])
def test_bad_entries_are_skipped_with_the_reason_and_the_rest_imported(
    reg, tmp_path, case, entry, line
):
    source = _write(tmp_path, "in.json", [entry, _record("good-one")])
    result = run("import", str(source))
    assert result.code == 1, result
    assert result.out.splitlines()[0] == line
    assert result.out.splitlines()[1] == "imported   #2   good-one"
    assert reg.last_paths() == ["models/good-one.yaml"]
    assert "Traceback" not in result.err
    assert reg.status() == ""


def test_a_ten_megabyte_avatar_is_refused_unless_dropped(reg, tmp_path):
    source = _write(
        tmp_path, "in.json", [_record("big", meta={"profile_image_url": _big_png(10 * 2**20)})]
    )
    result = run("import", str(source))
    assert result.code == 1
    assert result.out.splitlines()[0] == (
        "skipped    #1   big: meta.profile_image_url: the image is 10.0 MiB; the limit is 256 KiB "
        "(shrink it) (--drop-bad-avatars imports it without one)"
    )
    assert not (reg.root / "models" / "big.yaml").exists()
    dropped = run("import", str(source), "--drop-bad-avatars")
    assert dropped.code == 0
    assert dropped.out.splitlines()[0] == (
        "imported   #1   big [avatar dropped: the image is 10.0 MiB; the limit is 256 KiB "
        "(shrink it)]"
    )
    assert "avatar" not in reg.read("big")


def test_duplicate_ids_and_id_mapping(reg, tmp_path):
    source = _write(tmp_path, "in.json", [_record("dup"), _record("dup"), _record("Acme Helper")])
    result = run("import", str(source), "--map-id", "Acme Helper=acme-helper")
    assert result.code == 1
    assert result.out.splitlines()[:3] == [
        "imported   #1   dup",
        "skipped    #2   dup: id 'dup' appears again in the file (entry 1 is imported)",
        "imported   #3   acme-helper (from 'Acme Helper')",
    ]
    assert run("import", str(source), "--map-id", "nonsense").code == 64


def test_a_base_that_is_another_entry_becomes_a_registry_base(reg, tmp_path):
    source = _write(
        tmp_path,
        "in.json",
        [_record("child", base_model_id="Parent Model"), _record("Parent Model")],
    )
    result = run("import", str(source), "--map-id", "Parent Model=parent")
    assert result.code == 0, result.out
    assert "base: parent\n" in reg.read("child")


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ('[{"id": "x", "name": "X"', "in.json:1:25: not valid JSON: Expecting ',' delimiter"),
        ("[1, 2,", "in.json:1:7: not valid JSON: Expecting value"),
        ('{"models": 5}', "error: in.json: models: expected a list of models, got number 5"),
    ],
)
def test_an_unreadable_file_is_one_error_and_nothing_is_written(reg, tmp_path, content, error):
    head = reg.head()
    result = run("import", str(_write(tmp_path, "in.json", content)))
    assert result.code == 1
    assert error in result.err
    assert reg.head() == head


def test_a_file_that_is_neither_json_nor_a_modelfile(reg, tmp_path):
    result = run("import", str(_write(tmp_path, "in.json", "5")))
    assert result.code == 1  # the file is what it is: not a usage error
    assert result.err.endswith(
        "in.json is not JSON; to import it as a Modelfile, name the model with --id NAME\n"
    )
    assert run("import", str(tmp_path / "in.json"), "--id", "x").err.endswith(
        "in.json:1: Modelfile: line 1: unknown instruction '5'\nerror: 1 problem found\n"
    )


def test_a_missing_file_is_a_failure_not_a_usage_error(reg):
    result = run("import", "nowhere.json")
    assert result.code == 1
    assert result.err == (
        "error: nowhere.json does not exist (give an Open WebUI export or a Modelfile)\n"
    )


def test_modelfiles_both_ways(reg, tmp_path):
    reg.add(
        "faq",
        base="mistral",
        system="Line one.\nLine two.",
        parameters={"temperature": 0.2, "stop": ["###", "<|end|>"], "num_ctx": 4096},
        messages=[{"role": "user", "content": "Hi"}],
        license="MIT",
    )
    text = run("export", "--format", "modelfile", "faq").out
    assert text == (
        "# faq: generated by modelops from models/faq.yaml\n"
        "FROM mistral\n"
        'SYSTEM """Line one.\nLine two."""\n'
        "PARAMETER num_ctx 4096\n"
        "PARAMETER temperature 0.2\n"
        "PARAMETER stop ###\n"
        "PARAMETER stop <|end|>\n"
        "MESSAGE user Hi\n"
        "LICENSE MIT\n"
    )
    source = _write(tmp_path, "Modelfile", text)
    assert run("import", str(source)).err == (
        f"error: {source} is not JSON; to import it as a Modelfile, name the model with --id NAME\n"
    )
    result = run("import", str(source), "--id", "faq-copy")
    assert result.code == 0, result.out
    copy = Registry(reg.root, reg.root).load().get("faq-copy").spec
    original = Registry(reg.root, reg.root).load().get("faq").spec
    assert copy.model_dump(exclude={"id", "name"}) == original.model_dump(exclude={"id", "name"})
    bad = _write(tmp_path, "Bad", "FROM x\nPARAMETER temprature 1\n")
    assert run("import", str(bad), "--id", "bad").err.startswith(
        f"{bad}:2: Modelfile: line 2: unknown parameter 'temprature'"
    )


def test_import_from_stdin(reg):
    result = run("import", "-", stdin=json.dumps([_record("piped")]))
    assert result.code == 0, result.err
    assert reg.subjects()[0] == "Import 1 model from stdin"


def test_imports_are_checked_like_any_write(reg, tmp_path):
    shutil.copyfile(OPENWEBUI_FILES / "export-0.12.4.json", tmp_path / "x.json")
    reg.write("broken", "version: 1\nid: broken\n")
    reg.commit("a broken file, committed by hand")
    result = run("import", str(tmp_path / "x.json"))
    assert result.code == 1
    assert result.err.startswith("models/broken.yaml:1:1: base: required key is missing")


def test_a_truncated_avatar_is_refused_before_export(reg: RegistryFixture):
    (reg.root / "avatars" / "faq.png").write_bytes(png((8, 8))[:-20])  # cut inside the image data
    reg.add("faq", base="mistral", avatar="avatars/faq.png")
    validated = run("validate")
    assert validated.code == 1
    assert validated.err.splitlines()[0] == (
        "models/faq.yaml:5:1: avatar: file 'avatars/faq.png' is not a PNG, JPEG, GIF or WebP "
        "image (or a damaged one)"
    )
    exported = run("export")
    assert exported.code == 1  # an error that says where, never an internal error
    assert exported.err.splitlines()[0] == validated.err.splitlines()[0]


def test_an_image_is_one_file_however_many_entries_and_models_show_it(reg, tmp_path):
    """Entries with the same image share one file, an image the registry already holds is
    shown from its file, and an entry skipped when the whole is checked (here two entries
    based on each other) hands its image to one that is imported."""
    kept, other = png(colour=(1, 2, 3)), png(colour=(4, 5, 6))
    (reg.root / "avatars" / "house.png").write_bytes(kept)
    reg.add("old", avatar="avatars/house.png")

    def uri(image: bytes) -> str:
        return "data:image/png;base64," + base64.b64encode(image).decode()

    entries = [
        _record("same-as-old", meta={"profile_image_url": uri(kept)}),
        _record("loop-a", base_model_id="loop-b", meta={"profile_image_url": uri(other)}),
        _record("loop-b", base_model_id="loop-a"),
        _record("first", meta={"profile_image_url": uri(other)}),
        _record("second", meta={"profile_image_url": uri(other)}),
    ]
    result = run("import", str(_write(tmp_path, "in.json", entries)))
    assert result.code == 1, result.out  # the two in a cycle are skipped
    assert "skipped    #2   loop-a: base: cycle of bases" in result.out
    assert "avatar: avatars/house.png\n" in reg.read("same-as-old")
    assert "avatar: avatars/loop-a.png\n" in reg.read("first")
    assert "avatar: avatars/loop-a.png\n" in reg.read("second")
    assert (reg.root / "avatars" / "loop-a.png").read_bytes() == other
    assert sorted(p.name for p in (reg.root / "avatars").glob("*.png")) == [
        "house.png",
        "loop-a.png",
    ]
    assert not (reg.root / "models" / "loop-a.yaml").exists()
