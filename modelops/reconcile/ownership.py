"""What modelops owns on an Ollama host, and so may delete: models in the target's namespace,
or, without a namespace, `<id>:latest` for an id in the history of what is deployed, or a
model an earlier apply recorded making. Nothing else is ever deleted. Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from modelops.spec import names


def owner(
    namespace: str | None, ids_ever: Iterable[str], made: Iterable[str] = ()
) -> Callable[[str], bool]:
    """Whether modelops owns a live model, by its Ollama name. `made` holds the match keys
    of models the record says earlier applies made."""
    known, recorded = set(ids_ever), set(made)

    def owned(live_name: str) -> bool:
        try:
            name = names.parse_ollama_name(live_name)
        except names.InvalidName:
            return False
        if name.key in recorded:
            return True
        if name.host != names.DEFAULT_HOST:
            return False
        if namespace is not None:
            return name.namespace.lower() == namespace.lower()
        return (
            name.namespace == names.DEFAULT_NAMESPACE
            and name.tag == "latest"
            and (name.model.lower() in known)
        )

    return owned
