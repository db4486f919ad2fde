"""End to end: each authoring command's exit code, output, resulting file and git history."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import RegistryFixture, png, run


def test_init_makes_a_repository_and_one_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    result = run("init", "reg")
    assert result.code == 0, result.err
    assert result.out.startswith("initialised a modelops registry in reg (commit ")
    reg = RegistryFixture(tmp_path / "reg")
    assert reg.subjects() == ["Initialise the modelops registry"]
    assert "Modelops-Op: init" in reg.last_message()
    assert reg.last_paths() == [
        "avatars/.gitkeep",
        "conversation.schema.json",
        "conversations/.gitkeep",
        "model.schema.json",
        "modelops.yaml",
        "models/.gitkeep",
    ]
    assert run("init", "reg").code == 1  # already a registry: state, not usage
    monkeypatch.chdir(tmp_path / "reg")
    assert run("validate").out == "ok: 0 models valid\n"


def test_init_inside_a_monorepo_commits_under_the_subfolder(tmp_path: Path, monkeypatch):
    reg = RegistryFixture.create(tmp_path / "mono")  # a registry at the top of a repo
    monkeypatch.chdir(reg.root)
    assert run("init", "team/models-registry").code == 0
    assert reg.last_paths()[0].startswith("team/models-registry/")
    result = run("create", "x", "--base", "mistral", "--registry", "team/models-registry")
    assert result.code == 0, result.err
    assert reg.last_paths() == ["team/models-registry/models/x.yaml"]


def test_create_writes_a_canonical_file_and_one_commit(reg: RegistryFixture):
    result = run(
        "create", "sql-tutor", "--base", "llama3.2", "--name", "SQL Tutor",
        "--system", "You teach SQL.\nStep by step.", "--tag", "education", "--tag", "sql",
        "--param", "temperature=0.4", "--param", "stop=[<|eot_id|>]",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.out.startswith("committed ")
    assert result.out.endswith(": Create model sql-tutor from llama3.2\n")
    assert reg.read("sql-tutor") == textwrap.dedent(
        """\
        # yaml-language-server: $schema=../model.schema.json
        version: 1
        id: sql-tutor
        name: SQL Tutor
        base: llama3.2
        tags: [education, sql]
        system: |-
          You teach SQL.
          Step by step.
        parameters:
          temperature: 0.4
          stop: [<|eot_id|>]
        """
    )
    assert reg.last_paths() == ["models/sql-tutor.yaml"]
    assert reg.last_message().endswith(
        "Modelops-Op: create\nModelops-Model: sql-tutor\nModelops-Base: llama3.2"
    )
    assert reg.status() == ""


@pytest.mark.parametrize(
    ("args", "code", "error"),
    [
        (["create", "Bad Id", "--base", "x"], 64, "error: 'Bad Id' is not a valid model id"),
        (["create", "../escape", "--base", "x"], 64, "error: '../escape' is not a valid model id"),
        (["create", "nl\n", "--base", "x"], 64, "error: 'nl\\n' is not a valid model id"),
        (
            ["create", "new", "--base", "llama3.2\n"],
            1,
            "models/new.yaml:4:1: base: 'llama3.2\\n' is neither a registry model nor a valid "
            "Ollama model name (invalid model 'llama3.2\\n';",
        ),
        (["create", "faq", "--base", "x"], 1, "error: model 'faq' already exists"),
        (
            ["create", "new", "--base", "Llama 3"],
            1,
            "models/new.yaml:4:1: base: 'Llama 3' is neither a registry model nor a valid Ollama "
            "model name (invalid model 'Llama 3'; e.g. llama3.2:latest or "
            "hf.co/<user>/<repo>:<quant>)",
        ),
        (
            ["create", "new", "--base", "x", "--param", "mirostat=1"],
            1,
            "models/new.yaml:6:3: parameters.mirostat: removed in Ollama 0.7.0 (delete it)",
        ),
    ],
)
def test_create_refuses_bad_input_and_leaves_the_repository_alone(reg, args, code, error):
    reg.add("faq", base="mistral")
    head = reg.head()
    result = run(*args)
    assert result.code == code, result
    assert error in result.err
    assert "Traceback" not in result.err
    assert reg.head() == head
    assert reg.status() == ""


def test_create_without_base_is_a_usage_error(reg):
    result = run("create", "x")
    assert result.code == 64
    assert "Missing option '--base'" in result.err


def test_set_changes_only_the_lines_it_must(reg: RegistryFixture):
    reg.write(
        "faq",
        textwrap.dedent(
            """\
            version: 1
            id: faq   # keep this comment
            base: mistral
            # the prompt
            system: Answer briefly.
            parameters:
                temperature: 0.7    # tuned by hand
                stop:
                - "###"
            """
        ),
    )
    reg.commit("hand-written faq")
    result = run(
        "set", "faq", "parameters.temperature=0.3", "name=2024", "capabilities.vision=false"
    )
    assert result.code == 0, result.err
    assert reg.read("faq") == textwrap.dedent(
        """\
        version: 1
        id: faq   # keep this comment
        name: '2024'
        base: mistral
        # the prompt
        system: Answer briefly.
        parameters:
            temperature: 0.3    # tuned by hand
            stop:
            - "###"
        capabilities:
            vision: false
        """
    )
    message = reg.last_message()
    assert message.startswith(
        "Set parameters.temperature=0.3, name=2024, capabilities.vision=false on faq"
    )
    assert "Modelops-Op: set\nModelops-Model: faq" in message


def test_set_unset_and_typed_values(reg: RegistryFixture):
    reg.add("faq", base="mistral", parameters={"temperature": 0.2, "top_k": 10})
    assert (
        run("set", "faq", "tags=[a, b]", "parameters.seed=42", "--unset", "parameters.top_k").code
        == 0
    )
    text = reg.read("faq")
    assert "tags: [a, b]" in text
    assert "seed: 42" in text
    assert "top_k" not in text
    assert run("set", "faq", "parameters.seed=42").out == (
        "nothing changed: faq already has these values\n"
    )


@pytest.mark.parametrize(
    ("args", "code", "error"),
    [
        (["set", "faq", "parameters.temperature=hot"], 1,
         "models/faq.yaml:6:16: parameters.temperature: expected a number, got string 'hot'"),
        (["set", "faq", "parameters.temprature=0.3"], 1,
         "models/faq.yaml:6:3: parameters.temprature: unknown parameter "
         "(did you mean 'temperature'?)"),
        (["set", "faq", "id=other"], 64, "error: 'id' cannot be set (use 'modelops rename')"),
        (["set", "faq", "nonsense=1"], 64, "error: 'nonsense': 'nonsense' is not a field of a model"),
        (["set", "faq", "temperature"], 64, "error: 'temperature' is not KEY=VALUE"),
        (["set", "faq", "--unset", "description"], 1, "error: 'description' is not set in faq"),
        (["set", "nope", "hidden=true"], 1, "error: no model 'nope' in the registry"),
        (["set", "faq"], 64, "error: nothing to set"),
    ],
)  # fmt: skip
def test_set_refuses_bad_input(reg, args, code, error):
    reg.add("faq", base="mistral")
    head = reg.head()
    result = run(*args)
    assert result.code == code, result
    assert error in result.err
    assert reg.head() == head
    assert reg.status() == ""


def test_set_refuses_a_file_with_local_edits(reg):
    path = reg.add("faq", base="mistral")
    path.write_text(path.read_text() + "# my local note\n")
    result = run("set", "faq", "hidden=true")
    assert result.code == 1
    assert result.err == (
        "error: models/faq.yaml: uncommitted changes in a file this operation must change "
        "(commit or discard them first; see 'git status')\n"
    )
    assert path.read_text().endswith("# my local note\n")


def test_writes_never_sweep_up_other_uncommitted_work(reg):
    reg.add("faq", base="mistral")
    reg.add("other", base="mistral")
    (reg.root / "notes.txt").write_text("untracked\n")
    other = reg.root / "models" / "other.yaml"
    other.write_text(other.read_text() + "description: staged by the user\n")
    reg.git("add", "models/other.yaml")
    assert run("hide", "faq").code == 0
    assert reg.last_paths() == ["models/faq.yaml"]
    assert reg.status() == "M  models/other.yaml\n?? notes.txt\n"


def test_clone_copies_and_names_the_clone(reg):
    reg.add("faq", base="mistral", name="FAQ", system="Be brief.")
    result = run("clone", "faq", "faq-de")
    assert result.code == 0, result.err
    text = reg.read("faq-de")
    assert "id: faq-de\n" in text
    assert "name: FAQ (Clone)\n" in text
    assert "system: Be brief.\n" in text
    assert reg.last_paths() == ["models/faq-de.yaml"]
    assert "Modelops-Op: clone\nModelops-Model: faq-de\nModelops-Source: faq" in reg.last_message()
    assert run("clone", "faq", "faq-fr", "--name", "FAQ (French)").code == 0
    assert "name: FAQ (French)\n" in reg.read("faq-fr")


def test_cloning_a_base_model_is_refused_with_the_create_command(reg):
    result = run("clone", "llama3.2:latest", "mine")
    assert result.code == 1
    assert result.err == (
        "error: 'llama3.2:latest' is not a model in this registry, so it cannot be cloned "
        "(to make a model from the Ollama model 'llama3.2:latest', run: "
        "modelops create mine --base llama3.2:latest)\n"
    )


def test_hide_and_unhide(reg):
    reg.add("a", base="mistral")
    reg.add("b", base="mistral")
    assert run("hide", "a", "b").code == 0
    assert reg.subjects()[0] == "Hide a, b"
    assert reg.last_paths() == ["models/a.yaml", "models/b.yaml"]
    assert "hidden: true" in reg.read("a")
    assert run("list", "--hidden").out.splitlines()[1].startswith("a ")
    assert run("hide", "a").out == "nothing changed: already hidden\n"
    assert run("unhide", "a").code == 0
    assert "hidden" not in reg.read("a")
    assert reg.subjects()[0] == "Unhide a"


def test_share_and_unshare(reg):
    reg.add("m", base="mistral")
    assert run("share", "m", "--public").code == 0
    assert run("share", "m", "--group", "eng", "--group", "ops").code == 0
    assert run("share", "m", "--user", "ana", "--write").code == 0
    assert reg.read("m").endswith(
        "access:\n"
        "  public: true\n"
        "  read: {groups: [eng, ops], users: []}\n"
        "  write: {groups: [], users: [ana]}\n"
    )
    assert reg.subjects()[:3] == [
        "Share m with user ana (write)",
        "Share m with group eng, group ops (read)",
        "Share m with everyone (read)",
    ]
    assert run("unshare", "m", "--group", "eng", "--user", "ana").code == 0
    assert reg.read("m").endswith("access:\n  public: true\n  read: {groups: [ops], users: []}\n")
    assert run("unshare", "m", "--all").code == 0
    assert "access" not in reg.read("m")
    assert run("share", "m").code == 64


def test_rename_moves_the_file_and_the_children_follow(reg):
    reg.add("faq", base="mistral")
    reg.add("faq-strict", base="faq")
    reg.add("unrelated", base="mistral")
    result = run("rename", "faq", "support")
    assert result.code == 0, result.err
    assert not (reg.root / "models/faq.yaml").exists()
    assert "id: support\n" in reg.read("support")
    assert "base: support\n" in reg.read("faq-strict")
    assert reg.last_paths() == ["models/faq-strict.yaml", "models/faq.yaml", "models/support.yaml"]
    message = reg.last_message()
    assert message.startswith("Rename faq to support\n\nfaq-strict: base faq -> support\n")
    assert "Modelops-Source: faq\nModelops-Updated: faq-strict" in message
    taken = run("rename", "support", "unrelated")
    assert (taken.code, taken.err) == (
        1,
        "error: model 'unrelated' already exists (change it with 'modelops edit')\n",
    )


def test_delete_refuses_while_a_model_is_based_on_it(reg):
    reg.add("faq", base="mistral")
    reg.add("faq-de", base="faq")
    reg.add("faq-fr", base="faq")
    result = run("delete", "faq")
    assert result.code == 1
    assert result.err == (
        "error: cannot delete 'faq': it is the base of faq-de, faq-fr "
        "(change their base or delete them first)\n"
    )
    assert run("delete", "faq-de").code == 0
    assert reg.subjects()[0] == "Delete model faq-de"
    assert not (reg.root / "models/faq-de.yaml").exists()


def test_delete_removes_an_avatar_no_other_model_shows(reg):
    (reg.root / "avatars/a.png").write_bytes(PNG)
    reg.add("a", base="mistral", avatar="avatars/a.png")
    reg.add("b", base="mistral", avatar="avatars/a.png")
    assert run("delete", "a").code == 0
    assert (reg.root / "avatars/a.png").exists()  # b still shows it
    assert run("delete", "b").code == 0
    assert reg.last_paths() == ["avatars/a.png", "models/b.yaml"]


def test_an_avatar_a_model_stops_showing_goes_with_it_unless_another_shows_it(reg, tmp_path: Path):
    """set, --unset and rollback let go of the image the model showed, as delete does; one
    another model shows stays."""
    (reg.root / "avatars/one.png").write_bytes(PNG)
    reg.add("a", base="mistral", avatar="avatars/one.png")
    reg.add("b", base="mistral", avatar="avatars/one.png")
    first = reg.head()
    two = tmp_path / "two.png"
    two.write_bytes(png(colour=(0, 0, 255)))
    assert run("set", "a", f"avatar={two}").code == 0
    assert reg.last_paths() == ["avatars/a.png", "models/a.yaml"]  # b still shows one.png
    assert run("set", "b", "avatar=avatars/a.png").code == 0
    assert reg.last_paths() == ["avatars/one.png", "models/b.yaml"]
    assert not (reg.root / "avatars/one.png").exists()
    assert run("rollback", "a", first).code == 0
    assert reg.last_paths() == ["avatars/one.png", "models/a.yaml"]  # back; a.png: b shows it
    assert (reg.root / "avatars/one.png").read_bytes() == PNG
    assert run("set", "b", "--unset", "avatar").code == 0
    assert reg.last_paths() == ["avatars/a.png", "models/b.yaml"]
    assert run("validate").err == ""  # no avatar file left that no model uses


def test_history_and_rollback(reg):
    reg.add("faq", base="mistral", system="Version one.")
    assert run("set", "faq", "system=Version two.").code == 0
    assert run("set", "faq", "system=Version three.").code == 0
    first = reg.git("log", "--format=%H", "-1", "--skip=2").strip()
    result = run("rollback", "faq", first)
    assert result.code == 0, result.err
    assert "system: Version one.\n" in reg.read("faq")
    assert f"Modelops-Revision: {first}" in reg.last_message()
    history = run("history", "faq").out.splitlines()
    assert history[0].split() == ["COMMIT", "DATE", "AUTHOR", "OP", "MODELS", "SUBJECT"]
    assert [line.split("Test User")[1].split()[0] for line in history[1:]] == [
        "rollback",
        "set",
        "set",
        "commit",
    ]
    assert history[1].endswith(f"rollback  faq     Roll back faq to {first} ({first[:12]})")
    assert (
        run("rollback", "faq", "HEAD").out == "nothing changed: faq is already as it was at HEAD\n"
    )
    assert run("rollback", "faq", "no-such-rev").err == (
        "error: unknown revision 'no-such-rev' (name a commit, branch or tag; see 'git log')\n"
    )


def test_rollback_restores_a_deleted_model(reg):
    reg.add("gone", base="mistral")
    before = reg.head()
    assert run("delete", "gone").code == 0
    assert run("rollback", "gone", before).code == 0
    assert (reg.root / "models/gone.yaml").exists()
    assert run("rollback", "never", before).err == (
        "error: model 'never' did not exist at " + before + " (see 'modelops history')\n"
    )


def test_history_follows_renames(reg):
    reg.add("faq", base="mistral")
    assert run("set", "faq", "hidden=true").code == 0
    assert run("rename", "faq", "support").code == 0
    assert run("set", "support", "description=Help desk").code == 0
    lines = run("history", "support", "-o", "json").out
    import json

    ops = [e["op"] for e in json.loads(lines)]
    assert ops == ["set", "rename", "set", "commit"]


def test_fmt_check_and_fix(reg):
    reg.write(
        "messy",
        "base: mistral   # the base\nid: messy\nversion: 1\nparameters:\n    temperature: 0.2\n",
    )
    reg.commit("messy by hand")
    check = run("fmt", "--check")
    assert check.code == 1
    assert check.out == "models/messy.yaml\n"
    assert run("fmt").code == 0
    assert reg.read("messy") == (
        "# yaml-language-server: $schema=../model.schema.json\n"
        "version: 1\nid: messy\nbase: mistral   # the base\nparameters:\n  temperature: 0.2\n"
    )
    assert reg.subjects()[0] == "Format 1 model file"
    assert run("fmt", "--check").code == 0
    assert run("fmt").out == "all model files are formatted\n"


def test_edit_reopens_until_valid_then_commits(reg, tmp_path, monkeypatch):
    reg.add("faq", base="mistral", parameters={"temperature": 0.2})
    script = tmp_path / "editor.py"
    script.write_text(
        textwrap.dedent(
            """\
            import pathlib, sys
            path = pathlib.Path(sys.argv[1])
            calls = pathlib.Path(sys.argv[0]).with_suffix(".calls")
            n = int(calls.read_text()) if calls.exists() else 0
            calls.write_text(str(n + 1))
            (calls.parent / f"seen{n}.txt").write_text(path.read_text())
            text = path.read_text()
            if n == 0:
                path.write_text(text.replace("temperature: 0.2", "temprature: 0.3"))
            else:
                body = "".join(l for l in text.splitlines(True) if not l.startswith("# !"))
                path.write_text(body.replace("temprature: 0.3", "temperature: 0.3"))
            """
        )
    )
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    result = run("edit", "faq", stdin="e\n")  # asked what now after the bad save: edit again
    assert result.code == 0, result.err
    assert result.out.endswith(": edited parameters.temperature\n")
    assert "[e]dit again, [k]eep it aside, or [a]bort?" in result.err
    second = (tmp_path / "seen1.txt").read_text()
    assert second.startswith(
        "# ! modelops: this file has problems. "
        "Fix them and save, or save it unchanged to give up.\n"
        "# ! models/faq.yaml:9:3: parameters.temprature: unknown parameter "
        "(did you mean 'temperature'?)\n# !\n"
    )
    assert "temperature: 0.3" in reg.read("faq")
    assert reg.subjects()[0] == "Edit faq: parameters.temperature"


def test_edit_saved_unchanged_with_problems_gives_up(reg, tmp_path, monkeypatch):
    reg.add("faq", base="mistral")
    head = reg.head()
    script = tmp_path / "editor.py"
    script.write_text(
        "import pathlib, sys\n"
        "p = pathlib.Path(sys.argv[1]); t = p.read_text()\n"
        "if not t.startswith('# !'): p.write_text(t.replace('base: mistral', 'base: Bad Name'))\n"
    )
    monkeypatch.setenv("VISUAL", f"{sys.executable} {script}")
    result = run("edit", "faq", stdin="e\n")
    assert result.code == 1
    assert result.err.endswith(
        "error: edit abandoned: models/faq.yaml still had problems; nothing was changed\n"
    )
    assert reg.head() == head
    assert reg.status() == ""


def test_edit_without_changes_and_with_a_failing_editor(reg, monkeypatch):
    reg.add("faq", base="mistral")
    monkeypatch.setenv("EDITOR", "true")
    assert run("edit", "faq").out == "no changes\n"
    monkeypatch.setenv("EDITOR", "false")
    assert (
        run("edit", "faq").err
        == "error: editor 'false' exited with status 1; nothing was changed\n"
    )
    monkeypatch.setenv("EDITOR", "no-such-editor-here")
    assert "not found (set VISUAL or EDITOR)" in run("edit", "faq").err


PNG = png()


def test_a_stale_schema_is_flagged_and_written_back(reg):
    (reg.root / "model.schema.json").write_text("{}\n")
    reg.commit("an old schema")
    result = run("validate")
    assert result.code == 0
    assert (
        result.err == "warning: model.schema.json is out of date (run 'modelops schema --write')\n"
    )
    written = run("schema", "--write")
    assert written.code == 0
    assert written.out.endswith(": Update the schemas\n")
    assert reg.last_paths() == ["model.schema.json"]
    assert run("validate").err == ""
    assert run("schema", "--write").out == "the schemas are up to date\n"
    assert (
        '"title": "modelops conversation (version 1)"'
        in run("schema", "--kind", "conversation").out
    )


def test_unknown_command_and_flag_are_usage_errors(reg):
    result = run("frobnicate")
    assert result.code == 64
    assert result.err == "error: No such command 'frobnicate' (see 'modelops --help')\n"
    result = run("list", "--colour")
    assert result.code == 64
    assert result.err == "error: No such option '--colour' (see 'modelops list --help')\n"


def test_the_console_script_runs_as_a_process(reg):
    import os

    from tests.helpers import run_process

    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    result = run_process("list", "-o", "json", cwd=reg.root, env=env)
    assert result.code == 0, result.err
    assert result.out == "[]\n"


def test_edit_is_how_a_broken_file_gets_fixed(reg, tmp_path, monkeypatch):
    reg.write("faq", "version: 1\nid: faq\nbase: mistral\nparameters:\n  temprature: 0.2\n")
    reg.commit("a typo")
    script = tmp_path / "editor.py"
    script.write_text(
        "import pathlib, sys\n"
        "p = pathlib.Path(sys.argv[1]); t = p.read_text()\n"
        "assert t.startswith('# ! '), t  # the problem is shown at once\n"
        "p.write_text(''.join(l for l in t.splitlines(True) if not l.startswith('# !')).replace('temprature', 'temperature'))\n"
    )
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    result = run("edit", "faq")
    assert result.code == 0, result.err
    assert "temperature: 0.2" in reg.read("faq")
    assert run("validate").code == 0


def test_edit_refuses_while_another_committed_file_is_broken(reg, monkeypatch):
    reg.add("faq", base="mistral")
    reg.write("other", "version: 1\nid: other\n")
    reg.commit("a broken file, committed by hand")
    monkeypatch.setenv("EDITOR", "true")
    result = run("edit", "faq")
    assert result.code == 1
    assert result.err.startswith("models/other.yaml:1:1: base: required key is missing")


def test_an_uncommitted_draft_neither_blocks_a_write_nor_lands_in_it(reg):
    reg.add("faq", base="mistral")
    draft = reg.write("draft", "version: 1\nid: draft\n")  # broken and not committed
    result = run("set", "faq", "description=ok")
    assert result.code == 0, result.err
    assert reg.last_paths() == ["models/faq.yaml"]
    assert draft.read_text() == "version: 1\nid: draft\n"
    assert reg.status() == "?? models/draft.yaml\n"


def _editor_that_sets_meanwhile(tmp_path: Path, registry: Path) -> Path:
    """An editor that, while the file is open, has another modelops command change the same
    model (which needs the registry lock), then saves its own edit."""
    script = tmp_path / "editor.py"
    script.write_text(
        textwrap.dedent(
            f"""\
            import os, pathlib, subprocess, sys
            path = pathlib.Path(sys.argv[1])
            env = dict(os.environ, MODELOPS_LOCK_TIMEOUT="5")
            other = subprocess.run(
                [sys.executable, "-m", "modelops", "set", "faq", "description=changed meanwhile"],
                cwd={str(registry)!r}, env=env, capture_output=True, text=True,
            )
            (pathlib.Path(sys.argv[0]).parent / "other.txt").write_text(
                f"{{other.returncode}}\\n{{other.stdout}}{{other.stderr}}"
            )
            path.write_text(path.read_text().replace("base: mistral", "base: llama3.2"))
            """
        )
    )
    return script


def test_edit_does_not_hold_the_lock_while_the_editor_is_open(reg, tmp_path, monkeypatch):
    reg.add("faq", base="mistral")
    script = _editor_that_sets_meanwhile(tmp_path, reg.root)
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    result = run("edit", "faq")
    other = (tmp_path / "other.txt").read_text()
    assert other.startswith("0\ncommitted "), other  # the other writer was not kept waiting
    assert result.code == 1
    kept = reg.root / ".git" / "modelops" / "edit-faq.yaml"
    assert result.err.startswith(
        "error: models/faq.yaml changed while it was open in the editor, so your edit was not "
        f"committed; it is kept in {kept} (merge it by hand and run 'modelops edit faq' again). "
        "What changed meanwhile:\n--- models/faq.yaml (when you opened it)\n"
        "+++ models/faq.yaml (now)\n"
    )
    assert "+description: changed meanwhile" in result.err
    assert "base: llama3.2" in kept.read_text()  # the user's work is not lost
    assert "base: mistral" in reg.read("faq")
    assert reg.subjects()[0] == "Set description=changed meanwhile on faq"
    assert reg.status() == ""


def test_an_editor_that_removes_the_file_changes_nothing(reg, monkeypatch):
    reg.add("faq", base="mistral")
    head = reg.head()
    monkeypatch.setenv("EDITOR", "rm")
    result = run("edit", "faq")
    assert (result.code, result.err) == (
        1,
        "error: the editor removed the file it was given; nothing was changed in models/faq.yaml\n",
    )
    assert reg.head() == head and reg.status() == ""


def _always_broken(tmp_path: Path) -> Path:
    script = tmp_path / "editor.py"
    script.write_text(
        "import pathlib, sys\n"
        "p = pathlib.Path(sys.argv[1])\n"
        "p.write_text(p.read_text().replace('base: mistral', 'base: Bad Name') + '# again\\n')\n"
    )
    return script


def test_an_editor_that_keeps_saving_problems_does_not_loop(reg, tmp_path, monkeypatch):
    reg.add("faq", base="mistral")
    head = reg.head()
    monkeypatch.setenv("EDITOR", f"{sys.executable} {_always_broken(tmp_path)}")
    kept = reg.root / ".git" / "modelops" / "edit-faq.yaml"
    result = run("edit", "faq")  # no answer on stdin: the text is kept aside, no loop
    assert result.code == 1
    assert result.err.endswith(
        f"error: 1 problem found; nothing was committed; your edit is kept in {kept}\n"
    )
    assert "base: Bad Name" in kept.read_text()
    abandoned = run("edit", "faq", stdin="e\ne\na\n")  # edit twice more, then abort
    assert abandoned.code == 1
    assert abandoned.err.count("[e]dit again") == 3
    assert abandoned.err.endswith("error: edit abandoned; nothing was changed in models/faq.yaml\n")
    assert reg.head() == head and reg.status() == ""
