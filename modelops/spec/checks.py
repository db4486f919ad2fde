"""Checking one parsed model file against the spec: every problem at once, each with the key
path it is about and a message that says what to do. Pure; positions are added by the caller."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from modelops.spec import names
from modelops.spec.base import RawProblem, did_you_mean, translate
from modelops.spec.model import MANAGED_META, MANAGED_PARAMS, ModelSpec
from modelops.spec.params import CATALOGUE, REMOVED, type_error
from modelops.spec.words import describe


def check_model(data: Any) -> tuple[ModelSpec | None, list[RawProblem]]:
    """Validate one parsed model file. Problems carry the key path they are about."""
    if data is None:
        return None, [((), "the file is empty (a model file starts with 'version: 1')")]
    if not isinstance(data, dict):
        return None, [((), f"expected a mapping of keys at the top level, got {describe(data)}")]
    problems = _null_problems(data)
    problems += _parameter_problems(data.get("parameters"))
    problems += _openwebui_problems(data.get("openwebui"))
    problems += _infinite(data.get("openwebui"), ("openwebui",))
    try:
        spec = ModelSpec.model_validate(data)
    except ValidationError as exc:
        problems += [p for err in exc.errors() if (p := _translate(err, data)) is not None]
        spec = None
    if problems:
        return None, _dedupe(problems)
    return spec, []


def _dedupe(problems: list[RawProblem]) -> list[RawProblem]:
    """One problem per key: a value that fits no branch of a union fails each branch."""
    seen: set[tuple[str | int, ...]] = set()
    out = []
    for loc, message in problems:
        if loc not in seen:
            seen.add(loc)
            out.append((loc, message))
    return out


def _null_problems(value: Any, loc: tuple[str | int, ...] = ()) -> list[RawProblem]:
    if value is None:
        return [(loc, "no value (give one, or remove the key to leave it unset)")]
    out: list[RawProblem] = []
    for key, item in _children(value):
        if loc == () and key == "openwebui":
            continue  # verbatim: Open WebUI itself stores nulls
        if item is None or isinstance(item, dict | list):  # a scalar has nothing to look into
            out += _null_problems(item, (*loc, key))
    return out


def _parameter_problems(params: Any) -> list[RawProblem]:
    if not isinstance(params, dict):
        return []  # pydantic reports the wrong type
    out: list[RawProblem] = []
    for key, value in params.items():
        loc = ("parameters", key)
        if key in REMOVED:
            out.append((loc, f"removed in Ollama {REMOVED[key]} (delete it)"))
        elif key not in CATALOGUE:
            out.append((loc, "unknown parameter" + did_you_mean(key, CATALOGUE)))
        elif value is not None and (why := type_error(CATALOGUE[key], value)):
            out.append((loc, why))
    return out


def _infinite(value: Any, loc: tuple[str | int, ...]) -> list[RawProblem]:
    """NaN and infinities in the verbatim block: the JSON Open WebUI stores has neither."""
    if isinstance(value, float) and not math.isfinite(value):
        return [(loc, f"must be a finite number, got {value} (JSON has no {value})")]
    return [p for key, item in _children(value) for p in _infinite(item, (*loc, key))]


def _children(value: Any) -> Iterable[tuple[Any, Any]]:
    """The (key or index, item) pairs of a mapping or a list; none for anything else."""
    if isinstance(value, dict):
        return value.items()
    return enumerate(value) if isinstance(value, list) else ()


def _openwebui_problems(block: Any) -> list[RawProblem]:
    if not isinstance(block, dict):
        return []
    out: list[RawProblem] = []
    for section, managed in (("params", MANAGED_PARAMS), ("meta", MANAGED_META)):
        values = block.get(section)
        if not isinstance(values, dict):
            continue
        for key in values:
            loc = ("openwebui", section, key)
            if key in managed:
                field = managed[key]
                hint = f"set '{field}' instead" if field else "Open WebUI computes it; remove it"
                out.append((loc, f"managed by modelops ({hint})"))
            elif section == "params" and (key in CATALOGUE or key in REMOVED):
                out.append((loc, f"an Ollama parameter (set 'parameters.{key}' instead)"))
    return out


def _translate(err: Any, data: Any) -> RawProblem | None:
    loc, message = translate(err, ModelSpec, "spec", data)
    if loc[:1] == ("parameters",) and len(loc) > 1:
        return None  # checked against the catalogue instead
    if err.get("input") is None and err["type"] != "missing":
        return None  # reported as a null value
    if loc == ("id",) and err["type"] != "missing":
        return loc, f"{err.get('input')!r} is not a valid id ({names.ID_RULE})"
    return loc, message
