"""Where registry files are read from: the work tree, a git revision, or either of them with
some files replaced (which is how a write is validated before it is written). Paths are
registry-relative and '/'-separated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # gitpython costs ~100 ms to import: only revisions pay for it
    from modelops.registry.git import Repo


class Source(Protocol):
    def list(self, folder: str) -> list[str]: ...
    def read(self, path: str) -> bytes | None: ...
    def shown(self, path: str) -> str: ...


def _as_in_work_tree(display_root: str, path: str) -> str:
    return path if display_root in ("", ".") else f"{display_root}/{path}"


@dataclass(frozen=True)
class WorkTree:
    root: Path
    display_root: str  # how the registry folder is printed, e.g. "registry" or "."

    def list(self, folder: str) -> list[str]:
        directory = self.root / folder
        if not directory.is_dir():
            return []
        return sorted(f"{folder}/{p.name}" for p in directory.iterdir() if p.is_file())

    def read(self, path: str) -> bytes | None:
        try:
            return (self.root / path).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def shown(self, path: str) -> str:
        return _as_in_work_tree(self.display_root, path)


@dataclass(frozen=True)
class Nothing:
    """No files at all: a registry before its first commit."""

    display_root: str

    def list(self, folder: str) -> list[str]:
        return []

    def read(self, path: str) -> bytes | None:
        return None

    def shown(self, path: str) -> str:
        return _as_in_work_tree(self.display_root, path)


@dataclass(frozen=True)
class Revision:
    """Registry files as committed at one revision."""

    repo: Repo
    sha: str
    label: str
    prefix: str  # the registry folder, relative to the repository top ("" at the top)
    display_root: str | None = None  # set: paths are shown as in the work tree

    def _full(self, path: str) -> str:
        return f"{self.prefix}/{path}" if self.prefix else path

    def list(self, folder: str) -> list[str]:
        cut = len(self.prefix) + 1 if self.prefix else 0
        return sorted(p[cut:] for p in self.repo.list_tree(self.sha, self._full(folder)))

    def read(self, path: str) -> bytes | None:
        return self.repo.read_blob(self.sha, self._full(path))

    def shown(self, path: str) -> str:
        if self.display_root is not None:
            return _as_in_work_tree(self.display_root, path)
        return f"{self.label}:{self._full(path)}"


@dataclass(frozen=True)
class Overlay:
    """A source with some files replaced (bytes) or removed (None)."""

    base: Source
    changes: Mapping[str, bytes | None]

    def list(self, folder: str) -> list[str]:
        names = set(self.base.list(folder))
        for path, content in self.changes.items():
            if path.rsplit("/", 1)[0] == folder:
                (names.add if content is not None else names.discard)(path)
        return sorted(names)

    def read(self, path: str) -> bytes | None:
        if path in self.changes:
            return self.changes[path]
        return self.base.read(path)

    def shown(self, path: str) -> str:
        return self.base.shown(path)
