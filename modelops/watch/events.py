"""File events: watchdog watches the registry folder, and every event that touches a file the
registry is made of (`modelops.yaml`, a model file, an avatar) is passed on as a registry
path. Events that say nothing about content (a file opened or read, a folder's timestamp)
and everything under `.git/` are dropped. When the system lost events, or a whole folder was
moved or removed, the sink is told that anything may have changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from watchdog.events import (
    EVENT_TYPE_CLOSED,
    EVENT_TYPE_CREATED,
    EVENT_TYPE_DELETED,
    EVENT_TYPE_EVENTS_LOST,
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_MOVED,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from modelops.spec.paths import MODELS_DIR
from modelops.watch.state import AVATARS_DIR, watched

CONTENT_EVENTS = (
    EVENT_TYPE_CREATED,
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_DELETED,
    EVENT_TYPE_MOVED,
    EVENT_TYPE_CLOSED,
)
FOLDERS = ("", MODELS_DIR, AVATARS_DIR)


class Sink(Protocol):
    def changed(self, path: str | None) -> None:
        """`path` (registry-relative) may have changed; None: anything may have."""


def relative(root: Path, raw: str) -> str | None:
    """The registry-relative path of an event's path, or None when it is outside."""
    try:
        path = Path(raw).relative_to(root).as_posix()
    except ValueError:
        return None
    return "" if path == "." else path


class _Handler(FileSystemEventHandler):
    def __init__(self, root: Path, sink: Sink) -> None:
        self._root = root
        self._sink = sink

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type == EVENT_TYPE_EVENTS_LOST:
            self._sink.changed(None)
            return
        if event.event_type not in CONTENT_EVENTS:
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            path = relative(self._root, _text(raw)) if raw else None
            if path is None or path.split("/", 1)[0] == ".git":
                continue
            if event.is_directory:
                if event.event_type != EVENT_TYPE_MODIFIED and path in FOLDERS:
                    self._sink.changed(None)
            elif watched(path):
                self._sink.changed(path)


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class Watching:
    """The registry folder under watch, until `stop()`."""

    def __init__(self, root: Path, sink: Sink) -> None:
        self._observer = Observer()
        self._observer.schedule(_Handler(root, sink), str(root), recursive=True)
        self._observer.daemon = True

    def start(self) -> Watching:
        self._observer.start()
        return self

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)
