"""Pull and create, as generators of the NDJSON progress lines the server streams.

State changes happen while the lines are produced, in the order Ollama makes them: blobs as each
layer finishes, the manifest just before the `writing manifest` line. So a model exists exactly
when a client has seen `writing manifest`, and a stream cut off earlier leaves no model behind.
Errors are raised as ApiError; the HTTP layer turns them into a status or an error line.
"""

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tests.ollama_server_catalogue import Catalogue
from tests.ollama_server_names import ModelName
from tests.ollama_server_store import ModelStore
from tests.ollama_server_types import (
    MEDIA_LICENSE,
    MEDIA_MESSAGES,
    MEDIA_MODEL,
    MEDIA_PARAMS,
    MEDIA_SYSTEM,
    MEDIA_TEMPLATE,
    ApiError,
    Blob,
    Layer,
    Line,
    Lines,
    Manifest,
    WeightsInfo,
    config_layer,
    content_layer,
    messages_layer,
    params_layer,
)

_LARGE_LAYER = 1 << 20
_PROGRESS_STEPS = 4
_UNQUANTIZED = frozenset({"F16", "BF16", "F32"})
# Rough size of a quantized model relative to its F16 weights.
_QUANT_RATIOS = {"Q4_0": 0.29, "Q4_K_S": 0.29, "Q4_K_M": 0.31, "Q8_0": 0.53, "F16": 1.0}
_BLOCK_OPEN = re.compile(r"\{\{-?\s*(if|range|with|block|define)\b")
_BLOCK_END = re.compile(r"\{\{-?\s*end\b")


def _download(store: ModelStore, layer: Layer, blob: Blob) -> Lines:
    progress: Line = {"status": f"pulling {layer.short_hex}", "digest": layer.digest}
    progress["total"] = layer.size
    if store.has_blob(layer.digest) or layer.size < _LARGE_LAYER:
        # A blob already on disk, or a small one, finishes in a single line.
        store.put_blob(layer.digest, blob)
        yield {**progress, "completed": layer.size}
        return
    yield progress  # `completed` is left out while it is 0
    for step in range(1, _PROGRESS_STEPS):
        yield {**progress, "completed": layer.size * step // _PROGRESS_STEPS}
    store.put_blob(layer.digest, blob)
    yield {**progress, "completed": layer.size}


def pull_lines(
    store: ModelStore, catalogue: Catalogue, name: ModelName, *, insecure: bool = False
) -> Lines:
    """The lines of `POST /api/pull` (images.go PullModel)."""
    if name.scheme == "http" and not insecure:
        raise ApiError("insecure protocol http")
    yield {"status": "pulling manifest"}
    entry = catalogue.resolve(name)
    manifest, blobs = entry.artifacts()
    for layer in (*manifest.layers, manifest.config):
        yield from _download(store, layer, blobs[layer.digest])
    yield {"status": "verifying sha256 digest"}
    old = store.write(store.stored_name(name), manifest)
    yield {"status": "writing manifest"}
    if old is not None:
        kept = {layer.digest for layer in (*manifest.layers, manifest.config)}
        stale = {layer.digest for layer in (*old.manifest.layers, old.manifest.config)} - kept
        if stale:
            store.prune(stale)
            yield {"status": "removing unused layers"}
    yield {"status": "success"}


@dataclass(frozen=True)
class CreateRequest:
    """The JSON form of `POST /api/create` (≥ v0.5.5), already type-checked."""

    name: ModelName
    from_name: str = ""
    has_files: bool = False
    template: str = ""
    system: str = ""
    licenses: tuple[str, ...] = ()
    parameters: Mapping[str, Any] | None = None
    messages: tuple[Mapping[str, str], ...] = ()
    quantize: str = ""

    @classmethod
    def from_body(cls, name: ModelName, body: Mapping[str, Any]) -> "CreateRequest":
        license_field = body.get("license")
        if isinstance(license_field, str):
            licenses: tuple[str, ...] = (license_field,) if license_field else ()
        elif isinstance(license_field, list):
            licenses = tuple(str(item) for item in license_field)
        else:
            licenses = ()
        messages = tuple(
            {"role": str(m.get("role", "")).lower(), "content": str(m.get("content", ""))}
            for m in body.get("messages") or []
        )
        return cls(
            name=name,
            from_name=body.get("from") or "",
            has_files=bool(body.get("files")),
            template=body.get("template") or "",
            system=body.get("system") or "",
            licenses=licenses,
            parameters=body.get("parameters"),
            messages=messages,
            quantize=(body.get("quantize") or body.get("quantization") or "").upper(),
        )


def check_template(template: str) -> None:
    """A coarse stand-in for Go's template.Parse: unbalanced actions or blocks fail with 400."""
    problem = ""
    if template.count("{{") != template.count("}}"):
        problem = "template: :1: unclosed action"
    elif len(_BLOCK_OPEN.findall(template)) > len(_BLOCK_END.findall(template)):
        problem = f"template: :{template.count(chr(10)) + 1}: unexpected EOF"
    elif len(_BLOCK_OPEN.findall(template)) < len(_BLOCK_END.findall(template)):
        problem = "template: :1: unexpected {{end}}"
    if problem:
        raise ApiError(f"template error: {problem}", 400)


@dataclass
class _LayerPlan:
    """The layers of the model being created, each with its `using`/`creating` status."""

    store: ModelStore
    layers: list[tuple[Layer, str]] = field(default_factory=list)

    def inherit(self, layer: Layer) -> None:
        self.layers.append((layer, "using existing layer"))

    def add(self, layer: Layer, blob: Blob) -> None:
        # Like manifest.NewLayer, the blob is written at once, whatever happens later.
        is_new = self.store.put_blob(layer.digest, blob)
        self.layers.append((layer, "creating new layer" if is_new else "using existing layer"))

    def remove(self, media_type: str) -> None:
        self.layers = [pair for pair in self.layers if pair[0].media_type != media_type]

    def replace(self, layer: Layer, blob: Blob) -> None:
        self.remove(layer.media_type)
        self.add(layer, blob)

    def of(self, media_type: str) -> list[Layer]:
        return [layer for layer, _ in self.layers if layer.media_type == media_type]


def _merge_parameters(plan: _LayerPlan, requested: Mapping[str, Any] | None) -> None:
    """setParameters: request keys win, base keys not sent are kept, lists replaced whole."""
    merged = dict(requested or {})
    for layer in plan.of(MEDIA_PARAMS):
        for key, value in json.loads(plan.store.blob(layer.digest).data).items():
            merged.setdefault(key, value)
    if merged:
        plan.replace(*params_layer(merged))


def _quantize(plan: _LayerPlan, weights: WeightsInfo, target: str) -> Lines:
    if weights.quantization_level not in _UNQUANTIZED:
        raise ApiError("quantization is only supported for F16, BF16 and F32 models")
    if target not in _QUANT_RATIOS:
        raise ApiError(f"unsupported quantization type {target}")
    if target == weights.quantization_level:
        return
    source = plan.of(MEDIA_MODEL)[0]
    status = f"quantizing {weights.quantization_level} model to {target}"
    for step in range(_PROGRESS_STEPS + 1):
        completed = source.size * step // _PROGRESS_STEPS
        yield {"status": status, "digest": "0", "total": source.size, "completed": completed}
    info = {**weights.model_info, "general.file_type": 15}
    quantized = replace(weights, quantization_level=target, model_info=info)
    size = int(source.size * _QUANT_RATIOS[target])
    digest = "sha256:" + hashlib.sha256(f"{source.digest}\0{target}".encode()).hexdigest()
    plan.remove(MEDIA_MODEL)
    plan.layers.insert(0, (Layer(MEDIA_MODEL, digest, size), "creating new layer"))
    plan.store.put_blob(digest, Blob(size, weights=quantized))


def create_lines(store: ModelStore, catalogue: Catalogue, request: CreateRequest) -> Lines:
    """The lines of `POST /api/create` (create.go CreateHandler and createModel)."""
    if not request.from_name:
        if request.has_files:
            raise ApiError("the test server does not simulate creating from files", 400)
        raise ApiError("neither 'from' or 'files' was specified", 400)
    from_name = ModelName.parse(request.from_name)
    if not from_name.is_valid:
        raise ApiError("invalid model name", 400)
    base = store.get(from_name)
    if base is None:
        # parseFromModel pulls a missing base, and the pull's lines join the create stream.
        yield from pull_lines(store, catalogue, from_name)
        base = store.get(from_name)
        assert base is not None
    plan = _LayerPlan(store)
    for layer in base.manifest.layers:
        plan.inherit(replace(layer, from_name=from_name.display))
    weights = store.blob(plan.of(MEDIA_MODEL)[0].digest).weights
    assert weights is not None
    if request.quantize:
        yield from _quantize(plan, weights, request.quantize)
        weights = store.blob(plan.of(MEDIA_MODEL)[0].digest).weights or weights
    if request.template:
        check_template(request.template)
        plan.replace(*content_layer(MEDIA_TEMPLATE, request.template.encode()))
    if request.system:
        plan.replace(*content_layer(MEDIA_SYSTEM, request.system.encode()))
    for text in request.licenses:
        plan.add(*content_layer(MEDIA_LICENSE, text.encode()))
    _merge_parameters(plan, request.parameters)
    if request.messages:
        plan.replace(*messages_layer(request.messages))
    config, config_blob = config_layer(weights)
    store.put_blob(config.digest, config_blob)
    for layer, status in plan.layers:
        yield {"status": f"{status} {layer.digest}"}
    manifest = Manifest(config, tuple(layer for layer, _ in plan.layers))
    old = store.write(store.stored_name(request.name), manifest)
    yield {"status": "writing manifest"}
    if old is not None:
        store.prune(layer.digest for layer in (*old.manifest.layers, old.manifest.config))
    yield {"status": "success"}


def edit_layers(
    store: ModelStore,
    name: ModelName,
    *,
    system: str | None,
    template: str | None,
    parameters: Mapping[str, Any] | None,
    drop_parameters: Sequence[str],
    messages: Sequence[Mapping[str, str]] | None,
) -> str:
    """Change a local model in place, as someone editing it by hand would; returns the digest.

    Unlike a create this can remove things: an empty system drops the system layer, and
    `drop_parameters` removes keys. Layers keep their `from`, so parent_model is unchanged.
    """
    model = store.get(name)
    if model is None:
        raise KeyError(name.display)
    plan = _LayerPlan(store)
    for layer in model.manifest.layers:
        plan.inherit(layer)
    if system is not None:
        plan.remove(MEDIA_SYSTEM)
        if system:
            plan.add(*content_layer(MEDIA_SYSTEM, system.encode()))
    if template is not None:
        plan.replace(*content_layer(MEDIA_TEMPLATE, template.encode()))
    if parameters is not None or drop_parameters:
        current: dict[str, Any] = {}
        for layer in plan.of(MEDIA_PARAMS):
            current = json.loads(store.blob(layer.digest).data)
        current.update(parameters or {})
        for key in drop_parameters:
            current.pop(key, None)
        plan.remove(MEDIA_PARAMS)
        if current:
            plan.add(*params_layer(current))
    if messages is not None:
        plan.remove(MEDIA_MESSAGES)
        if messages:
            plan.add(*messages_layer(messages))
    manifest = Manifest(model.manifest.config, tuple(layer for layer, _ in plan.layers))
    store.write(model.name, manifest)
    return manifest.digest
