"""`modelops adopt`, the use case: read an Open WebUI target's models, decide each against
the registry (`adoption.py`), and commit what can be adopted, one commit per model, under the
registry lock. A dry run decides the same and checks each change, and commits nothing.

The only write to Open WebUI is the marker put on a model adopt takes over (a copy made in
the UI, or with `include_unmanaged` a model made there), so that plan and apply manage it
from then on; other markers are left as they are, since the content they stand for matches.
No file is ever deleted but a replaced avatar that no other model shows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from modelops.errors import ModelopsError, NotFoundError, UsageError
from modelops.reconcile import adopt_fields as af
from modelops.reconcile.adoption import FAILING, Adoption, Context, Decider, Status
from modelops.reconcile.session import Selection, choose
from modelops.reconcile.webui import connect, webui_target
from modelops.reconcile.webui_plan import FORM_KEYS, seen, wanted_kinds, with_marker
from modelops.registry.snapshot import Snapshot
from modelops.registry.store import Registry
from modelops.registry.transaction import Changeset
from modelops.spec.config import OllamaTargetConfig, OpenWebUITargetConfig
from modelops.targets.base import Change
from modelops.targets.openwebui import OpenWebUIServer

KNOWLEDGE_KINDS = ("collection", "file", "note")


@dataclass(frozen=True)
class Request:
    """What to adopt: from which target, which models (all when empty), whether models made
    in the UI are adopted too, and whether to only say what would be committed."""

    target: str | None = None
    ids: tuple[str, ...] = ()
    include_unmanaged: bool = False
    dry_run: bool = False
    environ: Mapping[str, str] = field(default_factory=dict)  # where the API key is read
    lock_timeout: float = 60.0


@dataclass(frozen=True)
class Report:
    target: str
    url: str
    version: str
    dry_run: bool
    adoptions: tuple[Adoption, ...]
    notes: tuple[str, ...] = ()  # from the registry: an interrupted write completed, ...

    @property
    def failed(self) -> bool:
        return any(a.status in FAILING for a in self.adoptions)


class _Writer(Protocol):
    snapshot: Snapshot
    notes: list[str]

    def commit(self, change: Changeset) -> str | None: ...


@dataclass
class _DryRun:
    """Commits nothing, but checks each change on top of the ones before, as a commit would."""

    snapshot: Snapshot
    notes: list[str] = field(default_factory=list)

    def commit(self, change: Changeset) -> str | None:
        self.snapshot = self.snapshot.with_changes(change.writes).require_valid()
        return None


@contextlib.contextmanager
def _writer(registry: Registry, head: Snapshot, request: Request) -> Iterator[_Writer]:
    """A dry run works on `head` (HEAD as read); otherwise the lock is taken and HEAD read."""
    if request.dry_run:
        yield _DryRun(head)
        return
    with registry.transaction(request.lock_timeout) as tx:
        yield tx


def adopt(registry: Registry, request: Request) -> Report:
    """Adopt what changed in the target's UI; a conflict or a failure of one model does not
    stop the others."""
    head = registry.load("HEAD").require_valid()
    config = head.config
    name, found = choose(config, Selection(target=request.target))
    if not isinstance(found, OpenWebUITargetConfig):
        raise UsageError(
            f"adopt reads what people changed in Open WebUI; target '{name}' is an Ollama "
            "target (name an Open WebUI target)"
        )
    target = webui_target(name, found, False)
    wrapped = config.targets.get(found.ollama or "") if config else None
    namespace = wrapped.namespace if isinstance(wrapped, OllamaTargetConfig) else None
    context = Context(
        name,
        found.ollama is not None,
        namespace,
        registry.name(config),
        request.include_unmanaged,
        request.ids,
    )
    server = connect(target, request.environ, False)
    try:
        version = server.version()
        live = server.models()
        with _writer(registry, head, request) as writer:
            head = writer.snapshot.require_valid()
            _known(request.ids, live, head, target.url)
            chosen = [r for r in live if not request.ids or r.get("id") in request.ids]
            ids = {str(r.get("id")) for r in chosen}
            specs = {m: s for m, s in head.specs().items() if m in ids}
            directory = server.directory(wanted_kinds(specs) | _kinds(chosen))
            decider = Decider(registry, head, context, af.Naming(directory.ids, directory.names))
            adoptions = decider.all(chosen)
            for adoption in adoptions:
                _carry_out(adoption, writer, server, decider, request.dry_run)
            notes = tuple(writer.notes)
    finally:
        server.close()
    return Report(name, target.url, version, request.dry_run, tuple(adoptions), notes)


def _known(ids: tuple[str, ...], live: list[dict[str, Any]], head: Snapshot, url: str) -> None:
    unknown = [i for i in ids if i not in head.models and all(r.get("id") != i for r in live)]
    if unknown:
        raise NotFoundError(
            f"no model {', '.join(repr(i) for i in unknown)} in Open WebUI at {url}, nor in "
            "the registry (see 'modelops plan' and 'modelops list')"
        )


def _kinds(records: list[dict[str, Any]]) -> set[str]:
    """The kinds of object the live records name by id, so that they can be named back."""
    kinds: set[str] = set()
    for record in records:
        meta = record.get("meta")
        meta = meta if isinstance(meta, dict) else {}
        for key, kind in (("toolIds", "tool"), ("filterIds", "filter"), ("actionIds", "action")):
            kinds |= {kind} if meta.get(key) else set()
        for item in meta.get("knowledge") or []:
            known = (item.get("type") or "collection") if isinstance(item, dict) else None
            kinds |= {known} if known in KNOWLEDGE_KINDS else set()
        for grant in record.get("access_grants") or []:
            who = grant.get("principal_type") if isinstance(grant, dict) else None
            if who in ("group", "user") and grant.get("principal_id") != "*":
                kinds.add(str(who))
    return kinds


def _carry_out(
    adoption: Adoption, writer: _Writer, server: OpenWebUIServer, decider: Decider, dry_run: bool
) -> None:
    """Commit the adoption's change; then mark a model taken over from the UI as modelops's."""
    if adoption.change is not None:
        try:
            adoption.commit = writer.commit(adoption.change)
        except ModelopsError as exc:  # invalid, or the file has uncommitted edits: say so
            adoption.status, adoption.reason = "failed", "; ".join(exc.lines()[:3])
            return
    if adoption.take_over is None:
        return
    if dry_run:
        adoption.notes.append("would be marked in Open WebUI as made by modelops")
        return
    record = adoption.take_over
    form = {key: record[key] for key in FORM_KEYS if key in record}
    marked = with_marker(form, decider.context.mark, adoption.commit or decider.head_sha)
    body = {"record": marked, "grants": None, "seen": seen(record)}  # unless saved since
    change = Change("update", server.url, adoption.model, adoption.model, "adopt", request=body)
    try:
        server.execute(change, lambda _: None)
    except ModelopsError as exc:
        adoption.status = "failed"
        adoption.reason = (
            f"not marked in Open WebUI as made by modelops ({exc.message}); adopt it again"
        )


ORDER: tuple[Status, ...] = (
    *("adopted", "copied", "created", "marked", "conflict", "failed"),
    *("pending", "missing", "skipped", "unmanaged", "in sync"),
)


def text(report: Report) -> str:
    """The report for a terminal: each model that is not in sync, with its fields."""
    from modelops.reconcile.render import field_lines

    lines = [f"Target {report.target}: {report.url} (Open WebUI {report.version})"]
    shown = [a for a in report.adoptions if a.status != "in sync"]
    width = max((len(a.model) for a in shown), default=0)
    for adoption in shown:
        lines.append(f"  {adoption.status:<9} {adoption.model:<{width}}  {_said(adoption, report)}")
        sides = [("", adoption.fields)]
        if adoption.status == "conflict":
            sides = [("in the registry:", adoption.registry), ("in Open WebUI:", adoption.fields)]
        for title, fields in sides:
            lines += [f"      {title}"] if title and fields else []
            pad = "        " if title else "      "
            lines += [f"{pad}{line}" for f in fields for line in field_lines(f)]
        lines += [f"      note: {note}" for note in adoption.notes]
    in_sync = sum(1 for a in report.adoptions if a.status == "in sync")
    if in_sync:
        lines.append(f"  = {in_sync} model{'s' if in_sync != 1 else ''} in sync")
    lines.append(f"Adopt: {summary(report)}")
    return "\n".join(lines) + "\n"


def _said(adoption: Adoption, report: Report) -> str:
    change = adoption.change
    if change is None or adoption.status == "failed":
        return adoption.reason
    if report.dry_run:
        return f"would commit: {change.summary}"
    if adoption.commit is None:
        return f"nothing to commit: {change.summary}"
    return f"committed {adoption.commit[:10]}: {change.summary}"


def summary(report: Report) -> str:
    counts = {s: sum(1 for a in report.adoptions if a.status == s) for s in ORDER}
    made = sum(1 for a in report.adoptions if a.commit or (report.dry_run and a.change))
    head = f"{made} commit{'s' if made != 1 else ''}"
    head = f"{head} would be made (dry run: nothing written)" if report.dry_run else head
    rest = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    return f"{head}; {rest}." if rest else f"{head}."


def as_json(report: Report) -> dict[str, Any]:
    def fields(changes: tuple[Any, ...]) -> list[dict[str, Any]]:
        return [{"field": f.field, "before": f.before, "after": f.after} for f in changes]

    return {
        "target": report.target,
        "url": report.url,
        "version": report.version,
        "dry_run": report.dry_run,
        "models": [
            {
                "model": a.model,
                "status": a.status,
                "reason": a.reason,
                "since": a.since,
                "source": a.source,
                "subject": a.change.summary if a.change else None,
                "commit": a.commit,
                "fields": fields(a.fields),
                "registry_fields": fields(a.registry),
                "notes": a.notes,
            }
            for a in report.adoptions
        ],
    }
