"""Writing files so that a reader never sees half of one: a temporary file on the same file
system, flushed to disk, then renamed over the old one. The registry's model files and its
state under `.git/modelops/` are all written this way. And reading a file a user names with a
bound: never more than the limit, never a device such as /dev/zero, never waiting on a FIFO
unasked."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import BinaryIO

from modelops.spec.avatar import size_text


def write_atomic(
    path: Path, content: bytes | None, scratch: Path | None = None, durable: bool = True
) -> None:
    """Replace `path` in one step; None deletes it (see `write_files`)."""
    write_files({path: content}, scratch, durable=durable)


def write_files(
    files: Mapping[Path, bytes | None] | Mapping[str, bytes | None],
    scratch: Path | None = None,
    *,
    durable: bool = True,
    ready: dict[str, tuple[str, bytes]] | None = None,
) -> None:
    """Replace each file in one step, keeping its mode; None deletes it. The temporary file is
    made in `scratch` when given (so a crash never leaves one beside the registry's files),
    else beside the file; a `scratch` on another file system falls back to beside the file.
    Not `durable`: the data is not forced to disk first (for copies that can be recovered,
    like the work-tree files of a commit). Each folder is made and compared with `scratch`'s
    file system once, not once per file: an import writes thousands into one folder. Paths are
    handled as strings with os calls: pathlib's objects cost a third of the time here.
    `ready`: temporary files in `scratch` already holding some of the contents, by target
    (created ahead: see `modelops.registry.ahead`); those used are renamed into place and
    taken out of it. Only for writes that need not be durable."""
    device = None
    if scratch is not None:
        scratch.mkdir(parents=True, exist_ok=True)
        device = os.stat(scratch).st_dev
    tmp_in: dict[str, str] = {}
    token = os.urandom(6).hex()
    pairs: Iterable[tuple[str | Path, bytes | None]] = files.items()
    for count, (target, content) in enumerate(pairs):
        path = os.fspath(target)
        if content is None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            continue
        folder, name = os.path.split(path)
        if folder not in tmp_in:
            os.makedirs(folder or os.curdir, exist_ok=True)
            near = scratch is not None and os.stat(folder or os.curdir).st_dev == device
            tmp_in[folder] = os.fspath(scratch) if near and scratch is not None else folder
        tmp = os.path.join(tmp_in[folder], f".{name}.{token}-{count}.tmp")
        try:
            mode = os.stat(path).st_mode & 0o777
        except FileNotFoundError:
            mode = 0o644
        if ready and not durable and tmp_in[folder] != folder:  # in scratch's file system
            ahead = ready.get(path)
            if ahead is not None and ahead[1] == content:
                del ready[path]
                if mode != 0o644:  # created ahead as a new file is
                    os.chmod(ahead[0], mode)
                os.replace(ahead[0], path)
                continue
        try:
            write_new(tmp, content, mode, durable=durable)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


def write_new(path: str, content: bytes, mode: int = 0o644, *, durable: bool = False) -> None:
    """Create `path`, which must not exist yet (nor be a link), holding `content` with `mode`:
    the temporary file of a write. With os calls, not a file object: each of those costs three
    more system calls."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NO_FOLLOW, 0o600)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view) :]
        os.fchmod(fd, mode)
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)  # not on Windows: callers check for links there


def read_optional(path: str | Path) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def digest(content: bytes | None) -> str | None:
    return None if content is None else hashlib.sha256(content).hexdigest()


class Unreadable(Exception):
    """Why a file cannot be read, as words that follow its name ("is a folder")."""


def read_limited(path: Path, limit: int, *, streams: bool = False) -> bytes:
    """The bytes of a regular file of at most `limit` bytes. With `streams`, a pipe or FIFO is
    read too, until it ends or passes the limit (waiting for its writer, as `cat` does). A
    device (/dev/zero), a folder or a socket is refused without reading it."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise Unreadable("does not exist") from None
    except OSError as exc:
        raise Unreadable(f"cannot be read ({exc.strerror})") from None
    mode = info.st_mode
    if stat.S_ISREG(mode) and info.st_size > limit:
        raise Unreadable(f"is {size_text(info.st_size)}; the limit is {size_text(limit)}")
    if stat.S_ISDIR(mode):
        raise Unreadable("is a folder, not a file")
    if not (stat.S_ISREG(mode) or (streams and stat.S_ISFIFO(mode))):
        raise Unreadable(f"is {_kind(mode)}, not a regular file")
    try:
        with path.open("rb") as handle:
            return read_stream(handle, limit)
    except OSError as exc:
        raise Unreadable(f"cannot be read ({exc.strerror})") from None


def read_stream(handle: BinaryIO, limit: int) -> bytes:
    """Everything `handle` holds, or Unreadable as soon as it passes `limit` bytes."""
    data = handle.read(limit + 1)
    if len(data) > limit:
        raise Unreadable(f"is larger than {size_text(limit)}, the limit")
    return data


def _kind(mode: int) -> str:
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"
