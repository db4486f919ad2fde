"""What the watcher tells the outside world: its health and its Prometheus metrics, and the small
HTTP server that serves them.

- `/healthz`: 200 once every target has been reconciled successfully and the last reconcile
  reached all of its hosts; 503, with the reason, before that and while a target is away. A
  readiness probe: the watcher itself is fine, its target is not.
- `/livez`: 200 while the process answers (a liveness probe that a down target never fails).
- `/metrics`: the Prometheus exposition format, from a registry of this watcher's own.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Info,
    generate_latest,
)

from modelops.errors import ModelopsError


@dataclass
class _Target:
    ok: bool = False  # the last reconcile reached every host and raised nothing
    succeeded: bool = False  # at least one reconcile has
    reason: str = "no reconcile has finished yet"


class Status:
    """Health and metrics, updated by the watcher's loop and read by the status server."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._lock = threading.Lock()
        self._targets: dict[str, _Target] = {}
        labels = ["target"]
        self.reconciles = Counter(
            "modelops_reconciles",
            "Reconciles run against the target (plan, then apply).",
            labels,
            registry=self.registry,
        )
        self.failures = Counter(
            "modelops_reconcile_failures",
            "Reconciles that failed: a host could not be reached or a change failed.",
            labels,
            registry=self.registry,
        )
        self.drifted = Gauge(
            "modelops_drifted_models",
            "Models the last plan found different from the registry on the target's hosts "
            "(to create or update), before it applied them.",
            labels,
            registry=self.registry,
        )
        self.last_success = Gauge(
            "modelops_last_success_timestamp_seconds",
            "When the last successful reconcile finished (Unix time).",
            labels,
            registry=self.registry,
        )
        self.commit = Info(
            "modelops_applied_commit",
            "The registry commit the target was last reconciled from; work_tree is 'modified' "
            "when uncommitted edits were deployed with it.",
            labels,
            registry=self.registry,
        )
        self.invalid_files = Gauge(
            "modelops_invalid_files",
            "Registry files left out because they could not be read or validated.",
            registry=self.registry,
        )
        self.diverged = Gauge(
            "modelops_follow_diverged",
            "1 while the followed remote branch has diverged from the local branch.",
            registry=self.registry,
        )

    def expect(self, target: str) -> None:
        """A target the watcher reconciles: not healthy until it has been reconciled."""
        with self._lock:
            self._targets.setdefault(target, _Target())

    def rename(self, old: str, new: str) -> None:
        """The target first known by its place is now known by its name."""
        with self._lock:
            if old != new and old in self._targets:
                self._targets.setdefault(new, self._targets.pop(old))

    def reconciled(
        self, target: str, *, reached: bool, ok: bool, drifted: int, reason: str, when: float
    ) -> None:
        """One reconcile finished: `reached` every host, and `ok` if nothing failed."""
        self.reconciles.labels(target).inc()
        self.drifted.labels(target).set(drifted)
        if ok:
            self.last_success.labels(target).set(when)
        else:
            self.failures.labels(target).inc()
        with self._lock:
            state = self._targets.setdefault(target, _Target())
            state.ok = reached
            state.succeeded = state.succeeded or ok
            state.reason = reason

    def failed(self, target: str, reason: str) -> None:
        """A reconcile could not even start (the target could not be resolved)."""
        self.reconciles.labels(target).inc()
        self.failures.labels(target).inc()
        with self._lock:
            state = self._targets.setdefault(target, _Target())
            state.ok = False
            state.reason = reason

    def applied(self, target: str, commit: str, modified: bool) -> None:
        work_tree = "modified" if modified else "clean"
        self.commit.labels(target).info({"commit": commit, "work_tree": work_tree})

    def health(self) -> tuple[bool, str]:
        with self._lock:
            if not self._targets:
                return False, "no target reconciled yet"
            for name, state in sorted(self._targets.items()):
                if not state.succeeded:
                    return False, f"{name}: no successful reconcile yet ({state.reason})"
                if not state.ok:
                    return False, f"{name}: {state.reason}"
        return True, "ok"

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _Handler(BaseHTTPRequestHandler):
    server: StatusServer

    def do_GET(self) -> None:
        status = self.server.status
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            ready, reason = status.health()
            self._send(200 if ready else 503, f"{reason if ready else 'not ready: ' + reason}\n")
        elif path == "/livez":
            self._send(200, "ok\n")
        elif path == "/metrics":
            self._send(200, status.exposition(), CONTENT_TYPE_LATEST)
        else:
            self._send(404, "not found: try /healthz, /livez or /metrics\n")

    def _send(self, code: int, body: str | bytes, kind: str = "text/plain; charset=utf-8") -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Probes every few seconds are not worth a log line."""


class StatusServer(ThreadingHTTPServer):
    """Serves a `Status` on `address` from a thread of its own until `stop()`."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], status: Status) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.status = status
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )

    @classmethod
    def listen(cls, address: tuple[str, int], status: Status) -> StatusServer:
        """A started server on `address`; an address that cannot be had is a ModelopsError."""
        try:
            return cls(address, status).start()
        except OSError as exc:
            host = f"[{address[0]}]" if ":" in address[0] else address[0]
            raise ModelopsError(
                f"--status-addr {host}:{address[1]}: cannot listen there ({exc.strerror or exc})"
            ) from None

    @property
    def address(self) -> str:
        host, port = self.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        shown = f"[{host}]" if ":" in host else host
        return f"{shown}:{port}"

    def start(self) -> StatusServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)
