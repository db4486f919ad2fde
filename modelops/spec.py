"""The model definition, version 1 (DESIGN 2): pydantic models, checks and the JSON Schema.

`modelops.validation` checks parsed YAML against these models. Everything here is pure.
"""

from __future__ import annotations

from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field

from modelops import names
from modelops.params import CATALOGUE, TYPE_WORDS

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
    context: Literal["full"] | None = Field(None, description="full: the whole file, not RAG")


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


def ordered_parameters(params: dict[str, Any]) -> dict[str, Any]:
    order = {name: i for i, name in enumerate(CATALOGUE)}
    return dict(sorted(params.items(), key=lambda kv: order.get(kv[0], len(order))))


def fields_at(loc: tuple[str | int, ...]) -> list[str]:
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
    return fields_at(loc)


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
