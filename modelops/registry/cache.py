"""The validated-file cache: what checking a registry file found, keyed by the id git gives the
file's content, so that a file nobody changed is not parsed and checked again.

The key is the blob id (SHA-1 of `blob <size>\\0` and the bytes): read from the tree at a
revision, or computed from the bytes of a work-tree file, so an entry can never describe other
content, and a file edited but not yet staged is checked afresh. The cache as a whole belongs to
one version of the checks: its fingerprint covers modelops's spec package, the loader and the
libraries they use (pydantic, PyYAML, Pillow), and a cache with another fingerprint is dropped.

It lives in `.git/modelops/validated.tsv` (never committed), is written in one step only
when a load added something, and holds at most `MAX_ENTRIES` entries and about `MAX_BYTES`,
dropping those unused the longest. A cache that cannot be read is empty; one that cannot be
written is not written. `Cache.off()` is a cache that keeps nothing (`--no-cache`,
`MODELOPS_NO_CACHE=1`).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
from collections.abc import Iterator, Mapping
from pathlib import Path

from modelops.registry.files import write_atomic

FILE = "validated.tsv"
FORMAT = 2
_MAGIC = "modelops validated files"
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
    """Entries by key (a kind and a blob id), each a list of strings without tabs or newlines.

    On disk: a header line, then a line per entry: its key, the generation that last used it,
    and its fields, separated by tabs. Lines are split only when asked for, which keeps loading
    a cache of 10,000 files to a few hundredths of a second.
    """

    def __init__(
        self, path: Path | None, *, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES
    ) -> None:
        self.path = path
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self._entries: dict[str, str] | None = None  # key -> "generation\tfield\tfield..."
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

    def get(self, key: str) -> list[str] | None:
        """The fields stored under `key`, or None."""
        if self.path is None:
            return None
        line = self._load().get(key)
        if line is None:
            self.misses += 1
            return None
        self.hits += 1
        self._used.add(key)
        return line.split("\t")[1:]

    def put(self, key: str, fields: list[str]) -> None:
        """Keep `fields` under `key`; fields holding a tab or a newline are not kept."""
        if self.path is None or any("\t" in f or "\n" in f for f in (key, *fields)):
            return
        self._load()[key] = "\t".join(("0", *fields))
        self._used.add(key)
        self._dirty = True

    def save(self) -> None:
        """Write the cache if something was added: the entries used since the last save are
        marked as the newest, and the oldest go when there are too many."""
        if self.path is None or self._entries is None or not self._dirty:
            return
        self._generation += 1
        for key in self._used:
            line = self._entries.get(key)
            if line is not None:
                fields = line.partition("\t")[2]
                self._entries[key] = f"{self._generation}\t{fields}"
        self._entries = self._bounded(self._entries)
        header = f"{_MAGIC}\t{FORMAT}\t{self._fingerprint}\t{self._generation}"
        text = "\n".join([header, *(f"{k}\t{v}" for k, v in self._entries.items())]) + "\n"
        with contextlib.suppress(OSError):  # a cache not written is only slower next time
            write_atomic(self.path, text.encode(), durable=False)
        self._used.clear()
        self._dirty = False

    def _bounded(self, entries: dict[str, str]) -> dict[str, str]:
        def generation(item: tuple[str, str]) -> int:
            return int(item[1].partition("\t")[0] or 0)

        if len(entries) <= self.max_entries and sum(map(len, entries.values())) <= self.max_bytes:
            return entries
        kept: dict[str, str] = {}
        size = 0
        for key, line in sorted(entries.items(), key=generation, reverse=True):
            size += len(key) + len(line) + 2
            if len(kept) >= self.max_entries or size > self.max_bytes:
                break
            kept[key] = line
        return kept

    def _load(self) -> dict[str, str]:
        if self._entries is not None:
            return self._entries
        self._entries = {}
        self._fingerprint = fingerprint()
        assert self.path is not None
        try:
            text = self.path.read_bytes().decode()
        except (OSError, UnicodeDecodeError):
            return self._entries
        header, _, body = text.partition("\n")
        parts = header.split("\t")
        if len(parts) != 4 or parts[:3] != [_MAGIC, str(FORMAT), self._fingerprint]:
            return self._entries  # another version of the checks, or not ours
        if not parts[3].isdigit():
            return self._entries
        self._generation = int(parts[3])
        entries = {}
        for line in body.split("\n"):
            key, tab, rest = line.partition("\t")
            if tab and rest.partition("\t")[0].isdigit():
                entries[key] = rest
        self._entries = entries
        return entries


class Positions(Mapping[str, tuple[int, int]]):
    """Where a cached file's top-level keys are, as the cache keeps them (`id:3:1,base:5:1`),
    parsed only if a problem has to point at one."""

    __slots__ = ("_parsed", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._parsed: dict[str, tuple[int, int]] | None = None

    @staticmethod
    def text(positions: Mapping[str, tuple[int, int]]) -> str:
        """`positions` as the cache keeps them."""
        return ",".join(f"{key}:{line}:{col}" for key, (line, col) in positions.items())

    def _positions(self) -> dict[str, tuple[int, int]]:
        if self._parsed is None:
            self._parsed = {}
            for item in self._text.split(",") if self._text else ():
                name, _, place = item.partition(":")
                line, _, col = place.partition(":")
                if line.isdigit() and col.isdigit():
                    self._parsed[name] = (int(line), int(col))
        return self._parsed

    def __getitem__(self, key: str) -> tuple[int, int]:
        return self._positions()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._positions())

    def __len__(self) -> int:
        return len(self._positions())
