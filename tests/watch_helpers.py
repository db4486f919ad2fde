"""Running the watcher in this process for a test: its loop in a thread, its file watching and,
optionally, its status server, with its log read back as JSON lines.

Tests wait on what the watcher says (a log event) or on what a server received, never on the
clock: `Watch.wait_for` blocks until a new log line makes the condition true, and its deadline
is only a bound that turns a hang into a failure."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelops.registry.store import Registry
from modelops.targets.discovery import Resolver, system_resolver
from modelops.watch.daemon import Options, Watcher
from modelops.watch.log import EventLog
from modelops.watch.service import serve
from modelops.watch.status import Status, StatusServer

DEADLINE = 60.0  # a failure bound, never an expectation


class LogLines(io.TextIOBase):
    """A stream that keeps every JSON line written to it and wakes whoever waits for one."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.changed = threading.Condition()

    def write(self, text: str) -> int:
        with self.changed:
            for line in text.splitlines():
                if line.strip():
                    self.events.append(json.loads(line))
            self.changed.notify_all()
        return len(text)


@dataclass
class Watch:
    watcher: Watcher
    lines: LogLines
    status: Status
    server: StatusServer | None = None
    errors: list[BaseException] = field(default_factory=list)

    @property
    def events(self) -> list[dict[str, Any]]:
        with self.lines.changed:
            return list(self.lines.events)

    def named(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events
            if e["event"] == event and all(e.get(k) == v for k, v in fields.items())
        ]

    def wait_for(self, condition: Callable[[], Any], what: str) -> Any:
        """Block until `condition()` is true, checking it after each new log line."""
        end = time.monotonic() + DEADLINE
        with self.lines.changed:
            while True:
                found = condition()
                if found:
                    return found
                if self.errors:
                    raise AssertionError(f"the watcher failed: {self.errors[0]!r}")
                left = end - time.monotonic()
                if left <= 0:
                    shown = "\n".join(json.dumps(e) for e in self.lines.events[-30:])
                    raise AssertionError(f"gave up waiting for {what}; the log ends:\n{shown}")
                self.lines.changed.wait(left)

    def wait_event(self, event: str, count: int = 1, **fields: Any) -> dict[str, Any]:
        """The `count`-th log line of this event (with these fields), once it is there."""
        found = self.wait_for(
            lambda: len(self.named(event, **fields)) >= count, f"{count} x {event} {fields}"
        )
        assert found
        return self.named(event, **fields)[count - 1]

    def settled(self, condition: Callable[[], Any], what: str) -> None:
        """Wait until `condition()` holds when a reconcile has just been summed up, so that the
        reconcile that made it true is counted."""
        self.wait_for(
            lambda: self.events[-1]["event"] in ("reconciled", "reconcile-failed") and condition(),
            what,
        )

    def reconciles(self, why: str | None = None) -> list[dict[str, Any]]:
        """The reconcile summaries so far (successful or not), optionally by cause."""
        found = [e for e in self.events if e["event"] in ("reconciled", "reconcile-failed")]
        return [e for e in found if why is None or e.get("why") == why]

    def get(self, path: str) -> tuple[int, str]:
        assert self.server is not None
        url = f"http://{self.server.address}{path}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


@contextlib.contextmanager
def watching(
    root: Path,
    options: Options | None = None,
    *,
    resolve: Resolver = system_resolver,
    status_server: bool = False,
    started: bool = True,
) -> Iterator[Watch]:
    """Run the watcher on the registry at `root` until the block ends. With `started`, wait
    for its first reconcile (successful or not) before handing it over."""
    lines = LogLines()
    status = Status()
    watcher = Watcher(
        Registry(root, root),
        options or Options(interval=3600),
        EventLog(lines, as_json=True),
        status,
        resolve=resolve,
    )
    server = StatusServer(("127.0.0.1", 0), status).start() if status_server else None
    watch = Watch(watcher, lines, status, server)
    stopping = threading.Event()
    finished: list[bool] = []

    def run() -> None:
        try:
            finished.append(serve(watcher, watcher.registry.root, stopping))
        except BaseException as exc:
            watch.errors.append(exc)
            with lines.changed:
                lines.changed.notify_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        if started:
            watch.wait_for(lambda: watch.reconciles("start"), "the first reconcile")
        yield watch
    finally:
        stopping.set()
        thread.join(DEADLINE)
        if server is not None:
            server.stop()
    assert not watch.errors, watch.errors
    assert finished == [True], "the watcher did not stop in time"


@dataclass
class Spawned:
    """`modelops watch --log-format json` in a child process, its log read as it comes."""

    process: subprocess.Popen[str]
    lines: LogLines
    reader: threading.Thread

    @classmethod
    def start(cls, *args: str, cwd: Path, env: dict[str, str]) -> Spawned:
        process = subprocess.Popen(
            [sys.executable, "-m", "modelops", "watch", "--log-format", "json", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines = LogLines()

        def read() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                lines.write(
                    line
                    if line.startswith("{")
                    else json.dumps({"event": "text", "message": line}) + "\n"
                )
            with lines.changed:
                lines.events.append({"event": "eof"})
                lines.changed.notify_all()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        return cls(process, lines, reader)

    def wait_event(self, event: str, count: int = 1) -> dict[str, Any]:
        end = time.monotonic() + DEADLINE
        with self.lines.changed:
            while True:
                found = [e for e in self.lines.events if e["event"] == event]
                if len(found) >= count:
                    return found[count - 1]
                if any(e["event"] == "eof" for e in self.lines.events) or time.monotonic() > end:
                    raise AssertionError(f"no {event} event; the log: {self.lines.events}")
                self.lines.changed.wait(end - time.monotonic())

    def finish(self) -> int:
        """Wait for the process to exit (failing after the deadline); its exit code."""
        code = self.process.wait(DEADLINE)
        self.reader.join(DEADLINE)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(DEADLINE)


def wait_until(condition: Callable[[], Any], what: str) -> Any:
    """Poll a condition that no log line announces (a request reaching a server)."""
    end = time.monotonic() + DEADLINE
    while not (found := condition()):
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.01)
    return found
