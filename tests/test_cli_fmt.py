"""fmt --write-only: the pre-commit mode that formats files and commits nothing, and leaves
files with problems to validate."""

from __future__ import annotations

from tests.helpers import RegistryFixture, run

MESSY = "version: 1\nbase: mistral:latest\nid: faq\nsystem:   Answer.\n"


def test_write_only_formats_and_commits_nothing(reg: RegistryFixture):
    reg.add("faq", base="mistral:latest", system="Answer.")
    reg.write("faq", MESSY)
    reg.commit("messy by hand")
    head = reg.head()
    result = run("fmt", "--write-only")
    assert result.code == 0, result.err
    assert result.out == "formatted models/faq.yaml\n"
    assert reg.head() == head  # no commit
    assert reg.read("faq") == (
        "# yaml-language-server: $schema=../model.schema.json\n"
        "version: 1\nid: faq\nbase: mistral:latest\nsystem: Answer.\n"
    )
    assert reg.status() == " M models/faq.yaml\n"
    again = run("fmt", "--write-only")
    assert (again.code, again.out) == (0, "")


def test_write_only_leaves_a_broken_file_to_validate(reg: RegistryFixture):
    reg.add("faq", base="mistral:latest")
    reg.write("bad", "version: 1\nid: bad\nbase: mistral\nparameters: {temprature: 1}\n")
    reg.write("faq", MESSY.replace("system:   Answer.\n", ""))
    result = run("fmt", "--write-only")
    assert result.code == 0
    assert result.out == "formatted models/faq.yaml\n"
    assert (
        result.err == "note: 1 file(s) with problems left as they are (see 'modelops validate')\n"
    )
    assert "temprature" not in result.err  # validate is the one that says what is wrong
    assert reg.read("bad").endswith("parameters: {temprature: 1}\n")
    validate = run("validate")
    assert validate.code == 1
    assert "parameters.temprature" in validate.err


def test_check_and_write_only_do_not_go_together(reg: RegistryFixture):
    result = run("fmt", "--check", "--write-only")
    assert result.code == 64
