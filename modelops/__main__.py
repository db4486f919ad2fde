"""`python -m modelops` and the `modelops` command.

The command line is imported inside `run`, so that Ctrl-C while its modules load (they take a
noticeable moment on a cold disk) prints `interrupted` and exits 130, as it does later, instead
of a traceback.

The cyclic garbage collector runs far less often than Python's default, which collects after
every 700 net allocations: modelops builds many objects and few cycles, so that an import of a
thousand models spent 70-120 ms in some 200 collections that freed almost nothing. mypy raises
the threshold in the same way for the same reason. Cycles are still collected, later; the
watcher, which runs for days, goes back to Python's thresholds (modelops/__init__.py).
"""

import gc
import sys

INTERRUPTED = 130  # as modelops.errors.Exit.INTERRUPTED, which is not imported yet here
GC_THRESHOLD = (200_000, 30, 30)  # young: after 200,000 new objects (Python: 700); older: 30x


def run() -> None:
    gc.set_threshold(*GC_THRESHOLD)
    try:
        from modelops.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(INTERRUPTED)
    sys.exit(main())


if __name__ == "__main__":
    run()
