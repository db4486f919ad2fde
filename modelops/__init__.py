"""modelops: LLM model definitions managed the GitOps way."""

import gc

__version__ = "0.1.0"

# Python's own thresholds for the garbage collector, as they were before the `modelops` command
# raised them for its short runs (see __main__.py); the watcher, which runs for days, goes back
# to them, so that the garbage of reference cycles never waits long to be freed.
PYTHON_GC_THRESHOLD = gc.get_threshold()
