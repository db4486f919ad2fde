"""The REST endpoints (reference/ollama-api.md §2): validation, then the store, then a reply.

Each endpoint takes the request handler, the decoded JSON body and the stream faults that apply.
Status codes and error texts follow the Ollama handlers in `server/routes.go`.
"""

import re
import time
from typing import TYPE_CHECKING, Any

from tests.ollama_server_chat import (
    chat_lines,
    chat_model,
    check_images,
    combined,
    empty_reply,
    plan_reply,
)
from tests.ollama_server_faults import Fault
from tests.ollama_server_gofmt import go_quote
from tests.ollama_server_http import (
    JSON_UTF8,
    Decoder,
    Handler,
    Routes,
    schema_decoders,
    version_info,
)
from tests.ollama_server_names import ModelName
from tests.ollama_server_openai import OPENAI_DECODERS, OPENAI_ROUTES
from tests.ollama_server_ops import CreateRequest, create_lines, pull_lines
from tests.ollama_server_show import show_document, tags_entry
from tests.ollama_server_types import ApiError

if TYPE_CHECKING:
    from tests.ollama_server import OllamaServer

_ZERO_DURATION = re.compile(r"0+(\.0*)?(ns|us|µs|ms|s|m|h)?")


def _owner(handler: Handler) -> "OllamaServer":
    return handler.server.owner


def _streams(body: dict[str, Any]) -> bool:
    return body.get("stream") is not False  # streaming is the default


def _valid_name(text: str) -> ModelName:
    name = ModelName.parse(text)
    if not name.is_valid:
        raise ApiError("invalid model name", 400)
    return name


def _is_zero_duration(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int | float):
        return value == 0
    return bool(_ZERO_DURATION.fullmatch(str(value).strip()))


def root(handler: Handler, body: dict[str, Any], faults: list[Fault]) -> None:
    handler.send_bytes(200, b"Ollama is running", "text/plain; charset=utf-8")


def version(handler: Handler, body: dict[str, Any], faults: list[Fault]) -> None:
    handler.send_json(200, {"version": _owner(handler).version})


def tags(handler: Handler, body: dict[str, Any], faults: list[Fault]) -> None:
    store = _owner(handler).store
    models = [tags_entry(store.view(model)) for model in store.models()]
    handler.send_json(200, {"models": models})


def show(handler: Handler, body: dict[str, Any], faults: list[Fault]) -> None:
    owner = _owner(handler)
    text = body.get("model") or body.get("name")
    if not text:
        raise ApiError("model is required", 400)
    name = _valid_name(text)
    model = owner.store.get(name)
    if model is None:
        # At HEAD the message carries the normalised name, tag included.
        raise ApiError(f"model '{name.display}' not found", 404)
    document = show_document(
        owner.store.view(model), owner.blobs_dir, shuffle=owner.shuffle_parameters
    )
    handler.send_json(200, document)


def pull(handler: Handler, body: dict[str, Any], faults: list[Fault]) -> None:
    owner = _owner(handler)
    name = owner.store.stored_name(_valid_name(body.get("model") or body.get("name") or ""))
    lines = pull_lines(owner.store, owner.catalogue, name, insecure=bool(body.get("insecure")))
    handler.send_lines(lines, stream=_streams(body), faults=faults)


def create(handler: Handler, body: dict[str, Any], faults: list[Fault]) -> None:
    owner = _owner(handler)
    name = owner.store.stored_name(_valid_name(body.get("model") or body.get("name") or ""))
    if version_info(owner.version) < (0, 5, 5):
        # Old servers only know `modelfile`/`path`; the JSON fields are silently ignored.
        if not body.get("modelfile") and not body.get("path"):
            raise ApiError("path or Modelfile are required", 400)
        raise ApiError("the test server does not parse Modelfiles", 500)
    request = CreateRequest.from_body(name, body)
    lines = create_lines(owner.store, owner.catalogue, request)
    handler.send_lines(lines, stream=_streams(body), faults=faults)


def delete(handler: Handler, body: dict[str, Any], faults: list[Fault]) -> None:
    text = body.get("model") or body.get("name") or ""
    name = ModelName.parse(text)
    if not name.is_valid:
        raise ApiError(f"name {go_quote(text)} is invalid", 400)
    if not _owner(handler).store.delete(name):
        raise ApiError(f"model '{text}' not found", 404)
    handler.send_bytes(200, b"", None)


def copy(handler: Handler, body: dict[str, Any], faults: list[Fault]) -> None:
    source_text = body.get("source") or ""
    destination_text = body.get("destination") or ""
    source = ModelName.parse(source_text)
    if not source.is_valid:
        raise ApiError(f"source {go_quote(source_text)} is invalid", 400)
    destination = ModelName.parse(destination_text)
    if not destination.is_valid:
        raise ApiError(f"destination {go_quote(destination_text)} is invalid", 400)
    if not _owner(handler).store.copy(source, destination):
        raise ApiError(f"model {go_quote(source_text)} not found", 404)
    handler.send_bytes(200, b"", None)


def chat(handler: Handler, body: dict[str, Any], faults: list[Fault]) -> None:
    started_ns = time.monotonic_ns()
    owner = _owner(handler)
    messages = body.get("messages") or []
    check_images(messages)
    text = body.get("model") or ""
    name, view = chat_model(owner.store, text, version_info(owner.version))
    if not messages and _is_zero_duration(body.get("keep_alive")):
        handler.send_json(200, empty_reply(text, "unload"))
        return
    reply = owner.scripts.apply(name, plan_reply(view, body), messages)
    if not messages:
        handler.send_json(200, empty_reply(text, "load"))
        return
    lines = chat_lines(reply, owner.chat_timing(name), owner.sleep, started_ns)
    if _streams(body):
        handler.send_lines(lines, stream=True, faults=faults)
    else:
        handler.send_lines(combined(lines), stream=False, faults=faults, result_type=JSON_UTF8)


ROUTES: Routes = {
    "/": {"GET": root, "HEAD": root},
    "/api/version": {"GET": version, "HEAD": version},
    "/api/tags": {"GET": tags, "HEAD": tags},
    "/api/show": {"POST": show},
    "/api/pull": {"POST": pull},
    "/api/create": {"POST": create},
    "/api/delete": {"DELETE": delete},
    "/api/copy": {"POST": copy},
    "/api/chat": {"POST": chat},
    **OPENAI_ROUTES,
}
# How each endpoint that takes a JSON body binds it.
DECODERS: dict[str, Decoder] = {**schema_decoders(), **OPENAI_DECODERS}
