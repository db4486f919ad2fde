"""The watcher's adoption: what people changed in each Open WebUI target becomes one commit per
model, and what stops a model from being adopted is said once, not every interval."""

from __future__ import annotations

from collections.abc import Mapping

from modelops.errors import ModelopsError
from modelops.reconcile import adopt
from modelops.reconcile.session import Selection, choose
from modelops.registry.store import Registry
from modelops.spec.config import Config, OpenWebUITargetConfig
from modelops.watch.log import EventLog


class Adopter:
    def __init__(
        self,
        registry: Registry,
        targets: tuple[str | None, ...],
        environ: Mapping[str, str],
        log: EventLog,
        lock_timeout: float,
    ) -> None:
        self.registry = registry
        self.targets = targets
        self.environ = environ
        self.journal = log
        self.lock_timeout = lock_timeout
        # what was last said of each (target, model) that could not be adopted ("": the target)
        self._said: dict[tuple[str, str], tuple[str, str]] = {}

    def run(self, config: Config | None, why: str) -> None:
        """Adopt into the registry what people changed in each Open WebUI target. The commits
        change the model files, and the watcher reconciles them as it would any save."""
        if config is None:
            return  # said when modelops.yaml broke; adopted once it is valid again
        for given in self.targets:
            label = given or "default"
            try:
                name, found = choose(config, Selection(target=given))
                if not isinstance(found, OpenWebUITargetConfig):
                    continue
                request = adopt.Request(
                    target=name, environ=self.environ, lock_timeout=self.lock_timeout
                )
                report = adopt.adopt(self.registry, request)
            except ModelopsError as exc:
                said = ("failed", exc.message)
                if self._said.get((label, "")) != said:
                    message = f"{label}: nothing adopted: {exc.message}"
                    self.journal.error("adopt-failed", message, target=label, why=why)
                self._said[(label, "")] = said
                continue
            self._said.pop((label, ""), None)
            self.say(report, why)

    def say(self, report: adopt.Report, why: str) -> None:
        """A line per model adopted; for one that cannot be, a line when what stops it changes
        (a conflict is not said again every interval while it lasts). Another registry's
        models are none of this watcher's business."""
        for a in report.adoptions:
            key = (report.target, a.model)
            fields = {"target": report.target, "model": a.model, "status": a.status, "why": why}
            if a.commit:
                subject = a.change.summary if a.change else a.status
                self.journal.info(
                    "adopted",
                    f"{a.model}: committed {a.commit[:10]}: {subject}",
                    commit=a.commit,
                    changed=[f.field for f in a.fields],
                    **fields,
                )
            elif a.status in ("conflict", "failed", "skipped") and not a.foreign:
                said = (a.status, a.reason)
                if self._said.get(key) != said:
                    level = self.journal.error if a.status == "failed" else self.journal.warning
                    level(f"adopt-{a.status}", f"{a.model}: {a.reason}", **fields)
                self._said[key] = said
                continue
            self._said.pop(key, None)
