"""Creating a commit's files ahead of it, in a helper process, while this one goes on.

Creating a file is most of what writing a thousand small ones costs: 0.03 to 1 ms each on the
machines measured, depending on the state of the disk, spent in the kernel, not in Python. An
import knows each file as soon as it has rendered it, long before its commit. `Ahead` hands
the files to a helper process, which creates them as temporary files under the transaction's
scratch folder while this process goes on converting and checking; after the commit, putting
the files into the work tree is then mostly renames (`write_files(..., ready=...)`). An
import also says at its start how many files to expect (`reserve`): the helper creates them
empty while this process is still loading the registry and its libraries, and writes into
them when their content comes, as creating is the costly part and writing is not. A thread
could not do it: after each system call it would wait for the interpreter lock, which the
converting thread holds. There is one helper: a second, in a folder of its own (files made in
one folder are made one at a time), took as much CPU from the conversion, on two cores, as it
saved, in alternating runs.

When the commit is made before the helper is through (on a disk where creating a file costs a
millisecond, not 30 microseconds), this process takes over from the other end: it creates the
files the helper has not reached, from the last one down, in a folder of its own, while the
helper goes on from the first one up, until they meet (`take`). Creating files in two folders
runs on both cores; in one folder it runs one file at a time. The two share a small mapped
file: this process writes there the first number it has taken over (the helper leaves that
one and the rest alone), and the helper the last number it has written (so that this process
stops where the helper is). By then the conversion is over: unlike a second helper, this
takes no CPU from it. On a disk that took 1.2 s to create 1,100 files, an import of 1,000
models went from a median of 1.64 s to 1.48 s (12 alternating runs each), this process
making 200-330 of the files.

Handing the files over never waits for the helper either: where the system tells how much
room the pipe has left (Linux), only whole records that fit are written, and the rest are
kept back. At `take` the helper is told the first file it will never get (they are the last
ones), and this process makes those. An import of 2,500 models, whose files are twice the
pipe, spent 0.38-0.50 s waiting to hand them over on a slow disk; it went from a median of
2.60 s to 2.04 s there (6 alternating runs each).

Nothing reaches the work tree early: the temporary files are the helper's only output, those
not used are removed with its folder (after a crash, the next transaction's `recover`
removes them), and a file whose content changed since it was handed over is written again. A
helper that fails or cannot start costs only time: the files are then written the usual way.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import shutil
import struct
import subprocess
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from modelops.registry.files import write_new

START_AT = 64  # files: fewer are written sooner than a helper process starts
CHUNK = 64 * 1024  # bytes handed to the helper at a time
PIPE_BYTES = 1024 * 1024  # the pipe to the helper, widened where the system allows

# The helper: reads records (a line "<number> <content length>", then the content) until its
# input ends, writing each into the file <number>.tmp as write_files writes a new one. A line
# "reserve N" creates the empty files 0.tmp to N-1.tmp first (the costly part), so a record
# names a file that is either there, empty and the helper's own, or not yet made. The file
# "shared" holds two numbers: from the first on, files are the caller's to make (see
# Ahead.take), and the helper neither creates nor writes them; into the second the helper
# writes the number of each file it has written (it writes them in order).
_HELPER = """\
import mmap, os, struct, sys
folder, stream = sys.argv[1], sys.stdin.buffer
flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
with open(os.path.join(folder, "shared"), "r+b") as file:
    shared = mmap.mmap(file.fileno(), 16)
while head := stream.readline():
    if head.startswith(b"reserve "):
        for number in range(int(head.split()[1])):
            if number >= struct.unpack_from("q", shared)[0]:
                break
            path = os.path.join(folder, f"{number}.tmp")
            os.close(os.open(path, flags | os.O_EXCL, 0o600))
        continue
    number, size = map(int, head.split())
    content = stream.read(size)
    if len(content) != size:
        sys.exit(1)
    if number >= struct.unpack_from("q", shared)[0]:
        continue
    fd = os.open(os.path.join(folder, f"{number}.tmp"), flags, 0o600)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view):]
        os.fchmod(fd, 0o644)
    finally:
        os.close(fd)
    struct.pack_into("q", shared, 8, number)
"""
NOBODY = 2**62  # the first number taken over, until one is
NUMBER = struct.Struct("q")  # in the shared file: the first taken over at 0, the last written at 8

Ready = dict[str, tuple[str, bytes]]  # target path -> (temporary file holding it, its content)


@dataclass
class _Helper:
    folder: Path
    process: subprocess.Popen[bytes]
    shared: mmap.mmap  # see _HELPER
    room: Callable[[], int] | None  # the pipe's free bytes, where the system tells them
    queue: deque[tuple[int | None, bytes]] = field(default_factory=deque)  # whole, unsent
    queued: int = 0  # their bytes
    failed: bool = False

    def ask(self, line: bytes) -> None:
        """A command the helper carries out before the files that follow (see _HELPER)."""
        self._queue(None, line)
        self.flush()

    def send(self, number: int, content: bytes) -> None:
        self._queue(number, b"%d %d\n%b" % (number, len(content), content))
        if self.queued >= CHUNK:
            self.flush()

    def _queue(self, number: int | None, record: bytes) -> None:
        self.queue.append((number, record))
        self.queued += len(record)

    def flush(self) -> None:
        """Send the whole records that the pipe has room for, without waiting for the helper
        (where the system does not tell the room, send them all, waiting): a helper busy
        creating files does not hold this process up; what it never got, `take` makes."""
        stdin = self.process.stdin
        if self.failed or stdin is None:
            return
        room = self.room() if self.room is not None else self.queued
        batch = []
        while self.queue and len(self.queue[0][1]) <= room:
            record = self.queue.popleft()[1]
            room -= len(record)
            self.queued -= len(record)
            batch.append(record)
        view = memoryview(b"".join(batch))
        try:
            while view:
                view = view[os.write(stdin.fileno(), view) :]
        except OSError:  # the helper has gone (a full disk, killed): write the usual way
            self.failed = True

    def end_input(self) -> int:
        """Hand over what the pipe has room for, and end the input: the helper exits once it
        has written it. The number of the first file it never got (they are the last ones),
        which it leaves alone, or NOBODY."""
        self.flush()
        unsent = [number for number, _ in self.queue if number is not None]
        self.queue.clear()
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        first = min(unsent, default=NOBODY)
        self.take_over(first)  # files it reserved past that stay empty; none is created
        return first

    def take_over(self, number: int) -> None:
        """Files from `number` on are the caller's: the helper leaves them alone."""
        NUMBER.pack_into(self.shared, 0, number)

    def written(self) -> int:
        """The number of the last file the helper wrote (it writes them in order), or -1."""
        return int(NUMBER.unpack_from(self.shared, 8)[0])

    def running(self) -> bool:
        return self.process.poll() is None

    def succeeded(self) -> bool:
        """Whether every file handed over, short of those taken over, was written."""
        return self.process.wait() == 0 and not self.failed

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        with contextlib.suppress(ValueError, BufferError):
            self.shared.close()


class Ahead:
    """Files handed over by their target path (a string, as `write_files` gets it), created
    ahead under `scratch` once there are START_AT of them."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self._waiting: list[tuple[str, bytes]] = []  # until the helper starts
        self._sent: dict[str, tuple[int, bytes]] = {}  # target -> (number, content), the latest
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
        """The files created ahead: a temporary file and its content by target. `write_files`
        takes from it what it uses; `close` removes the rest. Files the helper has not
        written yet are made here meanwhile, from the last one down, until the two meet (see
        the module's notes). Empty when the helper never started; only the files made here
        when it failed."""
        if self._ready is None:
            self._ready = self._finish() if self._helper is not None else {}
        return self._ready

    def close(self) -> None:
        """Stop the helper if it still runs and remove what it made and nobody used."""
        if self._helper is not None:
            self._helper.stop()
            shutil.rmtree(self._helper.folder, ignore_errors=True)
            self._helper = None

    def _finish(self) -> Ready:
        helper = self._helper
        assert helper is not None
        unsent = helper.end_input()
        if helper.failed:
            return {}
        last = sorted((number, target) for target, (number, _) in self._sent.items())
        own, mine = helper.folder / "own", Ready()
        while last:
            number, target = last[-1]
            if number < unsent:  # the helper has it: take it over while it has not reached it
                if not helper.running():
                    break
                helper.take_over(number)
                if number <= helper.written():
                    break  # the helper has reached this one
            last.pop()
            content = self._sent[target][1]
            if not mine:
                own.mkdir(exist_ok=True)  # a folder of its own: see the module's notes
            made = f"{own}/{number}.tmp"
            write_new(made, content)  # as the helper makes its own
            mine[target] = (made, content)
        if not helper.succeeded():
            return mine
        ready = {
            target: (str(helper.folder / f"{number}.tmp"), content)
            for target, (number, content) in self._sent.items()
            if target not in mine
        }
        return ready | mine

    def _start(self) -> None:
        folder = self.scratch / f"ahead-{os.urandom(6).hex()}"
        try:
            folder.mkdir(parents=True)
            with (folder / "shared").open("w+b") as file:
                file.write(NUMBER.pack(NOBODY) + NUMBER.pack(-1))
                file.flush()
                shared = mmap.mmap(file.fileno(), 2 * NUMBER.size)
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
        self._helper = _Helper(folder, process, shared, _widen(process))
        waiting, self._waiting = self._waiting, []
        for target, content in waiting:
            self._send(target, content)

    def _send(self, target: str, content: bytes) -> None:
        assert self._helper is not None
        number = self._handed  # the numbering `reserve` creates files in
        self._handed += 1
        self._sent[target] = (number, content)
        self._helper.send(number, content)


def _widen(process: subprocess.Popen[bytes]) -> Callable[[], int] | None:
    """A pipe that holds a whole import of a thousand models, so that handing files over
    seldom waits for the helper; and how much room is left in it (Linux only: elsewhere the
    pipe keeps its size, and None)."""
    try:
        import fcntl
        import termios

        fd = process.stdin.fileno() if process.stdin is not None else -1
        if hasattr(fcntl, "F_SETPIPE_SZ"):
            with contextlib.suppress(OSError):  # not allowed that much: the default size works
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        size = fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
        # Bytes in the pipe fill whole pages but the last of each write and the one being
        # read: an eighth of the size is left spare, so that a write of what fits never waits.
        usable, unread = size - size // 8, bytearray(4)

        def room() -> int:
            fcntl.ioctl(fd, termios.FIONREAD, unread)
            return usable - int.from_bytes(unread, sys.byteorder)

        room()  # the system answers for a pipe
        return room
    except (ImportError, AttributeError, OSError):
        return None
