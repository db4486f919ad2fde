"""The HTTP side of the test server: routing, bodies, JSON and NDJSON responses, faults.

Uses HTTP/1.1 with chunked transfer encoding for streams, so the httpx-based `ollama` client
reads each line as it is produced. Error shapes follow reference/ollama-api.md §1; on the
OpenAI-compatible `/v1/` paths they take the OpenAI shape Ollama's middleware gives them.
"""

import contextlib
import functools
import json
import socket
import sys
import traceback
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tests.ollama_server_faults import Fault
from tests.ollama_server_gofmt import go_json
from tests.ollama_server_names import ModelName
from tests.ollama_server_types import ApiError, Line, Lines, OpenAIRequestError

if TYPE_CHECKING:
    from tests.ollama_server import OllamaServer

JSON_UTF8 = "application/json; charset=utf-8"
# Errors and results of progress streams go out with gin's bare content type (waitForStream).
JSON_BARE = "application/json"
NDJSON = "application/x-ndjson"

Endpoint = Callable[["Handler", dict[str, Any], list[Fault]], None]
Routes = Mapping[str, Mapping[str, Endpoint]]
# Binds a raw request body to the endpoint's Go struct: the decoded object, or ApiError.
Decoder = Callable[[bytes], dict[str, Any]]

# Endpoints that stream (NDJSON, or server-sent events on /v1/chat/completions); stream faults
# ("after N lines") only apply to them.
STREAMING = frozenset({"/api/pull", "/api/create", "/api/chat", "/v1/chat/completions"})
# Paths behind Ollama's OpenAI middleware, which rewrites every error into OpenAI's shape.
OPENAI_PREFIX = "/v1/"
# From v0.18.0 the middleware types a handler's error by its status (before: always api_error).
_OPENAI_TYPED_ERRORS = (0, 18, 0)

# The Go request struct of each JSON endpoint and the types of the fields worth checking.
_SCHEMAS: dict[str, tuple[str, dict[str, str]]] = {
    "/api/show": ("api.ShowRequest", {"model": "string", "name": "string", "verbose": "bool"}),
    "/api/pull": (
        "api.PullRequest",
        {"model": "string", "name": "string", "insecure": "bool", "stream": "bool"},
    ),
    "/api/create": (
        "api.CreateRequest",
        {
            "model": "string",
            "name": "string",
            "from": "string",
            "files": "map[string]string",
            "template": "string",
            "system": "string",
            "parameters": "map[string]interface {}",
            "messages": "[]api.Message",
            "quantize": "string",
            "stream": "bool",
        },
    ),
    "/api/delete": ("api.DeleteRequest", {"model": "string", "name": "string"}),
    "/api/copy": ("api.CopyRequest", {"source": "string", "destination": "string"}),
    "/api/chat": (
        "api.ChatRequest",
        {
            "model": "string",
            "messages": "[]api.Message",
            "options": "map[string]interface {}",
            "stream": "bool",
        },
    ),
}


def json_kind(value: Any) -> str:
    """What Go's UnmarshalTypeError calls a JSON value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _fits(value: Any, go_type: str) -> bool:
    if go_type.startswith("map["):
        return isinstance(value, dict)
    if go_type.startswith("[]"):
        return isinstance(value, list)
    return json_kind(value) == go_type


def parse_json(text: str) -> Any:
    """The first JSON value of a non-empty body, as Go's json.Decoder reads it (400 if broken)."""
    try:
        # Go's json.Decoder reads one value and ignores whatever follows it.
        value, _ = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as error:
        if error.pos >= len(text.rstrip()):
            raise ApiError("unexpected EOF", 400) from None
        message = f"invalid character '{text[error.pos]}' looking for beginning of value"
        raise ApiError(message, 400) from None
    return value


def decode_body(path: str, raw: bytes) -> dict[str, Any]:
    """gin's ShouldBindJSON into the endpoint's struct, with Go's error messages."""
    text = raw.decode("utf-8", errors="replace").lstrip()
    if not text:
        raise ApiError("missing request body", 400)
    value = parse_json(text)
    struct, fields = _SCHEMAS[path]
    if value is None:
        return {}
    if not isinstance(value, dict):
        kind = json_kind(value)
        raise ApiError(f"json: cannot unmarshal {kind} into Go value of type {struct}", 400)
    for name, go_type in fields.items():
        if value.get(name) is not None and not _fits(value[name], go_type):
            raise ApiError(
                f"json: cannot unmarshal {json_kind(value[name])} into Go struct field "
                f"{struct}.{name} of type {go_type}",
                400,
            )
    return value


def schema_decoders() -> dict[str, Decoder]:
    """The decoders of the native endpoints that take a JSON body."""
    return {path: functools.partial(decode_body, path) for path in _SCHEMAS}


def openai_error_type(status: int) -> str:
    """openai.NewError: the OpenAI error type for an HTTP status."""
    return {400: "invalid_request_error", 404: "not_found_error"}.get(status, "api_error")


def openai_error_document(message: str, error_type: str) -> dict[str, Any]:
    """openai.ErrorResponse; `param` and `code` are never set, so they encode as null."""
    return {"error": {"message": message, "type": error_type, "param": None, "code": None}}


def model_key(body: Mapping[str, Any] | None) -> str | None:
    """The model a request is about, for matching faults."""
    if not body:
        return None
    text = body.get("model") or body.get("name") or body.get("source")
    return ModelName.parse(text).key if isinstance(text, str) and text else None


def version_info(version: str) -> tuple[int, ...]:
    """'0.12.6' -> (0, 12, 6); a suffix such as '-rc1' is ignored."""
    numbers = []
    for part in version.partition("-")[0].split("."):
        digits = "".join(c for c in part if c.isdigit())
        numbers.append(int(digits or 0))
    return tuple(numbers)


class HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Idle keep-alive connections must not make stop() wait; stop() closes them instead.
    block_on_close = False
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        owner: "OllamaServer",
        routes: Routes,
        decoders: Mapping[str, Decoder],
    ) -> None:
        self.owner = owner
        self.routes = routes
        self.decoders = decoders
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that vanished (reset, timeout, server stopping) is normal in fault tests;
        # anything else is a bug of the test server and must fail the test that met it.
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            self.owner.errors.append(traceback.format_exc())


class ClientGone(Exception):
    """The client closed the connection while the server was still answering."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HTTPServer
    # Whether the request being answered came through Ollama's OpenAI middleware (a /v1/ path).
    openai_path = False

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; with Nagle's algorithm the second one
        # waits for the client's delayed ACK, adding ~40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.owner.connection_opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner.connection_closed(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        return  # keep test output quiet

    def do_GET(self) -> None:
        self.dispatch()

    def do_HEAD(self) -> None:
        self.dispatch()

    def do_POST(self) -> None:
        self.dispatch()

    def do_DELETE(self) -> None:
        self.dispatch()

    def do_PUT(self) -> None:
        self.dispatch()

    def do_PATCH(self) -> None:
        self.dispatch()

    # ---- reading ----------------------------------------------------------------------

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().partition(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    # ---- writing ----------------------------------------------------------------------

    def send_bytes(self, status: int, body: bytes, content_type: str | None) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.write(body)

    def send_json(self, status: int, document: Any, content_type: str = JSON_UTF8) -> None:
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        self.send_bytes(status, body, content_type)

    def send_error_json(self, error: ApiError, content_type: str = JSON_UTF8) -> None:
        if self.openai_path:
            self.send_openai_error(error)
            return
        self.send_json(error.status or 500, {"error": error.message}, content_type)

    def send_openai_error(self, error: ApiError) -> None:
        """An error as Ollama's OpenAI middleware writes it (middleware/openai.go)."""
        status = error.status or 500
        if isinstance(error, OpenAIRequestError):
            # The middleware itself refused the request: c.AbortWithStatusJSON, gin's renderer.
            document = openai_error_document(error.message, openai_error_type(status))
            self.send_bytes(status, go_json(document, sort_keys=False).encode(), JSON_UTF8)
            return
        # The handler's {"error": ...}, rewritten by writeError: json.Encoder adds a newline.
        typed = version_info(self.server.owner.version) >= _OPENAI_TYPED_ERRORS
        error_type = openai_error_type(status) if typed else "api_error"
        document = openai_error_document(error.message, error_type)
        self.send_bytes(status, (go_json(document, sort_keys=False) + "\n").encode(), JSON_BARE)

    def write(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
        except OSError as error:
            raise ClientGone from error

    def start_stream(self, content_type: str = NDJSON) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def write_chunk(self, data: bytes) -> None:
        """One chunk of a chunked response (the client sees it at once: no buffering)."""
        self.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def end_stream(self) -> None:
        self.write(b"0\r\n\r\n")

    def write_line(self, line: Line) -> None:
        data = json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        self.write_chunk(data)

    def cut(self) -> None:
        """Drop the connection without finishing the response."""
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    # ---- dispatch ---------------------------------------------------------------------

    def dispatch(self) -> None:
        owner = self.server.owner
        path = urlsplit(self.path).path
        self.openai_path = path.startswith(OPENAI_PREFIX)
        raw = self.read_body()
        methods = self.server.routes.get(path)
        if methods is None or self.command not in methods:
            owner.record(self.command, path, None, self.headers.get("Authorization"))
            if methods is None:
                self.send_bytes(404, b"404 page not found", "text/plain")
            else:
                self.send_bytes(405, b"405 method not allowed", "text/plain")
            return
        body: dict[str, Any] | None = None
        decode_error: ApiError | None = None
        decoder = self.server.decoders.get(path)
        if decoder is not None:
            try:
                body = decoder(raw)
            except ApiError as error:
                decode_error = error
        owner.record(self.command, path, body, self.headers.get("Authorization"))
        faults = owner.faults.take(path, model_key(body))
        try:
            if self.apply_faults_before(faults, streaming=path in STREAMING):
                return
            if decode_error is not None:
                raise decode_error
            endpoint = methods[self.command]
            endpoint(self, body or {}, [f for f in faults if f.after is not None])
        except ApiError as error:
            self.send_error_json(error)
        except (ClientGone, OSError):  # the client went away, or the server is stopping
            self.close_connection = True
        except Exception:
            # A bug in the test server: report it to the client and keep it for the test.
            owner.errors.append(traceback.format_exc())
            with contextlib.suppress(OSError, ClientGone):
                self.send_json(500, {"error": "test server bug, see server.errors"})
            self.close_connection = True

    def apply_faults_before(self, faults: list[Fault], *, streaming: bool) -> bool:
        """Faults that act before the endpoint runs; True when the response is settled."""
        for fault in faults:
            if fault.kind == "delay" and (fault.after is None or not streaming):
                self.server.owner.sleep(fault.seconds)
            if fault.kind == "hold" and fault.gate and (fault.after is None or not streaming):
                self.server.owner.hold_until(fault.gate)
        for fault in faults:
            if fault.kind == "fail":
                if fault.body is not None:
                    self.send_bytes(fault.status, fault.body.encode(), "text/plain")
                else:
                    self.send_error_json(ApiError(fault.message, fault.status))
                return True
            if fault.kind == "cut" and (fault.after is None or not streaming):
                self.cut()
                return True
            if fault.kind == "error_line" and not streaming:
                self.send_error_json(ApiError(fault.message, 500))
                return True
        return False

    # ---- progress streams -------------------------------------------------------------

    def stream_fault(self, faults: list[Fault], produced: int) -> bool:
        """Apply faults due after `produced` lines; True when the connection was cut."""
        for fault in faults:
            if fault.after != produced:
                continue
            if fault.kind == "delay":
                self.server.owner.sleep(fault.seconds)
            elif fault.kind == "hold" and fault.gate is not None:
                self.server.owner.hold_until(fault.gate)
            elif fault.kind == "error_line":
                raise ApiError(fault.message)
            elif fault.kind == "cut":
                self.cut()
                return True
        return False

    def send_lines(
        self,
        lines: Lines,
        *,
        stream: bool,
        faults: list[Fault],
        result_type: str = JSON_BARE,
    ) -> None:
        """Send a progress stream as NDJSON, or (stream:false) only its last line.

        Faults are checked before the next line is produced, so a fault "after N lines" hits
        before the server does the work behind line N+1.
        """
        version = version_info(self.server.owner.version)
        produced = 0
        last: Line | None = None
        try:
            while True:
                if self.stream_fault(faults, produced):
                    return  # the connection was cut
                line = next(lines, None)
                if line is None:
                    break
                if stream:
                    if produced == 0:
                        self.start_stream()
                    self.write_line(line)
                else:
                    last = line
                    if version < (0, 7, 0) and line.get("status") == "success":
                        break  # the pre-0.7.0 waitForStream stopped at the first success
                produced += 1
        except ApiError as error:
            self.send_stream_error(error, stream=stream, started=produced > 0)
            return
        finally:
            lines.close()
        if stream:
            if produced == 0:
                self.start_stream()
            self.end_stream()
        else:
            self.send_json(200, last or {}, result_type)

    def send_stream_error(self, error: ApiError, *, stream: bool, started: bool) -> None:
        old_server = version_info(self.server.owner.version) < (0, 12, 6)
        if not stream:
            self.send_error_json(error, JSON_BARE)
            return
        if not started and not old_server:
            # ≥ 0.12.6: an error before any output gets a real status.
            self.send_error_json(error, JSON_BARE)
            return
        if not started:
            self.start_stream()
        line: Line = {"error": error.message}
        if old_server and error.status:
            line["status"] = error.status
        self.write_line(line)
        self.end_stream()
