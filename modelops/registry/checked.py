"""What the registry-wide checks learn from files other than model files, kept in the
validated-file cache by blob id: the images and models a conversation file names, and an
image's size in pixels. With them, `validate` of a registry nobody changed parses no
conversation and decodes no image (which would cost the YAML parser, pydantic and Pillow).
A conversation with problems is never kept, so its errors are always the current ones."""

from __future__ import annotations

import json
from typing import Any

from modelops.registry.snapshot import Snapshot
from modelops.spec.lint import Mention, dimensions, mentioned


class Checked:
    """`lint.check`'s readers of conversations and images, remembered for `snapshot`."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def mentions(self, path: str) -> list[Mention]:
        """What the conversation file at `path` names; SpecError when it has problems."""
        snapshot, cache = self.snapshot, self.snapshot.cache
        blob = snapshot.blob(path)
        hit = cache.get(f"conversation:{blob}") if blob is not None else None
        if hit is not None and (known := _mentions(hit)) is not None:
            return known
        found = mentioned(snapshot.read(path) or b"", snapshot.source.shown(path))
        if blob is not None:
            rows = [[m.kind, m.value, m.key, m.line, m.col] for m in found]
            cache.put(f"conversation:{blob}", [json.dumps(rows)])
            cache.save()
        return found

    def size(self, path: str) -> tuple[int, int] | None:
        """Width and height of the image at `path`; None when it is missing or unreadable."""
        snapshot, cache = self.snapshot, self.snapshot.cache
        blob = snapshot.blob(path)
        if blob is None:
            return None
        hit = cache.get(f"size:{blob}")
        if hit is not None and len(hit) == 1:
            width, _, height = hit[0].partition("x")
            return (int(width), int(height)) if width.isdigit() and height.isdigit() else None
        found = dimensions(snapshot.read(path))
        cache.put(f"size:{blob}", [f"{found[0]}x{found[1]}" if found else ""])
        cache.save()
        return found


def _mentions(hit: list[str]) -> list[Mention] | None:
    """The mentions a cache entry holds; None when it is not what this code writes."""
    try:
        rows: Any = json.loads(hit[0])
        return [
            Mention(kind, str(value), str(key), int(line), int(col))
            for kind, value, key, line, col in rows
            if kind in ("image", "model")
        ]
    except (ValueError, TypeError, IndexError):
        return None
