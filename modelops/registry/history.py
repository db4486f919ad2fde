"""The history of models, read back from the trailers modelops writes on each commit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from modelops.registry.git import LogEntry, Repo
from modelops.spec.model import MODELS_DIR


@dataclass(frozen=True)
class Entry:
    sha: str
    date: str  # ISO 8601, UTC
    author: str
    op: str  # the Modelops-Op trailer, or "commit" for a commit made by hand
    models: tuple[str, ...]
    source: str | None
    subject: str

    def as_json(self) -> dict[str, object]:
        return {
            "commit": self.sha,
            "date": self.date,
            "author": self.author,
            "op": self.op,
            "models": list(self.models),
            "source": self.source,
            "subject": self.subject,
        }


def _entry(log: LogEntry, models_dir: str) -> Entry:
    trailers: dict[str, list[str]] = {}
    for key, value in log.trailers:
        trailers.setdefault(key.lower(), []).append(value)
    named = [*trailers.get("modelops-model", []), *trailers.get("modelops-updated", [])]
    touched = [
        p[len(models_dir) + 1 :].removesuffix(".yaml")
        for p in log.paths
        if p.startswith(models_dir + "/") and p.endswith(".yaml")
    ]
    return Entry(
        sha=log.sha,
        date=dt.datetime.fromtimestamp(log.timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        author=log.author,
        op=trailers.get("modelops-op", ["commit"])[0],
        models=tuple(named) if named else tuple(sorted(touched)),
        source=trailers.get("modelops-source", [None])[0],
        subject=log.subject,
    )


def history(
    repo: Repo, prefix: str, model_id: str | None = None, limit: int | None = None
) -> list[Entry]:
    """Newest first. For one model, renames are followed back to its earlier ids."""
    models_dir = f"{prefix}/{MODELS_DIR}" if prefix else MODELS_DIR
    entries = [_entry(log, models_dir) for log in repo.log(prefix)]
    if model_id is not None:
        names = {model_id}
        kept = []
        for entry in entries:
            if names.intersection(entry.models):
                kept.append(entry)
                if entry.op == "rename" and entry.source and entry.models[0] in names:
                    names.add(entry.source)  # older commits know the model by its old id
        entries = kept
    return entries[:limit] if limit else entries
