"""The record of what applies left on each Ollama host, kept under `.git/modelops/` (never
committed): the digest of each model made, so that a model nobody changed costs no
`/api/show` call on the next plan (and so that modelops knows it made it), and the commit the
last apply deployed. An unreadable record is no record: every model is inspected again."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from modelops.registry.files import write_atomic

FILE = "ollama-state.json"


@dataclass(frozen=True)
class Recorded:
    """What the last apply left on a host for one model."""

    spec: str  # Desired.spec_hash
    digest: str  # the model's /api/tags digest right after it was created
    from_digest: str  # the digest of the model it was created from, at that time


Records = dict[str, dict[str, Recorded]]  # host URL -> model key -> what was recorded


@dataclass(frozen=True)
class Applied:
    """What the last apply deployed to a host."""

    commit: str | None  # the registry's commit
    work_tree: bool  # uncommitted changes of the work tree went with it
    complete: bool  # every change of the plan succeeded
    at: float  # when, in seconds since the epoch


def load(path: Path) -> Records:
    try:
        data = json.loads(path.read_text())
        return {
            host: {key: Recorded(**entry) for key, entry in models.items()}
            for host, models in data.get("hosts", {}).items()
        }
    except (FileNotFoundError, ValueError, TypeError, AttributeError):
        return {}


def load_applied(path: Path) -> dict[str, Applied]:
    try:
        data = json.loads(path.read_text())
        return {host: Applied(**entry) for host, entry in data.get("applied", {}).items()}
    except (FileNotFoundError, ValueError, TypeError, AttributeError):
        return {}


def save(
    path: Path,
    records: Mapping[str, Mapping[str, Recorded]],
    applied: Mapping[str, Applied] | None = None,
) -> None:
    data = {
        "version": 1,
        "hosts": {
            host: {key: vars(entry) for key, entry in sorted(models.items())}
            for host, models in sorted(records.items())
        },
        "applied": {host: vars(a) for host, a in sorted((applied or load_applied(path)).items())},
    }
    write_atomic(path, json.dumps(data, indent=1).encode())
