"""What every file format of modelops shares: a strict pydantic base (unknown keys are errors,
no type coercion), and one translation of pydantic's validation errors into messages that say
what to do, for model files, `modelops.yaml` and conversation files alike. Pure."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from modelops.spec.words import describe, number_text

Loc = tuple[str | int, ...]
RawProblem = tuple[Loc, str]  # a key path and what is wrong there

NonEmpty = Annotated[str, Field(min_length=1)]


class Strict(BaseModel):
    """Unknown keys are errors and values keep their YAML type: a typo never does nothing."""

    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, allow_inf_nan=False, defer_build=True
    )


_TYPE_WORDS = {
    "string_type": "a string",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "int_type": "an integer",
    "float_type": "a number",
}
_UNION_LABELS = ("str", "constrained-str")
_BOUNDS = {
    "greater_than": ("more than", "gt"),
    "greater_than_equal": ("at least", "ge"),
    "less_than": ("less than", "lt"),
    "less_than_equal": ("at most", "le"),
}


def translate(err: Any, root: type[BaseModel], what: str, data: Any = None) -> RawProblem:
    """One pydantic error as a key path and a message. `root` is the model validated, for
    did-you-mean hints; `what` names the format in version errors ("spec", "conversation");
    `data` is what was validated, which tells a key from pydantic's union-branch labels."""
    loc = clean_loc(err["loc"], data)
    kind, given = err["type"], err.get("input")
    if kind == "extra_forbidden" and loc:
        return loc, "unknown key" + did_you_mean(str(loc[-1]), fields_at(root, loc[:-1]))
    if kind == "missing":
        return loc, "required key is missing"
    if loc == ("version",):
        return loc, f"unsupported {what} version {given!r} (this modelops reads version 1)"
    if kind == "literal_error":
        return loc, f"must be one of {err['ctx']['expected']}, got {describe(given)}"
    if kind == "string_too_short":
        required = _required(root, loc)
        return loc, "must not be empty" + (
            "" if required else " (remove the key to leave it unset)"
        )
    if kind == "too_short":
        return loc, "needs at least one entry"
    if kind == "finite_number":
        return loc, f"must be a finite number, got {number_text(given)}"
    if kind in _BOUNDS:
        words, key = _BOUNDS[kind]
        return loc, f"must be {words} {err['ctx'][key]:g}, got {number_text(given)}"
    if kind in _TYPE_WORDS:
        hint = f" (quote it: '{given}')" if kind == "string_type" and _scalar(given) else ""
        return loc, f"expected {_TYPE_WORDS[kind]}, got {describe(given)}{hint}"
    return loc, str(err["msg"]).removeprefix("Value error, ")


def about_value(message: str) -> bool:
    """Whether a message is about a key's value (point at the value) rather than the key."""
    return message.startswith(("expected ", "must ", "no value", "needs ", "unsupported "))


def clean_loc(loc: Iterable[Any], data: Any = None) -> Loc:
    """A location without pydantic's union-branch labels such as `str` or `list[str]`. With
    the validated `data`, a part is kept exactly when it is a key or index there, so a user's
    key that looks like a label (`str`, `v[ersion`) stays; without it, by their look."""
    if data is None:
        return tuple(
            part
            for part in loc
            if not (isinstance(part, str) and ("[" in part or part in _UNION_LABELS))
        )
    out: list[str | int] = []
    node = data
    for part in loc:
        inside = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if inside:
            node = node[part]
        elif not (isinstance(part, str) and ("[" in part or part in _UNION_LABELS)):
            node = None  # a key the data lacks (a required key that is missing)
        else:
            continue  # a label pydantic adds: not a place in the file
        out.append(part)
    return tuple(out)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    options = list(choices)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.7)
    if close:
        return f" (did you mean '{close[0]}'?)"
    if len(options) == 1:
        return f" (expected {options[0]})"
    if 1 < len(options) <= 6:
        return f" (expected {', '.join(options[:-1])} or {options[-1]})"
    return ""


def fields_at(root: type[BaseModel], loc: Loc) -> list[str]:
    """The keys allowed in the mapping at `loc` under `root`, for did-you-mean hints."""
    model = _model_at(root, loc)
    return list(model.model_fields) if model is not None else []


def _model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    model: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        if not _is_model(model) or part not in model.model_fields:
            return None
        model = _model_in(model.model_fields[part].annotation)
    return model if _is_model(model) else None


def _required(root: type[BaseModel], loc: Loc) -> bool:
    last = max((i for i, part in enumerate(loc) if isinstance(part, str)), default=None)
    if last is None:
        return False
    parent, key = _model_at(root, loc[:last]), loc[last]
    return (
        parent is not None and key in parent.model_fields and parent.model_fields[key].is_required()
    )


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _model_in(annotation: Any) -> Any:
    if _is_model(annotation):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _scalar(value: Any) -> bool:
    return isinstance(value, int | float | bool)
