"""Ollama's OpenAI-compatible API: `POST /v1/chat/completions` and `GET /v1/models`.

Ollama serves these by putting a middleware (`middleware/openai.go`) in front of its native
handlers: the middleware binds the OpenAI body, converts it to an `/api/chat` request
(`openai.FromChatRequest` in `openai/openai.go`), lets ChatHandler answer, and rewrites each
answer, stream line or error into OpenAI's shape. The test server does the same with its own
chat: the answer is exactly what `/api/chat` gives for the converted request. Differences worth
knowing when testing a client against it:

- The conversion always sets `temperature` and `top_p` (1 unless given), overriding the
  model's own parameters; `max_tokens` becomes `num_predict`; `stop` a list of strings.
- Each part of a list `content` becomes a message of its own (an image part: a message with
  empty content and the image), so the model sees more messages than the client sent.
- Error types follow the status from v0.18.0; before, an error of the handler behind the
  middleware is always `api_error` (its own refusals: `invalid_request_error`).
- From v0.32.6 streams follow OpenAI's wire format (role on the first chunk only, the finish
  reason on a chunk of its own with an empty delta); before, every chunk carries the role and
  the last content chunk the finish reason.
- An error in the middle of a stream reaches the middleware as a line it reads as an empty
  answer: the client gets one empty chunk, then the stream ends without `data: [DONE]`.
"""

import base64
import binascii
import json
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

from tests.ollama_server_chat import chat_lines, chat_model, plan_reply
from tests.ollama_server_faults import Fault
from tests.ollama_server_gofmt import go_json
from tests.ollama_server_http import (
    JSON_BARE,
    Decoder,
    Handler,
    Routes,
    json_kind,
    parse_json,
    version_info,
)
from tests.ollama_server_names import ModelName
from tests.ollama_server_types import ApiError, Line, Lines, OpenAIRequestError

COMPLETIONS = "/v1/chat/completions"
MODELS = "/v1/models"
EVENT_STREAM = "text/event-stream"
FINGERPRINT = "fp_ollama"

# Releases that changed what these endpoints answer (the first tag holding the change).
_IMAGE_URL_CHECK = (0, 13, 3)  # decodeImageURL: http(s) URLs named, bad base64 "invalid image"
_OPENAI_WIRE_FORMAT = (0, 32, 6)  # streams reworked to match api.openai.com chunk for chunk
_STREAM_ERROR_STATUS = (0, 12, 6)  # an error before any streamed output gets a real status

_IMAGE_TYPES = ("jpeg", "jpg", "png", "webp")

# openai.ChatCompletionRequest: JSON field -> the Go type binding it (pointers dereferenced).
_REQUEST_FIELDS = {
    "model": "string",
    "messages": "[]openai.Message",
    "stream": "bool",
    "stream_options": "openai.StreamOptions",
    "max_tokens": "int",
    "seed": "int",
    "temperature": "float64",
    "frequency_penalty": "float64",
    "presence_penalty": "float64",
    "top_p": "float64",
    "tools": "[]api.Tool",
}
_MESSAGE_FIELDS = {
    "role": "string",
    "reasoning": "string",
    "tool_calls": "[]openai.ToolCall",
    "name": "string",
    "tool_call_id": "string",
}
_STREAM_OPTIONS_FIELDS = {"include_usage": "bool"}


# ---- binding the request (gin's ShouldBindJSON) -----------------------------------------


def _mismatch(value: Any, go_type: str) -> str | None:
    """How Go describes `value` when it cannot go into `go_type`; None when it fits."""
    if value is None:
        return None  # null leaves a field at its zero value
    kind = json_kind(value)
    if go_type == "int":
        if kind == "number" and isinstance(value, float):
            return f"number {value!r}"  # Go parses integers from the literal: no fractions
        return None if kind == "number" else kind
    expected = {"string": "string", "bool": "bool", "float64": "number"}.get(go_type)
    if expected is None:
        expected = "array" if go_type.startswith("[]") else "object"
    return None if kind == expected else kind


def _type_error(value: str, struct: str, field: str, go_type: str) -> OpenAIRequestError:
    return OpenAIRequestError(
        f"json: cannot unmarshal {value} into Go struct field {struct}.{field} of type {go_type}",
        400,
    )


def _check_fields(
    document: Mapping[str, Any], fields: Mapping[str, str], struct: str, path: str
) -> None:
    """Go's decoder goes through the body in order and reports the first value that misfits."""
    for key, value in document.items():
        go_type = fields.get(key)
        if go_type is None:
            continue  # unknown fields are ignored
        problem = _mismatch(value, go_type)
        if problem is not None:
            raise _type_error(problem, struct, f"{path}{key}", go_type)
        if go_type == "[]openai.Message":
            for message in value or []:
                if message is not None and not isinstance(message, dict):
                    raise _type_error(json_kind(message), struct, key, "openai.Message")
                _check_fields(message or {}, _MESSAGE_FIELDS, "Message", f"{key}.")
        elif go_type == "openai.StreamOptions":
            _check_fields(value or {}, _STREAM_OPTIONS_FIELDS, "StreamOptions", f"{key}.")


def decode_chat_completion(raw: bytes) -> dict[str, Any]:
    """ChatMiddleware's ShouldBindJSON into openai.ChatCompletionRequest (400 on failure).

    A value that does not fit is named by its innermost struct and the path of JSON fields to
    it. Nested structs are checked as far as the conversion relies on them.
    """
    text = raw.decode("utf-8", errors="replace").lstrip()
    if not text:
        raise OpenAIRequestError("EOF", 400)  # no "missing request body" here: that is /api/chat
    try:
        value = parse_json(text)
    except ApiError as error:
        raise OpenAIRequestError(error.message, 400) from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise OpenAIRequestError(
            f"json: cannot unmarshal {json_kind(value)} into Go value of type "
            "openai.ChatCompletionRequest",
            400,
        )
    _check_fields(value, _REQUEST_FIELDS, "ChatCompletionRequest", "")
    return value


# ---- converting it to an /api/chat request (openai.FromChatRequest) ---------------------


def _go_type_name(value: Any) -> str:
    """Go's %T of a JSON value decoded into `any`."""
    if value is None:
        return "<nil>"
    return {
        "bool": "bool",
        "number": "float64",
        "string": "string",
        "array": "[]interface {}",
        "object": "map[string]interface {}",
    }[json_kind(value)]


def _decode_image(url: str, version: tuple[int, ...]) -> str:
    """The image of a data URL, re-encoded as the base64 an /api/chat message carries."""
    newer = version >= _IMAGE_URL_CHECK
    if newer and url.startswith(("http://", "https://")):
        raise OpenAIRequestError(
            "image URLs are not currently supported, please use base64 encoded data instead", 400
        )
    data = url.removeprefix("data:;base64,")
    valid = data != url  # a blank MIME type is accepted, like /api/chat's bare base64
    for image_type in _IMAGE_TYPES:
        prefix = f"data:image/{image_type};base64,"
        if data.startswith(prefix):
            data, valid = data.removeprefix(prefix), True
            break
    if not valid:
        raise OpenAIRequestError("invalid image input", 400)
    try:
        # base64.StdEncoding: padding required, line breaks skipped.
        image = base64.b64decode(data.replace("\r", "").replace("\n", ""), validate=True)
    except binascii.Error:
        message = "invalid image input" if newer else "invalid message format"
        raise OpenAIRequestError(message, 400) from None
    return base64.b64encode(image).decode()


def _tool_calls(calls: Sequence[Any] | None) -> list[dict[str, Any]]:
    """openai.FromCompletionToolCall: each call's arguments are a JSON object in a string."""
    converted: list[dict[str, Any]] = []
    for call in calls or []:
        function = (call.get("function") if isinstance(call, dict) else None) or {}
        arguments = function.get("arguments")
        try:
            # Simplified: Go refuses a non-string `arguments` already when binding the body.
            parsed = json.loads(arguments if isinstance(arguments, str) else "")
        except json.JSONDecodeError:
            parsed = []
        if parsed is not None and not isinstance(parsed, dict):
            raise OpenAIRequestError("invalid tool call arguments", 400)
        name = function.get("name") or ""
        converted.append({"function": {"index": 0, "name": name, "arguments": parsed}})
    return converted


def _tool_name(messages: Sequence[Mapping[str, Any]], message: Mapping[str, Any]) -> str:
    """The function a `tool` message answers: its `name`, else found by `tool_call_id`."""
    if str(message.get("role") or "").lower() != "tool":
        return ""
    if message.get("name"):
        return str(message["name"])
    call_id = message.get("tool_call_id")
    if not call_id:
        return ""
    for earlier in reversed(messages):  # the last call with that id wins
        for call in earlier.get("tool_calls") or []:
            if isinstance(call, dict) and call.get("id") == call_id:
                return str((call.get("function") or {}).get("name") or "")
    return ""


def _message(role: str, content: str, **extra: Any) -> dict[str, Any]:
    """An api.Message as Go encodes it: empty optional fields are left out."""
    return {"role": role, "content": content, **{k: v for k, v in extra.items() if v}}


def _part_message(role: str, part: Any, version: tuple[int, ...]) -> dict[str, Any]:
    invalid = OpenAIRequestError("invalid message format", 400)
    if not isinstance(part, dict):
        raise invalid
    if part.get("type") == "text":
        if not isinstance(part.get("text"), str):
            raise invalid
        return _message(role, part["text"])
    if part.get("type") == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        if not isinstance(url, str):
            raise invalid
        return _message(role, "", images=[_decode_image(url, version)])
    raise invalid


def _convert_messages(
    messages: Sequence[Mapping[str, Any]], version: tuple[int, ...]
) -> list[dict[str, Any]]:
    converted: list[dict[str, Any]] = []
    for message in messages:
        role = str(message.get("role") or "")
        content = message.get("content")
        calls = message.get("tool_calls")
        thinking = str(message.get("reasoning") or "")
        tool_name = _tool_name(messages, message)
        if isinstance(content, str):
            converted.append(
                _message(
                    role,
                    content,
                    thinking=thinking,
                    tool_calls=_tool_calls(calls),
                    tool_name=tool_name,
                )
            )
        elif isinstance(content, list):
            converted.extend(_part_message(role, part, version) for part in content)
            if converted and calls:  # tool calls go on the last message converted so far
                last = converted[-1]
                last["tool_calls"] = _tool_calls(calls)
                if tool_name:
                    last["tool_name"] = tool_name
                last.pop("thinking", None)
                if thinking:
                    last["thinking"] = thinking
        elif calls is None:  # content may only be left out next to tool calls
            raise OpenAIRequestError(f"invalid message content type: {_go_type_name(content)}", 400)
        else:
            converted.append(_message(role, "", thinking=thinking, tool_calls=_tool_calls(calls)))
    return converted


def _options(body: Mapping[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    stop = body.get("stop")
    if isinstance(stop, str):
        options["stop"] = [stop]
    elif isinstance(stop, list):
        # Other items are dropped silently; none left is a nil slice, encoded as null.
        options["stop"] = [item for item in stop if isinstance(item, str)] or None
    if body.get("max_tokens") is not None:
        options["num_predict"] = body["max_tokens"]
    temperature = body.get("temperature")
    options["temperature"] = 1.0 if temperature is None else temperature
    for key in ("seed", "frequency_penalty", "presence_penalty"):
        if body.get(key) is not None:
            options[key] = body[key]
    top_p = body.get("top_p")
    options["top_p"] = 1.0 if top_p is None else top_p
    return options


def to_chat_request(body: Mapping[str, Any], version: tuple[int, ...]) -> dict[str, Any]:
    """The /api/chat request the middleware hands to ChatHandler for an OpenAI body.

    The middleware JSON-encodes it and ChatHandler decodes it again, so the round trip through
    Go's encoding is kept: options become float64 values (`1.0` arrives as `1`).
    """
    messages = [message or {} for message in body.get("messages") or []]  # null: all zero
    if not messages:
        raise OpenAIRequestError("[] is too short - 'messages'", 400)
    request: dict[str, Any] = {
        "model": body.get("model") or "",
        "messages": _convert_messages(messages, version),
        "stream": body.get("stream") is True,
    }
    if body.get("tools"):
        request["tools"] = body["tools"]
    request["options"] = _options(body)
    decoded: dict[str, Any] = json.loads(go_json(request, sort_keys=False))
    return decoded


# ---- answers ----------------------------------------------------------------------------


def _usage(line: Line) -> dict[str, int]:
    """openai.ToUsage from the final line's metrics (left out of the line when zero)."""
    prompt = int(line.get("prompt_eval_count") or 0)
    completion = int(line.get("eval_count") or 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _event(chunk: Mapping[str, Any]) -> bytes:
    return b"data: " + go_json(dict(chunk), sort_keys=False).encode() + b"\n\n"


class ChunkWriter:
    """The middleware's ChatWriter for `stream: true`: /api/chat lines in, SSE events out."""

    def __init__(self, completion_id: str, *, include_usage: bool, wire_format: bool) -> None:
        self.completion_id = completion_id
        self.include_usage = include_usage
        self.wire_format = wire_format  # v0.32.6 and later
        self.first_sent = False
        self.created: int | None = None

    def _chunk(self, model: str, created: int, choice: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": FINGERPRINT,
            "choices": [choice],
        }

    def _before_wire_format(self, line: Line) -> list[dict[str, Any]]:
        """openai.ToChunk: one chunk per line, each stamped now and carrying the role."""
        content = str((line.get("message") or {}).get("content", ""))
        delta = {"role": "assistant", "content": content}
        choice = {"index": 0, "delta": delta, "finish_reason": line.get("done_reason") or None}
        chunk = self._chunk(str(line.get("model") or ""), int(time.time()), choice)
        if line.get("done") and self.include_usage:
            return [chunk, {**chunk, "choices": [], "usage": _usage(line)}]
        return [chunk]

    def _openai_wire_format(self, line: Line) -> list[dict[str, Any]]:
        """ToStreamChunks and FinishChunk: one timestamp, role once, finish on its own."""
        if self.created is None:
            self.created = int(time.time())
        model = str(line.get("model") or "")
        content = str((line.get("message") or {}).get("content", ""))
        chunks: list[dict[str, Any]] = []
        # The final line's empty message is the metrics trailer: no empty content chunk for it.
        if not (line.get("done") and self.first_sent and not content):
            delta = {} if self.first_sent else {"role": "assistant"}
            delta["content"] = content
            choice = {"index": 0, "delta": delta, "finish_reason": None}
            chunks.append(self._chunk(model, self.created, choice))
            self.first_sent = True
        if line.get("done"):
            reason = line.get("done_reason") or "stop"
            choice = {"index": 0, "delta": {}, "finish_reason": reason}
            finish = self._chunk(model, self.created, choice)
            chunks.append(finish)
            if self.include_usage:
                chunks.append({**finish, "choices": [], "usage": _usage(line)})
        return chunks

    def events(self, line: Line) -> bytes:
        """The events for one /api/chat line; `data: [DONE]` after the final one."""
        if self.wire_format:
            chunks = self._openai_wire_format(line)
        else:
            chunks = self._before_wire_format(line)
        data = b"".join(_event(chunk) for chunk in chunks)
        return data + b"data: [DONE]\n\n" if line.get("done") else data


def _send_events(
    handler: Handler,
    lines: Lines,
    faults: list[Fault],
    writer: ChunkWriter,
    version: tuple[int, ...],
) -> None:
    """Stream the chat as server-sent events, one HTTP chunk per /api/chat line.

    Faults "after N" count the chunks of content sent. Headers go out with the first chunk,
    after the model's time to first token, as Ollama's do.
    """
    produced = 0
    try:
        while True:
            if handler.stream_fault(faults, produced):
                return  # the connection was cut
            line = next(lines, None)
            if line is None:
                break
            data = writer.events(line)
            if produced == 0:
                handler.start_stream(EVENT_STREAM)
            handler.write_chunk(data)
            produced += 1
    except ApiError as error:
        if produced == 0 and version >= _STREAM_ERROR_STATUS:
            handler.send_error_json(error)  # streamResponse: nothing written yet, a real status
            return
        # streamResponse writes {"error": ...} into the stream; the middleware decodes it as
        # an empty api.ChatResponse: one empty chunk, and no [DONE] since it is not `done`.
        if produced == 0:
            handler.start_stream(EVENT_STREAM)
        handler.write_chunk(writer.events({}))
    finally:
        lines.close()
    handler.end_stream()


def _send_completion(
    handler: Handler, lines: Lines, faults: list[Fault], completion_id: str
) -> None:
    """`stream: false`: ChatHandler joins the chunks, the middleware sends a chat.completion."""
    content: list[str] = []
    final: Line | None = None
    produced = 0
    try:
        while True:
            if handler.stream_fault(faults, produced):
                return
            line = next(lines, None)
            if line is None:
                break
            content.append(str(line["message"]["content"]))
            final = line
            produced += 1
    except ApiError as error:
        handler.send_error_json(error)
        return
    finally:
        lines.close()
    assert final is not None and final.get("done")
    document = {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": final["model"],
        "system_fingerprint": FINGERPRINT,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(content)},
                "finish_reason": final.get("done_reason") or None,
            }
        ],
        "usage": _usage(final),
    }
    # json.Encoder.Encode: Go's escaping, and a trailing newline.
    handler.send_bytes(200, (go_json(document, sort_keys=False) + "\n").encode(), JSON_BARE)


def chat_completions(handler: Handler, body: dict[str, Any], faults: list[Fault]) -> None:
    started_ns = time.monotonic_ns()
    owner = handler.server.owner
    version = version_info(owner.version)
    request = to_chat_request(body, version)
    name, view = chat_model(owner.store, request["model"], version)
    reply = owner.scripts.apply(name, plan_reply(view, request), request.get("messages") or [])
    lines = chat_lines(reply, owner.chat_timing(name), owner.sleep, started_ns)
    completion_id = f"chatcmpl-{random.randrange(999)}"  # rand.Intn(999)
    if not request["stream"]:
        _send_completion(handler, lines, faults, completion_id)
        return
    stream_options = body.get("stream_options")
    writer = ChunkWriter(
        completion_id,
        include_usage=isinstance(stream_options, dict)
        and stream_options.get("include_usage") is True,
        wire_format=version >= _OPENAI_WIRE_FORMAT,
    )
    _send_events(handler, lines, faults, writer, version)


def models(handler: Handler, body: dict[str, Any], faults: list[Fault]) -> None:
    """openai.ToListCompletion over /api/tags: newest first, owner is the namespace."""
    data = [
        {
            "id": model.name.display,
            "object": "model",
            "created": model.modified_at_ns // 1_000_000_000,
            "owned_by": ModelName.parse(model.name.display).namespace,
        }
        for model in handler.server.owner.store.models()
    ]
    # No local models: Go's nil slice encodes as null, not [].
    document = {"object": "list", "data": data or None}
    handler.send_bytes(200, (go_json(document, sort_keys=False) + "\n").encode(), JSON_BARE)


OPENAI_ROUTES: Routes = {
    COMPLETIONS: {"POST": chat_completions},
    MODELS: {"GET": models},
}
OPENAI_DECODERS: dict[str, Decoder] = {COMPLETIONS: decode_chat_completion}
