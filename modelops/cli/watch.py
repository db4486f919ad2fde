"""watch: the daemon that keeps the targets in step with the registry as it is saved."""

from __future__ import annotations

import gc
import os
import re
import signal
import socket
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from modelops import PYTHON_GC_THRESHOLD
from modelops.cli.common import open_registry, registry_option
from modelops.cli.reconcile import host_option, parallelism_option, prune_option
from modelops.errors import Exit, UsageError
from modelops.registry.store import Registry

if TYPE_CHECKING:
    from modelops.watch.daemon import Watcher

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def seconds(text: str) -> float:
    """A length of time: 500ms, 30s, 5m, 1h, or a number of seconds."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", text)
    if not found or float(found[1]) <= 0:
        raise click.BadParameter(f"'{text}' is not a duration (write e.g. 500ms, 30s, 5m or 1h)")
    return float(found[1]) * _UNITS[found[2] or "s"]


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    return None if value is None else seconds(value)


def parse_address(text: str) -> tuple[str, int]:
    """HOST:PORT, [IPv6]:PORT, or :PORT (loopback)."""
    found = re.fullmatch(r"(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]]*)):(\d{1,5})", text.strip())
    if not found or int(found[3]) > 65535:
        raise UsageError(f"--status-addr {text}: write HOST:PORT, e.g. 127.0.0.1:9100")
    return found[1] or found[2] or "127.0.0.1", int(found[3])


@click.command()
@click.argument("target_names", nargs=-1, metavar="[TARGET]...")
@registry_option
@host_option
@prune_option
@parallelism_option
@click.option("--commit", is_flag=True, help="Commit valid hand edits: one commit per batch.")
@click.option(
    "--follow",
    metavar="REMOTE/BRANCH",
    help="Every interval, fetch this branch and fast-forward to it (never merge or rewrite).",
)
@click.option(
    "--interval",
    callback=_duration,
    metavar="DURATION",
    default="60s",
    show_default=True,
    help="How often to fetch (--follow) and reconcile everything, repairing drift made by hand.",
)
@click.option(
    "--debounce",
    callback=_duration,
    metavar="DURATION",
    default="300ms",
    show_default=True,
    help="Quiet time after a save before acting; a burst of saves is acted on once.",
)
@click.option(
    "--adopt-interval",
    callback=_duration,
    metavar="DURATION",
    help="How often to adopt edits made in Open WebUI (its targets only): one commit per "
    "model. Every full reconcile adopts first, so it never reverts them.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines as text, or as JSON lines.",
)
@click.option(
    "--status-addr",
    metavar="HOST:PORT",
    help="Serve /healthz, /livez and Prometheus /metrics here (e.g. 127.0.0.1:9100).",
)
def watch(
    target_names: tuple[str, ...],
    registry_dir: str | None,
    hosts: tuple[str, ...],
    prune: bool,
    parallelism: int,
    commit: bool,
    follow: str | None,
    interval: float,
    debounce: float,
    adopt_interval: float | None,
    log_format: str,
    status_addr: str | None,
) -> int:
    """Watch the registry and reconcile each saved change into the targets.

    Unlike apply, which deploys the registry as committed, watch deploys the work tree as it is
    saved: that is its job. Bursts of saves (an editor, a git checkout) are acted on once. Only
    the models that changed, and the models built on them, are reconciled; every --interval
    everything is, which repairs changes made on the hosts by hand. A file that cannot be read
    or is invalid is reported with its place and left out: the last good version of its model
    stays live, and nothing is deleted because of it. With --adopt-interval, edits made in an
    Open WebUI target's UI are committed to the registry instead of being repaired.

    Logs go to stderr. SIGTERM or Ctrl-C stops it: the current call finishes (or is abandoned
    after the target's timeout) and it exits 0.
    """
    from modelops.watch import follow as following
    from modelops.watch.daemon import Options, Watcher
    from modelops.watch.log import EventLog
    from modelops.watch.status import Status, StatusServer

    if hosts and len(target_names) > 1:
        raise UsageError("--host applies to one target; name at most one TARGET with it")
    registry = open_registry(registry_dir)
    branch = following.Branch.parse(follow) if follow else None
    if branch is not None:
        following.check(registry.repo, branch)
    _check_targets(registry, target_names, hosts, adopt_interval is not None)
    address = parse_address(status_addr) if status_addr else None
    options = Options(
        targets=tuple(target_names) or (None,),
        hosts=hosts,
        prune=prune,
        workers=parallelism,
        env_host=os.environ.get("OLLAMA_HOST"),
        commit=commit,
        follow=branch,
        interval=interval,
        quiet=debounce,
        longest=max(2.0, debounce * 5),
        name=f"modelops watch on {socket.gethostname()}",
        adopt_every=adopt_interval,
        environ=dict(os.environ),
    )
    journal = EventLog(sys.stderr, as_json=log_format == "json")
    status = Status()
    server = None
    if address is not None:
        server = StatusServer.listen(address, status)
        journal.info(
            "status",
            f"serving /healthz, /livez and /metrics on http://{server.address}",
            address=server.address,
        )
    watcher = Watcher(registry, options, journal, status)
    shown = ", ".join(target_names) or "the default target"
    journal.info("watching", f"watching {registry.root} for {shown}", registry=str(registry.root))
    gc.set_threshold(*PYTHON_GC_THRESHOLD)  # a daemon: see modelops/__init__.py
    try:
        return _run(watcher, registry)
    finally:
        if server is not None:
            server.stop()


def _check_targets(
    registry: Registry, names: tuple[str, ...], hosts: tuple[str, ...], adopting: bool
) -> None:
    """Refuse target names modelops.yaml does not have (when it can be read now), and
    --adopt-interval when none of them is an Open WebUI target."""
    from modelops.reconcile.session import Selection, choose, resolve_target
    from modelops.spec.config import OpenWebUITargetConfig

    config = registry.load().config
    if config is None:
        return  # the watcher reports the broken file and waits for it to be fixed
    chosen = [choose(config, Selection(name)) for name in names or (None,)]
    for name, found in chosen:
        if not isinstance(found, OpenWebUITargetConfig):
            # names only: dns:// hosts are resolved on every reconcile, not now
            resolve_target(config, Selection(name, hosts), lambda host, port: [(host, port)])
    if adopting and not any(isinstance(found, OpenWebUITargetConfig) for _, found in chosen):
        shown = ", ".join(name for name, _ in chosen)
        raise UsageError(
            f"--adopt-interval adopts edits made in Open WebUI, and {shown} "
            f"{'is not an Open WebUI target' if len(chosen) == 1 else 'are not Open WebUI targets'}"
            " (name one, or leave the option out)"
        )


def _run(watcher: Watcher, registry: Registry) -> int:
    """Serve until SIGTERM or SIGINT; exit 0 either way."""
    from modelops.watch.service import serve

    stopping = threading.Event()

    def on_signal(number: int, frame: FrameType | None) -> None:
        name = signal.Signals(number).name
        watcher.journal.info("stopping", f"{name}: stopping after the current call")
        stopping.set()

    previous = _handle_signals(on_signal)
    try:
        finished = serve(watcher, registry.root, stopping)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if not finished:
        watcher.journal.warning(
            "abandoned",
            f"the current call took longer than {watcher.grace:g} s: abandoned (the next run "
            "converges)",
        )
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(Exit.OK)  # the abandoned call's worker threads would hold the exit up
    watcher.journal.info("stopped", "stopped")
    return Exit.OK


Handler = Callable[[int, FrameType | None], Any] | int | None


def _handle_signals(handler: Callable[[int, FrameType | None], None]) -> dict[int, Handler]:
    """Install `handler` for SIGTERM and SIGINT; the handlers it replaced. Signals reach only
    the main thread: elsewhere (a test driving the command in a thread) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {n: signal.signal(n, handler) for n in (signal.SIGTERM, signal.SIGINT)}
