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
from typing import Literal

from modelops.review import matching
from modelops.review.fields import FieldDiff, inherited_fields, labels, own_fields
from modelops.review.matching import Logged
from modelops.spec.model import ModelSpec

Status = Literal["added", "removed", "renamed", "cloned", "changed"]
Detected = Literal["commit", "content"]  # how a rename or a clone was found
STATUS_ORDER: tuple[Status, ...] = ("added", "cloned", "renamed", "changed", "removed")


@dataclass(frozen=True)
class Side:
    """One side of a diff as the caller loaded it."""

    label: str  # how it is shown, e.g. "main (1a2b3c4d5e)" or "the work tree"
    specs: Mapping[str, ModelSpec]
    read: Callable[[str], bytes | None]  # a registry file's bytes on this side (avatars)
    broken: frozenset[str] = frozenset()  # ids whose files are there but cannot be read


@dataclass(frozen=True)
class CommitRef:
    sha: str
    op: str
    subject: str


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
    unreadable = base.broken | head.broken  # left out: neither removed nor added
    removed = sorted(set(base.specs) - set(head.specs) - set(renames.values()) - unreadable)
    added = sorted(set(head.specs) - set(base.specs) - set(renames) - unreadable)
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
        if model_id in base.broken:
            continue
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
