"""How a model file is laid out: the canonical key order, which mappings sit on one line, which
fields hold plain text, and the canonical form of a whole file (new files and `fmt`). Pure."""

from __future__ import annotations

import functools
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from modelops.spec import yamledit
from modelops.spec.base import Loc, fields_at
from modelops.spec.emit import emit
from modelops.spec.model import ModelSpec
from modelops.spec.params import CATALOGUE


def key_order(loc: Loc) -> list[str]:
    """The canonical order of the keys of the mapping at `loc`."""
    return list(_ranks(_shape(loc)))


def _shape(loc: Loc) -> tuple[str, ...]:
    """`loc` without list positions: every item of a list is laid out alike."""
    return tuple(part for part in loc if isinstance(part, str))


@functools.lru_cache(maxsize=64)
def _ranks(shape: tuple[str, ...]) -> dict[str, int]:
    """Each key's place in the canonical order of the mapping at `shape` (a model file has a
    few dozen shapes; a thousand files are laid out with these few answers)."""
    if shape == ("parameters",):
        order = list(CATALOGUE)
    elif shape[:1] == ("openwebui",) and len(shape) > 1:
        order = []  # verbatim: keep the user's order
    else:
        order = fields_at(ModelSpec, shape)
    return {key: i for i, key in enumerate(order)}


def flow_style(loc: Loc) -> bool:
    """Mappings written on one line in canonical layout."""
    return len(loc) == 2 and loc[0] == "access" and loc[1] in ("read", "write")


def expects_text(loc: Loc) -> bool:
    """Whether the field at `loc` holds plain text, so a value typed for it is taken verbatim."""
    annotation: Any = ModelSpec
    for part in loc:
        options = _options(annotation)
        if isinstance(part, int):
            lists = [get_args(o)[0] for o in options if get_origin(o) is list]
            if not lists:
                return False
            annotation = lists[0]
            continue
        models = [o for o in options if isinstance(o, type) and issubclass(o, BaseModel)]
        if not models or part not in models[0].model_fields:
            return False
        annotation = models[0].model_fields[part].annotation
    return str in _options(annotation)


def _options(annotation: Any) -> list[Any]:
    """The types an annotation admits, without None and Annotated wrappers."""
    if get_origin(annotation) is Annotated:
        return _options(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        return [o for arg in get_args(annotation) for o in _options(arg) if o is not type(None)]
    return [annotation]


def render_new(data: dict[str, Any]) -> bytes:
    """A new model file in canonical layout: key order, then the emitter's style."""
    return emit(in_key_order(data, ()), flow_style, yamledit.SCHEMA_MODELINE).encode()


def in_key_order(value: Any, loc: Loc) -> Any:
    """`value` (the value at `loc`) with every mapping's keys in canonical order."""
    return _ordered(value, _shape(loc))


def _ordered(value: Any, shape: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        out = {}
        for k in _order(shape, tuple(value)):
            item = value[k]
            out[k] = _ordered(item, (*shape, k)) if isinstance(item, _NESTED) else item
        return out
    if isinstance(value, list):
        return [_ordered(item, shape) if isinstance(item, _NESTED) else item for item in value]
    return value


_NESTED = (dict, list)  # a tuple: isinstance is slower with a union


@functools.lru_cache(maxsize=1024)
def _order(shape: tuple[str, ...], keys: tuple[str, ...]) -> tuple[str, ...]:
    """`keys` of a mapping at `shape` in canonical order (files repeat a few key sets)."""
    rank = _ranks(shape)
    return tuple(sorted(keys, key=lambda k: rank.get(k, len(rank))))


def formatted(raw: bytes) -> bytes:
    """The canonical layout of one model file: key order, indentation, modeline; comments kept."""
    doc = yamledit.rt_load(raw.decode("utf-8-sig"))
    doc = yamledit.restyle(doc, key_order, flow_style)
    return yamledit.dump_canonical(doc, yamledit.SCHEMA_MODELINE).encode()


def styled(value: Any, loc: Loc) -> Any:
    """`value` as round-trip YAML nodes laid out as a value at `loc` would be."""
    return yamledit.to_commented(value, lambda sub: flow_style((*loc, *sub)))


def changed_keys(old: dict[str, Any], new: dict[str, Any], depth: int = 2) -> list[str]:
    """Dotted keys whose values differ, descending `depth` levels into mappings."""
    out: list[str] = []
    for key in [*old, *(k for k in new if k not in old)]:
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if depth > 1 and isinstance(a, dict) and isinstance(b, dict):
            out += [f"{key}.{sub}" for sub in changed_keys(a, b, depth - 1)]
        else:
            out.append(str(key))
    return out
