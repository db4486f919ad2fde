"""Creating a commit's files ahead of it, in a helper process, while this one goes on.

Creating a file is most of what writing a thousand small ones costs: 0.05 to 0.8 ms each on the
machines measured, depending on how busy the disk is, spent in the kernel, not in Python. An
import knows each file as soon as it has rendered it, long before its commit. `Ahead` hands
the files to helper processes, which create them as temporary files under the transaction's
scratch folder while this process goes on converting and checking; after the commit, putting
the files into the work tree is then mostly renames (`write_files(..., ready=...)`). An
import also says at its start how many files to expect (`reserve`): the helper creates them
empty while this process is still loading the registry and its libraries, and writes into
them when their content comes, as creating is the costly part and writing is not. A thread
could not do it: after each system call it would wait for the interpreter lock, which the
converting thread holds. There is one helper: a second, in a folder of its own (files made in
one folder are made one at a time), took as much CPU from the conversion, on two cores, as it
saved, in alternating runs.

Nothing reaches the work tree early: the temporary files are the helper's only output, those
not used are removed with its folder (after a crash, the next transaction's `recover`
removes them), and a file whose content changed since it was handed over is written again. A
helper that fails or cannot start costs only time: the files are then written the usual way.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

START_AT = 64  # files: fewer are written sooner than a helper process starts
CHUNK = 64 * 1024  # bytes handed to the helper at a time
PIPE_BYTES = 1024 * 1024  # the pipe to the helper, widened where the system allows

# The helper: reads records (a line "<name length> <content length>", the name, the content)
# until its input ends, writing each file as write_files writes a new one. A line "reserve N"
# creates the empty files 0.tmp to N-1.tmp first (the costly part), so a record names a file
# that is either there, empty and the helper's own, or not yet made.
_HELPER = """\
import os, sys
folder, stream = sys.argv[1], sys.stdin.buffer
flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
while head := stream.readline():
    if head.startswith(b"reserve "):
        for number in range(int(head.split()[1])):
            path = os.path.join(folder, f"{number}.tmp")
            os.close(os.open(path, flags | os.O_EXCL, 0o600))
        continue
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


@dataclass
class _Helper:
    folder: Path
    process: subprocess.Popen[bytes]
    buffer: bytearray = field(default_factory=bytearray)
    failed: bool = False

    def ask(self, line: bytes) -> None:
        """A command the helper carries out before the files that follow (see _HELPER)."""
        self.buffer += line
        self.flush()

    def send(self, name: str, content: bytes) -> None:
        self.buffer += b"%d %d\n%s" % (len(name), len(content), name.encode())
        self.buffer += content
        if len(self.buffer) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        view = memoryview(bytes(self.buffer))
        self.buffer.clear()
        stdin = self.process.stdin
        if self.failed or stdin is None:
            return
        try:
            while view:
                view = view[os.write(stdin.fileno(), view) :]
        except OSError:  # the helper has gone (a full disk, killed): write the usual way
            self.failed = True

    def finish(self) -> bool:
        """Whether every file handed over was created."""
        self.flush()
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        return self.process.wait() == 0 and not self.failed

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class Ahead:
    """Files handed over by their target path (a string, as `write_files` gets it), created
    ahead under `scratch` once there are START_AT of them."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self._waiting: list[tuple[str, bytes]] = []  # until the helper starts
        self._sent: Ready = {}  # target -> (temporary file, content), the latest per target
        self._helper: _Helper | None = None
        self._handed = 0  # files handed to the helper: the next one's number
        self._failed = False
        self._ready: Ready | None = None

    @property
    def started(self) -> bool:
        return self._helper is not None

    def reserve(self, count: int) -> None:
        """About `count` files will follow: have the helper create them empty now, while this
        process is still loading and converting (creating is the costly part; writing into a
        file that exists is not). A wrong guess costs nothing: a surplus is removed, and files
        past it are created when they come."""
        if count >= START_AT and self._helper is None and not self._failed:
            self._start()
            if self._helper is not None:
                self._helper.ask(b"reserve %d\n" % count)

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
        Empty when the helper never started, or failed."""
        if self._ready is None:
            done = self._helper is not None and self._helper.finish()
            self._ready = dict(self._sent) if done else {}
        return self._ready

    def close(self) -> None:
        """Stop the helper if it still runs and remove what it made and nobody used."""
        if self._helper is not None:
            self._helper.stop()
            shutil.rmtree(self._helper.folder, ignore_errors=True)
            self._helper = None

    def _start(self) -> None:
        folder = self.scratch / f"ahead-{os.urandom(6).hex()}"
        try:
            folder.mkdir(parents=True)
            process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _HELPER, str(folder)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                bufsize=0,
            )
        except OSError:  # no interpreter to start (an embedded Python), no processes left
            self._failed = True
            self._waiting.clear()
            shutil.rmtree(folder, ignore_errors=True)
            return
        _widen(process)
        self._helper = _Helper(folder, process)
        waiting, self._waiting = self._waiting, []
        for target, content in waiting:
            self._send(target, content)

    def _send(self, target: str, content: bytes) -> None:
        assert self._helper is not None
        name = f"{self._handed}.tmp"  # the numbering `reserve` creates files in
        self._handed += 1
        self._sent[target] = (str(self._helper.folder / name), content)
        self._helper.send(name, content)


def _widen(process: subprocess.Popen[bytes]) -> None:
    """A pipe that holds a whole import of a thousand models, so that handing files over
    seldom waits for the helper (Linux only; elsewhere the pipe keeps its size)."""
    try:
        import fcntl

        size = getattr(fcntl, "F_SETPIPE_SZ", None)
        if size is not None and process.stdin is not None:
            fcntl.fcntl(process.stdin.fileno(), size, PIPE_BYTES)
    except (ImportError, OSError):  # not allowed that much: the default size works too
        pass
