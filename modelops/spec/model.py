"""The model definition, version 1: one YAML file per model, as pydantic models.

Field order here is the canonical order of a model file. `modelops.spec.checks` checks parsed
YAML against these models; `modelops.spec.layout` knows how a file is laid out. Pure.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from modelops.spec import names
from modelops.spec.base import NonEmpty, Strict
from modelops.spec.params import ordered_parameters

SPEC_VERSION = 1


class Suggestion(Strict):
    """A prompt suggestion shown on an empty chat."""

    prompt: NonEmpty
    title: NonEmpty | None = None
    subtitle: NonEmpty | None = None


class KnowledgeRef(Strict):
    """A knowledge base, file or note the model answers from (always through RAG). On an Open
    WebUI target it is found by `id` when this instance has it, else by its name (a file by
    its file name, a note by its title)."""

    name: NonEmpty = Field(description="its name (a file: its file name; a note: its title)")
    type: Literal["collection", "file", "note"]
    id: NonEmpty | None = Field(None, description="its id in the Open WebUI it comes from")
    description: str | None = None
    context: Literal["full"] | None = Field(None, description="full: the whole file, not RAG")


class Message(Strict):
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


class Capabilities(Strict):
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


class Principals(Strict):
    """Groups and users by name (or email), resolved to an Open WebUI's ids when it is planned."""

    groups: list[NonEmpty] = Field(default_factory=list, description="group names")
    users: list[NonEmpty] = Field(default_factory=list, description="user names or emails")


class Access(Strict):
    """Who may use the model in Open WebUI; no access block means private to its owner."""

    public: bool = Field(False, description="everyone may read (use) it")
    read: Principals | None = None
    write: Principals | None = None


class OpenWebUI(Strict):
    """Open WebUI fields modelops does not model, kept verbatim."""

    params: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None


class ModelSpec(Strict):
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
    knowledge: list[KnowledgeRef] | None = Field(
        None, description="by name; resolved to an Open WebUI's ids when it is planned"
    )
    tools: list[NonEmpty] | None = Field(
        None, description="tool names (or ids); resolved to an Open WebUI's ids when planned"
    )
    filters: list[NonEmpty] | None = Field(
        None, description="filter function names (or ids); resolved when planned"
    )
    actions: list[NonEmpty] | None = Field(
        None, description="action function names (or ids); resolved when planned"
    )
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
