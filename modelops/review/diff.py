"""The semantic difference between two revisions of a registry.

Each model is one of: added, removed, renamed (found from the `Modelops-Op: rename` trailers of
the commits in between, else by content), cloned (the `Modelops-Source` of a clone, else an
added model equal to another but for its id and name), or changed. A changed field is shown
with its value before and after; nested mappings are compared key by key (`parameters.top_k`,
`access.read.groups`). Values a model inherits through its chain of registry bases (system
prompt, template, messages, license, parameters, the Ollama base it rests on) are resolved on
both sides, so a change to a parent shows on every child it reaches, naming the model it came
from. Pure: the caller loads both sides and the commits between them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from modelops.review import matching
from modelops.review.matching import Logged
from modelops.spec.inherit import base_chain, effective
from modelops.spec.model import FIELDS, ModelSpec
from modelops.spec.params import CATALOGUE

Status = Literal["added", "removed", "renamed", "cloned", "changed"]
Detected = Literal["commit", "content"]  # how a rename or a clone was found
STATUS_ORDER: tuple[Status, ...] = ("added", "cloned", "renamed", "changed", "removed")
TEXT_FIELDS = ("system", "template")  # shown as unified diffs
_OWN_ONLY = ("id", "version", "avatar")  # not compared as fields (the avatar is an image)


@dataclass(frozen=True)
class Side:
    """One side of a diff as the caller loaded it."""

    label: str  # how it is shown, e.g. "main (1a2b3c4d5e)" or "the work tree"
    specs: Mapping[str, ModelSpec]
    read: Callable[[str], bytes | None]  # a registry file's bytes on this side (avatars)


@dataclass(frozen=True)
class CommitRef:
    sha: str
    op: str
    subject: str


@dataclass(frozen=True)
class FieldDiff:
    """One field of one model; None is "not set". `via` names the registry model a value is
    inherited from, when the model's own field did not change."""

    field: str
    before: Any
    after: Any
    via: str | None = None

    @property
    def is_text(self) -> bool:
        return self.field in TEXT_FIELDS


@dataclass(frozen=True)
class Image:
    ref: str  # a registry path or an https URL
    data: bytes | None  # the file's bytes; None for a URL or a missing file


@dataclass(frozen=True)
class AvatarDiff:
    before: Image | None
    after: Image | None


@dataclass(frozen=True)
class ModelDiff:
    id: str  # at HEAD; at BASE for a removed model
    status: Status
    name: str | None
    base: str
    source: str | None = None  # renamed: the id at BASE; cloned: the model it copies
    detected: Detected | None = None  # how a rename or clone was found
    labels: tuple[str, ...] = ()  # hidden, shared with ..., rolled back, ...
    fields: tuple[FieldDiff, ...] = ()
    avatar: AvatarDiff | None = None
    commits: tuple[CommitRef, ...] = ()

    @property
    def inherited_only(self) -> bool:
        """Changed only through a base: nothing in the model's own file changed."""
        return (
            self.status == "changed"
            and not self.avatar
            and bool(self.fields)
            and all(f.via for f in self.fields)
        )


@dataclass(frozen=True)
class RegistryDiff:
    base: str
    head: str
    models: tuple[ModelDiff, ...]
    unchanged: int

    @property
    def empty(self) -> bool:
        return not self.models

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {status: 0 for status in STATUS_ORDER}
        for model in self.models:
            out[model.status] += 1
        out["inherited"] = sum(1 for m in self.models if m.inherited_only)
        return out


def compare(base: Side, head: Side, commits: Sequence[Logged] = ()) -> RegistryDiff:
    """`commits` are those between BASE and HEAD, newest first (as `git log` lists them)."""
    renames, clones = matching.from_commits(commits, set(base.specs), set(head.specs))
    removed = sorted(set(base.specs) - set(head.specs) - set(renames.values()))
    added = sorted(set(head.specs) - set(base.specs) - set(renames))
    found = matching.renames_by_content(
        {r: base.specs[r] for r in removed}, {a: head.specs[a] for a in added}
    )
    detected: dict[str, Detected] = {new: "commit" for new in renames}
    detected |= {new: "content" for new in found}
    renames |= found
    clone_ids = {a: c for a, c in clones.items() if a in added and a not in renames}
    clone_ids |= matching.clones_by_content(
        [a for a in added if a not in renames and a not in clone_ids], head.specs, set(base.specs)
    )
    by_model = _commits_by_model(commits)
    out: list[ModelDiff] = []
    for model_id in head.specs:
        old = renames.get(model_id, model_id if model_id in base.specs else None)
        diff: ModelDiff | None
        if model_id in clone_ids:
            diff = _cloned(model_id, clone_ids[model_id], clones, renames, base, head)
        elif old is None:
            diff = _added(model_id, head)
        else:
            diff = _changed(model_id, old, base, head, renames, detected.get(model_id))
        if diff is not None:
            refs = by_model.get(model_id, []) + (by_model.get(old, []) if old else [])
            out.append(_with_commits(diff, refs))
    for model_id in removed:
        if model_id in renames.values():
            continue
        spec = base.specs[model_id]
        out.append(
            _with_commits(
                ModelDiff(model_id, "removed", spec.name, spec.base), by_model.get(model_id, [])
            )
        )
    out.sort(key=lambda m: (STATUS_ORDER.index(m.status), m.inherited_only, m.id))
    return RegistryDiff(base.label, head.label, tuple(out), len(head.specs) - _counted(out))


def _counted(models: Iterable[ModelDiff]) -> int:
    return sum(1 for m in models if m.status != "removed")


def _with_commits(diff: ModelDiff, refs: list[CommitRef]) -> ModelDiff:
    unique = tuple(dict.fromkeys(refs))
    labels = diff.labels
    if any(r.op == "rollback" for r in unique) and "rolled back" not in labels:
        labels = (*labels, "rolled back")
    return ModelDiff(
        diff.id,
        diff.status,
        diff.name,
        diff.base,
        diff.source,
        diff.detected,
        labels,
        diff.fields,
        diff.avatar,
        unique,
    )


def _commits_by_model(commits: Sequence[Logged]) -> dict[str, list[CommitRef]]:
    out: dict[str, list[CommitRef]] = {}
    for commit in commits:
        ref = CommitRef(commit.sha, commit.op, commit.subject)
        for model_id in commit.models:
            out.setdefault(model_id, []).append(ref)
        if commit.source and commit.op == "rename":
            out.setdefault(commit.source, []).append(ref)
    return out


def _added(model_id: str, head: Side) -> ModelDiff:
    spec = head.specs[model_id]
    fields = own_fields(None, spec)
    avatar = AvatarDiff(None, _image(spec, head)) if spec.avatar else None
    return ModelDiff(model_id, "added", spec.name, spec.base, fields=fields, avatar=avatar)


def _cloned(
    model_id: str,
    source: str,
    by_commit: Mapping[str, str],
    renames: Mapping[str, str],
    base: Side,
    head: Side,
) -> ModelDiff:
    """Compared with the source as it was at BASE (as it is at HEAD if it is new too)."""
    spec = head.specs[model_id]
    side = base if source in base.specs else head
    original = side.specs.get(source)
    how: Detected = "commit" if by_commit.get(model_id) == source else "content"
    fields = own_fields(original, spec)
    if original is not None:
        fields += inherited_fields(model_id, source, side.specs, head.specs, renames)
    return ModelDiff(
        model_id,
        "cloned",
        spec.name,
        spec.base,
        source,
        how,
        fields=fields,
        avatar=_avatar(original, side, spec, head),
    )


def _changed(
    model_id: str,
    old: str,
    base: Side,
    head: Side,
    renames: Mapping[str, str],
    detected: Detected | None,
) -> ModelDiff | None:
    before, after = base.specs[old], head.specs[model_id]
    fields = own_fields(before, after)
    fields += inherited_fields(model_id, old, base.specs, head.specs, renames)
    avatar = _avatar(before, base, after, head)
    renamed = old != model_id
    if not (fields or avatar or renamed):
        return None
    return ModelDiff(
        model_id,
        "renamed" if renamed else "changed",
        after.name,
        after.base,
        old if renamed else None,
        detected if renamed else None,
        labels(before, after),
        fields,
        avatar,
    )


def _image(spec: ModelSpec | None, side: Side) -> Image | None:
    if spec is None or spec.avatar is None:
        return None
    data = None if ":" in spec.avatar else side.read(spec.avatar)
    return Image(spec.avatar, data)


def _avatar(
    before: ModelSpec | None, base: Side, after: ModelSpec, head: Side
) -> AvatarDiff | None:
    old, new = _image(before, base), _image(after, head)
    if old == new:
        return None
    return AvatarDiff(old, new)


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted keys; lists and scalars are leaves. An empty list or mapping
    means what an absent one does (no tags, nobody granted), except for a parameter, where
    an empty `stop` list overrides the base's."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out |= flatten(value, f"{name}.")
        elif value or value is False or value == 0 or name.startswith("parameters."):
            out[name] = value
    return out


def _own(spec: ModelSpec | None) -> dict[str, Any]:
    if spec is None:
        return {}
    data = {k: v for k, v in spec.to_data().items() if k not in _OWN_ONLY}
    return flatten(data)


_PARAMETERS = list(CATALOGUE)


def _field_rank(key: str) -> tuple[int, int]:
    """Fields in the order of a model file; parameters in the catalogue's order."""
    top, _, rest = key.partition(".")
    rank = FIELDS.index(top) if top in FIELDS else len(FIELDS)
    if top == "parameters":
        return rank, _PARAMETERS.index(rest) if rest in _PARAMETERS else len(_PARAMETERS)
    return rank, 0


def own_fields(before: ModelSpec | None, after: ModelSpec | None) -> tuple[FieldDiff, ...]:
    """The fields a model's own file changes, in the canonical order of a model file."""
    old, new = _own(before), _own(after)
    keys = sorted(dict.fromkeys([*old, *new]), key=_field_rank)
    return tuple(FieldDiff(k, old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k))


def _effective(specs: Mapping[str, ModelSpec], model_id: str) -> dict[str, Any]:
    values = effective(specs, model_id)
    out: dict[str, Any] = {
        "base": base_chain(specs, model_id)[-1],
        "system": values.system,
        "template": values.template,
        "messages": [{"role": r, "content": c} for r, c in values.messages]
        if values.messages
        else None,
        "license": list(values.license) or None,
    }
    out |= {f"parameters.{k}": v for k, v in values.parameters.items()}
    return out


def _own_value(spec: ModelSpec | None, key: str) -> Any:
    if spec is None:
        return None
    if key.startswith("parameters."):
        return (spec.parameters or {}).get(key.split(".", 1)[1])
    value = getattr(spec, key)
    if key == "messages" and value:
        return [m.model_dump() for m in value]
    return value


def inherited_fields(
    model_id: str,
    old: str,
    before: Mapping[str, ModelSpec],
    after: Mapping[str, ModelSpec],
    renames: Mapping[str, str],
) -> tuple[FieldDiff, ...]:
    """Values that change for `model_id` (`old` at BASE) through its chain of bases, while its
    own file leaves them as they were."""
    old_values, new_values = _effective(before, old), _effective(after, model_id)
    out = []
    for key in sorted(dict.fromkeys([*old_values, *new_values]), key=_field_rank):
        a, b = old_values.get(key), new_values.get(key)
        if a == b or _own_value(before[old], key) != _own_value(after[model_id], key):
            continue
        via = _origin(model_id, key, before, after, renames)
        out.append(FieldDiff(key, a, b, via))
    return tuple(out)


def _origin(
    model_id: str,
    key: str,
    before: Mapping[str, ModelSpec],
    after: Mapping[str, ModelSpec],
    renames: Mapping[str, str],
) -> str:
    """The nearest registry base whose own value of `key` changed, or that sets it."""
    ancestors = [m for m in base_chain(after, model_id)[1:] if m in after]
    own_key = "base" if key == "base" else key
    for ancestor in ancestors:
        now = after[ancestor]
        then = before.get(renames.get(ancestor, ancestor))
        if _own_value(then, own_key) != _own_value(now, own_key):
            return ancestor
        if key != "base" and _own_value(now, own_key) is not None:
            return ancestor
    return ancestors[0] if ancestors else after[model_id].base


def _grants(spec: ModelSpec) -> set[str]:
    access = spec.access
    if access is None:
        return set()
    out = {"everyone"} if access.public else set()
    for mode, principals in (("", access.read), (" (write)", access.write)):
        if principals is None:
            continue
        out |= {f"group {g}{mode}" for g in principals.groups}
        out |= {f"user {u}{mode}" for u in principals.users}
    return out


def labels(before: ModelSpec, after: ModelSpec) -> tuple[str, ...]:
    """What a change means in Open WebUI's words: hidden, shared with whom, and so on."""
    out = []
    if bool(before.hidden) != bool(after.hidden):
        out.append("hidden" if after.hidden else "unhidden")
    if (before.active is not False) != (after.active is not False):
        out.append("activated" if after.active is not False else "deactivated")
    old, new = _grants(before), _grants(after)
    if new - old:
        out.append("shared with " + ", ".join(sorted(new - old)))
    if old - new:
        out.append("no longer shared with " + ", ".join(sorted(old - new)))
    return tuple(out)
