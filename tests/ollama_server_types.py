"""The test server's data model: blobs, layers, manifests and the errors handlers raise.

Shapes follow Ollama's `manifest/` and `types/model/config.go`, so that a manifest's digest is
the SHA-256 of the same JSON bytes the real server would write (reference/ollama-api.md §7).
"""

import hashlib
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from tests.ollama_server_gofmt import go_json

MEDIA_MODEL = "application/vnd.ollama.image.model"
MEDIA_PROJECTOR = "application/vnd.ollama.image.projector"
MEDIA_TEMPLATE = "application/vnd.ollama.image.template"
MEDIA_SYSTEM = "application/vnd.ollama.image.system"
MEDIA_PARAMS = "application/vnd.ollama.image.params"
MEDIA_MESSAGES = "application/vnd.ollama.image.messages"
MEDIA_LICENSE = "application/vnd.ollama.image.license"
MEDIA_CONFIG = "application/vnd.docker.container.image.v1+json"
MEDIA_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"

# One NDJSON line of a stream, and a stream of them as the server produces it.
Line = dict[str, Any]
Lines = Generator[Line, None, None]

# The template a model without a template layer gets (Ollama's DefaultTemplate).
DEFAULT_TEMPLATE = "{{ .Prompt }}"


class ApiError(Exception):
    """A failure the server reports as `{"error": message}`.

    `status` is the HTTP status; None means "whatever the channel gives": 500 before any
    streamed output, or an error line under 200 once a stream has started.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class OpenAIRequestError(ApiError):
    """A request Ollama's OpenAI middleware refuses itself, before the native handler runs.

    It answers with gin's own JSON renderer and an error type chosen from the status, where an
    error of the handler behind it is rewritten by the middleware (see `Handler.send_openai_error`).
    """


@dataclass(frozen=True)
class WeightsInfo:
    """What the GGUF header of a weights blob tells the server about the model."""

    family: str
    parameter_size: str
    quantization_level: str
    model_info: Mapping[str, Any]
    embedding: bool = False
    vision: bool = False


@dataclass(frozen=True)
class Blob:
    """A blob on the server's disk: text layers keep their bytes, weights only their metadata."""

    size: int
    data: bytes = b""
    weights: WeightsInfo | None = None


@dataclass(frozen=True)
class Layer:
    media_type: str
    digest: str
    size: int
    from_name: str = ""

    def to_json(self) -> dict[str, Any]:
        """The layer as Go's manifest.Layer struct encodes it (field order matters)."""
        encoded: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
        }
        if self.from_name:
            encoded["from"] = self.from_name
        return encoded

    @property
    def short_hex(self) -> str:
        """The 12 hex characters shown in `pulling <x>` lines."""
        return self.digest[7:19]


@dataclass(frozen=True)
class Manifest:
    config: Layer
    layers: tuple[Layer, ...]

    def to_bytes(self) -> bytes:
        document = {
            "schemaVersion": 2,
            "mediaType": MEDIA_MANIFEST,
            "config": self.config.to_json(),
            "layers": [layer.to_json() for layer in self.layers],
        }
        # json.Encoder.Encode ends with a newline, and that newline is part of the digest.
        return (go_json(document, sort_keys=False) + "\n").encode()

    @cached_property  # a manifest never changes; /api/tags of 1,000 models asks for 1,000
    def digest(self) -> str:
        """The /api/tags digest: hex SHA-256 of the manifest bytes, without a prefix."""
        return hashlib.sha256(self.to_bytes()).hexdigest()

    @property
    def size(self) -> int:
        return self.config.size + sum(layer.size for layer in self.layers)

    def layers_of(self, media_type: str) -> list[Layer]:
        return [layer for layer in self.layers if layer.media_type == media_type]


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def content_layer(media_type: str, data: bytes) -> tuple[Layer, Blob]:
    """A content-addressed layer: the same bytes always give the same digest."""
    return Layer(media_type, sha256_digest(data), len(data)), Blob(len(data), data)


def params_layer(parameters: Mapping[str, Any]) -> tuple[Layer, Blob]:
    # The server stores parameters as a Go map: keys sorted, numbers as float64.
    data = (go_json(dict(parameters), sort_keys=True) + "\n").encode()
    return content_layer(MEDIA_PARAMS, data)


def messages_layer(messages: Sequence[Mapping[str, str]]) -> tuple[Layer, Blob]:
    structs = [{"role": m["role"], "content": m["content"]} for m in messages]
    data = (go_json(structs, sort_keys=False) + "\n").encode()
    return content_layer(MEDIA_MESSAGES, data)


def config_layer(weights: WeightsInfo) -> tuple[Layer, Blob]:
    """The config blob of Go's model.ConfigV2, in its field order."""
    config = {
        "model_format": "gguf",
        "model_family": weights.family,
        "model_families": [weights.family],
        "model_type": weights.parameter_size,
        "file_type": weights.quantization_level,
        "architecture": "amd64",
        "os": "linux",
    }
    data = (go_json(config, sort_keys=False) + "\n").encode()
    return content_layer(MEDIA_CONFIG, data)


def capabilities(weights: WeightsInfo, template: str, has_projector: bool) -> list[str]:
    """What Ollama computes from the GGUF, the projector and the template."""
    found = ["embedding"] if weights.embedding else ["completion"]
    if weights.vision or has_projector:
        found.append("vision")
    if not weights.embedding:
        if ".Tools" in template:
            found.append("tools")
        if ".Suffix" in template:
            found.append("insert")
        if ".Thinking" in template:
            found.append("thinking")
    return found
