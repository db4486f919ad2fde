"""The server's disk: blobs and named manifests, plus a read-back view of each local model.

Matching is case-insensitive (keys are lower-cased full names) while the name as first written
is kept for display, as Ollama does with `getExistingName`. Every method takes the store's own
lock briefly; nothing sleeps while holding it, so concurrent requests overlap freely.
"""

import json
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.ollama_server_names import ModelName
from tests.ollama_server_types import (
    DEFAULT_TEMPLATE,
    MEDIA_LICENSE,
    MEDIA_MESSAGES,
    MEDIA_MODEL,
    MEDIA_PARAMS,
    MEDIA_PROJECTOR,
    MEDIA_SYSTEM,
    MEDIA_TEMPLATE,
    Blob,
    Layer,
    Manifest,
    WeightsInfo,
    capabilities,
)


@dataclass(frozen=True)
class LocalModel:
    name: ModelName
    manifest: Manifest
    modified_at_ns: int

    @property
    def digest(self) -> str:
        return self.manifest.digest


@dataclass(frozen=True)
class ModelView:
    """A local model as the server reads it back from its layers (what /api/show reports)."""

    name: ModelName
    digest: str
    size: int
    modified_at_ns: int
    model_layer: Layer
    weights: WeightsInfo
    projector_layers: tuple[Layer, ...]
    projector_info: Mapping[str, Any]
    has_template_layer: bool
    template: str
    system: str
    parameters: Mapping[str, Any] | None
    licenses: tuple[str, ...]
    messages: tuple[Mapping[str, str], ...]
    details: Mapping[str, Any]
    capabilities: tuple[str, ...]


class ModelStore:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._blobs: dict[str, Blob] = {}
        self._models: dict[str, LocalModel] = {}
        self._last_ns = 0

    def _now_ns(self) -> int:
        # Strictly increasing, so "newest first" is well defined even for back-to-back writes.
        self._last_ns = max(time.time_ns(), self._last_ns + 1)
        return self._last_ns

    def has_blob(self, digest: str) -> bool:
        with self._lock:
            return digest in self._blobs

    def blob(self, digest: str) -> Blob:
        with self._lock:
            return self._blobs[digest]

    def put_blob(self, digest: str, blob: Blob) -> bool:
        """Store a blob; True when it was not on disk before."""
        with self._lock:
            is_new = digest not in self._blobs
            self._blobs.setdefault(digest, blob)
            return is_new

    def get(self, name: ModelName) -> LocalModel | None:
        with self._lock:
            return self._models.get(name.key)

    def stored_name(self, name: ModelName) -> ModelName:
        """The name with the case already on disk, so a write lands on the existing model."""
        existing = self.get(name)
        return existing.name if existing is not None else name

    def write(self, name: ModelName, manifest: Manifest) -> LocalModel | None:
        """Write a manifest under `name`; returns what it replaced."""
        with self._lock:
            old = self._models.get(name.key)
            stored = old.name if old is not None else name
            self._models[name.key] = LocalModel(stored, manifest, self._now_ns())
            return old

    def delete(self, name: ModelName) -> bool:
        with self._lock:
            model = self._models.pop(name.key, None)
            if model is None:
                return False
            self.prune(layer.digest for layer in (*model.manifest.layers, model.manifest.config))
            return True

    def copy(self, source: ModelName, destination: ModelName) -> bool:
        """A byte copy of the manifest, so the destination gets the same digest."""
        with self._lock:
            model = self._models.get(source.key)
            if model is None:
                return False
            self.write(self.stored_name(destination), model.manifest)
            return True

    def prune(self, digests: Iterable[str]) -> None:
        """Remove the given blobs unless some manifest still uses them."""
        with self._lock:
            used = {
                layer.digest
                for model in self._models.values()
                for layer in (*model.manifest.layers, model.manifest.config)
            }
            for digest in set(digests) - used:
                self._blobs.pop(digest, None)

    def models(self) -> list[LocalModel]:
        """Every local model, newest first (the /api/tags order)."""
        with self._lock:
            return sorted(self._models.values(), key=lambda m: m.modified_at_ns, reverse=True)

    def _last_text(self, manifest: Manifest, media_type: str) -> str | None:
        # A create replaces these layers, so a manifest holds at most one of each.
        layers = manifest.layers_of(media_type)
        return self._blobs[layers[-1].digest].data.decode() if layers else None

    def _projector_info(self, projectors: tuple[Layer, ...]) -> Mapping[str, Any]:
        if not projectors:
            return {}
        weights = self._blobs[projectors[0].digest].weights
        return weights.model_info if weights is not None else {}

    def view(self, model: LocalModel) -> ModelView:
        with self._lock:
            manifest = model.manifest
            model_layer = manifest.layers_of(MEDIA_MODEL)[0]
            weights = self._blobs[model_layer.digest].weights
            assert weights is not None, "a model layer always carries GGUF metadata"
            projectors = tuple(manifest.layers_of(MEDIA_PROJECTOR))
            template_layer = self._last_text(manifest, MEDIA_TEMPLATE)
            template = DEFAULT_TEMPLATE if template_layer is None else template_layer
            params = self._last_text(manifest, MEDIA_PARAMS)
            messages = self._last_text(manifest, MEDIA_MESSAGES)
            licenses = manifest.layers_of(MEDIA_LICENSE)
            config = json.loads(self._blobs[manifest.config.digest].data)
            return ModelView(
                name=model.name,
                digest=model.digest,
                size=manifest.size,
                modified_at_ns=model.modified_at_ns,
                model_layer=model_layer,
                weights=weights,
                projector_layers=projectors,
                projector_info=self._projector_info(projectors),
                has_template_layer=template_layer is not None,
                template=template,
                system=self._last_text(manifest, MEDIA_SYSTEM) or "",
                parameters=None if params is None else json.loads(params),
                licenses=tuple(self._blobs[layer.digest].data.decode() for layer in licenses),
                messages=() if messages is None else tuple(json.loads(messages)),
                details={
                    "parent_model": model_layer.from_name,
                    "format": config["model_format"],
                    "family": config["model_family"],
                    "families": config["model_families"],
                    "parameter_size": config["model_type"],
                    "quantization_level": config["file_type"],
                },
                capabilities=tuple(capabilities(weights, template, bool(projectors))),
            )
