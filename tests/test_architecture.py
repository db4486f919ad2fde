"""The architecture holds: the import-linter contracts in pyproject.toml pass, and each breaks
when a forbidden import is added to a copy of the package; modules stay small and few at the
top; `--help` lists every command without importing any of them."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from modelops.cli import COMMANDS
from tests.helpers import REPO_ROOT, png, run_process

PACKAGE = REPO_ROOT / "modelops"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_contracts_are_kept():
    proc = _lint_imports(REPO_ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("spec/model.py", "import httpx", "The pure packages do no I/O"),
        ("reconcile/plan.py", "import subprocess", "The pure packages do no I/O"),
        ("registry/snapshot.py", "from modelops.cli import main", "Packages depend downwards"),
        (
            "exchange/importer.py",
            "from modelops.registry import store",
            "Packages depend downwards",
        ),
        ("cli/output.py", "import git", "Only registry/git.py uses gitpython"),
        ("targets/ollama.py", "import ollama", "Nothing imports the ollama client"),
        ("replay/runner.py", "from modelops.targets import ollama", "Replay uses targets only"),
        (
            "targets/ollama.py",
            "from modelops.registry import store",
            "Targets and replay providers",
        ),
        ("spec/names.py", "from modelops.spec import model", "No import cycles"),
        ("reconcile/session.py", "import click", "Only the command line uses click"),
        ("watch/daemon.py", "import click", "Only the command line uses click"),
        (
            "watch/daemon.py",
            "from modelops.reconcile import apply",
            "The watcher reconciles through the use cases",
        ),
        ("watch/debounce.py", "import threading", "The pure packages do no I/O"),
        ("reconcile/session.py", "from modelops.watch import daemon", "Packages depend downwards"),
    ],
)
def test_a_forbidden_import_breaks_a_contract(
    tmp_path: Path, module: str, line: str, contract: str
):
    shutil.copytree(PACKAGE, tmp_path / "modelops", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path)
    target = tmp_path / "modelops" / module
    target.write_text(target.read_text() + f"\n{line}  # a deliberate violation\n")
    proc = _lint_imports(tmp_path)
    assert proc.returncode != 0
    broken = [ln for ln in proc.stdout.splitlines() if " BROKEN" in ln]
    assert any(ln.startswith(contract) for ln in broken), proc.stdout


def test_the_top_of_the_package_holds_at_most_ten_entries():
    entries = [
        p.name
        for p in PACKAGE.iterdir()
        if p.name not in ("__init__.py", "__main__.py", "py.typed", "__pycache__")
    ]
    assert len(entries) <= 10, sorted(entries)


def test_no_module_is_over_400_lines():
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert not long


def test_docstrings_point_at_nothing_outside_the_repository():
    cited = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if any(word in p.read_text() for word in ("DESIGN", "reference/", "(reference"))
    ]
    assert not cited


def test_every_module_says_what_it_is_for():
    import ast

    missing = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if p.name != "__main__.py" and not ast.get_docstring(ast.parse(p.read_text()))
    ]
    assert not missing


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_help_listing_matches_each_command(name: str):
    module, attribute, summary = COMMANDS[name]
    command = getattr(importlib.import_module(f"modelops.cli.{module}"), attribute)
    assert isinstance(command, click.Command)
    assert command.get_short_help_str(1000) == summary


def test_help_imports_no_command_and_no_heavy_library(tmp_path: Path):
    probe = (
        "import sys\n"
        "from modelops.cli import main\n"
        "main(['--help'])\n"
        "heavy = ('ollama', 'httpx', 'pydantic', 'git', 'yaml', 'ruamel', 'PIL', 'rich')\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in heavy\n"
        "    or m.startswith(('modelops.cli.', 'modelops.replay', 'modelops.exchange',\n"
        "                     'modelops.reconcile', 'modelops.registry', 'modelops.spec')))\n"
        "print('LOADED', loaded)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert "LOADED []" in proc.stdout, proc.stdout


def test_help_still_lists_every_command(tmp_path: Path):
    result = run_process("--help", cwd=tmp_path)
    listed = [ln.split()[0] for ln in result.out.split("Commands:")[1].splitlines() if ln.strip()]
    assert listed == list(COMMANDS)


def _heavy_after(args: list[str], cwd: Path) -> list[str]:
    """The heavy libraries a run of `modelops ARGS` in a fresh interpreter has imported."""
    probe = (
        "import json, sys\n"
        "from modelops.cli import main\n"
        f"main({args!r})\n"
        "heavy = {'ollama', 'httpx', 'pydantic', 'git', 'yaml', 'ruamel', 'PIL', 'rich'}\n"
        "print('LOADED', json.dumps(sorted({m.split('.')[0] for m in sys.modules} & heavy)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=cwd
    )
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("LOADED "))
    return list(json.loads(line.removeprefix("LOADED ")))


def test_validate_of_an_unchanged_registry_imports_no_parser_and_no_pydantic(reg):
    reg.add("faq", system="Answer briefly.")
    (reg.root / "avatars" / "faq.png").write_bytes(png())
    reg.add("helper", base="faq", avatar="avatars/faq.png")
    assert _heavy_after(["validate", "--no-cache"], reg.root) == ["PIL", "pydantic", "yaml"]
    assert _heavy_after(["validate"], reg.root) == ["PIL", "pydantic", "yaml"]  # fills the cache
    assert _heavy_after(["validate"], reg.root) == []
    assert _heavy_after(["list", "-o", "json"], reg.root) == ["pydantic"]  # specs, from the cache


def test_plan_imports_neither_the_ollama_client_nor_httpx(reg, ollama_server, monkeypatch):
    reg.add("faq", base="mistral")
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)
    loaded = _heavy_after(["plan"], reg.root)
    assert len(ollama_server.calls("/api/tags")) == 1  # it did talk to the server
    assert "ollama" not in loaded
    assert "httpx" not in loaded


def test_a_no_op_plan_from_the_cache_imports_neither_gitpython_nor_pydantic(
    reg, ollama_server, monkeypatch
):
    """A plan reads HEAD's files from the work tree when they hold the committed bytes, and
    asks git for the rest with its plumbing: gitpython (~100 ms to import) is not needed; the
    cache vouches for every file, so no pydantic model is built either."""
    reg.add("faq", base="mistral")
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.url)
    _heavy_after(["plan"], reg.root)  # fills the cache
    loaded = _heavy_after(["plan"], reg.root)
    assert "git" not in loaded
    assert "pydantic" not in loaded
    (reg.root / "modelops.yaml").write_text("version: 1\n# edited, not committed\n")
    loaded = _heavy_after(["plan"], reg.root)
    assert "git" in loaded  # HEAD's copy is read from git
    assert "pydantic" not in loaded  # and the cache vouches for it
    (reg.root / "models" / "faq.yaml").write_text("id: faq\nbase: mistral\nsystem: new\n")
    assert "pydantic" in _heavy_after(["plan", "--work-tree"], reg.root)  # a file to check
