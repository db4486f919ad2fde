"""One Ollama server: observe it (version, tags, show) and change it (pull, create, delete),
and chat with its models.

Spoken to over raw HTTP (`modelops.targets.http`: one pool of keep-alive connections per
server), as the API is small and the `ollama` client would cost about 0.6 s to import, and has
no `version()` and drops the `system` and `messages` fields of `/api/show` that drift needs.
Transport failures, error statuses and errors inside a stream become `TargetError` here,
with the server in the message.

The target's `timeout` is the longest silence: a quick call fails when no answer has come
within it, and a pull or create stream fails when no line has come within it (a pull that
keeps reporting progress may run for hours). A pull or create that failed in a way a retry can
fix is tried again, `Retry.attempts` times in all, with a doubling pause.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from modelops.errors import TargetError
from modelops.spec import names
from modelops.spec.params import version_tuple
from modelops.targets import http
from modelops.targets.base import Change, ChatChunk, Progress, ProgressCallback

DEFAULT_HOST = "http://127.0.0.1:11434"
MIN_VERSION = (0, 5, 5)


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


def userinfo(text: str) -> str | None:
    """The "user:password" of a host URL (percent-decoded), or None: the URL modelops shows
    and records has none."""
    text = text.strip()
    parts = urlsplit(text if "://" in text else f"http://{text}")
    if parts.username is None:
        return None
    return f"{unquote(parts.username)}:{unquote(parts.password or '')}"


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
        self._http = http.Pool(self.url, timeout, auth=userinfo(url))  # no connection yet

    @property
    def connections(self) -> int:
        """How many connections have been opened to the server so far."""
        return self._http.opened

    def close(self) -> None:
        self._http.close()

    # --- observing ---

    def version(self) -> str:
        """The server's version; refuses servers too old for the JSON create API."""
        body = self._call("GET", "/api/version", None, "read the version")
        version = str(body.get("version", ""))
        if version_tuple(version) < MIN_VERSION:
            raise TargetError(
                f"Ollama at {self.url} is version {version or 'unknown'}; modelops needs 0.5.5 "
                "or newer (creating models from JSON arrived in 0.5.5): upgrade Ollama"
            )
        return version

    def tags(self) -> dict[str, Tag]:
        """Local models by normalised name."""
        body = self._call("GET", "/api/tags", None, "list models")
        out = {}
        for model in body.get("models") or ():
            if not isinstance(model, dict):
                continue
            name = str(model.get("model") or model.get("name") or "")
            try:
                key = names.parse_ollama_name(name).key
            except names.InvalidName:
                continue
            details = model.get("details")
            parent = details.get("parent_model") if isinstance(details, dict) else ""
            out[key] = Tag(name, str(model.get("digest") or ""), str(parent or ""))
        return out

    def show(self, name: str) -> dict[str, Any]:
        """The raw `/api/show` document."""
        return self._call("POST", "/api/show", {"model": name}, f"inspect {name}")

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
        request = {"model": name, "stream": True}
        self._retrying(f"pull {name}", lambda: self._progress("/api/pull", request, progress))

    def create(self, request: Mapping[str, Any], progress: ProgressCallback) -> None:
        body = {k: v for k, v in request.items() if v is not None} | {"stream": True}
        what = f"create {request['model']}"
        self._retrying(what, lambda: self._progress("/api/create", body, progress))

    def _progress(self, path: str, body: Mapping[str, Any], progress: ProgressCallback) -> None:
        """One pull or create stream, to its last line, which must say `success`."""
        last = ""
        for line in self._stream(path, body):
            last = str(line.get("status") or "")
            progress(Progress(last, line.get("digest"), line.get("total"), line.get("completed")))
        if last != "success":
            what = path.removeprefix("/api/")
            raise TargetError(
                f"the {what} of {body['model']} ended before it finished", transient=True
            )

    def chat(
        self, model: str, messages: list[dict[str, Any]], options: Mapping[str, Any]
    ) -> Iterator[ChatChunk]:
        """`/api/chat`, streamed; any failure is a TargetError."""
        body: dict[str, Any] = {"model": model, "messages": messages, "stream": True}
        if options:
            body["options"] = dict(options)
        with self._errors(f"chat with {model}"):
            for part in self._stream("/api/chat", body):
                message = part.get("message")
                content = str((message or {}).get("content") or "")
                if not part.get("done"):
                    yield ChatChunk(content)
                    continue
                seconds = (part.get("eval_duration") or 0) / 1e9 or None
                yield ChatChunk(
                    content, True, part.get("prompt_eval_count"), part.get("eval_count"), seconds
                )

    def delete(self, name: str) -> None:
        try:
            self._call("DELETE", "/api/delete", {"model": name}, f"delete {name}")
        except TargetError as exc:
            if "not found" not in exc.message:
                raise  # a model that is already gone is deleted

    # --- the wire ---

    def _call(self, method: str, path: str, body: Any, what: str) -> dict[str, Any]:
        """One request whose answer is one JSON object."""
        with self._errors(what):
            answer = self._http.request(method, path, body)
        try:
            data = answer.json()
        except ValueError:
            data = None
        if answer.status >= 400 or (answer.body.strip() and not isinstance(data, dict)):
            raise self._refusal(what, answer.status, answer.body)
        return data if isinstance(data, dict) else {}  # a DELETE answers 200 with no body

    def _stream(self, path: str, body: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """The JSON lines of a streamed answer; an error line or status is a TargetError."""
        with self._http.stream("POST", path, body) as lines:
            if lines.status >= 400:
                raise self._refusal(_doing(path, body), lines.status, lines.text())
            for raw in lines:
                try:
                    line = json.loads(raw)
                except ValueError:
                    raise TargetError(
                        f"{self.url}: could not {_doing(path, body)}: the server sent a line "
                        f"that is not JSON: {raw[:80]!r}",
                        transient=True,
                    ) from None
                if not isinstance(line, dict):
                    continue
                if error := line.get("error"):
                    raise TargetError(
                        f"{self.url}: could not {_doing(path, body)}: {error}",
                        transient=not _permanent(str(error)),
                    )
                yield line

    def _refusal(self, what: str, status: int, text: bytes) -> TargetError:
        """An error status as a TargetError: the server's own message when it gave one."""
        message = text.decode("utf-8", "replace").strip()
        try:
            found = json.loads(message)
        except ValueError:
            found = None
        if isinstance(found, dict) and found.get("error"):
            message = str(found["error"])
        return TargetError(
            f"{self.url}: could not {what}: {message or f'HTTP {status}'}",
            transient=status >= 500,
        )

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
        except http.Unresolved as exc:
            raise TargetError(
                f"cannot reach Ollama at {self.url}: the host name does not resolve (check "
                "the name in OLLAMA_HOST, --host or the target in modelops.yaml)",
                transient=not exc.final,
            ) from None
        except http.Unreachable as exc:
            raise TargetError(
                f"cannot reach Ollama at {self.url} ({exc.reason}); start it, or point "
                "modelops at a server with OLLAMA_HOST=host:port or a target in modelops.yaml",
                transient=True,
            ) from None
        except http.TimedOut:
            raise TargetError(
                f"{self.url}: could not {what}: no answer within {self._timeout:g} s "
                "(the server is busy or stuck; retry, or raise the target's timeout)",
                transient=True,
            ) from None
        except http.Broken as exc:
            raise TargetError(
                f"{self.url}: could not {what}: the connection broke ({exc.reason})",
                transient=True,
            ) from None


def _doing(path: str, body: Mapping[str, Any]) -> str:
    """What a stream was doing, in the words errors use: `pull mistral:latest`."""
    verb = path.removeprefix("/api/")
    return f"chat with {body['model']}" if verb == "chat" else f"{verb} {body['model']}"


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
