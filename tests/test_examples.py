"""The examples: the GitHub workflow passes the GitHub Actions schema and zizmor's offline
audits (actions pinned by commit, least permissions), the GitLab file passes GitLab's schema,
the systemd units pass `systemd-analyze verify`, the pre-commit files pass pre-commit's own
checks, and every modelops command line in them uses options that exist."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml

from modelops.cli import COMMANDS, cli
from tests.helpers import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"
BIN = Path(sys.executable).parent
GITHUB = EXAMPLES / "github-actions.yaml"
GITLAB = EXAMPLES / "gitlab-ci.yaml"
SYSTEMD = EXAMPLES / "systemd"


def _tool(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _schema(kind: str, path: Path) -> subprocess.CompletedProcess[str]:
    return _tool("check-jsonschema", "--builtin-schema", kind, str(path))


def _zizmor(path: Path) -> subprocess.CompletedProcess[str]:
    return _tool("zizmor", "--offline", "--min-severity", "medium", "--no-progress", str(path))


def test_the_github_workflow_passes_the_schema_and_zizmor():
    schema = _schema("vendor.github-workflows", GITHUB)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    audit = _zizmor(GITHUB)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "No findings to report" in audit.stdout


def test_zizmor_catches_an_unpinned_action_and_broad_permissions(tmp_path: Path):
    text = GITHUB.read_text()
    unpinned = tmp_path / "unpinned.yaml"
    unpinned.write_text(re.sub(r"checkout@[0-9a-f]{40}", "checkout@v4", text, count=1))
    audit = _zizmor(unpinned)
    assert audit.returncode != 0
    assert "unpinned-uses" in audit.stdout
    broad = tmp_path / "broad.yaml"
    job = "    permissions:\n      contents: read  # check out the code; this job"
    assert job in text
    broad.write_text(text.replace(job, "    permissions: write-all\n    # this job"))
    audit = _zizmor(broad)
    assert audit.returncode != 0
    assert "excessive-permissions" in audit.stdout


def test_the_github_workflow_pins_every_action_and_installs_modelops_from_its_repository():
    workflow = yaml.safe_load(GITHUB.read_text())
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    uses = [s["uses"] for s in steps if "uses" in s]
    assert uses and all(re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", u) for u in uses), uses
    installs = [s["run"] for s in steps if "pip install" in s.get("run", "")]
    assert installs and all('"modelops @ ${MODELOPS_SOURCE}"' in run for run in installs)
    assert workflow["permissions"] == {}
    assert workflow["jobs"]["apply"]["environment"] == "production"


def test_the_gitlab_file_passes_the_schema_and_its_note_poster_compiles(tmp_path: Path):
    schema = _schema("vendor.gitlab-ci", GITLAB)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    broken = tmp_path / "gitlab-ci.yaml"
    broken.write_text(GITLAB.read_text().replace("stages: [review, plan, apply]", "stages: 5"))
    assert _schema("vendor.gitlab-ci", broken).returncode != 0
    script = next(
        line for line in yaml.safe_load(GITLAB.read_text())["review"]["script"] if "<<'PY'" in line
    )
    poster = script.split("<<'PY'\n", 1)[1].rsplit("PY\n", 1)[0]
    compile(poster, "gitlab note poster", "exec")
    assert "<!-- modelops-review -->" in poster


def test_the_systemd_units_verify(tmp_path: Path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    # verify checks that ExecStart exists: stand an executable in for the modelops it names
    service = (SYSTEMD / "modelops-reconcile.service").read_text()
    assert "ExecStart=/opt/modelops/bin/modelops apply" in service
    (tmp_path / "modelops-reconcile.service").write_text(
        service.replace("/opt/modelops/bin/modelops", shutil.which("true") or "/bin/true")
    )
    shutil.copy(SYSTEMD / "modelops-reconcile.timer", tmp_path)
    proc = subprocess.run(
        [
            "systemd-analyze",
            "verify",
            "--man=no",
            "modelops-reconcile.service",
            "modelops-reconcile.timer",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    (tmp_path / "modelops-reconcile.timer").write_text("[Timer]\nOnBootSecs=2min\n")
    bad = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", "modelops-reconcile.timer"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "OnBootSecs" in bad.stderr


def test_the_pre_commit_files_pass_pre_commit_checks():
    manifest = _run_pre_commit("validate-manifest", str(REPO_ROOT / ".pre-commit-hooks.yaml"))
    assert manifest.returncode == 0, manifest.stdout + manifest.stderr
    config = _run_pre_commit("validate-config", str(EXAMPLES / "pre-commit-config.yaml"))
    assert config.returncode == 0, config.stdout + config.stderr
    hooks = {h["id"] for h in yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())}
    used = yaml.safe_load((EXAMPLES / "pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    assert {h["id"] for h in used} == hooks == {"modelops-validate", "modelops-fmt"}


def _run_pre_commit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def _command_lines(text: str) -> list[list[str]]:
    """Each `modelops COMMAND ...` in a file, continuation lines joined, as words."""
    text = re.sub(r"\\\n\s*", " ", text)
    text = re.sub(r"\n\s+(-[-a-zA-Z])", r" \1", text)  # YAML folded continuation lines
    out = []
    for match in re.finditer(r"\bmodelops ([a-z]+)\b([^\n|;&>\"]*)", text):
        if match.group(1) in COMMANDS:
            out.append([match.group(1), *match.group(2).split()])
    return out


def _options(command: str) -> set[str]:
    found = cli.get_command(click.Context(cli), command)
    assert found is not None
    return {opt for p in found.params for opt in [*p.opts, *p.secondary_opts]}


@pytest.mark.parametrize(
    "path",
    [GITHUB, GITLAB, SYSTEMD / "modelops-reconcile.service", REPO_ROOT / ".pre-commit-hooks.yaml"],
    ids=lambda p: p.name,
)
def test_every_modelops_command_line_uses_options_that_exist(path: Path):
    lines = _command_lines(path.read_text())
    assert lines, f"no modelops command in {path.name}"
    for command, *words in lines:
        unknown = [w for w in words if w.startswith("-") and w not in _options(command)]
        assert not unknown, f"{path.name}: modelops {command} {' '.join(words)}: {unknown}"
