"""The watcher's last good state, and how a batch of saved files is merged into it.

The last good state is the registry as last deployed, held in memory: `modelops.yaml`, the
model files and the avatars. A batch of files read from the work tree is merged into it: only
the files that changed are parsed again, and the registry they would make is checked as a
whole. A file that cannot be read or does not validate is rejected with its problems: its
model stays as it last was, so nothing is ever deleted because a file was half-written or
momentarily broken. A change that breaks other files (removing a model that another one is
based on) is rejected as a whole batch, and the rejected files are tried again with the next
batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from modelops.errors import Problem
from modelops.registry.snapshot import Snapshot, load
from modelops.registry.sources import Source
from modelops.spec.paths import CONFIG_FILE, MODELS_DIR

AVATARS_DIR = "avatars"


@dataclass(frozen=True)
class Unreadable:
    """A file that exists but could not be read, and why."""

    reason: str


Content = bytes | None | Unreadable  # None: the file does not exist


def watched(path: str) -> bool:
    """Whether a registry-relative path is one the registry is made of."""
    folder, _, name = path.rpartition("/")
    if not name or name.startswith("."):
        return False  # editor swap files, and the temporary files of atomic writes
    if folder == "":
        return name == CONFIG_FILE
    if folder == MODELS_DIR:
        return name.endswith((".yaml", ".yml"))
    return folder == AVATARS_DIR


def model_id(path: str) -> str | None:
    folder, _, name = path.rpartition("/")
    return name.removesuffix(".yaml") if folder == MODELS_DIR and name.endswith(".yaml") else None


@dataclass(frozen=True)
class Files:
    """Registry files held in memory, readable as a registry source."""

    content: Mapping[str, bytes]
    display_root: str

    def list(self, folder: str) -> list[str]:
        return sorted(p for p in self.content if p.rpartition("/")[0] == folder)

    def others(self, folder: str) -> dict[str, str]:
        return {}  # only regular files are ever taken in

    def read(self, path: str) -> bytes | None:
        return self.content.get(path)

    def shown(self, path: str) -> str:
        return path if self.display_root in ("", ".") else f"{self.display_root}/{path}"

    def known_blob(self, path: str) -> str | None:
        return None  # held in memory: the bytes say what a file is


@dataclass(frozen=True)
class Good:
    """The registry as last deployed."""

    files: Files
    snapshot: Snapshot

    @classmethod
    def of(cls, content: Mapping[str, bytes], display_root: str) -> Good:
        files = Files(dict(content), display_root)
        return cls(files, load(files))

    @classmethod
    def read(cls, source: Source, display_root: str) -> Good:
        """The registry files of `source` (a git revision), as a starting point."""
        paths = [CONFIG_FILE, *source.list(MODELS_DIR), *source.list(AVATARS_DIR)]
        content = {p: c for p in paths if watched(p) and (c := source.read(p)) is not None}
        return cls.of(content, display_root)

    @property
    def valid(self) -> bool:
        return not self.snapshot.problems

    def paths(self) -> set[str]:
        return set(self.files.content)


@dataclass(frozen=True)
class Merged:
    """The result of merging a batch into the last good state."""

    good: Good
    accepted: dict[str, bytes | None]  # the files that changed and are now live
    models: frozenset[str]  # registry ids whose definition (or avatar) changed, added or removed
    everything: bool  # modelops.yaml changed: every model is affected
    rejected: dict[str, list[Problem]] = field(default_factory=dict)


def merge(good: Good, batch: Mapping[str, Content]) -> Merged:
    """Merge the files of `batch` that differ from the last good state; reject the ones that
    cannot be read or validated, keeping their last good version."""
    files = good.files
    rejected: dict[str, list[Problem]] = {}
    pending: dict[str, bytes | None] = {}
    for path, content in sorted(batch.items()):
        if isinstance(content, Unreadable):
            why = f"cannot be read ({content.reason})"
            rejected[path] = [Problem(files.shown(path), 0, 0, "", why)]
        elif path.endswith(".yml") and content is not None:
            why = "model files end in .yaml (rename it)"
            rejected[path] = [Problem(files.shown(path), 0, 0, "", why)]
        elif content != files.read(path):
            pending[path] = content
    place = {files.shown(p): p for p in (*files.content, *batch)}
    while pending:
        candidate = good.snapshot.with_changes(pending)
        problems = candidate.problems
        if not problems:
            break
        by_path: dict[str, list[Problem]] = {}
        for problem in problems:
            by_path.setdefault(place.get(problem.path, problem.path), []).append(problem)
        blamed = [p for p in by_path if p in pending]
        if not blamed:  # the batch breaks files it did not touch: keep all of it back
            for path in pending:
                rejected[path] = [q for ps in by_path.values() for q in ps]
            pending = {}
            break
        for path in blamed:
            rejected[path] = by_path[path]
            del pending[path]
    if not pending:
        return Merged(good, {}, frozenset(), False, rejected)
    kept = {p: c for p, c in files.content.items() if p not in pending}
    kept.update({p: c for p, c in pending.items() if c is not None})
    new = Good(Files(kept, files.display_root), candidate)
    new.snapshot.source = new.files  # read from memory, never through the batch's overlay
    return Merged(new, pending, _affected(good, new, pending), CONFIG_FILE in pending, rejected)


def _affected(old: Good, new: Good, changed: Iterable[str]) -> frozenset[str]:
    """Models whose file or avatar changed, and those based on a model whose file changed (as
    their base was, or is now: a removed base changes what its children are built from)."""
    paths = set(changed)
    ids = {i for p in paths if (i := model_id(p)) is not None}
    affected = set(ids)
    for snapshot in (old.snapshot, new.snapshot):
        for model in snapshot.models.values():
            if model.spec.avatar in paths or model.spec.base in ids:
                affected.add(model.id)
    return frozenset(affected)
