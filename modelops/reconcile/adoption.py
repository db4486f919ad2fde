"""What `adopt` does with each model of an Open WebUI target, decided against the registry.

A model modelops made carries a marker naming the registry and the commit applied. What the
UI changed is the live record against that commit's version of the model, rendered as the
plan renders it; or against a later `adopt` commit of it from the same target, which recorded
the model as Open WebUI then had it. What git changed is HEAD against that same version. One
side changed: the UI's change is written back, or the registry's waits for `apply`. Both:
a conflict, reported field by field, and nothing is written for that model.

A copy made in the UI keeps the marker of the model it was copied from (the marker names it),
so it becomes a new model file with `Modelops-Source` naming the original. A model made in the
UI becomes a model file when asked for. Either is then marked in Open WebUI as modelops's
(`take_over`), so that plan and apply manage it, and prune may delete it, from then on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from modelops.errors import NotFoundError
from modelops.exchange.openwebui_export import avatar_uri
from modelops.exchange.openwebui_shapes import EntryError
from modelops.reconcile import adopt_fields as af
from modelops.reconcile.desired import ollama_name
from modelops.reconcile.webui_plan import MARKER, compare, desired_records
from modelops.registry.history import read_log
from modelops.registry.snapshot import Snapshot
from modelops.registry.store import Registry
from modelops.registry.transaction import Changeset
from modelops.spec import names
from modelops.spec.layout import in_key_order, render_new
from modelops.spec.paths import MODELS_DIR, model_path
from modelops.targets.base import FieldChange

Status = Literal[
    "adopted",  # a change made in the UI, committed
    "copied",  # a copy made in the UI, committed as a new model
    "created",  # a model made in the UI, committed (with include_unmanaged)
    "marked",  # a model made in the UI just as the registry has it: marked as modelops's
    "conflict",  # changed in git and in the UI: nothing written
    "pending",  # changed in git only: apply deploys it
    "missing",  # in the registry, not in Open WebUI
    "unmanaged",  # made in the UI, left alone
    "skipped",  # cannot be adopted, and why
    "failed",  # could not be written
    "in sync",
]
FAILING = ("conflict", "failed")


@dataclass
class Adoption:
    """One model and what became of it. `fields` is Open WebUI's change (the registry's
    value, then the UI's); a conflict adds `registry`, git's change since `since`."""

    model: str
    status: Status
    reason: str = ""
    fields: tuple[FieldChange, ...] = ()
    registry: tuple[FieldChange, ...] = ()
    since: str | None = None  # the commit both sides were compared with
    source: str | None = None  # the model a copy made in the UI was copied from
    change: Changeset | None = None
    commit: str | None = None
    notes: list[str] = field(default_factory=list)
    take_over: Mapping[str, Any] | None = None  # a record to mark as made by modelops
    foreign: bool = False  # another registry's model: none of this registry's business


@dataclass(frozen=True)
class Context:
    """What the decisions are made for: the target, how it names the registry, and what the
    user asked for."""

    target: str
    wraps: bool  # the target wraps an Ollama target
    namespace: str | None  # that Ollama target's namespace
    mark: str  # the registry's name in markers
    include_unmanaged: bool
    ids: tuple[str, ...]  # the models asked for; all when empty


class Decider:
    """Decides each live record against the registry at HEAD (`head`), reading older
    commits of the registry as it needs them."""

    def __init__(
        self, registry: Registry, head: Snapshot, context: Context, naming: af.Naming
    ) -> None:
        self.registry, self.head, self.context, self.naming = registry, head, context, naming
        self.head_sha = registry.resolve("HEAD")
        wrapped = self.wrapped if context.wraps else None
        self.drafts = af.Drafts(head.specs(), head.read, naming, wrapped)
        self._snapshots: dict[str, Snapshot] = {"HEAD": head}
        self._forms: dict[str, dict[str, dict[str, Any]]] = {}
        self._adopts: dict[str, dict[str, str]] = {}
        self.subjects: set[str] = set()  # the models whose avatars the comparisons need

    def wrapped(self, model_id: str) -> str:
        return ollama_name(model_id, self.context.namespace).display

    def all(self, live: list[dict[str, Any]]) -> list[Adoption]:
        """Each live record, by id; then the registry's models Open WebUI does not have."""
        markers = [marker(r) for r in live]
        self.subjects = {str(r.get("id")) for r in live}
        self.subjects |= {str(m.get("model")) for m in markers if m is not None}
        out = [self.one(record) for record in sorted(live, key=lambda r: str(r.get("id")))]
        present = {str(r.get("id")) for r in live}
        target, ids = self.context.target, self.context.ids
        for model_id in sorted(set(self.head.models) - present):
            if not ids or model_id in ids:
                reason = (
                    "in the registry, not in Open WebUI (deleted there, or never applied); adopt "
                    f"deletes no files: 'modelops delete {model_id}' removes it from the "
                    f"registry, 'modelops apply {target}' puts it back"
                )
                out.append(Adoption(model_id, "missing", reason))
        return out

    def one(self, record: dict[str, Any]) -> Adoption:
        model_id = str(record.get("id"))
        found = marker(record)
        if found is None:
            return self.unmanaged(record)
        if found.get("registry") != self.context.mark:
            why = f"made by modelops for another registry, '{found.get('registry')}'"
            return Adoption(model_id, "skipped", why, foreign=True)
        commit = found.get("commit")
        if not isinstance(commit, str) or not commit:
            return Adoption(model_id, "skipped", "its marker names no commit (apply it first)")
        if found.get("work_tree"):
            return Adoption(
                model_id,
                "skipped",
                "it was applied with uncommitted changes of a work tree, so what the UI changed "
                "cannot be told apart from them (commit them, apply, then adopt)",
            )
        original = found.get("model")
        return self.managed(record, commit, original if isinstance(original, str) else None)

    # --- the registry's side ---

    def snapshot(self, commit: str) -> Snapshot:
        if commit not in self._snapshots:
            self._snapshots[commit] = self.registry.load(commit)
        return self._snapshots[commit]

    def forms(self, commit: str) -> dict[str, dict[str, Any]]:
        """Every model at `commit` as the plan renders it for this target."""
        if commit not in self._forms:
            snapshot = self.snapshot(commit)
            specs = snapshot.specs()
            avatars = {m: avatar_uri(snapshot, specs[m]) for m in specs if m in self.subjects}
            bases = {m: self.wrapped(m) for m in specs} if self.context.wraps else {}
            self._forms[commit] = desired_records(specs, avatars, bases, self.naming.lookup)[0]
        return self._forms[commit]

    def since(self, commit: str, model_id: str) -> str:
        """The newest commit the model matched Open WebUI at: the one its marker names, or a
        later adopt of it from this target."""
        if commit not in self._adopts:
            found: dict[str, str] = {}
            if self.registry.resolve(commit) != self.head_sha:
                folder = self.registry.repo_path(MODELS_DIR)
                for entry in read_log(self.registry.repo, folder, f"{commit}..HEAD"):
                    trailers = {key.lower(): value for key, value in entry.trailers}
                    if (trailers.get("modelops-op"), trailers.get("modelops-target")) == (
                        "adopt",
                        self.context.target,
                    ):
                        found.setdefault(trailers.get("modelops-model", ""), entry.sha)
            self._adopts[commit] = found
        return self._adopts[commit].get(model_id, commit)

    # --- the decisions ---

    def managed(self, record: dict[str, Any], commit: str, original: str | None) -> Adoption:
        model_id = str(record.get("id"))
        head = self.forms("HEAD")
        if model_id in head and not compare(head[model_id], record):
            return Adoption(model_id, "in sync")
        try:
            since = self.since(commit, model_id)
            old = self.snapshot(since)
        except NotFoundError:
            why = (
                f"it was applied from commit {commit[:10]}, which this repository does not have "
                "(fetch it, then adopt again)"
            )
            return Adoption(model_id, "skipped", why)
        if original is None:  # a marker from before markers named their model
            original = model_id if model_id in old.models else self.likeliest(record, since)
        if original != model_id and since == commit:
            if model_id in self.head.models:
                return self.unrelated(record, f"a copy of {original} made there")
            return self.copy(record, original, since)
        if model_id not in old.models:
            why = (
                f"it was applied from uncommitted files on top of {commit[:10]}, so what was "
                "applied is not known (commit it and apply it, then adopt)"
            )
            return Adoption(model_id, "skipped", why)
        before = self.forms(since)[model_id]
        theirs = compare(before, record)
        when, apply = f"since {since[:10]}", f"'modelops apply {self.context.target}"
        if not theirs:
            if model_id in head:
                why = f"changed in the registry {when}; {apply}' deploys it"
            else:
                why = f"deleted from the registry {when}; {apply} --prune' deletes it there"
            return Adoption(model_id, "pending", why, since=since)
        spec = old.models[model_id].spec
        ui = self.drafts.shown_as_fields(record, spec, theirs)
        if model_id not in head:
            why = f"deleted from the registry and changed in Open WebUI {when}"
            return Adoption(model_id, "conflict", why, ui, since=since)
        ours = compare(before, head[model_id])
        if ours:
            now = self.head.models[model_id].spec.to_data()
            git = af.changes(spec.to_data(), now, af.locs_of(ours)) or ours
            why = f"changed in the registry and in Open WebUI {when}"
            return Adoption(model_id, "conflict", why, ui, tuple(git), since)
        return self.update(record, since, theirs)

    def likeliest(self, record: dict[str, Any], since: str) -> str:
        """The model a copy is most like, when its marker does not say."""
        scored = sorted((len(compare(f, record)), m) for m, f in self.forms(since).items())
        return scored[0][1] if scored else str(record.get("id"))

    def update(self, record: dict[str, Any], since: str, theirs: list[FieldChange]) -> Adoption:
        model_id = str(record.get("id"))
        model = self.head.models[model_id]
        try:
            definition = self.drafts.convert(record, model.spec, model_id)
        except EntryError as exc:
            return _unwritable(model_id, exc)
        locs = af.locs_of(theirs)
        writes: dict[str, bytes | None] = {}
        if ("avatar",) in locs:
            writes = self.drafts.place_avatar(model_id, definition, model.spec.avatar)
        raw = self.head.read(model.path) or b""
        new = af.edited(raw, definition.data, locs)
        fields = af.changes(model.spec.to_data(), definition.data, locs)
        if new == raw or not fields:
            why = "differs from the registry only in how Open WebUI stores it; apply rewrites it"
            return Adoption(model_id, "skipped", why, notes=definition.notes)
        writes[model.path] = new
        summary = self.subject(model_id, ", ".join(f.field for f in fields))
        change = self.changeset(model_id, summary, fields, writes)
        return Adoption(
            model_id, "adopted", fields=tuple(fields), since=since, change=change,
            notes=definition.notes,
        )  # fmt: skip

    def copy(self, record: dict[str, Any], original: str, since: str) -> Adoption:
        model_id = str(record.get("id"))
        old = self.snapshot(since)
        if not names.is_valid_id(model_id):
            return _invalid_id(model_id)
        if original not in old.models:
            return self.new_model(record)
        source = old.models[original]
        try:
            definition = self.drafts.convert(record, source.spec, original)
        except EntryError as exc:
            return _unwritable(model_id, exc)
        locs = af.locs_of(compare(self.forms(since)[original], record))
        writes = self.drafts.place_avatar(model_id, definition, None)
        if definition.avatar is not None and ("avatar",) not in locs:
            locs.append(("avatar",))  # the original's file, or the same image in a new one
        new = af.edited(old.read(source.path) or b"", definition.data, locs, model_id)
        fields = af.changes(source.spec.to_data(), definition.data, locs)
        writes[model_path(model_id)] = new
        summary = self.subject(model_id, f"a copy of {original} made in Open WebUI")
        trailers = (("Modelops-Source", original),)
        change = self.changeset(model_id, summary, fields, writes, trailers)
        return Adoption(
            model_id, "copied", fields=tuple(fields), since=since, source=original,
            change=change, notes=definition.notes, take_over=record,
        )  # fmt: skip

    def unmanaged(self, record: dict[str, Any]) -> Adoption:
        model_id = str(record.get("id"))
        if not self.context.include_unmanaged:
            why = "made in Open WebUI, not by modelops ('--include-unmanaged' adopts it)"
            return Adoption(model_id, "unmanaged", why)
        if model_id in self.head.models:
            if not compare(self.forms("HEAD")[model_id], record):
                why = "made in Open WebUI just as the registry has it"
                return Adoption(model_id, "marked", why, take_over=record)
            return self.unrelated(record, "a model made there, not by modelops")
        if not names.is_valid_id(model_id):
            return _invalid_id(model_id)
        return self.new_model(record)

    def unrelated(self, record: dict[str, Any], what: str) -> Adoption:
        """The registry has a model of this id that Open WebUI's was not made from."""
        model_id = str(record.get("id"))
        spec = self.head.models[model_id].spec
        theirs = compare(self.forms("HEAD")[model_id], record)
        ui = self.drafts.shown_as_fields(record, spec, theirs)
        why = f"in the registry, and in Open WebUI as {what}; rename one of them"
        return Adoption(model_id, "conflict", why, ui)

    def new_model(self, record: dict[str, Any]) -> Adoption:
        model_id = str(record.get("id"))
        try:
            definition = self.drafts.convert(record, None, None)
        except EntryError as exc:
            return _unwritable(model_id, exc)
        writes = self.drafts.place_avatar(model_id, definition, None)
        data = in_key_order(definition.data, ())
        writes[model_path(model_id)] = render_new(data)
        fields = [FieldChange(k, None, v) for k, v in data.items() if k not in ("version", "id")]
        summary = self.subject(model_id, "made in Open WebUI")
        change = self.changeset(model_id, summary, fields, writes)
        return Adoption(
            model_id, "created", fields=tuple(fields), change=change, notes=definition.notes,
            take_over=record,
        )  # fmt: skip

    # --- the commit ---

    def subject(self, model_id: str, what: str) -> str:
        subject = f"Adopt {model_id} from {self.context.target}: {what}"
        if len(subject) > 100:
            subject = f"Adopt {model_id} from {self.context.target}: {what.count(',') + 1} fields"
        return subject

    def changeset(
        self,
        model_id: str,
        summary: str,
        fields: list[FieldChange],
        writes: dict[str, bytes | None],
        trailers: tuple[tuple[str, str], ...] = (),
    ) -> Changeset:
        details = tuple(f"{f.field}: {af.short(f.before)} -> {af.short(f.after)}" for f in fields)
        return Changeset(
            op="adopt",
            summary=summary,
            writes=writes,
            models=(model_id,),
            details=details,
            trailers=(
                ("Modelops-Target", self.context.target),
                ("Modelops-Fields", ", ".join(f.field for f in fields)),
                *trailers,
            ),
        )


def marker(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """modelops's marker on a live record, if it has one."""
    meta = record.get("meta")
    found = meta.get(MARKER) if isinstance(meta, dict) else None
    return found if isinstance(found, dict) else None


def _unwritable(model_id: str, exc: EntryError) -> Adoption:
    return Adoption(model_id, "failed", f"cannot be written as a model file: {exc}")


def _invalid_id(model_id: str) -> Adoption:
    why = (
        f"'{model_id}' is not a valid registry id ({names.ID_RULE}); change its id in Open "
        "WebUI, then adopt again"
    )
    return Adoption(model_id, "skipped", why)
