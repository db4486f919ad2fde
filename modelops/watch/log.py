"""The watcher's log: one line per event, as text for people and journald, or as JSON lines for
log collectors. Every line has a time, a level, an event name and a message; JSON lines carry
the event's fields as well. The stream and the clock are passed in."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from typing import Any, Literal, TextIO

Level = Literal["info", "warning", "error"]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class EventLog:
    def __init__(
        self,
        stream: TextIO,
        *,
        as_json: bool = False,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self._stream = stream
        self._json = as_json
        self._clock = clock
        self._lock = threading.Lock()

    def info(self, event: str, message: str, **fields: Any) -> None:
        self.write("info", event, message, fields)

    def warning(self, event: str, message: str, **fields: Any) -> None:
        self.write("warning", event, message, fields)

    def error(self, event: str, message: str, **fields: Any) -> None:
        self.write("error", event, message, fields)

    def write(self, level: Level, event: str, message: str, fields: dict[str, Any]) -> None:
        stamp = self._clock().astimezone(dt.UTC).isoformat(timespec="milliseconds")
        stamp = stamp.replace("+00:00", "Z")
        if self._json:
            record = {"time": stamp, "level": level, "event": event, "message": message}
            record.update({k: v for k, v in fields.items() if k not in record})
            line = json.dumps(record, ensure_ascii=False, sort_keys=False, default=str)
        else:
            line = f"{stamp} {level:<7} {event}: {message}"
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()
