"""An Ollama API server for tests: real HTTP on 127.0.0.1, real endpoints, switchable faults.

No real Ollama can run on the test machines, so this server implements the API as
/work/shared/reference/ollama-api.md describes it: name grammar, pulls with per-layer progress
from a fake registry (the catalogue), creates with parameter merge and inheritance, digests as
SHA-256 of Go-encoded manifests, /api/show rendered the Go way, NDJSON streams, Go's error
texts and status codes, and a chat "model" whose answers reveal what the request carried. The
same chat answers on Ollama's OpenAI-compatible `/v1/chat/completions` (JSON or server-sent
events) beside `/v1/models`, as Ollama's middleware shapes them (tests/ollama_server_openai.py).

    with OllamaServer() as server:
        client = ollama.Client(host=server.url)
        client.pull("llama3.2")
        server.fail("/api/create", "disk full", times=1)      # the next create answers 500
        base_url = f"{server.url}/v1"       # where an OpenAI-compatible client points
        assert len(server.calls("/api/pull")) == 1

Only the standard library is used, so the server adds no dependencies to the suite.
"""

import contextlib
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from tests.ollama_server_catalogue import Catalogue
from tests.ollama_server_chat import ChatTiming, Scripts
from tests.ollama_server_controls import FaultSwitches, model_key
from tests.ollama_server_endpoints import DECODERS, ROUTES
from tests.ollama_server_faults import Fault, FaultPlan
from tests.ollama_server_http import HTTPServer
from tests.ollama_server_names import ModelName
from tests.ollama_server_ops import CreateRequest, create_lines, edit_layers, pull_lines
from tests.ollama_server_show import show_document
from tests.ollama_server_store import ModelStore, ModelView
from tests.ollama_server_types import ApiError, Lines

__all__ = ["Catalogue", "ChatTiming", "Fault", "ModelView", "OllamaServer", "RequestRecord"]

DEFAULT_VERSION = "0.12.6"
DEFAULT_MODELS_DIR = "/root/.ollama/models"

# Sockets bound but never listening: connecting to them is refused for the whole test run.
_REFUSING_SOCKETS: list[socket.socket] = []


@dataclass(frozen=True)
class RequestRecord:
    """One request as it arrived: `body` is the decoded JSON object, or None."""

    method: str
    path: str
    body: dict[str, Any] | None
    time: float  # time.monotonic() at arrival
    authorization: str | None = None  # the Authorization header, as sent

    @property
    def model(self) -> str | None:
        if not self.body:
            return None
        value = self.body.get("model") or self.body.get("name") or self.body.get("source")
        return value if isinstance(value, str) else None


def _reserve_port(port: int = 0) -> socket.socket:
    """A socket bound to 127.0.0.1:port that never listens, so connections are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


class OllamaServer(FaultSwitches):
    """The test server. Build it, then `start()` it or use it as a context manager."""

    def __init__(
        self,
        *,
        version: str = DEFAULT_VERSION,
        catalogue: Catalogue | None = None,
        models_dir: str = DEFAULT_MODELS_DIR,
        shuffle_parameters: bool = True,
    ) -> None:
        self.version = version
        self.catalogue = catalogue if catalogue is not None else Catalogue.default()
        self.blobs_dir = f"{models_dir}/blobs"
        # Go walks a map to print /api/show parameters: random order unless a test turns it off.
        self.shuffle_parameters = shuffle_parameters
        self.store = ModelStore()
        self.faults = FaultPlan()
        self.errors: list[str] = []  # tracebacks of bugs in the server itself
        self._lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self._arrived = threading.Condition(self._lock)  # notified for every request
        self._chat_timings: dict[str, ChatTiming] = {}
        self.scripts = Scripts()  # scripted chat answers instead of the echo
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._httpd: HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._refusing: socket.socket | None = None
        self._port: int | None = None

    # ---- lifecycle --------------------------------------------------------------------

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        if self._refusing is not None:
            self._refusing.close()
            self._refusing = None
        self._stopping.clear()
        self._httpd = HTTPServer(("127.0.0.1", self._port or 0), self, ROUTES, DECODERS)
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"ollama-test-server-{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and drop every open connection; the port then refuses."""
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self._stopping.set()  # wakes handlers sleeping in a delay
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by its handler
                connection.shutdown(socket.SHUT_RDWR)
        thread.join(timeout=5)
        self._httpd = self._thread = None

    def refuse_connections(self) -> None:
        """Go down but keep the port reserved, so connections are refused until resumed."""
        self.stop()
        if self._port is not None and self._refusing is None:
            self._refusing = _reserve_port(self._port)

    def accept_connections(self) -> None:
        """Come back on the same port, with the same models (a restarted server)."""
        self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
        if self._refusing is not None:
            self._refusing.close()
            self._refusing = None

    @staticmethod
    def refused_url() -> str:
        """A URL on which connections are refused for the rest of the test run."""
        sock = _reserve_port()
        _REFUSING_SOCKETS.append(sock)
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the server has not been started")
        return self._port

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    # ---- hooks for the HTTP layer -----------------------------------------------------

    def connection_opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def connection_closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    def record(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        authorization: str | None = None,
    ) -> None:
        with self._lock:
            now = time.monotonic()
            self._requests.append(RequestRecord(method, path, body, now, authorization))
            self._arrived.notify_all()

    def sleep(self, seconds: float) -> None:
        """Sleep without holding any lock; cut short when the server stops."""
        if seconds > 0:
            self._stopping.wait(seconds)

    def hold_until(self, gate: threading.Event) -> None:
        """Wait for the test to open `gate`; given up when the server stops."""
        while not gate.wait(0.05) and not self._stopping.is_set():
            pass

    def chat_timing(self, name: ModelName) -> ChatTiming:
        with self._lock:
            return self._chat_timings.get(name.key, ChatTiming())

    # ---- request log ------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    def calls(
        self, path: str | None = None, *, method: str | None = None, model: str | None = None
    ) -> list[RequestRecord]:
        """The logged requests to `path` (all paths when None), optionally by method or model."""
        key = model_key(model)
        return [
            record
            for record in self.requests
            if (path is None or record.path == path)
            and (method is None or record.method == method)
            and (key is None or model_key(record.model) == key)
        ]

    def wait_for(self, path: str, count: int = 1, *, guard: float = 60.0) -> list[RequestRecord]:
        """Block until `count` requests to `path` have arrived; `guard` seconds only turn a
        request that never comes into a failure instead of a hung test."""
        with self._arrived:
            arrived = self._arrived.wait_for(
                lambda: sum(1 for r in self._requests if r.path == path) >= count, guard
            )
        if not arrived:
            raise AssertionError(f"{count} request(s) to {path} never arrived")
        return self.calls(path)

    def clear_log(self) -> None:
        with self._lock:
            self._requests.clear()

    # ---- faults -----------------------------------------------------------------------

    def set_chat_timing(
        self, model: str, *, first_token: float = 0.0, per_token: float = 0.0
    ) -> None:
        """Simulated inference speed of one model: time to first token, time per token."""
        with self._lock:
            self._chat_timings[ModelName.parse(model).key] = ChatTiming(first_token, per_token)

    def reply(self, content: str, *, to: str | None = None, model: str | None = None) -> None:
        """Answer chats with `content` instead of the echo: those whose last user message is
        `to` (every one when None), to `model` (any when None); the latest match wins."""
        self.scripts.add(content, to, model_key(model))

    def clear_faults(self) -> None:
        self.faults.clear()
        self.scripts.clear()
        with self._lock:
            self._chat_timings.clear()

    # ---- seeding and inspecting local models ------------------------------------------

    def _drain(self, lines: Lines) -> None:
        try:
            for _ in lines:
                pass
        except ApiError as error:
            raise ValueError(error.message) from None

    def _name(self, text: str) -> ModelName:
        name = ModelName.parse(text)
        if not name.is_valid:
            raise ValueError(f"invalid model name: {text!r}")
        return self.store.stored_name(name)

    def add_local(
        self,
        name: str,
        from_: str | None = None,
        *,
        system: str = "",
        template: str = "",
        parameters: Mapping[str, Any] | None = None,
        messages: Sequence[Mapping[str, str]] = (),
        license: str | Sequence[str] = (),
    ) -> str:
        """Put a model on the server without going through HTTP; returns its digest.

        Without `from_` the catalogue model `name` is pulled; with it, `name` is created from
        `from_` exactly as /api/create would (auto-pulling a missing base).
        """
        model_name = self._name(name)
        if from_ is None:
            self._drain(pull_lines(self.store, self.catalogue, model_name))
        else:
            request = CreateRequest(
                name=model_name,
                from_name=from_,
                template=template,
                system=system,
                licenses=(license,) if isinstance(license, str) and license else tuple(license),
                parameters=parameters,
                messages=tuple(messages),
            )
            self._drain(create_lines(self.store, self.catalogue, request))
        digest = self.digest(name)
        assert digest is not None
        return digest

    def modify_local(
        self,
        name: str,
        *,
        system: str | None = None,
        template: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        drop_parameters: Sequence[str] = (),
        messages: Sequence[Mapping[str, str]] | None = None,
    ) -> str:
        """Change a local model behind the tool's back (someone ran `ollama create` by hand).

        `parameters` are merged over the current ones, `drop_parameters` removed, an empty
        `system` removes the system prompt. Returns the new digest.
        """
        return edit_layers(
            self.store,
            self._name(name),
            system=system,
            template=template,
            parameters=parameters,
            drop_parameters=drop_parameters,
            messages=messages,
        )

    def remove_local(self, name: str) -> bool:
        return self.store.delete(self._name(name))

    def local_names(self) -> list[str]:
        """Display names of the local models, newest first (as /api/tags lists them)."""
        return [model.name.display for model in self.store.models()]

    def digest(self, name: str) -> str | None:
        model = self.store.get(self._name(name))
        return None if model is None else model.digest

    def model(self, name: str) -> ModelView | None:
        """The stored model read back: parameters as values, system, licences, parent, ..."""
        model = self.store.get(self._name(name))
        return None if model is None else self.store.view(model)

    def show_document(self, name: str) -> dict[str, Any]:
        """What /api/show answers for `name`, with parameters in sorted order."""
        view = self.model(name)
        if view is None:
            raise KeyError(name)
        return show_document(view, self.blobs_dir, shuffle=False)
