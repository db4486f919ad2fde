"""The watcher daemon: it watches the registry's files, debounces bursts of saves, validates
what changed and reconciles the models that changed, keeps the last good state when a file is
broken, optionally commits hand edits and follows a git remote, and serves its health and
metrics. It drives the same use cases as `plan` and `apply` (`modelops.reconcile.session`)."""
