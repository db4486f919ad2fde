"""The pre-commit hooks of this repository, run by pre-commit itself (`try-repo`) on a registry
of another repository: offline, with the hook environment built from this checkout and the
packages already installed (no package index is reached)."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, RegistryFixture

pytestmark = pytest.mark.slow


def _try_repo(cwd: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUALENV_"))}
    env |= {
        "PRE_COMMIT_HOME": str(cache / "pre-commit"),
        "VIRTUALENV_OVERRIDE_APP_DATA": str(cache / "virtualenv"),
        "PIP_CONFIG_FILE": os.devnull,  # not the machine's index settings
        "PIP_NO_INDEX": "1",  # no package index: nothing may be downloaded
        "PIP_NO_BUILD_ISOLATION": "0",  # build with the setuptools installed here
        "PYTHONPATH": sysconfig.get_paths()["purelib"],  # the dependencies installed here
    }
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(REPO_ROOT), "--all-files"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def _hook(output: str, name: str) -> str:
    """The lines pre-commit printed for one hook: its status line and what the hook said."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(name + "."))
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].startswith("modelops ")), len(lines)
    )
    return "\n".join(lines[start:end])


def test_the_hooks_pass_a_good_registry_and_fail_a_bad_one_without_repeating_errors(
    reg: RegistryFixture, tmp_path_factory: pytest.TempPathFactory
):
    cache = tmp_path_factory.mktemp("hook-cache")
    reg.add("faq", base="mistral:latest", system="Answer briefly.")
    good = _try_repo(reg.root, cache)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "modelops validate" in good.stdout and "Passed" in _hook(
        good.stdout, "modelops validate"
    )
    assert "Passed" in _hook(good.stdout, "modelops fmt")

    reg.write("faq", "version: 1\nbase: mistral:latest\nid: faq\n")  # valid, not formatted
    reg.write("bad", "version: 1\nid: bad\nbase: mistral\nparameters: {temprature: 1}\n")
    reg.commit("a messy file and a bad one")
    bad = _try_repo(reg.root, cache)
    assert bad.returncode == 1
    validate = _hook(bad.stdout, "modelops validate")
    assert "Failed" in validate
    assert "models/bad.yaml:4:14: parameters.temprature: unknown parameter" in validate
    fmt = _hook(bad.stdout, "modelops fmt")
    assert "files were modified by this hook" in fmt
    assert "formatted models/faq.yaml" in fmt
    assert "temprature" not in fmt  # the problem is validate's to report, once
    assert reg.read("faq").startswith("# yaml-language-server")
    assert reg.git("log", "-1", "--format=%s").strip() == "a messy file and a bad one"
