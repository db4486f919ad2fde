"""`python -m modelops` and the `modelops` command.

The command line is imported inside `run`, so that Ctrl-C while its modules load (they take a
noticeable moment on a cold disk) prints `interrupted` and exits 130, as it does later, instead
of a traceback.
"""

import sys

INTERRUPTED = 130  # as modelops.errors.Exit.INTERRUPTED, which is not imported yet here


def run() -> None:
    try:
        from modelops.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(INTERRUPTED)
    sys.exit(main())


if __name__ == "__main__":
    run()
