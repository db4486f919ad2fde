"""The watcher as a process runs it: the loop in a thread of its own, the registry folder under
watch, and a stop that waits for the reconcile under way for at most the targets' timeout.
Whoever runs it (the command line) decides what asks it to stop: a signal, in practice."""

from __future__ import annotations

import threading
from pathlib import Path

from modelops.watch.daemon import Watcher
from modelops.watch.events import Watching


def serve(watcher: Watcher, root: Path, stopping: threading.Event) -> bool:
    """Run until `stopping` is set or the loop ends. False when the reconcile under way was
    still running `watcher.grace` seconds after the stop (it is abandoned: its threads are left
    to the process's exit); what the loop raised is raised here."""
    failure: list[BaseException] = []

    def loop() -> None:
        try:
            watcher.run()
        except BaseException as exc:  # handed over to the caller's thread
            failure.append(exc)
        finally:
            stopping.set()

    watching = Watching(root, watcher).start()
    thread = threading.Thread(target=loop, name="modelops-watch", daemon=True)
    thread.start()
    try:
        stopping.wait()
        watcher.stop()
        thread.join(timeout=watcher.grace)
    finally:
        watching.stop()
    if failure:
        raise failure[0]
    return not thread.is_alive()
