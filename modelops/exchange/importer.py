"""`modelops import`: Open WebUI JSON (any version) or a Modelfile into the registry, as one
commit. Each entry is reported: imported, updated, unchanged, or skipped with the reason.
Entries that cannot be imported never stop the others, and never reach the registry.

Pure: the registry the models go into is passed in as a `Destination` (a loaded snapshot), and
the result is the report plus the files to write, which the caller commits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from modelops.errors import ModelopsError, Problem, SpecError
from modelops.exchange import modelfile
from modelops.exchange import openwebui_import as owui
from modelops.exchange import openwebui_shapes as shapes
from modelops.exchange.import_report import Line, render_line
from modelops.spec import names, yamledit
from modelops.spec.avatar import AVATAR_MAX_BYTES, EXTENSIONS
from modelops.spec.checks import check_model
from modelops.spec.layout import key_order, render_new
from modelops.spec.model import FIELDS, ModelSpec
from modelops.spec.paths import model_path


class _Defined(Protocol):
    @property
    def spec(self) -> ModelSpec: ...


class Destination(Protocol):
    """What an import needs of the registry it goes into (a loaded snapshot has it all)."""

    @property
    def models(self) -> Mapping[str, _Defined]: ...
    @property
    def problems(self) -> list[Problem]: ...
    def read(self, path: str) -> bytes | None: ...
    def with_changes(
        self,
        changes: Mapping[str, bytes | None],
        rendered: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Destination: ...


Conflict = Literal["skip", "overwrite", "fail"]
CONFLICTS: dict[str, Conflict] = {"skip": "skip", "overwrite": "overwrite", "fail": "fail"}


@dataclass(frozen=True)
class Options:
    on_conflict: Conflict = "skip"
    id_map: Mapping[str, str] = field(default_factory=dict)
    modelfile_id: str | None = None
    avatar_limit: int = AVATAR_MAX_BYTES
    drop_bad_avatars: bool = False


@dataclass
class _Pending:
    """What the import will write: files by path, the entry that writes each (an avatar: the
    first that shows it), and the data each new model file was rendered from, which the
    destination checks without parsing the file again. Avatars are found by their bytes, among
    those written here and those the registry has (read once), so that models sharing an image
    share its file. `prepare` is told of each file as soon as it is made, before the final
    check, which may still skip its entry: a transaction creates the files of a large import
    ahead of its commit that way."""

    writes: dict[str, bytes | None] = field(default_factory=dict)
    owners: dict[str, int] = field(default_factory=dict)
    rendered: dict[str, dict[str, Any]] = field(default_factory=dict)
    images: dict[bytes, str] = field(default_factory=dict)  # avatar bytes -> file written
    registry_images: dict[bytes, str] | None = None  # avatar bytes -> file the registry has
    prepare: Callable[[str, bytes], None] | None = None

    def add(self, path: str, content: bytes, position: int) -> None:
        self.writes[path], self.owners[path] = content, position
        if self.prepare is not None:
            self.prepare(path, content)
        if path.startswith("avatars/"):
            self.images.setdefault(content, path)

    def drop(self, path: str) -> None:
        content = self.writes.pop(path, None)
        if content is not None and self.images.get(content) == path:
            del self.images[content]

    def image(self, snapshot: Destination, content: bytes) -> str | None:
        """The avatar file that already holds these bytes, here or in the registry."""
        if content in self.images:
            return self.images[content]
        if self.registry_images is None:
            self.registry_images = {}
            for path in dict.fromkeys(m.spec.avatar for m in snapshot.models.values()):
                if path and ":" not in path and (found := snapshot.read(path)) is not None:
                    self.registry_images.setdefault(found, path)
        return self.registry_images.get(content)


@dataclass(frozen=True)
class Imported:
    """The report, entry by entry, and what to commit (no writes when nothing is imported)."""

    lines: list[Line]
    writes: dict[str, bytes | None]
    models: tuple[str, ...]  # imported or updated
    summary: str

    @property
    def details(self) -> tuple[str, ...]:
        return tuple(render_line(line) for line in self.lines)


def plan_import(
    snapshot: Destination,
    document: Any,
    source: str,
    options: Options,
    prepare: Callable[[str, bytes], None] | None = None,
) -> Imported:
    """What importing `document` into `snapshot` does; `prepare` hears of each file as it is
    made (see `_Pending`)."""
    try:
        found = shapes.entries(document)
    except shapes.EntryError as exc:
        raise ModelopsError(f"{source}: {exc}") from None
    lines: list[Line] = []
    mapped: dict[int, str] = {}
    first: dict[str, int] = {}
    for entry in found:
        line = _identify(entry, options, first)
        if line is not None:
            lines.append(line)
            continue
        model_id = options.id_map.get(entry.source_id, entry.source_id)
        mapped[entry.position] = model_id
        first[model_id] = entry.position
    bases = set(snapshot.models) | set(mapped.values())
    pending = _Pending(prepare=prepare)
    for entry in found:
        if entry.position not in mapped:
            continue
        model_id = mapped[entry.position]
        lines.append(_convert(snapshot, entry, model_id, bases, options, pending))
    file_ids = {mid: pos for pos, mid in mapped.items()}
    file_ids.update((ln.source, ln.position) for ln in lines if ln.error and ln.source)
    _drop_invalid(snapshot, lines, pending, file_ids)
    lines.sort(key=lambda ln: ln.position)
    if options.on_conflict == "fail":
        clashes = [ln for ln in lines if ln.reason.startswith("exists")]
        if clashes:
            listed = ", ".join(sorted(ln.model or ln.source for ln in clashes))
            raise ModelopsError(
                f"{listed}: already in the registry and --on-conflict is fail; nothing imported"
            )
    done = [ln.model for ln in lines if ln.status in ("imported", "updated") and ln.model]
    summary = f"Import {len(done)} model{'s' if len(done) != 1 else ''} from {source}"
    return Imported(lines, pending.writes, tuple(done), summary)


def _identify(entry: shapes.Entry, options: Options, first: dict[str, int]) -> Line | None:
    """A report line for an entry that is not taken any further, or None."""
    if entry.skip:
        return Line(
            entry.position, entry.source_id, "skipped", reason=entry.skip, error=entry.error
        )
    source = entry.source_id
    if not source:
        return Line(entry.position, "", "skipped", reason="the entry has no id", error=True)
    if entry.record is not None and owui.is_override(entry.record) and source not in options.id_map:
        new = owui.slug(source) if owui.slug(source) != source else f"{source}-custom"
        reason = (
            f"{owui.override_reason(entry.record)}; to keep its settings as a model based on "
            f"it: --map-id '{source}={new}'"
        )
        return Line(entry.position, source, "skipped", reason=reason)
    model_id = options.id_map.get(source, source)
    if not names.is_valid_id(model_id):
        hint = f"--map-id '{source}={owui.slug(source)}'"
        return Line(
            entry.position,
            source,
            "skipped",
            reason=f"'{model_id}' is not a valid registry id ({names.ID_RULE}); map it with {hint}",
            error=True,
        )
    if model_id in first:
        return Line(
            entry.position,
            source,
            "skipped",
            model_id,
            f"id '{model_id}' appears again in the file (entry {first[model_id]} is imported)",
            error=True,
        )
    return None


def _convert(
    snapshot: Destination,
    entry: shapes.Entry,
    model_id: str,
    bases: set[str],
    options: Options,
    pending: _Pending,
) -> Line:
    assert entry.record is not None
    record = dict(entry.record)
    base = record.get("base_model_id")
    if owui.is_override(record):  # mapped: a workspace model on the model it overrode
        record["id"], record["base_model_id"] = model_id, entry.source_id
    elif isinstance(base, str):
        record["base_model_id"] = options.id_map.get(base, base)
    try:
        definition = owui.to_definition(
            record,
            model_id,
            bases,
            avatar_limit=options.avatar_limit,
            drop_bad_avatars=options.drop_bad_avatars,
        )
    except shapes.EntryError as exc:
        error = not isinstance(exc, shapes.NotAModel)
        return Line(entry.position, entry.source_id, "skipped", model_id, str(exc), error=error)
    parsed = record.get("_modelfile")
    notes = [*definition.notes, *(parsed.notes if isinstance(parsed, modelfile.Parsed) else [])]
    data = definition.data
    existing = snapshot.models.get(model_id)
    avatar_path = _avatar_path(snapshot, model_id, definition, pending)
    new_avatar = avatar_path is not None and avatar_path not in pending.writes
    if avatar_path:
        data["avatar"] = avatar_path
        if new_avatar and definition.avatar is not None:
            pending.add(avatar_path, definition.avatar, entry.position)
    data = {k: data[k] for k in FIELDS if k in data}
    path = model_path(model_id)
    line = Line(entry.position, entry.source_id, "imported", model_id, notes=notes)
    line.base, line.avatar = data.get("base"), avatar_path
    if existing is None and snapshot.read(path) is None:
        pending.add(path, render_new(data), entry.position)
        pending.rendered[path] = data
        return line
    new_spec, _ = check_model(data)
    if (
        existing is not None
        and new_spec is not None
        and _same(existing.spec.to_data(), new_spec.to_data())
    ):
        if new_avatar and avatar_path:
            pending.drop(avatar_path)
        line.status = "unchanged"
        return line
    if options.on_conflict != "overwrite":
        if new_avatar and avatar_path:
            pending.drop(avatar_path)
        line.status, line.reason = (
            "skipped",
            "exists in the registry (--on-conflict overwrite replaces it)",
        )
        return line
    pending.add(path, _merged(snapshot.read(path) or b"", data), entry.position)
    line.status = "updated"
    return line


DEFAULTS = {"active": True, "hidden": False}


def _same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Equal once default values are left out: an `active: true` changes nothing."""

    def trim(data: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in data.items() if DEFAULTS.get(k, object()) != v}

    return trim(old) == trim(new)


def _avatar_path(
    snapshot: Destination, model_id: str, definition: owui.Definition, pending: _Pending
) -> str | None:
    """Where the avatar goes: a file with the same bytes if the registry (or this import)
    has one, so that models sharing an image share the file."""
    if definition.avatar is None or definition.avatar_kind is None:
        return None
    shared = pending.image(snapshot, definition.avatar)
    if shared is not None:
        return shared
    suffix = EXTENSIONS[definition.avatar_kind]
    path = f"avatars/{model_id}.{suffix}"
    users = [mid for mid, m in snapshot.models.items() if m.spec.avatar == path and mid != model_id]
    if snapshot.read(path) is not None and users:
        path = f"avatars/{model_id}-imported.{suffix}"
    return path


def _merged(raw: bytes, data: dict[str, Any]) -> bytes:
    """The existing file with the new values, so its comments and layout survive."""
    doc = yamledit.rt_load(raw.decode("utf-8-sig"))
    for key in [k for k in doc if k not in data]:
        del doc[key]
    for key, value in data.items():
        if doc.get(key) != value:
            yamledit.rt_set(doc, (key,), yamledit.to_commented(value, lambda loc: False), key_order)
    return yamledit.rt_dump(doc).encode()


def _drop_invalid(
    snapshot: Destination, lines: list[Line], pending: _Pending, file_ids: Mapping[str, int]
) -> None:
    """Entries whose files do not validate (on their own or with the rest) are skipped, and
    so are entries based on an entry of the file that is skipped: imported on their own, the
    base's id would name an Ollama model instead."""
    by_position = {ln.position: ln for ln in lines}
    writes, owners = pending.writes, pending.owners
    while writes:
        while orphans := _orphans(snapshot, lines, file_ids):
            for line in orphans:
                _skip(line, pending, lines)
        problems = snapshot.with_changes(writes, pending.rendered).problems
        if not problems:
            return
        by_file: dict[str, list[Problem]] = {}  # by registry path: models/x.yaml, avatars/x.png
        for problem in problems:
            by_file.setdefault("/".join(problem.path.split("/")[-2:]), []).append(problem)
        culprits = {owners[p] for p in owners if p in by_file}
        if not culprits:
            raise SpecError(problems)  # the registry itself has problems: fix those first
        for position in culprits:
            line = by_position[position]
            own = by_file.get(model_path(line.model or ""), [])
            reason = "; ".join(
                f"{pr.key}: {pr.message}" if pr.key else pr.message for pr in own[:3]
            )
            _skip(line, pending, lines, reason)


def _orphans(snapshot: Destination, lines: list[Line], file_ids: Mapping[str, int]) -> list[Line]:
    """Entries to import whose base is an entry of this file that is not imported."""
    kept = {ln.model for ln in lines if ln.status != "skipped"}
    out = []
    for line in lines:
        base = line.base
        if line.status not in ("imported", "updated") or base is None or base in kept:
            continue
        if base in file_ids and base not in snapshot.models:
            line.reason = f"its base {base!r} is entry #{file_ids[base]}, which is skipped"
            out.append(line)
    return out


def _skip(line: Line, pending: _Pending, lines: list[Line], reason: str | None = None) -> None:
    """Take an entry out of the import; an avatar it shares with another goes to that one."""
    owners = pending.owners
    line.status, line.error = "skipped", True
    if reason is not None:
        line.reason = reason
    for path in [p for p, owner in owners.items() if owner == line.position]:
        heir = next(
            (ln for ln in lines if ln.status != "skipped" and ln.avatar == path and ln is not line),
            None,
        )
        if heir is not None:
            owners[path] = heir.position
            continue
        pending.drop(path)
        owners.pop(path)
