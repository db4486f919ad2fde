"""The remote registries (ollama.com and hf.co) as the test server sees them.

A catalogue entry is everything a pull needs: the registry manifest and the blobs it points at.
Digests are derived from the entry's content and name, so they are the same in every test run,
and `update()` bumps a revision to simulate an upstream re-release with new weights.
"""

import dataclasses
import hashlib
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tests.ollama_server_library import DEFAULT_ENTRIES
from tests.ollama_server_names import ModelName
from tests.ollama_server_types import (
    DEFAULT_TEMPLATE,
    MEDIA_LICENSE,
    MEDIA_MODEL,
    MEDIA_PROJECTOR,
    MEDIA_SYSTEM,
    MEDIA_TEMPLATE,
    ApiError,
    Blob,
    Layer,
    Manifest,
    WeightsInfo,
    capabilities,
    config_layer,
    content_layer,
    messages_layer,
    params_layer,
)

HF_HOSTS = frozenset({"hf.co", "huggingface.co"})
HF_BAD_TAG = (
    "pull model manifest: 400: The specified tag is not available in the repository. "
    'Please use another tag or "latest"'
)
NOT_FOUND = "pull model manifest: file does not exist"

# GGUF general.file_type codes, as model_info reports them.
_FILE_TYPES = {"F32": 0, "F16": 1, "Q4_0": 2, "Q8_0": 7, "Q4_K_S": 14, "Q4_K_M": 15, "BF16": 32}


@dataclass(frozen=True)
class RegistryModel:
    """One model a pull can fetch, with its own template, system, parameters and licences."""

    name: str
    family: str
    parameter_size: str
    quantization_level: str
    size: int
    parameter_count: int
    template: str
    parameters: Mapping[str, Any]
    licenses: tuple[str, ...]
    system: str = ""
    messages: tuple[Mapping[str, str], ...] = ()
    projector_size: int = 0
    embedding: bool = False
    context_length: int = 131072
    embedding_length: int = 3072
    revision: int = 0

    @property
    def model_name(self) -> ModelName:
        return ModelName.parse(self.name)

    def _seeded_digest(self, role: str) -> str:
        # Weights have no content here; their digest stands for "this upstream release".
        seed = f"{self.model_name.key}\0{role}\0{self.revision}\0{self.quantization_level}"
        return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()

    def weights_info(self) -> WeightsInfo:
        arch = self.family
        info: dict[str, Any] = {
            "general.architecture": arch,
            "general.file_type": _FILE_TYPES.get(self.quantization_level, 15),
            "general.parameter_count": self.parameter_count,
            "general.quantization_version": 2,
            f"{arch}.block_count": 28,
            f"{arch}.context_length": self.context_length,
            f"{arch}.embedding_length": self.embedding_length,
            "tokenizer.ggml.model": "gpt2",
            # Arrays longer than 5 items come back empty unless verbose (routes.go getModelData).
            "tokenizer.ggml.tokens": [],
            "tokenizer.ggml.token_type": [],
        }
        if self.embedding:
            info[f"{arch}.pooling_type"] = 1
        return WeightsInfo(
            self.family, self.parameter_size, self.quantization_level, info, self.embedding
        )

    def _projector(self) -> tuple[Layer, Blob]:
        info = {
            "general.architecture": "clip",
            "clip.has_vision_encoder": True,
            "clip.vision.image_size": 336,
            "clip.vision.patch_size": 14,
        }
        weights = WeightsInfo("clip", "", "F16", info, vision=True)
        layer = Layer(MEDIA_PROJECTOR, self._seeded_digest("projector"), self.projector_size)
        return layer, Blob(self.projector_size, weights=weights)

    def artifacts(self) -> tuple[Manifest, dict[str, Blob]]:
        """The registry manifest and every blob it references (config included)."""
        weights = self.weights_info()
        weights_layer = Layer(MEDIA_MODEL, self._seeded_digest("weights"), self.size)
        parts = [(weights_layer, Blob(self.size, weights=weights))]
        if self.projector_size:
            parts.append(self._projector())
        parts.append(content_layer(MEDIA_TEMPLATE, self.template.encode()))
        if self.system:
            parts.append(content_layer(MEDIA_SYSTEM, self.system.encode()))
        parts.extend(content_layer(MEDIA_LICENSE, text.encode()) for text in self.licenses)
        if self.parameters:
            parts.append(params_layer(self.parameters))
        if self.messages:
            parts.append(messages_layer(self.messages))
        blobs = {layer.digest: blob for layer, blob in parts}
        config, config_blob = config_layer(weights)
        blobs[config.digest] = config_blob
        return Manifest(config, tuple(layer for layer, _ in parts)), blobs

    @property
    def capabilities(self) -> list[str]:
        return capabilities(self.weights_info(), self.template, self.projector_size > 0)


class Catalogue:
    """The models the fake registries can serve; thread-safe and editable from tests."""

    def __init__(self, entries: Iterable[RegistryModel] = ()) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, RegistryModel] = {}
        self._aliases: dict[str, str] = {}
        for entry in entries:
            self._entries[entry.model_name.key] = entry

    @classmethod
    def default(cls) -> "Catalogue":
        catalogue = cls()
        for name, fields, aliases in DEFAULT_ENTRIES:
            catalogue.add(name, aliases=aliases, **fields)
        return catalogue

    def add(
        self,
        name: str,
        *,
        family: str = "llama",
        parameter_size: str = "3.2B",
        quantization_level: str = "Q4_K_M",
        size: int = 2_019_377_376,
        parameter_count: int = 3_212_749_888,
        template: str = DEFAULT_TEMPLATE,
        parameters: Mapping[str, Any] | None = None,
        license: str | Sequence[str] = (),
        system: str = "",
        messages: Sequence[Mapping[str, str]] = (),
        projector_size: int = 0,
        embedding: bool = False,
        context_length: int = 131072,
        embedding_length: int = 3072,
        aliases: Sequence[str] = (),
    ) -> RegistryModel:
        """Add (or replace) a pullable model; `aliases` are other tags of the same manifest."""
        model_name = ModelName.parse(name)
        if not model_name.is_valid:
            raise ValueError(f"invalid catalogue model name: {name!r}")
        licenses = (license,) if isinstance(license, str) else tuple(license)
        entry = RegistryModel(
            name=model_name.display,
            family=family,
            parameter_size=parameter_size,
            quantization_level=quantization_level,
            size=size,
            parameter_count=parameter_count,
            template=template,
            parameters=dict(parameters or {}),
            licenses=licenses,
            system=system,
            messages=tuple(dict(m) for m in messages),
            projector_size=projector_size,
            embedding=embedding,
            context_length=context_length,
            embedding_length=embedding_length,
        )
        with self._lock:
            self._entries[model_name.key] = entry
            for alias in aliases:
                self._aliases[ModelName.parse(alias).key] = model_name.key
        return entry

    def update(self, name: str, **changes: Any) -> RegistryModel:
        """Re-release a model upstream: new weights digest, optionally changed fields."""
        key = ModelName.parse(name).key
        with self._lock:
            key = self._aliases.get(key, key)
            entry = self._entries[key]
            updated = dataclasses.replace(entry, revision=entry.revision + 1, **changes)
            self._entries[key] = updated
        return updated

    def remove(self, name: str) -> None:
        key = ModelName.parse(name).key
        with self._lock:
            self._entries.pop(self._aliases.get(key, key), None)
            self._aliases = {a: k for a, k in self._aliases.items() if k in self._entries}

    def names(self) -> list[str]:
        with self._lock:
            return sorted(entry.name for entry in self._entries.values())

    def get(self, name: str) -> RegistryModel:
        return self.resolve(ModelName.parse(name))

    def resolve(self, name: ModelName) -> RegistryModel:
        """The entry a pull of `name` fetches, or the error the registry would answer."""
        with self._lock:
            if name.host.lower() in HF_HOSTS:
                return self._resolve_hf(name)
            entry = self._entries.get(self._aliases.get(name.key, name.key))
            if entry is not None:
                return entry
            known_hosts = {e.model_name.host.lower() for e in self._entries.values()}
        if name.host.lower() not in known_hosts:
            url = f"https://{name.host}/v2/{name.namespace}/{name.model}/manifests/{name.tag}"
            hostname = name.host.split(":")[0]
            raise ApiError(
                f'pull model manifest: Get "{url}": dial tcp: lookup {hostname}: no such host'
            )
        raise ApiError(NOT_FOUND)

    def _resolve_hf(self, name: ModelName) -> RegistryModel:
        repo = f"{name.namespace}/{name.model}".lower()
        quants = {
            entry.model_name.tag.lower(): entry
            for entry in self._entries.values()
            if entry.model_name.host.lower() in HF_HOSTS
            and f"{entry.model_name.namespace}/{entry.model_name.model}".lower() == repo
        }
        if not quants:
            raise ApiError(NOT_FOUND)
        tag = name.tag.lower()
        if tag == "latest":
            # Hugging Face serves Q4_K_M for "latest" when the repo has it.
            return quants.get("q4_k_m") or quants[sorted(quants)[0]]
        if tag not in quants:
            raise ApiError(HF_BAD_TAG)
        return quants[tag]
