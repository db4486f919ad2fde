"""Progress while applying: a bar per layer on a terminal, plain lines otherwise. On stderr, so
that stdout holds only the requested output."""

from __future__ import annotations

import threading
from typing import Any, TextIO

from modelops.targets.base import Outcome, Progress

VERBS = {"pull": "pulled", "create": "created", "update": "updated", "delete": "deleted"}


def _outcome_line(outcome: Outcome, prefix: str) -> str:
    c = outcome.change
    if outcome.ok:
        return f"{prefix}{VERBS.get(c.action, c.action)} {c.name}"
    state = "skipped" if outcome.skipped else "failed"
    return f"{prefix}{c.action} {c.name} {state}: {outcome.message}"


class PlainReporter:
    """One line per pull phase and finished layer, and one per finished change."""

    def __init__(self, stream: TextIO, show_host: bool) -> None:
        self._stream = stream
        self._show_host = show_host
        self._lock = threading.Lock()
        self._seen: set[tuple[str, str, str]] = set()

    def _prefix(self, host: str) -> str:
        return f"{host}: " if self._show_host else ""

    def progress(self, host: str, name: str, line: Progress) -> None:
        if line.digest:
            if not line.total or (line.completed or 0) < line.total:
                return
            what = f"layer {line.digest.removeprefix('sha256:')[:12]} ({_size(line.total)})"
        elif line.status == "success":
            return  # the finished line says it
        else:
            what = line.status
        key = (host, name, what)
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
            self._stream.write(f"{self._prefix(host)}{name}: {what}\n")
            self._stream.flush()

    def finished(self, outcome: Outcome) -> None:
        with self._lock:
            self._stream.write(_outcome_line(outcome, self._prefix(outcome.change.host)) + "\n")
            self._stream.flush()


class RichReporter:
    """A progress bar per layer being pulled, sized by the layer."""

    def __init__(self, stream: TextIO, show_host: bool) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            TextColumn,
            TransferSpeedColumn,
        )
        from rich.progress import (
            Progress as Bars,
        )

        self._console = Console(file=stream)
        self._bars = Bars(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=self._console,
            transient=False,
        )
        self._show_host = show_host
        self._tasks: dict[tuple[str, str, str], Any] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> RichReporter:
        self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bars.stop()

    def progress(self, host: str, name: str, line: Progress) -> None:
        if not line.digest or not line.total:
            return
        key = (host, name, line.digest)
        with self._lock:
            if key not in self._tasks:
                label = f"{host} " if self._show_host else ""
                label += f"{name} {line.digest.removeprefix('sha256:')[:12]}"
                self._tasks[key] = self._bars.add_task(label, total=line.total)
            self._bars.update(self._tasks[key], completed=line.completed or 0)

    def finished(self, outcome: Outcome) -> None:
        prefix = f"{outcome.change.host}: " if self._show_host else ""
        style = "green" if outcome.ok else "red"
        self._console.print(f"[{style}]{_outcome_line(outcome, prefix)}[/{style}]", highlight=False)


def _size(count: int) -> str:
    size = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{count} B"  # pragma: no cover - the loop always returns
