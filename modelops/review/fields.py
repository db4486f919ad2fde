"""The fields of a model diff: each changed field before and after, nested mappings compared
key by key, in the order of a model file; the values a model inherits through its chain of
registry bases, resolved on both sides and credited to the model they come from; and what a
change means in Open WebUI's words (hidden, shared with whom). Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelops.spec.inherit import base_chain, effective
from modelops.spec.model import FIELDS, ModelSpec
from modelops.spec.params import CATALOGUE

TEXT_FIELDS = ("system", "template")  # shown as unified diffs
_OWN_ONLY = ("id", "version", "avatar")  # not compared as fields (the avatar is an image)


@dataclass(frozen=True)
class FieldDiff:
    """One field of one model; None is "not set". `via` names the registry model a value is
    inherited from, when the model's own field did not change."""

    field: str
    before: Any
    after: Any
    via: str | None = None

    @property
    def is_text(self) -> bool:
        return self.field in TEXT_FIELDS


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted keys; lists and scalars are leaves. An empty list or mapping
    means what an absent one does (no tags, nobody granted), except for a parameter, where
    an empty `stop` list overrides the base's."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out |= flatten(value, f"{name}.")
        elif value or value is False or value == 0 or name.startswith("parameters."):
            out[name] = value
    return out


def _own(spec: ModelSpec | None) -> dict[str, Any]:
    if spec is None:
        return {}
    data = {k: v for k, v in spec.to_data().items() if k not in _OWN_ONLY}
    return flatten(data)


_PARAMETERS = list(CATALOGUE)


def _field_rank(key: str) -> tuple[int, int]:
    """Fields in the order of a model file; parameters in the catalogue's order."""
    top, _, rest = key.partition(".")
    rank = FIELDS.index(top) if top in FIELDS else len(FIELDS)
    if top == "parameters":
        return rank, _PARAMETERS.index(rest) if rest in _PARAMETERS else len(_PARAMETERS)
    return rank, 0


def own_fields(before: ModelSpec | None, after: ModelSpec | None) -> tuple[FieldDiff, ...]:
    """The fields a model's own file changes, in the canonical order of a model file."""
    old, new = _own(before), _own(after)
    keys = sorted(dict.fromkeys([*old, *new]), key=_field_rank)
    return tuple(FieldDiff(k, old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k))


def _effective(specs: Mapping[str, ModelSpec], model_id: str) -> dict[str, Any]:
    values = effective(specs, model_id)
    out: dict[str, Any] = {
        "base": base_chain(specs, model_id)[-1],
        "system": values.system,
        "template": values.template,
        "messages": [{"role": r, "content": c} for r, c in values.messages]
        if values.messages
        else None,
        "license": list(values.license) or None,
    }
    out |= {f"parameters.{k}": v for k, v in values.parameters.items()}
    return out


def _own_value(spec: ModelSpec | None, key: str) -> Any:
    if spec is None:
        return None
    if key.startswith("parameters."):
        return (spec.parameters or {}).get(key.split(".", 1)[1])
    value = getattr(spec, key)
    if key == "messages" and value:
        return [m.model_dump() for m in value]
    return value


def inherited_fields(
    model_id: str,
    old: str,
    before: Mapping[str, ModelSpec],
    after: Mapping[str, ModelSpec],
    renames: Mapping[str, str],
) -> tuple[FieldDiff, ...]:
    """Values that change for `model_id` (`old` at BASE) through its chain of bases, while its
    own file leaves them as they were."""
    old_values, new_values = _effective(before, old), _effective(after, model_id)
    out = []
    for key in sorted(dict.fromkeys([*old_values, *new_values]), key=_field_rank):
        a, b = old_values.get(key), new_values.get(key)
        if a == b or _own_value(before[old], key) != _own_value(after[model_id], key):
            continue
        via = _origin(model_id, key, before, after, renames)
        out.append(FieldDiff(key, a, b, via))
    return tuple(out)


def _origin(
    model_id: str,
    key: str,
    before: Mapping[str, ModelSpec],
    after: Mapping[str, ModelSpec],
    renames: Mapping[str, str],
) -> str:
    """The nearest registry base whose own value of `key` changed, or that sets it."""
    ancestors = [m for m in base_chain(after, model_id)[1:] if m in after]
    own_key = "base" if key == "base" else key
    for ancestor in ancestors:
        now = after[ancestor]
        then = before.get(renames.get(ancestor, ancestor))
        if _own_value(then, own_key) != _own_value(now, own_key):
            return ancestor
        if key != "base" and _own_value(now, own_key) is not None:
            return ancestor
    return ancestors[0] if ancestors else after[model_id].base


def _grants(spec: ModelSpec) -> set[str]:
    access = spec.access
    if access is None:
        return set()
    out = {"everyone"} if access.public else set()
    for mode, principals in (("", access.read), (" (write)", access.write)):
        if principals is None:
            continue
        out |= {f"group {g}{mode}" for g in principals.groups}
        out |= {f"user {u}{mode}" for u in principals.users}
    return out


def labels(before: ModelSpec, after: ModelSpec) -> tuple[str, ...]:
    """What a change means in Open WebUI's words: hidden, shared with whom, and so on."""
    out = []
    if bool(before.hidden) != bool(after.hidden):
        out.append("hidden" if after.hidden else "unhidden")
    if (before.active is not False) != (after.active is not False):
        out.append("activated" if after.active is not False else "deactivated")
    old, new = _grants(before), _grants(after)
    if new - old:
        out.append("shared with " + ", ".join(sorted(new - old)))
    if old - new:
        out.append("no longer shared with " + ", ".join(sorted(old - new)))
    return tuple(out)
