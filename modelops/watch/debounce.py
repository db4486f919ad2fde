"""Debouncing: saves come in bursts (an editor writes a file in several steps, `git checkout`
rewrites many files at once), and the watcher acts once per burst. A batch is due when the
registry has been quiet for `quiet` seconds, and at the latest `longest` seconds after its
first change, so that a never-ending stream of saves cannot starve it. Pure: the time is
passed in."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Batch:
    """What changed in one burst: registry-relative paths, or everything (a folder moved)."""

    paths: frozenset[str]
    everything: bool


@dataclass
class Batcher:
    quiet: float
    longest: float
    _paths: set[str] = field(default_factory=set)
    _everything: bool = False
    _first: float | None = None
    _last: float | None = None

    def add(self, path: str | None, now: float) -> None:
        """Note a change to `path` (None: anything may have changed) at time `now`."""
        if path is None:
            self._everything = True
        else:
            self._paths.add(path)
        if self._first is None:
            self._first = now
        self._last = now

    def hold(self, now: float) -> None:
        """Wait one more quiet period before the pending batch is due (git is still writing,
        or a file has vanished and may be about to come back)."""
        if self._first is not None:
            self._first = self._last = now

    def due_in(self, now: float) -> float | None:
        """Seconds until the pending batch is due (0: now); None when nothing is pending."""
        if self._first is None or self._last is None:
            return None
        due = min(self._last + self.quiet, self._first + self.longest)
        return max(0.0, due - now)

    def take(self) -> Batch:
        batch = Batch(frozenset(self._paths), self._everything)
        self._paths = set()
        self._everything = False
        self._first = self._last = None
        return batch
