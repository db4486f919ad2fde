"""End to end: the commands that only read (validate, list, show, history)."""

from __future__ import annotations

import json

from tests.helpers import RegistryFixture, run


def _three(reg: RegistryFixture) -> None:
    reg.add("faq", base="mistral", name="FAQ", tags=["support", "faq"], access={"public": True})
    reg.add("faq-strict", base="faq", tags=["support"], hidden=True)
    reg.add("writer", base="llama3.1:8b", name="Writer", active=False)


def test_list_as_a_table_and_filtered(reg: RegistryFixture):
    _three(reg)
    result = run("list")
    assert result.code == 0
    assert result.out.splitlines() == [
        "ID          NAME    BASE         TAGS         STATUS",
        "faq         FAQ     mistral      support,faq  public",
        "faq-strict          faq          support      hidden",
        "writer      Writer  llama3.1:8b               inactive",
    ]
    assert [line.split()[0] for line in run("list", "--tag", "support").out.splitlines()[1:]] == [
        "faq",
        "faq-strict",
    ]
    assert len(run("list", "--tag", "support", "--tag", "faq").out.splitlines()) == 2
    assert [line.split()[0] for line in run("list", "--visible").out.splitlines()[1:]] == [
        "faq",
        "writer",
    ]


def test_list_as_json(reg: RegistryFixture):
    _three(reg)
    data = json.loads(run("list", "-o", "json").out)
    assert [m["id"] for m in data] == ["faq", "faq-strict", "writer"]
    assert data[0] == {
        "path": "models/faq.yaml",
        "version": 1,
        "id": "faq",
        "name": "FAQ",
        "base": "mistral",
        "tags": ["support", "faq"],
        "access": {"public": True},
    }


def test_show_prints_the_file_or_its_fields(reg: RegistryFixture):
    _three(reg)
    assert run("show", "faq-strict").out == reg.read("faq-strict")
    data = json.loads(run("show", "faq-strict", "-o", "json").out)
    assert data["base_chain"] == ["faq", "mistral"]
    assert data["hidden"] is True
    missing = run("show", "faq-strikt")
    assert missing.code == 1
    assert (
        missing.err == "error: no model 'faq-strikt' in the registry (did you mean 'faq-strict'?)\n"
    )


def test_validate_as_json(reg: RegistryFixture):
    _three(reg)
    assert json.loads(run("validate", "-o", "json").out) == {
        "valid": True,
        "models": 3,
        "problems": [],
        "warnings": [],
    }
    reg.write("faq", reg.read("faq").replace("base: mistral", "base: faq"))
    result = run("validate", "-o", "json")
    assert result.code == 1
    (problem,) = json.loads(result.out)["problems"]
    assert problem["path"] == "models/faq.yaml"
    assert (problem["line"], problem["column"], problem["key"]) == (5, 1, "base")
    assert problem["message"].startswith("'faq' is this model itself")


def test_a_broken_config_is_reported_with_its_place(reg: RegistryFixture):
    (reg.root / "modelops.yaml").write_text("version: 1\ntargets:\n  local: {type: olama}\n")
    result = run("validate")
    assert result.code == 1
    assert result.err.splitlines()[0].startswith("modelops.yaml:3:3: targets.local")


def test_history_of_the_whole_registry(reg: RegistryFixture):
    _three(reg)
    assert run("hide", "faq").code == 0
    entries = json.loads(run("history", "-o", "json").out)
    assert [(e["op"], e["models"]) for e in entries] == [
        ("hide", ["faq"]),
        ("commit", ["writer"]),
        ("commit", ["faq-strict"]),
        ("commit", ["faq"]),
        ("init", []),
    ]
    assert entries[0]["author"] == "Test User"
    assert entries[0]["date"].endswith("Z")
    assert len(json.loads(run("history", "-n", "2", "-o", "json").out)) == 2
    unknown = run("history", "nobody")
    assert unknown.code == 1
    assert unknown.err == (
        "error: no commit touches a model 'nobody' (see 'modelops list' and 'modelops history')\n"
    )
    ranged = json.loads(run("history", "HEAD~2..HEAD", "-o", "json").out)
    assert [e["op"] for e in ranged] == ["hide", "commit"]
    assert run("history", "faq", "HEAD~1..HEAD", "-o", "json").code == 0
    bad = run("history", "nope..HEAD")
    assert (bad.code, bad.err) == (
        1,
        "error: unknown revision 'nope' (name a commit, branch or tag; see 'git log')\n",
    )
