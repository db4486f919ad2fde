"""The report of `modelops import`: a line for each entry of the file, saying what became of
it (imported, updated, unchanged, or skipped with the reason), as text or as JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from modelops.errors import printable

Status = Literal["imported", "updated", "unchanged", "skipped"]


@dataclass
class Line:
    """One entry of the file, and what became of it."""

    position: int
    source: str  # the id in the file
    status: Status
    model: str | None = None
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    error: bool = False  # skipped because the entry is wrong, not by choice
    base: str | None = field(default=None, repr=False)  # what it is imported on
    avatar: str | None = field(default=None, repr=False)  # the avatar file it shows

    def as_json(self) -> dict[str, Any]:
        return {
            "entry": self.position,
            "id": self.source,
            "model": self.model,
            "status": self.status,
            "reason": self.reason,
            "error": self.error,
            "notes": self.notes,
        }


def render_line(line: Line) -> str:
    name = printable(line.model or line.source or "(no id)")
    head = f"{line.status:<9}  #{line.position:<3} {name}"
    if line.source and line.model and line.source != line.model:
        head += f" (from {line.source!r})"
    if line.reason:
        head += f": {printable(line.reason)}"
    if line.notes:
        head += f" [{printable('; '.join(line.notes))}]"
    return head
