"""The JSON Schemas of model and conversation files, which editors use to complete and check
them; a registry keeps both beside its folders. Pure."""

from __future__ import annotations

import json
from typing import Any

from modelops.spec.conversation import Conversation
from modelops.spec.model import ModelSpec
from modelops.spec.params import CATALOGUE, TYPE_WORDS

MODEL_SCHEMA_FILE = "model.schema.json"
CONVERSATION_SCHEMA_FILE = "conversation.schema.json"
_DRAFT = "https://json-schema.org/draft/2020-12/schema"
_JSON_TYPES: dict[str, dict[str, Any]] = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "str_list": {"type": "array", "items": {"type": "string"}},
}


def model_schema() -> dict[str, Any]:
    """The JSON Schema of a model file, with the parameter catalogue spelt out for editors."""
    schema = ModelSpec.model_json_schema()
    schema["$schema"] = _DRAFT
    schema["title"] = "modelops model definition (version 1)"
    props: dict[str, Any] = {}
    for param in CATALOGUE.values():
        prop: dict[str, Any] = dict(_JSON_TYPES[param.type])
        prop = {**prop, "description": f"{param.help} ({TYPE_WORDS[param.type]})"}
        if param.minimum is not None:
            prop["minimum"] = param.minimum
        if param.maximum is not None:
            prop["maximum"] = param.maximum
        props[param.name] = prop
    schema["properties"]["parameters"] = {
        "description": "Ollama runtime parameters",
        "type": "object",
        "properties": props,
        "additionalProperties": False,
    }
    return schema


def conversation_schema() -> dict[str, Any]:
    schema = Conversation.model_json_schema(by_alias=True)
    schema["$schema"] = _DRAFT
    schema["title"] = "modelops conversation (version 1)"
    return schema


def _text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def schema_files() -> dict[str, str]:
    """The schema files a registry holds, by file name, with their text."""
    return {
        MODEL_SCHEMA_FILE: _text(model_schema()),
        CONVERSATION_SCHEMA_FILE: _text(conversation_schema()),
    }
