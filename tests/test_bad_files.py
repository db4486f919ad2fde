"""Golden tests: every bad model file in tests/data/bad gives its exact error text and exit 1,
and cannot get into the registry through a write operation either. The expected texts are
written and checked by hand (see tests/data/bad/README.md), never produced by the code under
test: a change in a message or a position fails here until a person agrees with it."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.helpers import DATA, RegistryFixture, run

BAD = DATA / "bad"
CASES = sorted(p for p in BAD.iterdir() if p.suffix == ".yaml" or p.is_dir())


def _install(case: Path, reg: RegistryFixture) -> list[Path]:
    files = sorted(case.glob("*.yaml")) if case.is_dir() else [case]
    for file in files:
        shutil.copyfile(file, reg.root / "models" / file.name)
    return [reg.root / "models" / f.name for f in files]


def test_there_are_at_least_25_distinct_cases():
    assert len(CASES) >= 25
    assert all(c.with_suffix(".expected").exists() for c in CASES), "a case lacks .expected"


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_validate_reports_the_exact_error(case: Path, reg: RegistryFixture):
    reg.add("good", base="mistral")
    _install(case, reg)
    reg.commit(f"add {case.stem}")
    head = reg.head()
    result = run("validate")
    assert result.code == 1
    assert result.out == ""
    assert result.err == case.with_suffix(".expected").read_text()
    assert "Traceback" not in result.err
    assert reg.head() == head
    assert reg.status() == ""


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_a_bad_file_blocks_writes_and_nothing_is_written(case: Path, reg: RegistryFixture):
    """With the bad file in the tree, a write to another model is refused, untouched."""
    reg.add("good", base="mistral")
    _install(case, reg)
    reg.commit(f"add {case.stem}")
    head, before = reg.head(), reg.read("good")
    result = run("set", "good", "parameters.temperature=0.5")
    assert result.code == 1
    assert result.err.endswith("found\n")
    assert reg.head() == head
    assert reg.read("good") == before
    assert reg.status() == ""


SINGLE = [c for c in CASES if c.is_file() and c.stem not in ("id-mismatch", "very-large")]


@pytest.mark.parametrize("case", SINGLE, ids=lambda p: p.stem)
def test_edit_cannot_save_a_bad_file(case: Path, reg: RegistryFixture, tmp_path, monkeypatch):
    """An editor that writes the bad content, then gives up: exit 1, the registry untouched."""
    reg.add(case.stem, base="mistral")
    head, before = reg.head(), reg.read(case.stem)
    script = tmp_path / "editor.py"
    script.write_text(
        "import pathlib, shutil, sys\n"
        "p = pathlib.Path(sys.argv[1])\n"
        "if not p.read_text(errors='replace').startswith('# !'):\n"
        f"    shutil.copyfile({str(case)!r}, p)\n"
    )
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    result = run("edit", case.stem)
    assert result.code == 1, result
    assert "Traceback" not in result.err
    assert reg.head() == head
    assert reg.read(case.stem) == before
    assert reg.status() == ""
