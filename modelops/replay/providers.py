"""Where answers come from: an Ollama model (possibly a registry model applied client-side),
an OpenAI-compatible endpoint, or an Open WebUI model through its chat completions API. Each
streams, and times the first token and the whole answer."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from modelops.errors import ModelopsError, TargetError, unresolved
from modelops.targets.base import ChatChunk

OnText = Callable[[str], None]


@dataclass(frozen=True)
class Message:
    role: str
    content: str
    images: tuple[bytes, ...] = ()


@dataclass
class Reply:
    text: str
    ttft_ms: float | None
    total_ms: float
    prompt_tokens: int | None = None
    answer_tokens: int | None = None
    estimated: bool = False


class Provider(Protocol):
    label: str

    def chat(
        self, messages: Sequence[Message], options: Mapping[str, Any], on_text: OnText | None
    ) -> Reply: ...


class _Clock:
    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.first: float | None = None

    def text(self, piece: str) -> None:
        if piece and self.first is None:
            self.first = time.perf_counter()

    def reply(self, text: str, **counts: Any) -> Reply:
        end = time.perf_counter()
        ttft = None if self.first is None else (self.first - self.start) * 1000
        return Reply(text, ttft, (end - self.start) * 1000, **counts)


class ChatServer(Protocol):
    """What a provider needs of an Ollama server (`modelops.targets.ollama.OllamaHost`)."""

    def show(self, name: str) -> dict[str, Any]: ...
    def chat(
        self, model: str, messages: list[dict[str, Any]], options: Mapping[str, Any]
    ) -> Iterator[ChatChunk]: ...


@dataclass
class OllamaProvider:
    """An Ollama model. A registry model is its Ollama base plus, on the client side, the
    definition's system prompt, history and parameters (so a change can be tried before it is
    applied)."""

    label: str
    host: ChatServer
    model: str
    system: str | None = None
    history: tuple[Message, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)
    _vision: bool | None = None

    def sees_images(self) -> bool:
        """Whether the model takes images, from its capabilities (asked once)."""
        if self._vision is None:
            capabilities = self.host.show(self.model).get("capabilities") or []
            self._vision = not capabilities or "vision" in capabilities
        return self._vision

    def chat(
        self, messages: Sequence[Message], options: Mapping[str, Any], on_text: OnText | None
    ) -> Reply:
        sent: list[dict[str, Any]] = []
        if self.system is not None:
            sent.append({"role": "system", "content": self.system})
        # Images of earlier turns go only to a model that can see them (one switched to
        # mid-way may not); an image in the new message is always sent, so that a wrong pin
        # fails loudly instead of answering without it.
        earlier = any(m.images for m in messages[:-1]) and self.sees_images()
        conversation = (*self.history, *messages)
        for i, m in enumerate(conversation):
            entry: dict[str, Any] = {"role": m.role, "content": m.content}
            if m.images and (earlier or i == len(conversation) - 1):
                entry["images"] = [base64.b64encode(img).decode() for img in m.images]
            sent.append(entry)
        clock, parts = _Clock(), []
        counts: dict[str, Any] = {}
        for chunk in self.host.chat(self.model, sent, {**self.parameters, **options}):
            clock.text(chunk.text)
            parts.append(chunk.text)
            if on_text and chunk.text:
                on_text(chunk.text)
            if chunk.done:
                counts = {
                    "prompt_tokens": chunk.prompt_tokens,
                    "answer_tokens": chunk.answer_tokens,
                }
        return clock.reply("".join(parts), **counts)


OPENAI_OPTIONS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "seed": "seed",
    "num_predict": "max_tokens",
    "stop": "stop",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
}


@dataclass
class OpenAIProvider:
    """An OpenAI-compatible chat completions endpoint; Open WebUI's /api/chat/completions is
    one."""

    label: str
    base_url: str
    model: str
    api_key: str | None = None
    path: str = "/v1/chat/completions"
    timeout: float = 300.0

    def chat(
        self, messages: Sequence[Message], options: Mapping[str, Any], on_text: OnText | None
    ) -> Reply:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [_openai_message(m) for m in messages],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        body.update({OPENAI_OPTIONS[k]: v for k, v in options.items() if k in OPENAI_OPTIONS})
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        clock, parts, usage = _Clock(), [], {}
        url = self.base_url.rstrip("/") + self.path
        try:
            with (
                httpx.Client(
                    timeout=httpx.Timeout(30.0, read=self.timeout), trust_env=False
                ) as client,
                client.stream("POST", url, json=body, headers=headers) as response,
            ):
                if response.status_code >= 400:
                    status = response.status_code
                    raise TargetError(
                        f"{self.label}: {url} answered {status}: {_error_text(response)}"
                    )
                for event in _events(response.iter_lines()):
                    if event.get("usage"):
                        usage = event["usage"]
                    for choice in event.get("choices") or []:
                        piece = (choice.get("delta") or {}).get("content") or ""
                        clock.text(piece)
                        parts.append(piece)
                        if on_text and piece:
                            on_text(piece)
        except httpx.ConnectError as exc:
            why = "its host name does not resolve" if unresolved(exc) else "connection refused"
            raise TargetError(f"{self.label}: cannot reach {self.base_url} ({why})") from None
        except httpx.TimeoutException:
            raise TargetError(f"{self.label}: {self.base_url} did not answer in time") from None
        except httpx.HTTPError as exc:
            raise TargetError(f"{self.label}: {self.base_url}: {exc}") from None
        text = "".join(parts)
        if usage:
            return clock.reply(
                text,
                prompt_tokens=usage.get("prompt_tokens"),
                answer_tokens=usage.get("completion_tokens"),
            )
        return clock.reply(text, answer_tokens=len(text.split()), estimated=True)


def _openai_message(message: Message) -> dict[str, Any]:
    if not message.images:
        return {"role": message.role, "content": message.content}
    from modelops.spec import avatar as avatars

    parts: list[dict[str, Any]] = [{"type": "text", "text": message.content}]
    for data in message.images:
        uri = avatars.data_uri(data, avatars.check_image(data, limit=len(data) + 1))
        parts.append({"type": "image_url", "image_url": {"url": uri}})
    return {"role": message.role, "content": parts}


def _events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Server-sent events: `data: {...}` lines until `data: [DONE]`."""
    for line in lines:
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            return
        try:
            event = json.loads(payload)
        except ValueError:
            continue
        if isinstance(event, dict):
            if isinstance(event.get("error"), dict | str):
                error = event["error"]
                raise TargetError(str(error.get("message") if isinstance(error, dict) else error))
            yield event


def _error_text(response: httpx.Response) -> str:
    response.read()
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or "(empty body)"
    if isinstance(body, dict):
        error = body.get("error") or body.get("detail") or body
        if isinstance(error, dict):
            error = error.get("message", error)
        return str(error)
    return str(body)


class ReplayError(ModelopsError):
    """A model reference cannot be resolved, or a provider is not configured."""
