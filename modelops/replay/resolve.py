"""Model references, as `replay` and `chat` take them, to providers:

ollama:NAME      an Ollama model as it is on the server (e.g. ollama:faq, to try what apply made)
openai:NAME      a model of the OpenAI-compatible endpoint (--openai-url, OPENAI_API_KEY)
openwebui:ID     an Open WebUI model, through its chat completions API (--openwebui-url)
ID@REV           a registry model as it was at a git revision, applied on the client side
ID               a registry model as it is in the work tree, applied on the client side
NAME             otherwise, an Ollama model
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from modelops.registry.snapshot import Snapshot
from modelops.registry.store import Registry
from modelops.replay.providers import (
    ChatServer,
    Message,
    OllamaProvider,
    OpenAIProvider,
    Provider,
    ReplayError,
)
from modelops.spec import names
from modelops.spec.inherit import base_chain, effective


@dataclass
class Endpoints:
    ollama: Callable[[], ChatServer]
    openai_url: str | None = None
    openai_key: str | None = None
    openwebui_url: str | None = None
    openwebui_key: str | None = None


@dataclass
class Resolver:
    registry: Registry | None
    endpoints: Endpoints
    notes: list[str] = field(default_factory=list)  # what the user should know about a model
    _snapshots: dict[str | None, Snapshot] = field(default_factory=dict)

    def snapshot(self, rev: str | None) -> Snapshot:
        if self.registry is None:
            raise ReplayError("registry models need a registry (pass --registry DIR)")
        if rev not in self._snapshots:
            self._snapshots[rev] = self.registry.load(rev).require_valid()
        return self._snapshots[rev]

    def resolve(self, ref: str) -> Provider:
        kind, _, rest = ref.partition(":")
        if kind == "ollama" and rest:
            return OllamaProvider(ref, self.endpoints.ollama(), _ollama_name(rest, ref))
        if kind == "openai" and rest:
            url = self.endpoints.openai_url
            if not url:
                raise ReplayError(f"{ref}: say where the endpoint is with --openai-url URL")
            return OpenAIProvider(ref, url, rest, self.endpoints.openai_key)
        if kind == "openwebui" and rest:
            url = self.endpoints.openwebui_url
            if not url:
                raise ReplayError(f"{ref}: say where Open WebUI is with --openwebui-url URL")
            return OpenAIProvider(
                ref, url, rest, self.endpoints.openwebui_key, path="/api/chat/completions"
            )
        model_id, at, rev = ref.partition("@")
        if at or (self.registry is not None and model_id in self.snapshot(None).models):
            return self._registry_model(ref, model_id, rev or None)
        return OllamaProvider(ref, self.endpoints.ollama(), _ollama_name(ref, ref))

    def _registry_model(self, ref: str, model_id: str, rev: str | None) -> Provider:
        snapshot = self.snapshot(rev)
        if model_id not in snapshot.models:
            where = f"at {rev}" if rev else "in the registry"
            raise ReplayError(f"{ref}: no model '{model_id}' {where}")
        specs = snapshot.specs()
        values = effective(specs, model_id)
        if values.template is not None:
            self.notes.append(
                f"{ref}: its template is not applied on the client side (Ollama's chat API takes "
                f"none); replay ollama:{model_id} after 'modelops apply' to try it"
            )
        return OllamaProvider(
            ref,
            self.endpoints.ollama(),
            base_chain(specs, model_id)[-1],
            values.system,
            tuple(Message(role, content) for role, content in values.messages or ()),
            values.parameters,
        )


def _ollama_name(text: str, ref: str) -> str:
    try:
        return names.parse_ollama_name(text).display
    except names.InvalidName as exc:
        raise ReplayError(
            f"{ref}: not a registry model, nor an Ollama model name ({exc})"
        ) from None
