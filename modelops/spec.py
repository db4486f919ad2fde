"""The model definition, version 1 (DESIGN 2): pydantic models, checks and the JSON Schema.

`check_model` turns parsed YAML into a `ModelSpec` or a list of `(key path, message)`
problems; the caller attaches file positions. Everything here is pure.
"""

from __future__ import annotations

import difflib
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from modelops import names
from modelops.params import CATALOGUE, REMOVED, TYPE_WORDS, describe, type_error

SPEC_VERSION = 1

NonEmpty = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Suggestion(_Strict):
    """A prompt suggestion shown on an empty chat."""

    prompt: NonEmpty
    title: NonEmpty | None = None
    subtitle: NonEmpty | None = None


class KnowledgeRef(_Strict):
    """A knowledge base, file or note the model answers from (always through RAG)."""

    name: NonEmpty
    type: Literal["collection", "file", "note"]
    id: NonEmpty | None = Field(None, description="its id in the Open WebUI it comes from")
    description: str | None = None


class Message(_Strict):
    role: Literal["system", "user", "assistant"]
    content: str


CAPABILITIES = (
    "file_context",
    "vision",
    "file_upload",
    "web_search",
    "image_generation",
    "code_interpreter",
    "terminal",
    "citations",
    "status_updates",
    "usage",
    "memory",
    "builtin_tools",
)


class Capabilities(_Strict):
    """Open WebUI capabilities; an absent one counts as on, as in Open WebUI."""

    file_context: bool | None = None
    vision: bool | None = None
    file_upload: bool | None = None
    web_search: bool | None = None
    image_generation: bool | None = None
    code_interpreter: bool | None = None
    terminal: bool | None = None
    citations: bool | None = None
    status_updates: bool | None = None
    usage: bool | None = None
    memory: bool | None = None
    builtin_tools: bool | None = None


class Principals(_Strict):
    groups: list[NonEmpty] = Field(default_factory=list)
    users: list[NonEmpty] = Field(default_factory=list)


class Access(_Strict):
    """Who may use the model in Open WebUI; no access block means private to its owner."""

    public: bool = Field(False, description="everyone may read (use) it")
    read: Principals | None = None
    write: Principals | None = None


class OpenWebUI(_Strict):
    """Open WebUI fields modelops does not model, kept verbatim."""

    params: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None


class ModelSpec(_Strict):
    """One model definition (the file `models/<id>.yaml`). Field order is the canonical order."""

    version: Literal[1] = Field(description="spec format version")
    id: str = Field(
        pattern=names.ID_PATTERN,
        max_length=names.ID_MAX,
        description="equals the file's stem; the Ollama model name and the Open WebUI id",
    )
    name: NonEmpty | None = Field(None, description="display name")
    base: NonEmpty = Field(
        description="an Ollama model (hf.co/<user>/<repo>:<quant> allowed) or a registry id"
    )
    description: NonEmpty | None = None
    avatar: NonEmpty | None = Field(
        None, description="an image file in the registry or an https URL"
    )
    tags: list[NonEmpty] | None = None
    hidden: bool | None = Field(None, description="hidden from the model selector, still usable")
    active: bool | None = Field(None, description="Open WebUI is_active")
    system: NonEmpty | None = Field(None, description="system prompt")
    parameters: dict[str, Any] | None = Field(None, description="Ollama runtime parameters")
    template: NonEmpty | None = Field(None, description="Ollama prompt template (Go template)")
    messages: list[Message] | None = Field(None, description="conversation prepended to every chat")
    license: NonEmpty | list[NonEmpty] | None = None
    suggestions: list[Suggestion] | None = None
    knowledge: list[KnowledgeRef] | None = None
    tools: list[NonEmpty] | None = None
    filters: list[NonEmpty] | None = None
    actions: list[NonEmpty] | None = None
    capabilities: Capabilities | None = None
    access: Access | None = None
    openwebui: OpenWebUI | None = Field(None, description="other Open WebUI fields, verbatim")

    def to_data(self) -> dict[str, Any]:
        """Plain data in canonical order, holding only what the file sets."""
        data = self.model_dump(exclude_unset=True)
        if "parameters" in data:
            data["parameters"] = ordered_parameters(data["parameters"])
        return data


FIELDS = tuple(ModelSpec.model_fields)

# Open WebUI keys that a spec field already manages, so `openwebui:` must not set them.
MANAGED_PARAMS = {
    "system": "system",
    "template": "template",
    "max_tokens": "parameters.num_predict",
}
MANAGED_META = {
    "description": "description",
    "profile_image_url": "avatar",
    "tags": "tags",
    "hidden": "hidden",
    "suggestion_prompts": "suggestions",
    "knowledge": "knowledge",
    "toolIds": "tools",
    "filterIds": "filters",
    "actionIds": "actions",
    "capabilities": "capabilities",
    "chat_variables_schema": "",  # computed by Open WebUI on every read
}

RawProblem = tuple[tuple[str | int, ...], str]


def ordered_parameters(params: dict[str, Any]) -> dict[str, Any]:
    order = {name: i for i, name in enumerate(CATALOGUE)}
    return dict(sorted(params.items(), key=lambda kv: order.get(kv[0], len(order))))


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


def _fields_at(loc: tuple[str | int, ...]) -> list[str]:
    """The keys allowed in the mapping at `loc`, for did-you-mean hints."""
    model: Any = ModelSpec
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = model.model_fields.get(part)
        if field is None:
            return []
        model = _model_in(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


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
        return loc, "unknown key" + _did_you_mean(str(loc[-1]), _fields_at(loc[:-1]))
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


_JSON_TYPES: dict[str, dict[str, Any]] = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "str_list": {"type": "array", "items": {"type": "string"}},
}


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a model file, with the parameter catalogue spelt out for editors."""
    schema = ModelSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
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


def key_order(loc: tuple[str | int, ...]) -> list[str]:
    """The canonical order of the keys of the mapping at `loc`."""
    if loc == ("parameters",):
        return list(CATALOGUE)
    if loc[:1] == ("openwebui",) and len(loc) > 1:
        return []  # verbatim: keep the user's order
    return _fields_at(loc)


def flow_style(loc: tuple[str | int, ...]) -> bool:
    """Mappings written on one line in canonical layout."""
    return len(loc) == 2 and loc[0] == "access" and loc[1] in ("read", "write")


def expects_text(loc: tuple[str | int, ...]) -> bool:
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


def schema_text() -> str:
    import json

    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
