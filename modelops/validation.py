"""Checking one parsed model file against the spec: every problem at once, each with the key
path it is about and a message that says what to do. Pure; positions are added by the caller."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import ValidationError

from modelops import names
from modelops.params import CATALOGUE, REMOVED, describe, type_error
from modelops.spec import MANAGED_META, MANAGED_PARAMS, ModelSpec, fields_at

RawProblem = tuple[tuple[str | int, ...], str]


def check_model(data: Any) -> tuple[ModelSpec | None, list[RawProblem]]:
    """Validate one parsed model file. Problems carry the key path they are about."""
    if data is None:
        return None, [((), "the file is empty (a model file starts with 'version: 1')")]
    if not isinstance(data, dict):
        return None, [((), f"expected a mapping of keys at the top level, got {describe(data)}")]
    problems = _null_problems(data)
    problems += _parameter_problems(data.get("parameters"))
    problems += _openwebui_problems(data.get("openwebui"))
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
    if loc[:1] == ("openwebui",):
        return []  # verbatim: Open WebUI itself stores nulls
    if value is None:
        return [(loc, "no value (give one, or remove the key to leave it unset)")]
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    out: list[RawProblem] = []
    for key, item in items:
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
            out.append((loc, "unknown parameter" + _did_you_mean(key, CATALOGUE)))
        elif value is not None and (why := type_error(CATALOGUE[key], value)):
            out.append((loc, why))
    return out


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


def _did_you_mean(word: str, choices: Any) -> str:
    options = list(choices)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.7)
    if close:
        return f" (did you mean '{close[0]}'?)"
    if 0 < len(options) <= 6:
        return (
            f" (expected {', '.join(options[:-1])} or {options[-1]})"
            if len(options) > 1
            else (f" (expected {options[0]})")
        )
    return ""


_TYPE_MESSAGES = {
    "string_type": "a string",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "int_type": "an integer",
    "float_type": "a number",
}


def _translate(err: Any, data: dict[str, Any]) -> RawProblem | None:
    loc = _clean_loc(err["loc"])
    kind, given = err["type"], err.get("input")
    if loc and loc[0] == "parameters" and len(loc) > 1:
        return None  # checked against the catalogue instead
    if given is None and kind != "missing":
        return None  # reported as a null value
    if kind == "extra_forbidden":
        return loc, "unknown key" + _did_you_mean(str(loc[-1]), fields_at(loc[:-1]))
    if kind == "missing":
        return loc, "required key is missing"
    if loc == ("version",):
        return loc, f"unsupported spec version {given!r} (this modelops reads version 1)"
    if loc == ("id",):
        return loc, f"{given!r} is not a valid id ({names.ID_RULE})"
    if kind == "literal_error":
        return loc, f"must be one of {err['ctx']['expected']}, got {describe(given)}"
    if kind == "string_too_short":
        return loc, "must not be empty (remove the key to leave it unset)"
    if kind in _TYPE_MESSAGES:
        hint = f" (quote it: '{given}')" if kind == "string_type" and _scalar(given) else ""
        return loc, f"expected {_TYPE_MESSAGES[kind]}, got {describe(given)}{hint}"
    return loc, str(err["msg"])


def _scalar(value: Any) -> bool:
    return isinstance(value, int | float | bool)


def _clean_loc(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """Drop pydantic's union-branch labels such as 'str' or 'list[str]' from a location."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and ("[" in part or part in ("str", "constrained-str")):
            continue
        out.append(part)
    return tuple(out)
