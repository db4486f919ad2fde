"""The history of models, read back from git's log and the trailers modelops writes on each
commit (`Modelops-Op`, `Modelops-Model`, `Modelops-Source`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from modelops.errors import NotFoundError
from modelops.registry.git import Repo
from modelops.spec.paths import MODELS_DIR

LOG_FORMAT = "%x01%H%x00%an%x00%at%x00%s%x00%b%x00%(trailers:only,unfold)"


@dataclass(frozen=True)
class LogEntry:
    """One commit as git's log shows it."""

    sha: str
    author: str
    timestamp: int
    subject: str
    body: str
    trailers: tuple[tuple[str, str], ...]
    paths: tuple[str, ...]


def read_log(repo: Repo, folder: str, revisions: str | None = None) -> list[LogEntry]:
    """Commits that touched `folder`, newest first."""
    return parse_log(repo.log(LOG_FORMAT, folder, revisions))


def file_times(repo: Repo, folder: str) -> dict[str, tuple[int, int]]:
    """For each file ever in `folder`: the times of the first and the last commit that
    touched it."""
    times: dict[str, tuple[int, int]] = {}
    for entry in read_log(repo, folder):
        for path in entry.paths:
            first, last = times.get(path, (entry.timestamp, entry.timestamp))
            times[path] = (min(first, entry.timestamp), max(last, entry.timestamp))
    return times


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
    repo: Repo,
    prefix: str,
    model_id: str | None = None,
    limit: int | None = None,
    revisions: str | None = None,
) -> list[Entry]:
    """Newest first. For one model, renames are followed back to its earlier ids; a model
    that no commit of `revisions` names is an error."""
    models_dir = f"{prefix}/{MODELS_DIR}" if prefix else MODELS_DIR
    entries = [_entry(log, models_dir) for log in read_log(repo, prefix, revisions)]
    if model_id is not None:
        names = {model_id}
        kept = []
        for entry in entries:
            if names.intersection(entry.models):
                kept.append(entry)
                if entry.op == "rename" and entry.source and entry.models[0] in names:
                    names.add(entry.source)  # older commits know the model by its old id
        entries = kept
        if not entries:
            where = f" in {revisions}" if revisions else ""
            raise NotFoundError(
                f"no commit{where} touches a model '{model_id}' (see 'modelops list' and "
                "'modelops history')"
            )
    return entries[:limit] if limit else entries


def parse_log(out: str) -> list[LogEntry]:
    """`git log -z --name-only` with the format above: NUL-separated fields (a commit message
    can hold any byte but NUL), each commit starting with \\x01, its paths after its fields."""
    entries: list[LogEntry] = []
    tokens = out.split("\0")
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token.startswith("\x01"):
            i += 1
            continue
        sha = token[1:]
        author, stamp, subject, body, trailers = (tokens[i + 1 : i + 6] + [""] * 5)[:5]
        i += 6
        paths = []
        while i < len(tokens) and not tokens[i].startswith("\x01"):
            if tokens[i].strip("\n"):
                paths.append(tokens[i].lstrip("\n"))
            i += 1
        pairs = tuple(
            (key.strip(), value.strip())
            for line in trailers.splitlines()
            if ":" in line
            for key, value in [line.split(":", 1)]
        )
        entries.append(
            LogEntry(sha, author, int(stamp or 0), subject, body.strip(), pairs, tuple(paths))
        )
    return entries
