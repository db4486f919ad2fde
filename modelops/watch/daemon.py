"""The watcher's loop. One thread runs every step, one at a time, so no two reconciles overlap:

- a batch of saved files (debounced): merge it into the last good state, reconcile the models
  that changed and the models built on them, and with `commit`, commit the valid edits;
- periodic jobs, each on its own interval: a full reconcile that reads every file again and
  repairs drift made on the hosts by hand, preceded with `follow` by a fetch and fast-forward
  of the followed branch;
- with `adopt_every`, adopting what people changed in Open WebUI: one commit per model, on its
  own interval and before every full reconcile, so that repairing drift never reverts an edit
  made in the UI before it was offered to the registry.

Other threads only note file changes (`changed`) and ask it to stop (`stop`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from modelops.errors import ModelopsError
from modelops.reconcile import session
from modelops.reconcile.session import DEFAULT_TIMEOUT, Selection
from modelops.registry.sources import Revision, WorkTree
from modelops.registry.store import Registry
from modelops.registry.transaction import Changeset
from modelops.spec.paths import CONFIG_FILE, MODELS_DIR
from modelops.targets.discovery import Resolver, system_resolver
from modelops.watch import follow
from modelops.watch.adopting import Adopter
from modelops.watch.debounce import Batch, Batcher
from modelops.watch.log import EventLog
from modelops.watch.reporting import Reporter, Result, summary
from modelops.watch.state import (
    AVATARS_DIR,
    Content,
    Good,
    Merged,
    Unreadable,
    merge,
    model_id,
    watched,
)
from modelops.watch.status import Status

GIT_BUSY_HOLDS = 20  # quiet periods to wait for a git command to finish writing
COMMIT_LOCK_TIMEOUT = 10.0
FETCH_TIMEOUT = 120.0


@dataclass(frozen=True)
class Options:
    """How the watcher runs: what it reconciles, and its intervals in seconds."""

    targets: tuple[str | None, ...] = (None,)  # None: the registry's default target
    hosts: tuple[str, ...] = ()
    prune: bool = False
    workers: int = 4
    env_host: str | None = None
    commit: bool = False
    follow: follow.Branch | None = None
    interval: float = 60.0
    quiet: float = 0.3
    longest: float = 2.0
    name: str = "modelops watch"  # who commits, in the Modelops-Watcher trailer
    adopt_every: float | None = None  # adopt edits made in Open WebUI this often (None: never)
    environ: Mapping[str, str] = field(default_factory=dict)  # where API keys are read from


@dataclass
class Periodic:
    """A job the loop runs every `every` seconds."""

    name: str
    every: float
    run: Callable[[str], None]  # given why it runs: "start", or the job's name
    due: float = field(default=0.0)


class Watcher:
    def __init__(
        self,
        registry: Registry,
        options: Options,
        log: EventLog,
        status: Status,
        *,
        resolve: Resolver = system_resolver,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.registry = registry
        self.options = options
        self.journal = log
        self.status = status
        self._resolve = resolve
        self._clock = clock
        self._wall = wall
        self._cond = threading.Condition()
        self._batcher = Batcher(options.quiet, options.longest)
        self._stopping = False
        self._work_tree = WorkTree(registry.root, registry.display)
        self._good = Good.of({}, registry.display)
        self._rejected: dict[str, tuple[str, ...]] = {}  # path -> the problems reported
        self._uncommitted: dict[str, bytes | None] = {}
        self._holds = 0
        self._second_look = False
        self._labels = [name or "default" for name in options.targets]
        self._timeouts: dict[int, float] = {}  # of each target, once resolved
        first = self._follow_and_resync if options.follow else self._resync
        self.jobs = [Periodic("follow" if options.follow else "resync", options.interval, first)]
        if options.adopt_every is not None:  # at the start, the first resync adopts
            self.jobs.append(Periodic("adopt", options.adopt_every, self._adopt_on_schedule))
        self._adopter = Adopter(
            registry, options.targets, options.environ, log, COMMIT_LOCK_TIMEOUT
        )
        for label in self._labels:
            status.expect(label)

    # --- what other threads call ---

    def changed(self, path: str | None) -> None:
        with self._cond:
            self._batcher.add(path, self._clock())
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()

    @property
    def grace(self) -> float:
        """How long a stop waits for the current call: the longest target timeout."""
        return max(self._timeouts.values(), default=DEFAULT_TIMEOUT)

    # --- the loop ---

    def run(self) -> None:
        """Deploy the registry as it is, then follow its changes until `stop()`."""
        self._good = self._baseline()
        for job in self.jobs:
            job.run("start")
            job.due = self._clock() + job.every
        while True:
            with self._cond:
                while not self._stopping and (wait := self._wait()) > 0:
                    self._cond.wait(wait)
                if self._stopping:
                    return
                due = self._batcher.due_in(self._clock())
                batch = self._batcher.take() if due == 0 else None
            if batch is not None:
                self._on_batch(batch)
            for job in self.jobs:
                if job.due <= self._clock() and not self._stopping:
                    job.run(job.name)
                    job.due = self._clock() + job.every

    def _wait(self) -> float:
        now = self._clock()
        waits = [job.due - now for job in self.jobs]
        batch = self._batcher.due_in(now)
        if batch is not None:
            waits.append(batch)
        return max(0.0, min(waits))

    def _requeue(self, batch: Batch) -> None:
        with self._cond:
            for path in batch.paths:
                self._batcher.add(path, self._clock())
            if batch.everything:
                self._batcher.add(None, self._clock())
            self._batcher.hold(self._clock())

    def _on_batch(self, batch: Batch) -> None:
        if (self.registry.repo.git_dir / "index.lock").exists() and self._holds < GIT_BUSY_HOLDS:
            self._holds += 1  # git is checking out or pulling: wait until it is done
            self._requeue(batch)
            return
        files = self._read(None if batch.everything else batch.paths)
        vanished = [p for p, c in files.items() if c is None and p in self._good.paths()]
        if vanished and not self._second_look:
            self._second_look = True  # an editor may be replacing the file: look again
            self._requeue(batch)
            return
        self._holds, self._second_look = 0, False
        self._deploy(files, everything=batch.everything, why="saved")

    def _resync(self, why: str) -> None:
        if self.options.adopt_every is not None:
            self._adopt(why)
        files = self._read(None)
        for path in [p for p, c in files.items() if c is None and p in self._good.paths()]:
            del files[path]  # a file missing now is looked at again, as a save would be
            self.changed(path)
        self._deploy(files, everything=True, why=why)

    def _follow_and_resync(self, why: str) -> None:
        branch = self.options.follow
        assert branch is not None
        followed = follow.step(self.registry.repo, branch, FETCH_TIMEOUT)
        self.status.diverged.set(1 if followed.state == "diverged" else 0)
        if followed.state == "diverged":
            self.journal.error("diverged", followed.message, remote=str(branch))
        elif followed.state == "failed":
            self.journal.error("follow-failed", followed.message, remote=str(branch))
        elif followed.state == "forwarded":
            self.journal.info(
                "fetched", followed.message, remote=str(branch), commit=followed.commit
            )
        self._resync(why)

    # --- reading and merging ---

    def _baseline(self) -> Good:
        """What stands in for a file that is broken at start: its committed version."""
        repo = self.registry.repo
        try:
            sha = repo.head()
            if sha is not None:
                head = Revision(repo, sha, "HEAD", self.registry.prefix, self.registry.display)
                good = Good.read(head, self.registry.display)
                if good.valid:
                    return good
        except ModelopsError as exc:
            self.journal.warning(
                "baseline", f"the committed registry cannot be read: {exc.message}"
            )
        return Good.of({}, self.registry.display)

    def _read(self, paths: frozenset[str] | None) -> dict[str, Content]:
        """The files of a batch (None: every registry file), and the rejected ones again."""
        tree = self._work_tree
        if paths is None:
            listed = [CONFIG_FILE, *tree.list(MODELS_DIR), *tree.list(AVATARS_DIR)]
            wanted = {p for p in listed if watched(p)} | self._good.paths()
        else:
            wanted = set(paths)
        out: dict[str, Content] = {}
        for path in sorted(wanted | set(self._rejected)):
            try:
                out[path] = tree.read(path)
            except (OSError, ModelopsError) as exc:
                out[path] = Unreadable(getattr(exc, "strerror", None) or str(exc))
            if out[path] is None:  # a link or a folder there is not the file being removed
                kind = tree.others(path.rpartition("/")[0]).get(path)
                if kind is not None:
                    out[path] = Unreadable(f"it is a {'symbolic link' if kind == 'link' else kind}")
        return out

    def _deploy(self, files: dict[str, Content], *, everything: bool, why: str) -> None:
        merged = merge(self._good, files)
        self._report(files, merged)
        self._good = merged.good
        if not self._good.valid:
            return  # nothing can be deployed before modelops.yaml is valid; said above
        models = None if everything or merged.everything else merged.models
        results = self._reconcile(models, why) if models is None or models else []
        if self.options.commit and (merged.accepted or self._uncommitted):
            self._commit(merged.accepted)
        commit, modified = self._commit_label() if results else (None, False)
        for result in results:  # the status first: whoever reads the log line may ask it
            result.record(self.status, commit, modified, self._wall())
        for result in results:
            result.say(self.journal, why, models, commit)

    def _report(self, files: dict[str, Content], merged: Merged) -> None:
        said: set[str] = set()
        for path, problems in sorted(merged.rejected.items()):
            lines = tuple(str(p) for p in problems)
            if self._rejected.get(path) == lines:
                continue  # said when it broke; said again only when its problems change
            for line in lines:
                if line not in said:
                    said.add(line)
                    kept = f"{line} (left out; the last good state stays live)"
                    self.journal.error("invalid", kept, path=path)
        for path in sorted(set(self._rejected) - set(merged.rejected)):
            if path in files:
                shown = self._work_tree.shown(path)
                now = "is gone" if files[path] is None else "is valid again"
                self.journal.info("fixed", f"{shown} {now}", path=path)
        self._rejected = {p: tuple(str(q) for q in ps) for p, ps in merged.rejected.items()}
        self.status.invalid_files.set(len(self._rejected))

    # --- reconciling ---

    def _reconcile(self, models: frozenset[str] | None, why: str) -> list[Result]:
        """Reconcile every target, one after the other."""
        results: list[Result] = []
        kept = frozenset(i for p in self._rejected if (i := model_id(p)) is not None)
        o = self.options
        for slot, given in enumerate(o.targets):
            selection = Selection(
                given, o.hosts, o.prune, None, o.workers, o.env_host, models, kept
            )
            selection = replace(selection, environ=o.environ)
            try:
                with session.session(
                    self.registry, selection, self._good.snapshot, self._resolve
                ) as s:
                    self._name(slot, s.target.name)
                    self._timeouts[slot] = s.target.timeout
                    outcomes = session.apply(s, Reporter(self.journal, s.target.name), o.workers)
            except ModelopsError as exc:
                results.append(Result(self._labels[slot], (), None, exc.message))
                continue
            done = summary(s.plan, outcomes)
            results.append(Result(s.target.name, s.target.hosts, done))
        return results

    # --- adopting what people changed in Open WebUI ---

    def _adopt_on_schedule(self, why: str) -> None:
        if why != "start":  # the start's full reconcile has just adopted
            self._adopt(why)

    def _adopt(self, why: str) -> None:
        self._adopter.run(self._good.snapshot.config if self._good.valid else None, why)

    def _name(self, slot: int, name: str) -> None:
        if self._labels[slot] != name:
            self.status.rename(self._labels[slot], name)
            self._labels[slot] = name

    def _commit_label(self) -> tuple[str | None, bool]:
        """The commit deployed, and whether what was deployed differs from it."""
        repo = self.registry.repo
        try:
            head = repo.head()
            if head is None:
                return None, True
            committed: dict[str, str] = {}
            for folder in ("", MODELS_DIR, AVATARS_DIR):
                listing = repo.list_tree(head, self.registry.repo_path(folder).rstrip("/"))
                cut = len(self.registry.prefix) + 1 if self.registry.prefix else 0
                committed.update({p[cut:]: sha for p, sha in listing.items() if watched(p[cut:])})
        except ModelopsError:
            return None, True
        deployed = self._good.files.content
        same = set(deployed) == set(committed) and all(
            repo.blob_id(content) == committed[path] for path, content in deployed.items()
        )
        return head, not same

    # --- committing hand edits ---

    def _commit(self, accepted: dict[str, bytes | None]) -> None:
        """Commit the valid hand edits that are still as they were checked (a file saved again
        since waits for its own batch), through the registry's one way of writing."""
        files = {**self._uncommitted, **accepted}
        sha = None
        try:
            with self.registry.transaction(COMMIT_LOCK_TIMEOUT) as tx:
                edits = {
                    path: content
                    for path, content in files.items()
                    if self._work_tree.read(path) == content and tx.snapshot.read(path) != content
                }
                if edits:
                    sha = tx.commit(self._describe(edits))
        except ModelopsError as exc:
            self._uncommitted = files
            self.journal.error("commit-failed", f"hand edits not committed: {exc.message}")
            return
        self._uncommitted = {}
        if sha:
            self.journal.info("committed", f"committed hand edits as {sha[:10]}", commit=sha)

    def _describe(self, edits: dict[str, bytes | None]) -> Changeset:
        paths = sorted(edits)
        ids = [i for p in paths if (i := model_id(p)) is not None]
        named = ids or [p.rpartition("/")[2] for p in paths]
        shown = ", ".join(named[:5]) + (f" and {len(named) - 5} more" if len(named) > 5 else "")
        return Changeset(
            op="watch",
            summary=f"Commit hand edits to {shown}",
            writes=edits,
            models=tuple(ids),
            details=tuple(paths),
            trailers=(("Modelops-Watcher", self.options.name),),
        )
