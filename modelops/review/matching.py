"""Which added model is a removed one renamed, and which is a clone of another: first from the
trailers modelops writes on its commits, then by content, so that a rename or a copy made by
hand reads as one too, not as a delete and an add. Pure."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Protocol

from modelops.spec.model import ModelSpec

# A removed and an added model on the same base are one model renamed when at least this share
# of the fields either sets (the id aside) hold the same value: a rename with a small edit
# still reads as a rename, two different models on one base do not.
SIMILARITY = 0.75


class Logged(Protocol):
    """A commit between the two sides (`modelops.registry.history.Entry`)."""

    @property
    def sha(self) -> str: ...
    @property
    def op(self) -> str: ...  # the Modelops-Op trailer, "commit" for one made by hand
    @property
    def models(self) -> tuple[str, ...]: ...
    @property
    def source(self) -> str | None: ...  # the Modelops-Source trailer
    @property
    def subject(self) -> str: ...


def from_commits(
    commits: Sequence[Logged], before: Collection[str], after: Collection[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Renames (new id -> id at BASE) and clones (new id -> source) that the commits record.
    A chain of renames (a to b, then b to c) is one rename; one renamed back is none."""
    origins: dict[str, str] = {}
    clones: dict[str, str] = {}
    for commit in reversed(commits):  # oldest first
        if not commit.models or not commit.source:
            continue
        new = commit.models[0]
        if commit.op == "rename":
            origins[new] = origins.pop(commit.source, commit.source)
        elif commit.op == "clone":
            clones[new] = commit.source
    renames = {
        new: old
        for new, old in origins.items()
        if new != old and new in after and new not in before and old in before and old not in after
    }
    return renames, clones


def _fields(spec: ModelSpec, drop: tuple[str, ...]) -> dict[str, str]:
    return {k: json.dumps(v, sort_keys=True) for k, v in spec.to_data().items() if k not in drop}


def _similarity(a: dict[str, str], b: dict[str, str]) -> float:
    keys = set(a) | set(b)
    if not keys:
        return 1.0
    return sum(1 for k in keys if a.get(k) == b.get(k)) / len(keys)


def renames_by_content(
    removed: Mapping[str, ModelSpec], added: Mapping[str, ModelSpec]
) -> dict[str, str]:
    """Pairs (new id -> old id) of a removed and an added model that are one model renamed:
    the most similar pairs first, each model in at most one pair."""
    by_base: dict[str, list[str]] = {}
    for new, spec in added.items():
        by_base.setdefault(spec.base, []).append(new)
    scored: list[tuple[float, str, str]] = []
    for old, spec in removed.items():
        mine = _fields(spec, ("id",))
        for new in by_base.get(spec.base, []):
            score = _similarity(mine, _fields(added[new], ("id",)))
            if score >= SIMILARITY:
                scored.append((-score, old, new))
    out: dict[str, str] = {}
    taken: set[str] = set()
    for _, old, new in sorted(scored):
        if old not in taken and new not in out:
            out[new] = old
            taken.add(old)
    return out


def _fingerprint(spec: ModelSpec) -> str:
    return json.dumps(_fields(spec, ("id", "name")), sort_keys=True)


def clones_by_content(
    added: Sequence[str], specs: Mapping[str, ModelSpec], before: Collection[str]
) -> dict[str, str]:
    """Added models equal to another model but for their id and name: new id -> the model
    copied (one that existed at BASE if there is one, else the first by id)."""
    prints: dict[str, list[str]] = {}
    for model_id in sorted(specs, key=lambda m: (m not in before, m)):
        prints.setdefault(_fingerprint(specs[model_id]), []).append(model_id)
    out: dict[str, str] = {}
    for new in added:
        same = [m for m in prints[_fingerprint(specs[new])] if m != new and m not in added]
        if same:
            out[new] = same[0]
    return out
