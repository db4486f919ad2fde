"""The deployment examples hold together: the Kubernetes kustomization renders and every object
passes the Kubernetes API schemas (strictly, offline), with the probes, Secret, resources and
security context the README promises; the systemd unit passes `systemd-analyze verify`; the
Dockerfile runs as a non-root user and copies files that exist."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.helpers import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"
KUBERNETES_VERSION = "1.32.0"  # the oldest release the example is written for


def kustomize(folder: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the Kubernetes example was not rendered")
    proc = subprocess.run(
        [kubectl, "kustomize", str(folder)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def invalid(document: dict[str, Any]) -> str | None:
    try:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return f"{document['kind']}/{document['metadata']['name']}: {exc.message}"
    return None


@pytest.fixture(scope="module")
def rendered() -> dict[str, dict[str, Any]]:
    docs = kustomize(EXAMPLES / "kubernetes")
    return {doc["kind"]: doc for doc in docs}


def test_every_rendered_object_passes_the_kubernetes_schemas(rendered):
    assert sorted(rendered) == [
        "ConfigMap",
        "CronJob",
        "Deployment",
        "Namespace",
        "Service",
        "ServiceAccount",
    ]
    assert [problem for doc in rendered.values() if (problem := invalid(doc))] == []


def test_the_validator_catches_a_mistyped_field(rendered):
    broken = yaml.safe_load(yaml.safe_dump(rendered["Deployment"]))
    container = broken["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")  # a typo
    assert "readinesProbe" in (invalid(broken) or "")


def _pod(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    pod: dict[str, Any] = spec["template"]["spec"]
    return pod


@pytest.mark.parametrize("kind", ["Deployment", "CronJob"])
def test_each_workload_runs_locked_down_with_resources_and_the_key_from_a_secret(rendered, kind):
    pod = _pod(rendered[kind])
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    for container in pod["initContainers"] + pod["containers"]:
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }
        assert set(container["resources"]) == {"requests", "limits"}
    [main] = pod["containers"]
    secret = next(e for e in main["env"] if e["name"] == "OPENWEBUI_API_KEY")
    assert secret["valueFrom"]["secretKeyRef"]["name"] == "modelops-api-key"
    assert main["image"] == "registry.example.com/modelops:0.1.0"


def test_the_deployment_watches_and_follows_with_probes_on_the_status_server(rendered):
    [main] = _pod(rendered["Deployment"])["containers"]
    assert main["args"][:2] == ["watch", "--follow=origin/main"]
    assert "--status-addr=0.0.0.0:9464" in main["args"]
    assert main["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "status"}
    assert main["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "status"}
    assert rendered["Deployment"]["spec"]["replicas"] == 1


def test_the_cronjob_reconciles(rendered):
    [main] = _pod(rendered["CronJob"])["containers"]
    assert main["args"] == ["reconcile"]
    assert rendered["CronJob"]["spec"]["concurrencyPolicy"] == "Forbid"


def test_the_workloads_name_commands_and_flags_that_exist(rendered):
    from modelops.cli import COMMANDS
    from modelops.cli.watch import watch

    flags = {opt for param in watch.params for opt in getattr(param, "opts", [])}
    for kind in ("Deployment", "CronJob"):
        [main] = _pod(rendered[kind])["containers"]
        command, *args = main["args"]
        assert command in COMMANDS
        for arg in args:
            assert arg.split("=")[0] in flags or command != "watch", arg


def test_the_systemd_unit_verifies(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed: the systemd unit was not verified")
    unit = (EXAMPLES / "systemd" / "modelops-watch.service").read_text()
    installed = str(Path(sys.executable).parent / "modelops")
    assert "ExecStart=/opt/modelops/bin/modelops watch --follow origin/main" in unit
    (tmp_path / "modelops-watch.service").write_text(
        unit.replace("/opt/modelops/bin/modelops", installed)
    )
    (tmp_path / "broken.service").write_text("[Service]\nExecStart=/bin/true\nKillSignl=SIGTERM\n")
    env = {**os.environ, "SYSTEMD_LOG_COLOR": "0"}

    def verify(name: str) -> str:
        proc = subprocess.run(
            [analyze, "verify", str(tmp_path / name)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        return proc.stdout + proc.stderr

    assert verify("modelops-watch.service") == ""
    assert "Unknown key 'KillSignl'" in verify("broken.service")


def test_the_dockerfile_runs_as_a_user_and_copies_what_exists():
    text = (EXAMPLES / "docker" / "Dockerfile").read_text()
    lines = [
        ln.strip()
        for ln in re.sub(r"\\\n", " ", text).splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    users = [ln.split()[1] for ln in lines if ln.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    for line in lines:
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (REPO_ROOT / source).exists(), source
    entrypoint = EXAMPLES / "docker" / "entrypoint.sh"
    assert os.access(entrypoint, os.X_OK)
    assert subprocess.run(["sh", "-n", str(entrypoint)], check=False).returncode == 0
    assert lines[-1] == 'CMD ["watch", "--status-addr", "0.0.0.0:9464", "--log-format", "json"]'
