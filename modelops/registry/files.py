"""Writing files so that a reader never sees half of one: a temporary file on the same file
system, flushed to disk, then renamed over the old one. The registry's model files and its
state under `.git/modelops/` are all written this way."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def write_atomic(
    path: Path, content: bytes | None, scratch: Path | None = None, durable: bool = True
) -> None:
    """Replace `path` in one step; None deletes it. The temporary file is made in `scratch`
    when given (so a crash never leaves one beside the registry's files), else beside `path`;
    a `scratch` on another file system falls back to beside `path`. Not `durable`: the data
    is not forced to disk first (for copies that can be recovered, like work-tree files of a
    commit)."""
    if content is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if scratch is not None:
        scratch.mkdir(parents=True, exist_ok=True)
        if scratch.stat().st_dev != path.parent.stat().st_dev:
            scratch = None
    folder = scratch or path.parent
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_optional(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def digest(content: bytes | None) -> str | None:
    return None if content is None else hashlib.sha256(content).hexdigest()
