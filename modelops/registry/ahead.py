"""Creating a commit's files ahead of it, in a helper process, while this one goes on.

Creating a file is most of what writing a thousand small ones costs: 0.05 to 0.8 ms each on the
machines measured, depending on how busy the disk is, spent in the kernel, not in Python. An
import knows each file as soon as it has rendered it, long before its commit. `Ahead` hands
each one to a helper process, which creates it as a temporary file in the transaction's
scratch folder while this process goes on converting and checking; after the commit, putting
the files into the work tree is then mostly renames (`write_files(..., ready=...)`). A thread
could not do it: after each system call it would wait for the interpreter lock, which the
converting thread holds.

Nothing reaches the work tree early: the temporary files are the helper's only output, those
not used are removed (after a crash, the next transaction's `recover` removes them), and a
file whose content changed since it was handed over is written again. A helper that fails or
cannot start costs only time: the files are then written the usual way.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

START_AT = 64  # files: fewer are written sooner than a helper process starts
CHUNK = 64 * 1024  # bytes handed to the helper at a time
PIPE_BYTES = 1024 * 1024  # the pipe to the helper, widened where the system allows

# The helper: reads records (a line "<name length> <content length>", the name, the content)
# until its input ends, creating each file as write_files creates a new one.
_HELPER = """\
import os, sys
folder, stream = sys.argv[1], sys.stdin.buffer
flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
while head := stream.readline():
    name_size, size = map(int, head.split())
    name, content = stream.read(name_size).decode(), stream.read(size)
    fd = os.open(os.path.join(folder, name), flags, 0o600)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view):]
        os.fchmod(fd, 0o644)
    finally:
        os.close(fd)
"""

Ready = dict[str, tuple[str, bytes]]  # target path -> (temporary file holding it, its content)


class Ahead:
    """Files handed over by their target path (a string, as `write_files` gets it), created
    ahead in `scratch` once there are START_AT of them."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self._waiting: list[tuple[str, bytes]] = []  # until the helper starts
        self._sent: Ready = {}  # target -> (temporary file, content), the latest per target
        self._names: list[str] = []  # every temporary file the helper was asked to create
        self._buffer = bytearray()
        self._helper: subprocess.Popen[bytes] | None = None
        self._token = os.urandom(6).hex()
        self._failed = False
        self._ready: Ready | None = None

    @property
    def started(self) -> bool:
        return self._helper is not None

    def add(self, target: str, content: bytes) -> None:
        """`content` will probably be written to `target`."""
        if self._failed or self._ready is not None:
            return
        if self._helper is None:
            self._waiting.append((target, content))
            if len(self._waiting) >= START_AT:
                self._start()
            return
        self._send(target, content)

    def take(self) -> Ready:
        """The files created ahead, once the helper has finished: a temporary file and its
        content by target. `write_files` takes from it what it uses; `close` removes the rest.
        Empty when the helper never started or failed."""
        if self._ready is None:
            self._ready = {}
            if self._helper is not None and self._finish():
                self._ready = {t: (str(self.scratch / n), c) for t, (n, c) in self._sent.items()}
        return self._ready

    def close(self) -> None:
        """Stop the helper if it still runs and remove every temporary file left unused."""
        helper = self._helper
        if helper is not None and helper.poll() is None:
            helper.kill()
            helper.wait()
        used = {n for n, _ in self._sent.values()} - {
            Path(tmp).name for tmp, _ in (self._ready or {}).values()
        }
        if self._failed or self._ready is None:
            used = set()
        for name in self._names:
            if name not in used:
                with contextlib.suppress(FileNotFoundError):
                    (self.scratch / name).unlink()
        self._names.clear()

    def _start(self) -> None:
        try:
            self.scratch.mkdir(parents=True, exist_ok=True)
            self._helper = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _HELPER, str(self.scratch)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                bufsize=0,
            )
        except OSError:  # no interpreter to start (an embedded Python), no processes left
            self._fail()
            return
        _widen(self._helper)
        waiting, self._waiting = self._waiting, []
        for target, content in waiting:
            self._send(target, content)

    def _send(self, target: str, content: bytes) -> None:
        name = f".ahead-{self._token}-{len(self._names)}.tmp"
        self._names.append(name)
        self._sent[target] = (name, content)
        self._buffer += b"%d %d\n%s" % (len(name), len(content), name.encode())
        self._buffer += content
        if len(self._buffer) >= CHUNK:
            self._flush()

    def _flush(self) -> None:
        helper = self._helper
        if helper is None or helper.stdin is None or self._failed:
            return
        view = memoryview(bytes(self._buffer))
        self._buffer.clear()
        try:
            while view:
                view = view[os.write(helper.stdin.fileno(), view) :]
        except OSError:  # the helper has gone (a full disk, killed): write the usual way
            self._fail()

    def _finish(self) -> bool:
        helper = self._helper
        assert helper is not None and helper.stdin is not None
        self._flush()
        with contextlib.suppress(OSError):
            helper.stdin.close()
        if helper.wait() != 0:
            self._failed = True
        return not self._failed

    def _fail(self) -> None:
        self._failed = True
        self._waiting.clear()


def _widen(helper: subprocess.Popen[bytes]) -> None:
    """A pipe that holds a whole import of a thousand models, so that handing files over
    seldom waits for the helper (Linux only; elsewhere the pipe keeps its size)."""
    try:
        import fcntl

        size = getattr(fcntl, "F_SETPIPE_SZ", None)
        if size is not None and helper.stdin is not None:
            fcntl.fcntl(helper.stdin.fileno(), size, PIPE_BYTES)
    except (ImportError, OSError):  # not allowed that much: the default size works too
        pass
