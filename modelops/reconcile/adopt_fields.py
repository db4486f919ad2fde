"""What adopting a model writes: a live Open WebUI record as model-file data, with this
instance's ids turned back into the names the registry uses; the places in a model file that
each changed field occupies; the round-trip edit that changes only those lines; where a new
avatar goes; and the field-by-field before and after. Pure: records, names and files come in
as values.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modelops.exchange.openwebui_import import Definition, to_definition
from modelops.exchange.openwebui_shapes import EntryError
from modelops.spec import yamledit
from modelops.spec.avatar import AVATAR_MAX_BYTES, EXTENSIONS
from modelops.spec.layout import in_key_order, key_order, styled
from modelops.spec.model import ModelSpec
from modelops.targets.base import FieldChange

Loc = tuple[str, ...]
Lookup = Callable[[str, str], set[str]]  # (kind, name) -> ids on this instance
Labels = Callable[[str, str], list[str]]  # (kind, id) -> what the object is called
Read = Callable[[str], bytes | None]  # a registry file's bytes, None when it does not exist
CHOSEN_IDS = ("tool", "filter", "action")  # kinds whose ids people choose (others: UUIDs)


def spec_locs(field: str) -> list[Loc]:
    """The places in a model file that hold a field as the plan names it (`system`,
    `parameters.temperature`, `openwebui.meta.builtinTools`, ...)."""
    if field == "openwebui.meta.ollama":  # the Ollama-only fields travel in meta.ollama
        return [("messages",), ("license",), ("openwebui", "meta", "ollama")]
    head, _, rest = field.partition(".")
    if head == "parameters" and rest:
        return [("parameters", rest)]
    if head == "openwebui" and rest:
        part, _, key = rest.partition(".")
        return [("openwebui", part, key)]
    return [(field,)]


def value_at(data: Mapping[str, Any], loc: Loc) -> Any:
    node: Any = data
    for part in loc:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


@dataclass(frozen=True)
class Naming:
    """This instance's objects: names to ids (`lookup`) and ids to names (`labels`)."""

    lookup: Lookup
    labels: Labels

    def name(self, kind: str, ident: str, known: Sequence[str] = ()) -> str:
        """The name the registry would write for object `ident`: one the registry already
        uses for it (`known`); else, for a tool, filter or action, its id (which people choose,
        which travels with it when it is exported, and which outlives a new display name);
        else the first of its names that names it alone; else the id."""
        chosen: tuple[str, ...] = (ident,) if kind in CHOSEN_IDS else ()
        for name in (*known, *chosen, *self.labels(kind, ident)):
            if self.lookup(kind, name) == {ident}:
                return name
        return ident


def live_data(
    record: Mapping[str, Any],
    model_id: str,
    registry_ids: set[str],
    known: ModelSpec | None,
    naming: Naming,
    bases: Mapping[str, str],
) -> Definition:
    """The record as model-file data (EntryError when it cannot be one). `known` is the
    registry's version of the model, whose names are kept where they name the same objects;
    `bases` maps a base_model_id to what the file says instead (a wrapped Ollama model)."""
    definition = to_definition(
        record,
        model_id,
        registry_ids | set(bases),
        avatar_limit=AVATAR_MAX_BYTES,
        drop_bad_avatars=False,
    )
    data = definition.data
    if data.get("base") in bases:
        data["base"] = bases[data["base"]]
    for key, kind in (("tools", "tool"), ("filters", "filter"), ("actions", "action")):
        if key in data:
            mine = (getattr(known, key) or []) if known else []
            data[key] = [naming.name(kind, ident, mine) for ident in data[key]]
    if "knowledge" in data:
        refs = (known.knowledge or []) if known else []
        data["knowledge"] = [_knowledge(item, refs, naming) for item in data["knowledge"]]
    if "access" in data:
        data["access"] = _access(data["access"], known, naming)
    return definition


def _knowledge(item: dict[str, Any], refs: Sequence[Any], naming: Naming) -> dict[str, Any]:
    """A knowledge item keeps the id the registry gives it; a new one is named by its name
    alone when that names it on this instance, which keeps the file portable."""
    kind, ident = item["type"], item.get("id")
    if ident is None:
        return item
    out = dict(item)
    for ref in refs:
        found = naming.lookup(kind, ref.id or "") or naming.lookup(kind, ref.name)
        if ref.type == kind and found == {ident}:
            if ref.id is None:
                out.pop("id")
            else:
                out["id"] = ref.id
            return out
    if naming.lookup(kind, str(item.get("name", ""))) == {ident}:
        out.pop("id")
    return out


def _access(access: dict[str, Any], known: ModelSpec | None, naming: Naming) -> dict[str, Any]:
    mine: dict[str, list[str]] = {"groups": [], "users": []}
    for level in (known.access.read, known.access.write) if known and known.access else ():
        for who in ("groups", "users"):
            mine[who] += getattr(level, who) if level else []
    out: dict[str, Any] = {}
    for key, value in access.items():
        if not isinstance(value, dict):
            out[key] = value
            continue
        out[key] = {
            who: [naming.name(kind, ident, mine[who]) for ident in value.get(who, [])]
            for who, kind in (("groups", "group"), ("users", "user"))
        }
    return out


def avatar_path(
    model_id: str, image: bytes, kind: str, read: Read, shown: Mapping[str, set[str]]
) -> str:
    """Where a new avatar goes: the registry file that already holds these bytes, if a
    model shows one (`shown`: avatar file -> the models showing it), else a new file
    `avatars/<id>.<suffix>` that does not exist yet, so that rolling the model back brings
    its earlier image back too."""
    for path in sorted(shown):
        if read(path) == image:
            return path
    suffix = EXTENSIONS[kind]
    path, number = f"avatars/{model_id}.{suffix}", 2
    while read(path) is not None:
        path, number = f"avatars/{model_id}-{number}.{suffix}", number + 1
    return path


def edited(raw: bytes, new: Mapping[str, Any], locs: Sequence[Loc], model_id: str = "") -> bytes:
    """The file `raw` with the values of `new` at `locs` (absent ones removed), and its id
    set to `model_id` if one is given; every other line, comment and key order stay."""
    doc = yamledit.rt_load(raw.decode("utf-8-sig"))
    if model_id:
        doc["id"] = model_id
    for loc in locs:
        value = value_at(new, loc)
        if value is None:
            yamledit.rt_delete(doc, loc)
        elif value_at(doc, loc) != value:
            yamledit.rt_set(doc, loc, styled(in_key_order(value, loc), loc), key_order)
    return yamledit.rt_dump(doc).encode()


def changes(
    old: Mapping[str, Any], new: Mapping[str, Any], locs: Sequence[Loc]
) -> list[FieldChange]:
    """Each place that differs, named as `set` names it, with its before and after."""
    out, seen = [], set()
    for loc in locs:
        before, after = value_at(old, loc), value_at(new, loc)
        if loc not in seen and before != after:
            out.append(FieldChange(".".join(loc), before, after))
        seen.add(loc)
    return out


def short(value: Any, width: int = 60) -> str:
    """A value on part of one line, for a commit message."""
    if value is None:
        return "(unset)"
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= width else text[: width - 3] + "..."


def locs_of(fields: Sequence[FieldChange]) -> list[Loc]:
    """The places in a model file that fields as the plan names them occupy, in order."""
    out: list[Loc] = []
    for change in fields:
        out += [loc for loc in spec_locs(change.field) if loc not in out]
    return out


class Drafts:
    """The files one run of adopt writes, decided model by model: each live record as file
    data, and the avatars it brings, placed so that models showing one image share a file.

    `specs` are the registry's models at HEAD and `read` reads its files; `wrapped` gives
    the Ollama model made for a registry model when the target wraps an Ollama target."""

    def __init__(
        self,
        specs: Mapping[str, ModelSpec],
        read: Read,
        naming: Naming,
        wrapped: Callable[[str], str] | None,
    ) -> None:
        self.specs, self._read, self.naming, self.wrapped = specs, read, naming, wrapped
        self.pending: dict[str, bytes | None] = {}  # what this run writes so far
        self.shown: dict[str, set[str]] = {}  # avatar file -> the models that show it
        for model_id, spec in specs.items():
            if spec.avatar and ":" not in spec.avatar:
                self.shown.setdefault(spec.avatar, set()).add(model_id)

    def read(self, path: str) -> bytes | None:
        return self.pending[path] if path in self.pending else self._read(path)

    def convert(
        self, record: Mapping[str, Any], known: ModelSpec | None, of: str | None
    ) -> Definition:
        """The record as file data (EntryError when it cannot be one). `known` is the
        registry's model `of`, whose names are kept; wrapping an Ollama target, a base that is
        the Ollama model made for a registry model means that model (for `of`: its base)."""
        bases: dict[str, str] = {}
        if self.wrapped is not None:
            bases = {self.wrapped(m): m for m in self.specs}
            if of is not None and known is not None:
                bases[self.wrapped(of)] = known.base
        model_id = str(record.get("id"))
        return live_data(record, model_id, set(self.specs), known, self.naming, bases)

    def place_avatar(
        self, model_id: str, definition: Definition, old: str | None
    ) -> dict[str, bytes | None]:
        """Put a data-URI avatar in a file (a new one, or one holding the same image) and
        name it in the data; remove the model's `old` avatar file when no other model shows
        it. Returns the files to write."""
        writes: dict[str, bytes | None] = {}
        data = definition.data
        if definition.avatar is not None and definition.avatar_kind is not None:
            image, kind = definition.avatar, definition.avatar_kind
            path = avatar_path(model_id, image, kind, self.read, self.shown)
            data["avatar"] = path
            if self.read(path) is None:
                writes[path] = self.pending[path] = image
            self.shown.setdefault(path, set()).add(model_id)
        if old and ":" not in old and old != data.get("avatar"):
            self.shown[old] = self.shown.get(old, set()) - {model_id}
            if not self.shown[old]:
                writes[old] = self.pending[old] = None
        return writes

    def shown_as_fields(
        self, record: Mapping[str, Any], spec: ModelSpec, theirs: Sequence[FieldChange]
    ) -> tuple[FieldChange, ...]:
        """Open WebUI's change to model `spec` as file fields (names, not ids), for a report;
        as the plan names them when the record cannot be a model file."""
        try:
            definition = self.convert(record, spec, spec.id)
        except EntryError:
            return tuple(theirs)
        data = definition.data
        if definition.avatar is not None:
            size = len(definition.avatar)
            data["avatar"] = f"a new {definition.avatar_kind} image of {size} bytes"
        return tuple(changes(spec.to_data(), data, locs_of(theirs)) or theirs)
