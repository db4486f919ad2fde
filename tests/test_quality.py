"""The code is lint-clean, formatted and type-checked: the same checks a contributor runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT

BIN = Path(sys.executable).parent  # the environment the test extras were installed into
TOOLS = [
    ["ruff", "check", "modelops", "tests", "benchmarks"],
    ["ruff", "format", "--check", "modelops", "tests", "benchmarks"],
    ["mypy"],
]


@pytest.mark.parametrize("command", TOOLS, ids=lambda c: " ".join(c[:2]))
def test_tool_is_clean(command: list[str]):
    executable = BIN / command[0]
    assert executable.exists(), f"{command[0]} is not installed (pip install -e '.[test]')"
    proc = subprocess.run(
        [str(executable), *command[1:]], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
