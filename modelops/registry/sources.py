"""Where registry files are read from: the work tree, a git revision, or either of them with
some files replaced (which is how a write is validated before it is written). Paths are
registry-relative and '/'-separated. A revision also knows each file's git blob id without
reading the file, which is what the validated-file cache is keyed by."""

from __future__ import annotations

import errno
import functools
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from modelops.errors import Problem, SpecError
from modelops.registry.files import NO_FOLLOW
from modelops.spec.avatar import size_text

if TYPE_CHECKING:
    from modelops.registry.git import Repo

# No registry file is read past this: model files stop at 1 MiB, avatars at 256 KiB and a
# conversation's images at 20 MiB, so a larger file is a mistake, and never read into memory.
FILE_LIMIT = 32 * 1024 * 1024


class Source(Protocol):
    def list(self, folder: str) -> list[str]:
        """The regular files directly in `folder` (never links)."""
        ...

    def others(self, folder: str) -> dict[str, str]:
        """What else is directly in `folder`: path -> "link" or "folder"."""
        ...

    def read(self, path: str) -> bytes | None:
        """A regular file's bytes; None when it is missing or reached through a link."""
        ...

    def shown(self, path: str) -> str: ...

    def known_blob(self, path: str) -> str | None:
        """The file's git blob id when it is known without reading the file, else None."""
        ...


def _as_in_work_tree(display_root: str, path: str) -> str:
    return path if display_root in ("", ".") else f"{display_root}/{path}"


def too_large(shown: str, size: int) -> SpecError:
    why = (
        f"is {size_text(size)}; no registry file may be over {size_text(FILE_LIMIT)} "
        "(move it out of the registry)"
    )
    return SpecError([Problem(shown, 0, 0, "", why)])


@dataclass(frozen=True)
class WorkTree:
    root: Path
    display_root: str  # how the registry folder is printed, e.g. "registry" or "."
    # os rather than pathlib below: these run once per file, and a registry may hold 10,000
    _top: str = field(init=False, repr=False, compare=False)
    _folders: dict[str, bool] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_top", os.fspath(self.root) + os.sep)

    def _linked(self, path: str) -> bool:
        """Whether `path`, or a folder on the way to it, is a symbolic link."""
        parts = path.split("/")
        return any(Path(self._top, *parts[: i + 1]).is_symlink() for i in range(len(parts)))

    def _scan(self, folder: str) -> list[os.DirEntry[str]]:
        if self._linked(folder):
            return []
        try:
            with os.scandir(self._top + folder) as entries:
                return sorted(entries, key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            return []

    def list(self, folder: str) -> list[str]:
        return [
            f"{folder}/{e.name}" for e in self._scan(folder) if e.is_file(follow_symlinks=False)
        ]

    def others(self, folder: str) -> dict[str, str]:
        kinds = {
            f"{folder}/{e.name}": "link" if e.is_symlink() else "folder"
            for e in self._scan(folder)
            if e.is_symlink() or e.is_dir(follow_symlinks=False)
        }
        if self._linked(folder):
            kinds[folder] = "link"
        return kinds

    def read(self, path: str) -> bytes | None:
        folder = path.rpartition("/")[0]
        if folder and self._folder_linked(folder):
            return None
        full = self._top + path
        if not NO_FOLLOW and Path(full).is_symlink():
            return None
        try:  # os.open and os.read: half the time of open().read(), for 10,000 files
            fd = os.open(full, os.O_RDONLY | NO_FOLLOW | _NO_WAIT)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # the file is a symbolic link
                return None
            raise
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return None  # a folder, a pipe, a device: never waited on
            chunks, size = [], 0
            while size <= FILE_LIMIT and (chunk := os.read(fd, 1 << 20)):
                chunks.append(chunk)
                size += len(chunk)
            if size > FILE_LIMIT:
                raise too_large(self.shown(path), max(size, info.st_size))
            return b"".join(chunks)
        finally:
            os.close(fd)

    def _folder_linked(self, folder: str) -> bool:
        if folder not in self._folders:
            self._folders[folder] = self._linked(folder)
        return self._folders[folder]

    def shown(self, path: str) -> str:
        return _as_in_work_tree(self.display_root, path)

    def known_blob(self, path: str) -> str | None:
        return None  # the file may differ from the index: its bytes say what it holds


@dataclass(frozen=True)
class Nothing:
    """No files at all: a registry before its first commit."""

    display_root: str

    def list(self, folder: str) -> list[str]:
        return []

    def others(self, folder: str) -> dict[str, str]:
        return {}

    def read(self, path: str) -> bytes | None:
        return None

    def shown(self, path: str) -> str:
        return _as_in_work_tree(self.display_root, path)

    def known_blob(self, path: str) -> str | None:
        return None


@dataclass(frozen=True)
class Revision:
    """Registry files as committed at one revision."""

    repo: Repo
    sha: str
    label: str
    prefix: str  # the registry folder, relative to the repository top ("" at the top)
    display_root: str | None = None  # set: paths are shown as in the work tree
    # blob ids by repository path, by folder: listing a folder once names all its files
    _listings: dict[str, dict[str, str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def _full(self, path: str) -> str:
        return f"{self.prefix}/{path}" if self.prefix else path

    def _listing(self, folder: str) -> dict[str, str]:
        if folder not in self._listings:
            self._listings[folder] = self.repo.list_tree(self.sha, folder)
        return self._listings[folder]

    def list(self, folder: str) -> list[str]:
        cut = len(self.prefix) + 1 if self.prefix else 0
        return sorted(p[cut:] for p in self._listing(self._full(folder)))

    def others(self, folder: str) -> dict[str, str]:
        cut = len(self.prefix) + 1 if self.prefix else 0
        found = self.repo.others_in_tree(self.sha, self._full(folder))
        return {path[cut:]: kind for path, kind in found.items()}

    def read(self, path: str) -> bytes | None:
        blob = self.known_blob(path)  # a file the listing lacks is not there: nothing to ask git
        if blob is None:
            return None
        same = self._from_work_tree(path, blob)
        if same is not None:
            return same
        from modelops.registry.git import ObjectTooLarge

        try:
            return self.repo.read_object(blob, FILE_LIMIT)
        except ObjectTooLarge as exc:
            raise too_large(self.shown(path), exc.size) from None

    @functools.cached_property
    def _work_tree(self) -> WorkTree:
        return WorkTree(self.repo.top, "")

    def _from_work_tree(self, path: str, blob: str) -> bytes | None:
        """The work tree's copy of the file when it holds this very content (its bytes hash to
        `blob`): usually so, and a read from git costs a process (gitpython's import too)."""
        try:
            content = self._work_tree.read(self._full(path))
        except (OSError, SpecError):
            return None
        return content if content is not None and self.repo.blob_id(content) == blob else None

    def shown(self, path: str) -> str:
        if self.display_root is not None:
            return _as_in_work_tree(self.display_root, path)
        return f"{self.label}:{self._full(path)}"

    def known_blob(self, path: str) -> str | None:
        full = self._full(path)
        return self._listing(full.rpartition("/")[0]).get(full)


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

    def others(self, folder: str) -> dict[str, str]:
        return {p: k for p, k in self.base.others(folder).items() if p not in self.changes}

    def read(self, path: str) -> bytes | None:
        if path in self.changes:
            return self.changes[path]
        return self.base.read(path)

    def shown(self, path: str) -> str:
        return self.base.shown(path)

    def known_blob(self, path: str) -> str | None:
        return None if path in self.changes else self.base.known_blob(path)


_NO_WAIT = getattr(os, "O_NONBLOCK", 0)  # opening a named pipe must not wait for a writer
