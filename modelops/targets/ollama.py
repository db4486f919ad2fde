"""One Ollama server: observe it (version, tags, show) and change it (pull, create, delete),
and chat with its models.

The only user of the `ollama` client. Its exceptions, and httpx's, are translated here into
`TargetError` with the host in the message. Raw HTTP is used where the client falls short:
it has no `version()`, and its `show()` model drops the `system` and `messages` fields that
drift needs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from modelops.errors import ModelopsError, TargetError, unresolved
from modelops.spec import names
from modelops.spec.params import version_tuple
from modelops.spec.urls import url_problem
from modelops.targets.base import Change, ChatChunk, Progress, ProgressCallback

try:
    import ollama
except ValueError:  # the client parses OLLAMA_HOST as it is imported (a port out of range)
    _HOST = os.environ.get("OLLAMA_HOST", "")
    raise ModelopsError(
        f"OLLAMA_HOST {url_problem(_HOST, bare=True) or repr(_HOST)} (correct it, or unset it "
        "for 127.0.0.1:11434)"
    ) from None

DEFAULT_HOST = "http://127.0.0.1:11434"
MIN_VERSION = (0, 5, 5)
STREAM_IDLE_SECONDS = 300.0  # a pull or create stream that sends nothing this long is stuck


def normalize_host(text: str | None) -> str:
    """Ollama's own rules: no scheme means http, no port means 11434 (80/443 with a scheme)."""
    text = (text or "").strip() or DEFAULT_HOST
    explicit = "://" in text
    parts = urlsplit(text if explicit else f"http://{text}")
    host = parts.hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    port = parts.port or (({"http": 80, "https": 443}[parts.scheme]) if explicit else 11434)
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{host}:{port}{path}"


@dataclass(frozen=True)
class Tag:
    """One model in a host's `/api/tags`."""

    name: str
    digest: str
    parent_model: str


@dataclass(frozen=True)
class Retry:
    attempts: int = 3
    backoff: float = 0.5  # seconds before the second attempt; doubles after each


class OllamaHost:
    def __init__(self, url: str, *, timeout: float = 30.0, retry: Retry | None = None) -> None:
        self.url = normalize_host(url)
        self.retry = retry or Retry()
        self._timeout = timeout
        self._http = httpx.Client(base_url=self.url, timeout=timeout, trust_env=False)
        # Quick calls get the target's timeout; pull and create streams may take hours, so
        # their client only gives up when no line has come for STREAM_IDLE_SECONDS.
        self._client = ollama.Client(host=self.url, timeout=timeout, trust_env=False)
        stream_timeout = httpx.Timeout(timeout, read=STREAM_IDLE_SECONDS)
        self._streams = ollama.Client(host=self.url, timeout=stream_timeout, trust_env=False)

    def close(self) -> None:
        self._http.close()
        for client in (self._client, self._streams):
            close_client: Callable[[], None] = client.close  # untyped in the client
            close_client()

    # --- observing ---

    def version(self) -> str:
        """The server's version; refuses servers too old for the JSON create API."""
        with self._errors("read the version"):
            response = self._http.get("/api/version")
        version = str(self._json(response, "version").get("version", ""))
        if version_tuple(version) < MIN_VERSION:
            raise TargetError(
                f"Ollama at {self.url} is version {version or 'unknown'}; modelops needs 0.5.5 "
                "or newer (creating models from JSON arrived in 0.5.5): upgrade Ollama"
            )
        return version

    def tags(self) -> dict[str, Tag]:
        """Local models by normalised name."""
        with self._errors("list models"):
            listing = self._client.list()
        out = {}
        for model in listing.models:
            name = str(model.model or "")
            try:
                key = names.parse_ollama_name(name).key
            except names.InvalidName:
                continue
            parent = model.details.parent_model if model.details else ""
            out[key] = Tag(name, str(model.digest or ""), str(parent or ""))
        return out

    def show(self, name: str) -> dict[str, Any]:
        """The raw `/api/show` document (the client's model drops fields drift needs)."""
        with self._errors(f"inspect {name}"):
            response = self._http.post("/api/show", json={"model": name})
        return self._json(response, f"inspect {name}")

    # --- changing ---

    def execute(self, change: Change, progress: ProgressCallback) -> None:
        """Carry out one planned change (the `Target` protocol)."""
        if change.action == "pull":
            self.pull(change.name, progress)
        elif change.action in ("create", "update"):
            assert change.request is not None, "a create without its request is a planning bug"
            self.create(change.request, progress)
        elif change.action == "delete":
            self.delete(change.name)

    def pull(self, name: str, progress: ProgressCallback) -> None:
        self._retrying(f"pull {name}", lambda: self._pull_once(name, progress))

    def _pull_once(self, name: str, progress: ProgressCallback) -> None:
        success = False
        for line in self._streams.pull(name, stream=True):
            progress(Progress(line.status or "", line.digest, line.total, line.completed))
            success = line.status == "success"
        if not success:
            raise TargetError(f"the pull of {name} ended before it finished", transient=True)

    def create(self, request: Mapping[str, Any], progress: ProgressCallback) -> None:
        self._retrying(f"create {request['model']}", lambda: self._create_once(request, progress))

    def _create_once(self, request: Mapping[str, Any], progress: ProgressCallback) -> None:
        lines = self._streams.create(
            model=request["model"],
            from_=request["from"],
            system=request.get("system"),
            template=request.get("template"),
            parameters=request.get("parameters"),
            messages=request.get("messages"),
            license=request.get("license"),
            stream=True,
        )
        last = ""
        for line in lines:
            last = line.status or ""
            progress(Progress(last, line.digest, line.total, line.completed))
        if last != "success":
            raise TargetError(
                f"the create of {request['model']} ended before it finished", transient=True
            )

    def chat(
        self, model: str, messages: list[dict[str, Any]], options: Mapping[str, Any]
    ) -> Iterator[ChatChunk]:
        """`/api/chat`, streamed; any failure is a TargetError."""
        with self._errors(f"chat with {model}"):
            stream = self._streams.chat(
                model=model, messages=messages, options=dict(options) or None, stream=True
            )
            for part in stream:
                content = part.message.content or ""
                if not part.done:
                    yield ChatChunk(content)
                    continue
                seconds = (part.eval_duration or 0) / 1e9 or None
                yield ChatChunk(content, True, part.prompt_eval_count, part.eval_count, seconds)

    def delete(self, name: str) -> None:
        try:
            with self._errors(f"delete {name}"):
                self._client.delete(name)
        except TargetError as exc:
            if "not found" not in exc.message:
                raise  # a model that is already gone is deleted

    # --- errors ---

    def _retrying(self, what: str, work: Callable[[], None]) -> None:
        delay = self.retry.backoff
        for attempt in range(1, self.retry.attempts + 1):
            try:
                with self._errors(what):
                    work()
                return
            except TargetError as exc:
                if not exc.transient or attempt == self.retry.attempts:
                    raise
            time.sleep(delay)
            delay *= 2

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except ollama.ResponseError as exc:
            status = exc.status_code
            transient = status >= 500 or (status == -1 and not _permanent(exc.error))
            raise TargetError(
                f"{self.url}: could not {what}: {exc.error or f'HTTP {status}'}",
                transient=transient,
            ) from None
        except (ConnectionError, httpx.ConnectError) as exc:
            if unresolved(exc):
                raise TargetError(
                    f"cannot reach Ollama at {self.url}: the host name does not resolve (check "
                    "the name in OLLAMA_HOST, --host or the target in modelops.yaml)",
                    transient=unresolved(exc) == "retry",
                ) from None
            raise TargetError(
                f"cannot reach Ollama at {self.url} (connection refused); start it, or point "
                "modelops at a server with OLLAMA_HOST=host:port or a target in modelops.yaml",
                transient=True,
            ) from None
        except httpx.TimeoutException:
            raise TargetError(
                f"{self.url}: could not {what}: no answer within {self._timeout:g} s "
                "(the server is busy or stuck; retry, or raise the target's timeout)",
                transient=True,
            ) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise TargetError(
                f"{self.url}: could not {what}: the connection broke ({exc or type(exc).__name__})",
                transient=True,
            ) from None
        except httpx.HTTPError as exc:
            raise TargetError(f"{self.url}: could not {what}: {exc}") from None

    def _json(self, response: httpx.Response, what: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.text.strip() or f"HTTP {response.status_code}"}
        if response.status_code >= 400 or not isinstance(body, dict):
            message = body.get("error") if isinstance(body, dict) else None
            raise TargetError(
                f"{self.url}: could not {what}: {message or f'HTTP {response.status_code}'}",
                transient=response.status_code >= 500,
            )
        return body


def _permanent(message: str) -> bool:
    """Errors inside a stream that a retry cannot fix: unknown names, bad tags, old servers."""
    text = message.lower()
    return any(
        marker in text
        for marker in (
            "file does not exist",
            "manifest: 400",
            "manifest: 412",
            "invalid",
            "not found",
        )
    )
