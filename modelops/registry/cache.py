"""The validated-file cache: what checking a registry file found, keyed by the id git gives the
file's content, so that a file nobody changed is not parsed and checked again.

The key is the blob id (SHA-1 of `blob <size>\\0` and the bytes): read from the tree at a
revision, or computed from the bytes of a work-tree file, so an entry can never describe other
content, and a file edited but not yet staged is checked afresh. The cache as a whole belongs to
one version of the checks: its fingerprint covers modelops's spec package, the loader and the
libraries they use (pydantic, PyYAML, Pillow), and a cache with another fingerprint is dropped.

It lives in `.git/modelops/validated.json` (never committed), is written in one step only
when a load added something, and holds at most `MAX_ENTRIES` entries and about `MAX_BYTES`,
dropping those unused the longest. A cache that cannot be read is empty; one that cannot be
written is not written. `Cache.off()` is a cache that keeps nothing (`--no-cache`,
`MODELOPS_NO_CACHE=1`).
"""

from __future__ import annotations

import gc
import hashlib
import importlib.util
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from modelops.registry.files import write_atomic

FILE = "validated.json"
FORMAT = 1
MAX_ENTRIES = 20_000
MAX_BYTES = 64 * 1024 * 1024
_LIBRARIES = ("pydantic", "pydantic_core", "yaml", "PIL")


def blob_id(content: bytes) -> str:
    """The id git gives a file with this content."""
    header = b"blob %d\0" % len(content)
    return hashlib.sha1(header + content, usedforsecurity=False).hexdigest()


def git_dir(folder: Path) -> Path | None:
    """The git directory of the work tree holding `folder` (a linked work tree's own one), found
    without running git; None outside a work tree."""
    for candidate in (folder, *folder.parents):
        dot = candidate / ".git"
        if dot.is_dir():
            return dot
        if dot.is_file():
            try:
                text = dot.read_text(errors="replace").strip()
            except OSError:
                return None
            if not text.startswith("gitdir:"):
                return None
            return (candidate / text.removeprefix("gitdir:").strip()).resolve()
    return None


def fingerprint() -> str:
    """What the cached results depend on besides the files: the checking code and libraries,
    named by path, size and modification time (an upgrade or an edit changes them)."""
    package = Path(__file__).resolve().parent.parent
    files = [
        *sorted((package / "spec").glob("*.py")),
        package / "registry" / "snapshot.py",
        package / "registry" / "cache.py",
        package / "__init__.py",
    ]
    for name in _LIBRARIES:
        found = importlib.util.find_spec(name)
        if found is not None and found.origin:
            files.append(Path(found.origin))
    parts = []
    for path in files:
        stat = path.stat()
        parts.append(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}")
    return hashlib.sha1("\n".join(parts).encode(), usedforsecurity=False).hexdigest()


class Cache:
    """Entries by key (a kind and a blob id), each a list of JSON values."""

    def __init__(
        self, path: Path | None, *, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES
    ) -> None:
        self.path = path
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self._entries: dict[str, list[Any]] | None = None
        self._fingerprint = ""
        self._generation = 0
        self._used: set[str] = set()
        self._dirty = False

    @staticmethod
    def off() -> Cache:
        return Cache(None)

    @staticmethod
    def for_folder(folder: Path) -> Cache:
        """The cache of the git work tree that holds `folder`; none outside of one."""
        found = git_dir(folder)
        return Cache(found / "modelops" / FILE if found is not None else None)

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def get(self, key: str) -> list[Any] | None:
        """The entry stored under `key`, or None."""
        if self.path is None:
            return None
        entry = self._load().get(key)
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        self._used.add(key)
        return entry[1:]

    def put(self, key: str, entry: list[Any]) -> None:
        if self.path is None:
            return
        self._load()[key] = [0, *entry]
        self._used.add(key)
        self._dirty = True

    def save(self) -> None:
        """Write the cache if something was added: the entries used since the last save are
        marked as the newest, and the oldest go when there are too many."""
        if self.path is None or self._entries is None or not self._dirty:
            return
        self._generation += 1
        for key in self._used:
            if key in self._entries:
                self._entries[key][0] = self._generation
        self._entries = self._bounded(self._entries)
        document = {
            "format": FORMAT,
            "fingerprint": self._fingerprint,
            "generation": self._generation,
            "entries": self._entries,
        }
        try:
            text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
            write_atomic(self.path, text.encode(), durable=False)
        except (OSError, ValueError):
            pass  # a cache that cannot be written is only slower next time
        self._used.clear()
        self._dirty = False

    def _bounded(self, entries: dict[str, list[Any]]) -> dict[str, list[Any]]:
        kept: dict[str, list[Any]] = {}
        size = 0
        newest_first = sorted(entries.items(), key=lambda item: item[1][0], reverse=True)
        for key, entry in newest_first:
            size += len(key) + sum(len(v) for v in entry if isinstance(v, str)) + 64
            if len(kept) >= self.max_entries or size > self.max_bytes:
                break
            kept[key] = entry
        return kept

    def _load(self) -> dict[str, list[Any]]:
        if self._entries is not None:
            return self._entries
        self._entries = {}
        self._fingerprint = fingerprint()
        assert self.path is not None
        try:
            raw = self.path.read_bytes()
        except OSError:
            return self._entries
        try:
            with _no_collection():  # many small containers: collecting meanwhile triples the time
                document = json.loads(raw)
        except ValueError:
            return self._entries
        if (
            not isinstance(document, dict)
            or document.get("format") != FORMAT
            or document.get("fingerprint") != self._fingerprint
            or not isinstance(document.get("entries"), dict)
            or not isinstance(document.get("generation"), int)
        ):
            return self._entries  # another version of the checks, or not ours
        self._generation = document["generation"]
        self._entries = {
            key: entry
            for key, entry in document["entries"].items()
            if isinstance(entry, list) and entry and isinstance(entry[0], int)
        }
        return self._entries


@contextmanager
def _no_collection() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
