"""The digest record: what the last apply left on each host, kept in `.git/modelops/` (never
committed), so that a model nobody changed costs no `/api/show` call on the next plan."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from modelops.plan import Recorded

FILE = "ollama-state.json"
Records = dict[str, dict[str, Recorded]]  # host URL -> model key -> what was recorded


def load(path: Path) -> Records:
    try:
        data = json.loads(path.read_text())
        return {
            host: {key: Recorded(**entry) for key, entry in models.items()}
            for host, models in data.get("hosts", {}).items()
        }
    except (FileNotFoundError, ValueError, TypeError, AttributeError):
        return {}  # no record, or an unreadable one: every model gets inspected


def save(path: Path, records: Mapping[str, Mapping[str, Recorded]]) -> None:
    data = {
        "version": 1,
        "hosts": {
            host: {key: vars(entry) for key, entry in sorted(models.items())}
            for host, models in sorted(records.items())
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=1)
    Path(tmp).replace(path)
