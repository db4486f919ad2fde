"""`POST /api/chat` with a deterministic "model" whose answer reveals what the request carried.

The answer names the model, the effective system prompt, the message count and the effective
options, then echoes the last user message, so tests can prove context and options reached the
server:  `[model=faq:latest] [system=You are…] [messages=3] [options={"seed":42}] You said: hi`
"""

import base64
import binascii
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from tests.ollama_server_gofmt import go_quote, rfc3339_nano
from tests.ollama_server_names import ModelName
from tests.ollama_server_store import ModelStore, ModelView
from tests.ollama_server_types import ApiError, Lines

# Option names and their Go kinds (api/types.go Options and Runner).
_OPTION_KINDS = {
    "num_ctx": "integer",
    "num_batch": "integer",
    "num_gpu": "integer",
    "main_gpu": "integer",
    "use_mmap": "boolean",
    "num_thread": "integer",
    "draft_num_predict": "integer",
    "num_keep": "integer",
    "seed": "integer",
    "num_predict": "integer",
    "top_k": "integer",
    "top_p": "float32",
    "min_p": "float32",
    "typical_p": "float32",
    "repeat_last_n": "integer",
    "temperature": "float32",
    "repeat_penalty": "float32",
    "presence_penalty": "float32",
    "frequency_penalty": "float32",
    "stop": "array",
}
_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


@dataclass(frozen=True)
class ChatTiming:
    """Simulated inference speed: delay before the first chunk, and between chunks."""

    first_token: float = 0.0
    per_token: float = 0.0


@dataclass(frozen=True)
class ChatReply:
    model_field: str
    content: str
    prompt_eval_count: int


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _option_error(key: str, value: Any) -> str | None:
    kind = _OPTION_KINDS.get(key)
    if kind is None or value is None:
        return None  # unknown names are ignored with a log warning
    if kind in {"integer", "float32"} and not _is_number(value):
        return f"option {go_quote(key)} must be of type {kind}"
    if kind == "boolean" and not isinstance(value, bool):
        return f"option {go_quote(key)} must be of type boolean"
    if kind == "array":
        if not isinstance(value, list):
            return f"option {go_quote(key)} must be of type array"
        if not all(isinstance(item, str) for item in value):
            return f"option {go_quote(key)} must be of an array of strings"
    return None


def check_options(options: Mapping[str, Any]) -> None:
    """Options.FromMap: wrong types only fail here, at inference, with HTTP 500."""
    for key in sorted(options):
        problem = _option_error(key, options[key])
        if problem:
            raise ApiError(problem, 500)


def check_images(messages: Sequence[Mapping[str, Any]]) -> None:
    """Images are []byte in Go, so bad base64 fails when the body is bound (400)."""
    for message in messages:
        for image in message.get("images") or []:
            text = str(image)
            position = next((i for i, c in enumerate(text) if c not in _B64_ALPHABET), None)
            try:
                base64.b64decode(text, validate=True)
            except binascii.Error:
                position = len(text) if position is None else position
            if position is not None:
                raise ApiError(f"illegal base64 data at input byte {position}", 400)


def not_found_message(model: str, version: tuple[int, ...]) -> str:
    """ChatHandler's 404 for a model that is not local, as each Ollama release words it.

    Up to v0.2.1 the handler said so itself; v0.2.2 to v0.3.10 left it to the scheduler
    (handleScheduleError, Go's %q); from v0.3.11 the handler checks first, without the hint.
    """
    if version < (0, 2, 2):
        return f"model '{model}' not found, try pulling it first"
    if version < (0, 3, 11):
        return f"model {go_quote(model)} not found, try pulling it first"
    return f"model '{model}' not found"


def chat_model(
    store: ModelStore, text: str, version: tuple[int, ...]
) -> tuple[ModelName, ModelView]:
    """The local model a chat names; a chat never pulls one (404)."""
    name = ModelName.parse(text)
    if not name.is_valid:
        raise ApiError("model is required", 400)
    model = store.get(name)
    if model is None:
        raise ApiError(not_found_message(text, version), 404)
    return name, store.view(model)


def _word_count(messages: Sequence[Mapping[str, Any]]) -> int:
    return sum(len(str(m.get("content", "")).split()) for m in messages)


def plan_reply(view: ModelView, body: Mapping[str, Any]) -> ChatReply:
    """Validate a chat against the model as ChatHandler does, and compose the answer."""
    raw_model = str(body.get("model", ""))
    if "completion" not in view.capabilities:
        raise ApiError(f"{go_quote(raw_model)} does not support chat", 400)
    if body.get("tools") and "tools" not in view.capabilities:
        raise ApiError(f"{view.name.full} does not support tools", 400)
    if body.get("think") is True and "thinking" not in view.capabilities:
        raise ApiError(f"{go_quote(raw_model)} does not support thinking", 400)
    messages: list[Mapping[str, Any]] = list(body.get("messages") or [])
    # Options.FromMap skips a null value, so the model's own value stays in force.
    requested = {k: v for k, v in (body.get("options") or {}).items() if v is not None}
    options = {**(view.parameters or {}), **requested}
    check_options(options)
    images = sum(len(m.get("images") or []) for m in messages)
    if images and "vision" not in view.capabilities:
        raise ApiError("this model is missing data required for image input", 500)
    starts_with_system = bool(messages) and messages[0].get("role") == "system"
    system = str(messages[0].get("content", "")) if starts_with_system else view.system
    parts = [f"[model={view.name.display}]", f"[system={system}]", f"[messages={len(messages)}]"]
    if view.messages:
        parts.append(f"[history={len(view.messages)}]")
    if images:
        parts.append(f"[images={images}]")
    options_text = json.dumps(options, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    parts.append(f"[options={options_text}]")
    last_user = next((m for m in reversed(messages) if m.get("role") == "user"), None)
    parts.append(f"You said: {'' if last_user is None else last_user.get('content', '')}")
    # What the model sees: its system prompt (unless overridden), its stored history, the chat.
    seen = [*view.messages, *messages]
    if not starts_with_system and view.system:
        seen.insert(0, {"role": "system", "content": view.system})
    return ChatReply(raw_model, " ".join(parts), _word_count(seen))


def empty_reply(model_field: str, reason: str) -> dict[str, Any]:
    """The answer to a chat without messages: the model is only loaded (or unloaded)."""
    return {
        "model": model_field,
        "created_at": rfc3339_nano(time.time_ns()),
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": reason,
    }


class Scripts:
    """Scripted answers: a test decides what the "model" says, so that expectations on an
    answer can fail (an echo of the question would satisfy most of them)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripts: list[tuple[str, str | None, str | None]] = []  # content, to, model key

    def add(self, content: str, to: str | None, model_key: str | None) -> None:
        with self._lock:
            self._scripts.append((content, to, model_key))

    def clear(self) -> None:
        with self._lock:
            self._scripts.clear()

    def apply(
        self, name: ModelName, reply: ChatReply, messages: Sequence[Mapping[str, Any]]
    ) -> ChatReply:
        """`reply` with the scripted answer for this chat, if one matches; token counts and
        timing follow the scripted text as they would the echo."""
        users = [m for m in messages if isinstance(m, Mapping) and m.get("role") == "user"]
        last = str(users[-1].get("content", "")) if users else None
        with self._lock:
            for content, to, model_key in reversed(self._scripts):
                if to in (None, last) and model_key in (None, name.key):
                    return replace(reply, content=content)
        return reply


def chunks_of(content: str) -> list[str]:
    """Word-by-word pieces that join back into exactly `content`."""
    words = content.split(" ")
    return [word + " " for word in words[:-1]] + [words[-1]]


def chat_lines(
    reply: ChatReply,
    timing: ChatTiming,
    sleep: Callable[[float], None],
    started_ns: int,
) -> Lines:
    """The streamed chat: one line per chunk, then the `done` line with metrics in ns."""
    loaded_ns = time.monotonic_ns()
    sleep(timing.first_token)
    first_token_ns = time.monotonic_ns()
    pieces = chunks_of(reply.content)
    for index, piece in enumerate(pieces):
        if index:
            sleep(timing.per_token)
        yield {
            "model": reply.model_field,
            "created_at": rfc3339_nano(time.time_ns()),
            "message": {"role": "assistant", "content": piece},
            "done": False,
        }
    finished_ns = time.monotonic_ns()
    metrics = {
        "total_duration": max(1, finished_ns - started_ns),
        "load_duration": max(1, loaded_ns - started_ns),
        "prompt_eval_count": reply.prompt_eval_count,
        "prompt_eval_duration": max(1, first_token_ns - loaded_ns),
        "eval_count": len(pieces),
        "eval_duration": max(1, finished_ns - first_token_ns),
    }
    yield {
        "model": reply.model_field,
        "created_at": rfc3339_nano(time.time_ns()),
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": "stop",
        # Metrics are omitempty in Go: a zero count is left out.
        **{key: value for key, value in metrics.items() if value},
    }


def combined(lines: Lines) -> Lines:
    """`stream:false`: the chunks joined into the final line's message."""
    content: list[str] = []
    for line in lines:
        content.append(line["message"]["content"])
        if line["done"]:
            yield {**line, "message": {"role": "assistant", "content": "".join(content)}}
