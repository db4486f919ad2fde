"""The authoring operations: create, set, clone, hide, share, rename, delete, rollback and fmt.
Each takes a validated snapshot and returns the `Changeset` it makes; the transaction validates
the result, writes it and commits it. Files are edited round-trip, so only the lines an
operation must change move."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import PurePosixPath
from typing import Any

from modelops.errors import ConflictError, NotFoundError, UsageError
from modelops.registry.snapshot import Snapshot
from modelops.registry.transaction import Changeset
from modelops.spec import names, yamledit, yamlread
from modelops.spec.avatar import EXTENSIONS, SUFFIXES, check_image
from modelops.spec.base import Loc
from modelops.spec.layout import expects_text, formatted, key_order, render_new, styled
from modelops.spec.model import FIELDS, SPEC_VERSION
from modelops.spec.paths import model_path

READ_ONLY_KEYS = {("id",): "use 'modelops rename'", ("version",): "it is the spec format version"}


def check_new_id(snapshot: Snapshot, model_id: str) -> None:
    if not names.is_valid_id(model_id):
        raise UsageError(f"{model_id!r} is not a valid model id ({names.ID_RULE})")
    if model_id in snapshot.models or snapshot.read(model_path(model_id)) is not None:
        raise ConflictError(f"model '{model_id}' already exists (change it with 'modelops edit')")


def _edit(snapshot: Snapshot, model_id: str, mutate: Callable[[Any], None]) -> bytes:
    """Round-trip edit of one model file: only the lines `mutate` touches change."""
    path = snapshot.get(model_id).path
    raw = snapshot.read(path)
    if raw is None:  # pragma: no cover - the snapshot just read it
        raise NotFoundError(f"{path} vanished")
    doc = yamledit.rt_load(raw.decode("utf-8-sig"))
    mutate(doc)
    return yamledit.rt_dump(doc).encode()


def create(snapshot: Snapshot, model_id: str, base: str, fields: dict[str, Any]) -> Changeset:
    check_new_id(snapshot, model_id)
    data = {"version": SPEC_VERSION, "id": model_id, "base": base, **fields}
    data = {k: data[k] for k in FIELDS if k in data}
    return Changeset(
        op="create",
        summary=f"Create model {model_id} from {base}",
        writes={model_path(model_id): render_new(data)},
        models=(model_id,),
        trailers=(("Modelops-Base", base),),
    )


def parse_key(text: str) -> Loc:
    parts: list[str | int] = [int(p) if p.isdigit() else p for p in text.split(".")]
    if not text or any(p == "" for p in parts):
        raise UsageError(f"'{text}' is not a key path (write e.g. parameters.temperature)")
    if isinstance(parts[0], int) or parts[0] not in FIELDS:
        raise UsageError(f"'{text}': '{parts[0]}' is not a field of a model ({', '.join(FIELDS)})")
    loc = tuple(parts)
    if loc in READ_ONLY_KEYS:
        raise UsageError(f"'{text}' cannot be set ({READ_ONLY_KEYS[loc]})")
    return loc


def parse_assignment(text: str) -> tuple[Loc, Any]:
    """`key.path=value`, the value read as YAML (so 0.3 is a number and [a, b] a list), except
    for fields that hold text, which take the text as typed (so name=2024 stays a name)."""
    if "=" not in text:
        raise UsageError(f"'{text}' is not KEY=VALUE (write e.g. parameters.temperature=0.3)")
    key, raw = text.split("=", 1)
    loc = parse_key(key)
    return loc, raw if expects_text(loc) else yamlread.parse_value(raw)


def set_fields(
    snapshot: Snapshot,
    model_id: str,
    assignments: Sequence[tuple[Loc, Any]],
    unset: Sequence[Loc],
    avatar: tuple[str, bytes] | None = None,
) -> Changeset:
    """`avatar` is an image file to commit with the model, at its registry path."""
    if not assignments and not unset:
        raise UsageError("nothing to set (give KEY=VALUE pairs or --unset KEY)")

    def mutate(doc: Any) -> None:
        for loc, value in assignments:
            try:
                yamledit.rt_set(doc, loc, styled(value, loc), key_order)
            except (IndexError, ValueError, TypeError):
                raise NotFoundError(
                    f"'{yamlread.dotted(loc)}' names no place in {model_id}"
                ) from None
        for loc in unset:
            if not yamledit.rt_delete(doc, loc):
                raise NotFoundError(f"'{yamlread.dotted(loc)}' is not set in {model_id}")

    content = _edit(snapshot, model_id, mutate)
    sets = [f"{yamlread.dotted(loc)}={_short(v)}" for loc, v in assignments]
    unsets = [yamlread.dotted(loc) for loc in unset]
    writes: dict[str, bytes | None] = {snapshot.get(model_id).path: content}
    if avatar is not None:
        writes[avatar[0]] = avatar[1]
    if ("avatar",) in unset:
        _let_go(snapshot, model_id, None, writes)
    for loc, value in assignments:
        if loc == ("avatar",):
            _let_go(snapshot, model_id, value if isinstance(value, str) else None, writes)
    return Changeset(
        op="set",
        summary=_set_subject(model_id, sets, unsets),
        writes=writes,
        models=(model_id,),
        details=(*sets, *(f"unset {key}" for key in unsets)) if len(sets) + len(unsets) > 1 else (),
    )


SUBJECT_WIDTH = 100  # longer subjects name the count, and the body lists the fields


def _set_subject(model_id: str, sets: list[str], unsets: list[str]) -> str:
    parts = [
        f"set {', '.join(sets)}" if sets else "",
        f"unset {', '.join(unsets)}" if unsets else "",
    ]
    text = " and ".join(p for p in parts if p)
    subject = f"{text[0].upper()}{text[1:]} on {model_id}"
    if len(subject) <= SUBJECT_WIDTH:
        return subject
    count = len(sets) + len(unsets)
    return f"Change {count} field{'s' if count != 1 else ''} of {model_id}"


def avatar_file(model_id: str, content: bytes, root_relative: str | None) -> tuple[str, bytes]:
    """Where an image given to `set avatar=PATH` goes in the registry: where it is, when it is
    a file of avatars/ already, else avatars/<id>.<its format's suffix>. The image is checked
    (ImageError says why it cannot be used)."""
    kind = check_image(content)
    where = PurePosixPath(root_relative or "")
    if where.parent == PurePosixPath("avatars") and SUFFIXES.get(where.suffix.lower()) == kind:
        return where.as_posix(), content
    return f"avatars/{model_id}.{EXTENSIONS[kind]}", content


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def clone(snapshot: Snapshot, source: str, new_id: str, name: str | None) -> Changeset:
    if source not in snapshot.models:
        hint = f"modelops create {new_id} --base {source}"
        raise NotFoundError(
            f"'{source}' is not a model in this registry, so it cannot be cloned "
            f"(to make a model from the Ollama model '{source}', run: {hint})"
        )
    check_new_id(snapshot, new_id)
    old_name = snapshot.models[source].spec.name

    def mutate(doc: Any) -> None:
        doc["id"] = new_id
        if name is not None or old_name is not None:
            doc["name"] = name if name is not None else f"{old_name} (Clone)"

    return Changeset(
        op="clone",
        summary=f"Clone {source} as {new_id}",
        writes={model_path(new_id): _edit(snapshot, source, mutate)},
        models=(new_id,),
        trailers=(("Modelops-Source", source),),
    )


def set_hidden(snapshot: Snapshot, model_ids: Sequence[str], hidden: bool) -> Changeset:
    def mutate(doc: Any) -> None:
        if hidden:
            yamledit.rt_set(doc, ("hidden",), True, key_order)
        else:
            yamledit.rt_delete(doc, ("hidden",))

    ids = list(dict.fromkeys(model_ids))
    writes: dict[str, bytes | None] = {
        snapshot.get(mid).path: _edit(snapshot, mid, mutate) for mid in ids
    }
    return Changeset(
        op="hide" if hidden else "unhide",
        summary=f"{'Hide' if hidden else 'Unhide'} {', '.join(ids)}",
        writes=writes,
        models=tuple(ids),
    )


def share(
    snapshot: Snapshot,
    model_id: str,
    *,
    public: bool,
    groups: Sequence[str],
    users: Sequence[str],
    write: bool,
) -> Changeset:
    if not (public or groups or users):
        raise UsageError("say whom to share with: --public, --group NAME or --user NAME")
    level = "write" if write else "read"

    def mutate(doc: Any) -> None:
        if public:
            yamledit.rt_set(doc, ("access", "public"), True, key_order)
        for kind, wanted in (("groups", groups), ("users", users)):
            if not wanted:
                continue
            current = _list_at(doc, ("access", level, kind))
            merged = [*current, *(w for w in wanted if w not in current)]
            yamledit.rt_set(doc, ("access", level), _principals(doc, level), key_order)
            yamledit.rt_set(doc, ("access", level, kind), styled(merged, ()), key_order)

    whom = _whom(public, groups, users)
    return Changeset(
        op="share",
        summary=f"Share {model_id} with {whom} ({level})",
        writes={snapshot.get(model_id).path: _edit(snapshot, model_id, mutate)},
        models=(model_id,),
    )


def unshare(
    snapshot: Snapshot,
    model_id: str,
    *,
    public: bool,
    groups: Sequence[str],
    users: Sequence[str],
    everyone: bool,
) -> Changeset:
    if not (public or groups or users or everyone):
        raise UsageError("say whom to unshare from: --public, --group, --user or --all")

    def mutate(doc: Any) -> None:
        if everyone:
            yamledit.rt_delete(doc, ("access",))
            return
        if public:
            yamledit.rt_delete(doc, ("access", "public"))
        for kind, unwanted in (("groups", groups), ("users", users)):
            for level in ("read", "write"):
                current = _list_at(doc, ("access", level, kind))
                kept = [c for c in current if c not in unwanted]
                if kept != current:
                    yamledit.rt_set(doc, ("access", level, kind), styled(kept, ()), key_order)
        _drop_empty_access(doc)

    return Changeset(
        op="unshare",
        summary=f"Unshare {model_id} from {'all' if everyone else _whom(public, groups, users)}",
        writes={snapshot.get(model_id).path: _edit(snapshot, model_id, mutate)},
        models=(model_id,),
    )


def _principals(doc: Any, level: str) -> Any:
    access = doc.get("access") or {}
    existing = access.get(level)
    if isinstance(existing, dict):
        return existing
    return styled({"groups": [], "users": []}, ("access", level))


def _list_at(doc: Any, loc: Loc) -> list[str]:
    node = doc
    for part in loc:
        if not isinstance(node, dict) or part not in node:
            return []
        node = node[part]
    return [str(v) for v in node] if isinstance(node, list) else []


def _drop_empty_access(doc: Any) -> None:
    access = doc.get("access")
    if not isinstance(access, dict):
        return
    for level in ("read", "write"):
        block = access.get(level)
        if isinstance(block, dict) and not any(block.get(k) for k in ("groups", "users")):
            del access[level]
    if not access.get("public") and not access.get("read") and not access.get("write"):
        del doc["access"]


def _whom(public: bool, groups: Sequence[str], users: Sequence[str]) -> str:
    parts = (["everyone"] if public else []) + [f"group {g}" for g in groups]
    return ", ".join(parts + [f"user {u}" for u in users])


def rename(snapshot: Snapshot, old: str, new: str) -> Changeset:
    model = snapshot.get(old)
    check_new_id(snapshot, new)
    children = snapshot.children(old)

    def set_id(doc: Any) -> None:
        doc["id"] = new

    def set_base(doc: Any) -> None:
        doc["base"] = new

    writes: dict[str, bytes | None] = {
        model.path: None,
        model_path(new): _edit(snapshot, old, set_id),
    }
    for child in children:
        writes[snapshot.models[child].path] = _edit(snapshot, child, set_base)
    return Changeset(
        op="rename",
        summary=f"Rename {old} to {new}",
        writes=writes,
        models=(new,),
        details=tuple(f"{child}: base {old} -> {new}" for child in children),
        trailers=(("Modelops-Source", old), *(("Modelops-Updated", c) for c in children)),
    )


def _let_go(
    snapshot: Snapshot, model_id: str, keeps: str | None, writes: dict[str, bytes | None]
) -> None:
    """Delete the avatar file `model_id` shows today when it stops showing it (it shows
    `keeps` instead, or nothing) and no other model shows it: the history keeps the image."""
    model = snapshot.models.get(model_id)
    avatar = model.spec.avatar if model else None
    if not avatar or ":" in avatar or avatar == keeps or avatar in writes:
        return
    if not any(m.id != model_id and m.spec.avatar == avatar for m in snapshot.models.values()):
        writes[avatar] = None


def delete(snapshot: Snapshot, model_id: str) -> Changeset:
    model = snapshot.get(model_id)
    children = snapshot.children(model_id)
    if children:
        raise ConflictError(
            f"cannot delete '{model_id}': it is the base of {', '.join(children)} "
            "(change their base or delete them first)"
        )
    writes: dict[str, bytes | None] = {model.path: None}
    _let_go(snapshot, model_id, None, writes)
    return Changeset(
        op="delete",
        summary=f"Delete model {model_id}",
        writes=writes,
        models=(model_id,),
    )


def rollback(snapshot: Snapshot, old: Snapshot, model_id: str, rev: str, sha: str) -> Changeset:
    """Restore `model_id` as it was in `old` (the snapshot at `rev`)."""
    if model_id not in old.models:
        raise NotFoundError(f"model '{model_id}' did not exist at {rev} (see 'modelops history')")
    path = model_path(model_id)
    content = old.read(path)
    writes: dict[str, bytes | None] = {path: content}
    avatar = old.models[model_id].spec.avatar
    if avatar and ":" not in avatar and snapshot.read(avatar) is None:
        writes[avatar] = old.read(avatar)  # bring back an avatar deleted since
    _let_go(snapshot, model_id, avatar, writes)
    return Changeset(
        op="rollback",
        summary=f"Roll back {model_id} to {rev} ({sha[:12]})",
        writes=writes,
        models=(model_id,),
        trailers=(("Modelops-Revision", sha),),
    )


def fmt(snapshot: Snapshot) -> tuple[list[str], Changeset]:
    """The files not in canonical layout, and the change that formats them."""
    writes: dict[str, bytes | None] = {}
    for model in sorted(snapshot.models.values(), key=lambda m: m.path):
        raw = snapshot.read(model.path) or b""
        new = formatted(raw)
        if new != raw:
            writes[model.path] = new
    changed = sorted(writes)
    ids = tuple(p.rpartition("/")[2].removesuffix(".yaml") for p in changed)
    change = Changeset(
        op="fmt",
        summary=f"Format {len(changed)} model file{'s' if len(changed) != 1 else ''}",
        writes=writes,
        models=ids,
    )
    return changed, change
