"""Conversation files (`conversations/*.yaml`, version 1): user turns, optional images, model
pins and expectations per turn, and default options. Parsed with the same reader and reported
with the same `path:line:col: key: message` errors as model files. Pure: reading the file and
its images from disk is the replay runner's job."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

from modelops.errors import Problem, SpecError
from modelops.spec import emit, yamlread
from modelops.spec.base import NonEmpty, Strict, about_value, translate
from modelops.spec.params import CATALOGUE, type_error
from modelops.spec.words import describe


class Expect(Strict):
    """What an answer must satisfy; every check given must pass."""

    contains: list[NonEmpty] | None = Field(None, description="substrings the answer must have")
    not_contains: list[NonEmpty] | None = Field(None, description="substrings it must not have")
    regex: NonEmpty | None = Field(None, description="a regular expression it must match")
    json_: bool | None = Field(None, alias="json", description="true: the answer is valid JSON")
    max_ms: Annotated[int, Field(gt=0)] | None = Field(None, description="most milliseconds in all")
    min_tokens: Annotated[int, Field(ge=0)] | None = Field(None, description="fewest answer tokens")


class Turn(Strict):
    user: NonEmpty = Field(description="what the user says")
    images: list[NonEmpty] | None = Field(None, description="image files, relative to this file")
    model: NonEmpty | None = Field(
        None, description="the model that answers this turn (switch mode)"
    )
    expect: Expect | None = None


class Conversation(Strict):
    version: Literal[1]
    name: NonEmpty | None = None
    description: NonEmpty | None = None
    models: list[NonEmpty] | None = Field(None, description="models to compare when none are given")
    defaults: dict[str, Any] | None = Field(None, description="options for every answer: seed, ...")
    turns: list[Turn] = Field(min_length=1)

    @property
    def pinned(self) -> bool:
        return any(turn.model for turn in self.turns)


def parse(raw: bytes, shown: str) -> tuple[Conversation, yamlread.Document]:
    """The conversation in a file's bytes, with its parsed document (for placing later
    problems), or every problem at once."""
    doc = yamlread.load(yamlread.decode(raw, shown), shown)
    data = doc.data
    if not isinstance(data, dict):
        problem = f"expected a mapping with 'version' and 'turns', got {describe(data)}"
        raise SpecError([doc.problem((), problem)])
    problems = _option_problems(doc, data.get("defaults"))
    conversation: Conversation | None = None
    try:
        conversation = Conversation.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc, message = translate(err, Conversation, "conversation", data)
            problems.append(doc.problem(loc, message, at_value=about_value(message)))
    if conversation is None or problems:
        raise SpecError(problems)
    return conversation, doc


def _option_problems(doc: yamlread.Document, defaults: Any) -> list[Problem]:
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


def dump(conversation: dict[str, Any]) -> str:
    """A conversation as a file (used by `chat`'s /save)."""
    return emit.emit(conversation, lambda loc: False)


def to_json(conversation: Conversation) -> str:
    return json.dumps(conversation.model_dump(by_alias=True, exclude_none=True), indent=2)
