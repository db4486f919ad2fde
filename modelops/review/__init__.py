"""Pull-request review: the semantic difference between two revisions of a registry (models
added, removed, renamed, cloned, hidden, shared; each changed field with its before and after,
values inherited through `base` included) and the review document that puts it together with
the plans and the replays. Pure: the caller loads the revisions, plans and replays, and passes
them in."""
