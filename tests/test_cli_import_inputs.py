"""Bad input to `import`, end to end: each entry with a wrong type is reported and skipped,
never coerced; a file that cannot be read safely is one positioned error and nothing is
written; every read is bounded (size, nesting, pixels)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import RegistryFixture, png, png_bomb, run

PNG_URI = "data:image/png;base64," + base64.b64encode(png()).decode()


def _write(tmp_path: Path, value: Any, name: str = "in.json") -> Path:
    path = tmp_path / name
    path.write_text(value if isinstance(value, str) else json.dumps(value))
    return path


def _record(model_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": model_id, "name": model_id, "base_model_id": "llama3.2:latest", **fields}


WRONG_TYPES = [
    ("is_active as text", _record("a", is_active="false"), "a: is_active: expected true or false, got string 'false'"),
    ("hidden as text", _record("a", meta={"hidden": "true"}), "a: meta.hidden: expected true or false, got string 'true'"),
    ("access_control as text", _record("a", access_control="public"), "a: access_control: expected an object or null, got string 'public'"),
    ("access_control ids as text", _record("a", access_control={"read": {"group_ids": "staff"}}), "a: access_control.read.group_ids: expected a list, got string 'staff'"),
    ("access_grants as text", _record("a", access_grants="everyone"), "a: access_grants: expected a list, got string 'everyone'"),
    ("a grant that is not an object", _record("a", access_grants=[5]), "a: access_grants[0]: expected an object, got number 5"),
    ("a grant to a numeric id", _record("a", access_grants=[{"principal_type": "group", "principal_id": 7, "permission": "read"}]), "a: access_grants[0].principal_id: expected a string, got number 7"),
    ("tags as text", _record("a", meta={"tags": "x"}), "a: meta.tags: expected a list, got string 'x'"),
    ("a tag that is a number", _record("a", meta={"tags": [{"name": "ok"}, 5]}), 'a: meta.tags[1]: expected {"name": "..."}, got number 5'),
    ("a suggestion that is text", _record("a", meta={"suggestion_prompts": ["hi"]}), "a: meta.suggestion_prompts[0]: expected an object, got string 'hi'"),
    ("a suggestion that is a number", _record("a", meta={"suggestion_prompts": [{"content": 5}]}), "a: meta.suggestion_prompts[0].content: expected a string, got number 5"),
    ("a description that is false", _record("a", meta={"description": False}), "a: meta.description: expected a string, got boolean false"),
    ("an id that is a number", {"id": 5, "base_model_id": "llama3.2:latest"}, "(no id): id: expected a string, got number 5"),
    ("temperature nan", _record("a", params={"temperature": "nan"}), "a: params.temperature: must be a finite number, got nan"),
    ("temperature inf", _record("a", params={"temperature": "inf"}), "a: params.temperature: must be a finite number, got inf"),
    ("seed 1e999", _record("a", params={"seed": "1e999"}), "a: params.seed: expected an integer, got number inf"),
    ("temperature past float32", _record("a", params={"temperature": 1e39}), "a: params.temperature: must be between -3.4e+38 and 3.4e+38 (Ollama stores it as a 32-bit float), got 1e+39"),
    ("seed past 64 bits", _record("a", params={"seed": 2**70}), "a: params.seed: must be between -2^63 and 2^63-1 (Ollama stores it in 64 bits), got 1180591620717411303424"),
    ("an avatar that is a decompression bomb", _record("a", meta={"profile_image_url": "data:image/png;base64," + base64.b64encode(png_bomb(10_000, 10_000)).decode()}), "a: meta.profile_image_url: the image is 10000x10000 pixels; the limit is 16,777,216 pixels (--drop-bad-avatars imports it without one)"),
    ("an avatar past Pillow's own limit", _record("a", meta={"profile_image_url": "data:image/png;base64," + base64.b64encode(png_bomb(15_000, 15_000)).decode()}), "a: meta.profile_image_url: the image claims more than 178,956,970 pixels; the limit is 16,777,216 pixels (--drop-bad-avatars imports it without one)"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "entry", "reason"), WRONG_TYPES, ids=[c[0] for c in WRONG_TYPES])
def test_a_wrong_type_is_reported_for_its_entry_never_coerced(reg, tmp_path, case, entry, reason):
    source = _write(tmp_path, [entry, _record("good")])
    result = run("import", str(source))
    assert result.code == 1, result
    assert result.out.splitlines()[:2] == [f"skipped    #1   {reason}", "imported   #2   good"]
    assert reg.last_paths() == ["models/good.yaml"]
    assert "Traceback" not in result.err
    assert reg.status() == ""


def test_right_types_import_as_they_say(reg, tmp_path):
    entry = _record(
        "a",
        is_active=False,
        meta={"hidden": True, "tags": ["x", {"name": "z"}], "description": "d"},
        access_control={"read": {"group_ids": ["g1"], "user_ids": []}, "write": None},
    )
    result = run("import", str(_write(tmp_path, [entry])))
    assert result.code == 0, result.out
    text = reg.read("a")
    assert "hidden: true\nactive: false\n" in text
    assert "tags: [x, z]" in text
    assert "read: {groups: [g1], users: []}" in text


def test_grants_open_webui_drops_are_noted_not_kept(reg, tmp_path):
    grants = [
        {"principal_type": "user", "principal_id": "*", "permission": "read"},
        {"principal_type": "anyone", "principal_id": "*", "permission": "read"},
    ]
    result = run("import", str(_write(tmp_path, [_record("a", access_grants=grants)])))
    assert result.code == 0, result.out
    assert result.out.splitlines()[0] == (
        "imported   #1   a [access_grants[1] (anyone read) not kept (Open WebUI drops it)]"
    )
    assert "public: true" in reg.read("a")


def test_a_child_of_a_skipped_entry_is_skipped_not_imported_on_an_ollama_model(reg, tmp_path):
    entries = [
        _record("parent", params={"temperature": "hot"}),
        _record("child", base_model_id="parent"),
        _record("grandchild", base_model_id="child"),
        _record("other"),
    ]
    result = run("import", str(_write(tmp_path, entries)))
    assert result.code == 1
    assert result.out.splitlines()[:4] == [
        "skipped    #1   parent: params.temperature: expected a number, got string 'hot'",
        "skipped    #2   child: its base 'parent' is entry #1, which is skipped",
        "skipped    #3   grandchild: its base 'child' is entry #2, which is skipped",
        "imported   #4   other",
    ]
    assert reg.last_paths() == ["models/other.yaml"]


def test_a_child_of_an_entry_that_fails_validation_is_skipped_too(reg, tmp_path):
    entries = [
        _record("parent", meta={"knowledge": [{"name": "k", "type": "book"}]}),
        _record("child", base_model_id="parent"),
    ]
    result = run("import", str(_write(tmp_path, entries)))
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0].startswith("skipped    #1   parent: knowledge[0].type: must be one of")
    assert lines[1] == "skipped    #2   child: its base 'parent' is entry #1, which is skipped"
    assert not (reg.root / "models" / "child.yaml").exists()


def test_a_child_of_a_model_already_in_the_registry_imports(reg, tmp_path):
    reg.add("parent", base="mistral")
    entries = [
        _record("parent", params={"system": "new"}),
        _record("child", base_model_id="parent"),
    ]
    result = run("import", str(_write(tmp_path, entries)))
    assert result.code == 0, result.out
    assert result.out.splitlines()[1] == "imported   #2   child"
    assert "base: parent\n" in reg.read("child")


def test_provider_models_are_named_by_their_id_and_are_not_errors(reg, tmp_path):
    entries = [
        {"id": "gpt-4o", "name": "GPT-4o", "object": "model", "owned_by": "openai"},
        {"id": "arena-model", "name": "Arena", "owned_by": "arena"},
        _record("mine"),
    ]
    result = run("import", str(_write(tmp_path, entries)))
    assert result.code == 0, result.out
    assert result.out.splitlines()[:3] == [
        "skipped    #1   gpt-4o: a provider model from the admin panel, not a workspace model",
        "skipped    #2   arena-model: an arena model, not a workspace model",
        "imported   #3   mine",
    ]


def test_an_admin_override_of_a_base_model_imports_with_the_hint_it_gives(reg, tmp_path):
    override = {
        "id": "llama3.2:latest",
        "base_model_id": None,
        "name": "Llama (house style)",
        "params": {"system": "Answer in British English.", "temperature": 0.3},
        "meta": {"description": "tuned by the admin"},
    }
    source = _write(tmp_path, [override])
    result = run("import", str(source))
    assert result.code == 0, result.out  # expected, not an error
    line = result.out.splitlines()[0]
    assert line == (
        "skipped    #1   llama3.2:latest: an admin override of the base model 'llama3.2:latest' "
        "(Admin > Models), not a workspace model; to keep its settings as a model based on it: "
        "--map-id 'llama3.2:latest=llama3.2-latest'"
    )
    hint = line.rsplit("--map-id ", 1)[1].strip("'")
    mapped = run("import", str(source), "--map-id", hint)  # the hint, as given, works
    assert mapped.code == 0, mapped.out
    assert mapped.out.splitlines()[0] == "imported   #1   llama3.2-latest (from 'llama3.2:latest')"
    text = reg.read("llama3.2-latest")
    assert "base: llama3.2:latest\n" in text
    assert "system: Answer in British English." in text
    assert "temperature: 0.3" in text


FILE_PROBLEMS = [
    ("NaN", '[{"id": "a", "params": {"temperature": NaN}}]', "in.json:1:40: NaN is not a JSON number (JSON has no NaN or infinity)"),
    ("-Infinity", '[{"id": "a",\n "x": -Infinity}]', "in.json:2:7: -Infinity is not a JSON number (JSON has no NaN or infinity)"),
    ("1e999", '[{"id": "a", "params": {"temperature": 1e999}}]', "in.json:1:40: number 1e999 is out of range"),
    ("5000 digits", '[{"id": "a", "params": {"seed": ' + "9" * 5000 + "}}]", "in.json:1:33: an integer of 5,000 digits is too large"),
    ("nested 10,000 deep", "[" * 10_000 + "]" * 10_000, "in.json:1:101: nested more than 100 levels deep (flatten the value)"),
    ("nested 101 deep in an entry", '[{"id": "a", "meta": {"x": ' + "[" * 99 + "]" * 99 + "}}]", "in.json:1:125: nested more than 100 levels deep (flatten the value)"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "content", "error"), FILE_PROBLEMS, ids=[c[0] for c in FILE_PROBLEMS]
)
def test_a_file_json_cannot_hold_is_one_positioned_error(reg, tmp_path, case, content, error):
    head = reg.head()
    source = _write(tmp_path, content)
    result = run("import", str(source))
    assert result.code == 1
    assert result.err.splitlines() == [f"{tmp_path}/{error}", "error: 1 problem found"]
    assert reg.head() == head and reg.status() == ""


def test_nesting_at_the_limit_is_fine(reg, tmp_path):
    content = '[{"id": "a", "base_model_id": "m", "meta": {"x": ' + "[" * 97 + "]" * 97 + "}}]"
    result = run("import", str(_write(tmp_path, content)))
    assert result.code == 0, result.err


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/dev/zero", "error: /dev/zero is a character device, not a regular file"),
        ("/dev/null", "error: /dev/null is a character device, not a regular file"),
        (".", "error: . is a folder, not a file"),
    ],
)
def test_a_device_or_a_folder_is_refused_without_reading_it(reg, path, error):
    result = run("import", path)
    assert result.code == 1
    assert result.err == f"{error} (give an Open WebUI export or a Modelfile)\n"


def test_a_fifo_is_read_like_a_pipe_and_bounded(reg, tmp_path):
    fifo = tmp_path / "endless"
    os.mkfifo(fifo)
    writer = subprocess.Popen(  # an endless writer: `yes [ > endless`
        [
            sys.executable,
            "-c",
            f"import sys\nf = open({str(fifo)!r}, 'w')\nwhile True: f.write('[' * 65536)",
        ],
        stderr=subprocess.DEVNULL,
    )
    try:
        result = run("import", str(fifo))
    finally:
        writer.kill()
        writer.wait()
    assert result.code == 1
    assert result.err == (
        f"error: {fifo} is larger than 64.0 MiB, the limit (give an Open WebUI export or a "
        "Modelfile)\n"
    )
    # a FIFO whose writer sends a real file imports it
    done = threading.Thread(target=fifo.write_text, args=(json.dumps([_record("piped")]),))
    done.start()
    result = run("import", str(fifo))
    done.join()
    assert result.code == 0, result.err
    assert reg.read("piped").startswith("# yaml-language-server")


def test_a_large_stdin_is_bounded(reg, monkeypatch):
    import io

    class Endless(io.RawIOBase):
        """stdin that never ends; counts what was read from it."""

        served = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            buffer[:] = b"[" * len(buffer)
            Endless.served += len(buffer)
            return len(buffer)

    stream = io.TextIOWrapper(io.BufferedReader(Endless()))
    monkeypatch.setattr(sys, "stdin", stream)
    from modelops.cli import main

    assert main(["import", "-"]) == 1
    assert Endless.served < 65 * 2**20  # it stopped at the limit, not at the end of memory


def test_a_file_over_the_limit_is_refused_by_its_size(reg, tmp_path):
    big = tmp_path / "big.json"
    with big.open("wb") as handle:
        handle.truncate(65 * 2**20)  # sparse: no disk, no reading
    result = run("import", str(big))
    assert result.code == 1
    assert result.err.startswith(f"error: {big} is 65.0 MiB; the limit is 64.0 MiB")


def test_an_avatar_bomb_can_be_dropped_and_never_reaches_the_registry(
    reg: RegistryFixture, tmp_path
):
    bomb = "data:image/png;base64," + base64.b64encode(png_bomb(10_000, 10_000)).decode()
    source = _write(tmp_path, [_record("a", meta={"profile_image_url": bomb})])
    result = run("import", str(source), "--drop-bad-avatars")
    assert result.code == 0
    assert "avatar dropped: the image is 10000x10000 pixels" in result.out
    assert "avatar" not in reg.read("a")
    assert list((reg.root / "avatars").iterdir()) == [reg.root / "avatars" / ".gitkeep"]


def test_an_avatar_bomb_in_the_registry_fails_validate_and_export(reg: RegistryFixture):
    (reg.root / "avatars" / "a.png").write_bytes(png_bomb(10_000, 10_000))
    reg.add("a", avatar="avatars/a.png")
    for command in ("validate", "export"):
        result = run(command)
        assert result.code == 1
        assert (
            "models/a.yaml:5:1: avatar: avatars/a.png: the image is 10000x10000 pixels; "
            "the limit is 16,777,216 pixels"
        ) in result.err.splitlines()
