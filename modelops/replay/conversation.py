"""Conversation files (`conversations/*.yaml`, version 1): user turns, optional images, model
pins and expectations per turn, and default options. Parsed with the same reader and reported
with the same `path:line:col: key: message` errors as model files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from modelops import images, yamlio
from modelops.errors import Problem, SpecError
from modelops.params import CATALOGUE, describe, type_error

NonEmpty = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Expect(_Strict):
    """What an answer must satisfy; every check given must pass."""

    contains: list[NonEmpty] | None = Field(None, description="substrings the answer must have")
    not_contains: list[NonEmpty] | None = Field(None, description="substrings it must not have")
    regex: NonEmpty | None = Field(None, description="a regular expression it must match")
    json_: bool | None = Field(None, alias="json", description="true: the answer is valid JSON")
    max_ms: Annotated[int, Field(gt=0)] | None = Field(None, description="most milliseconds in all")
    min_tokens: Annotated[int, Field(ge=0)] | None = Field(None, description="fewest answer tokens")


class Turn(_Strict):
    user: NonEmpty = Field(description="what the user says")
    images: list[NonEmpty] | None = Field(None, description="image files, relative to this file")
    model: NonEmpty | None = Field(
        None, description="the model that answers this turn (switch mode)"
    )
    expect: Expect | None = None


class Conversation(_Strict):
    version: Literal[1]
    name: NonEmpty | None = None
    description: NonEmpty | None = None
    models: list[NonEmpty] | None = Field(None, description="models to compare when none are given")
    defaults: dict[str, Any] | None = Field(None, description="options for every answer: seed, ...")
    turns: list[Turn] = Field(min_length=1)

    @property
    def pinned(self) -> bool:
        return any(turn.model for turn in self.turns)


def json_schema() -> dict[str, Any]:
    schema = Conversation.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "modelops conversation (version 1)"
    return schema


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def load(path: Path, shown: str) -> tuple[Conversation, dict[tuple[int, int], bytes]]:
    """The conversation and its images (by turn and position), or every problem at once."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError([Problem(shown, 0, 0, "", f"cannot read it: {exc.strerror}")]) from None
    doc = yamlio.load(yamlio.decode(raw, shown), shown)
    data = doc.data
    if not isinstance(data, dict):
        raise SpecError(
            [
                doc.problem(
                    (), f"expected a mapping with 'version' and 'turns', got {describe(data)}"
                )
            ]
        )
    problems = _option_problems(doc, data.get("defaults"))
    conversation: Conversation | None = None
    try:
        conversation = Conversation.model_validate(data)
    except ValidationError as exc:
        problems += [_problem(doc, err) for err in exc.errors()]
    if conversation is None or problems:
        raise SpecError(problems)
    loaded: dict[tuple[int, int], bytes] = {}
    for t, turn in enumerate(conversation.turns):
        for i, name in enumerate(turn.images or []):
            loc = ("turns", t, "images", i)
            try:
                content = (path.parent / name).read_bytes()
                images.check_image(content, limit=20 * 1024 * 1024)
            except OSError:
                problems.append(
                    doc.problem(
                        loc,
                        f"image '{name}' not found (paths are relative to {path.name})",
                        at_value=True,
                    )
                )
                continue
            except images.ImageError as exc:
                problems.append(doc.problem(loc, f"image '{name}': {exc}", at_value=True))
                continue
            loaded[(t, i)] = content
    if problems:
        raise SpecError(problems)
    return conversation, loaded


def _option_problems(doc: yamlio.Document, defaults: Any) -> list[Problem]:
    if not isinstance(defaults, dict):
        return []
    out = []
    for key, value in defaults.items():
        param = CATALOGUE.get(key)
        if param is None:
            out.append(
                doc.problem(("defaults", key), "not an Ollama option (see the parameter catalogue)")
            )
        elif why := type_error(param, value):
            out.append(doc.problem(("defaults", key), why, at_value=True))
    return out


def _problem(doc: yamlio.Document, err: Any) -> Problem:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
    kind = err["type"]
    if kind == "extra_forbidden":
        message = "unknown key"
    elif kind == "missing":
        message = "required key is missing"
    elif kind == "too_short":
        message = "needs at least one entry"
    elif kind == "string_too_short":
        message = "must not be empty"
    elif loc == ("version",):
        message = (
            f"unsupported conversation version {err.get('input')!r} (this modelops reads version 1)"
        )
    elif kind in _TYPES:
        message = f"expected {_TYPES[kind]}, got {describe(err.get('input'))}"
    else:
        message = str(err["msg"]).removeprefix("Value error, ")
    return doc.problem(loc, message, at_value=kind not in ("extra_forbidden", "missing"))


_TYPES = {
    "string_type": "a string",
    "bool_type": "true or false",
    "int_type": "an integer",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def dump(conversation: dict[str, Any]) -> str:
    """A conversation as a file (used by `chat`'s /save)."""
    from modelops import yamledit

    return yamledit.emit(conversation, lambda loc: False)


def to_json(conversation: Conversation) -> str:
    return json.dumps(conversation.model_dump(by_alias=True, exclude_none=True), indent=2)
