"""HTTP/1.1 for the targets, over the standard library: one pool of keep-alive connections
per server, JSON request bodies, whole answers and answers streamed line by line (NDJSON).

The standard library's client costs a few milliseconds to import, where httpx costs about
0.3 s (it loads its own command line, click and rich included) and the ollama client about
0.6 s; a plan that has nothing to change should not spend its time importing.

A timeout is a silence: a call fails when the server sends nothing for `timeout` seconds,
connecting included. A stream that keeps sending lines may therefore run for hours, while one
that stalls fails within `timeout` of its last line. No proxy settings are read from the
environment: targets are reached directly.

Transport failures are raised as `Unreachable`, `TimedOut` or `Broken`; the caller says what
it was doing and on which server.
"""

from __future__ import annotations

import base64
import http.client
import json
import select
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from modelops import __version__

MAX_IDLE = 16  # idle connections kept per server; more may be open while calls overlap
_HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/json",
    "User-Agent": f"modelops/{__version__}",
}


class TransportError(Exception):
    """The exchange with the server failed below HTTP; `reason` says how, in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unreachable(TransportError):
    """No connection could be made (refused, unknown host, no route)."""


class Unresolved(Unreachable):
    """The host name does not resolve; `final` unless the resolver could not answer now."""

    def __init__(self, reason: str, *, final: bool) -> None:
        super().__init__(reason)
        self.final = final


class TimedOut(TransportError):
    """The server sent nothing for the whole timeout."""


class Broken(TransportError):
    """The connection broke, or the server answered with something that is not HTTP."""


class _Stale(Broken):
    """The connection was closed before the request got an answer; on a connection that was
    idle in the pool, this is the server having closed it, and the request may be sent again."""


@dataclass(frozen=True)
class Answer:
    """A whole answer: its status and body."""

    status: int
    body: bytes

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not JSON."""
        return json.loads(self.body)


class Pool:
    """Keep-alive connections to one server (`http://host:port[/path]`), shared by threads."""

    def __init__(
        self, url: str, timeout: float, *, max_idle: int = MAX_IDLE, auth: str | None = None
    ) -> None:
        """`auth`: "user:password", sent as HTTP Basic authentication (for a server behind a
        proxy that asks for it), as a URL's user-info is by browsers and HTTP clients."""
        parts = urlsplit(url)
        self._headers = dict(_HEADERS)
        if auth is not None:
            token = base64.b64encode(auth.encode()).decode("ascii")
            self._headers["Authorization"] = f"Basic {token}"
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self._max_idle = max_idle
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._closed = False
        self.opened = 0  # connections made so far: reuse keeps this low

    def close(self) -> None:
        """Close the idle connections; those still in use close when their call ends."""
        with self._lock:
            idle, self._idle, self._closed = self._idle, [], True
        for connection in idle:
            connection.close()

    def request(self, method: str, path: str, body: Any = None) -> Answer:
        """Send one request and read the whole answer, whatever its status."""
        with self._exchange(method, path, body) as (connection, response):
            data = self._read(response.read)
            if response.will_close:
                connection.close()
            else:
                self._give_back(connection)
            return Answer(response.status, data)

    @contextmanager
    def stream(self, method: str, path: str, body: Any = None) -> Iterator[Lines]:
        """Send one request and hand over its answer to be read line by line. The connection
        goes back to the pool only when the answer was read to its end."""
        with self._exchange(method, path, body) as (connection, response):
            lines = Lines(response, self._read)
            try:
                yield lines
            except BaseException:
                connection.close()
                raise
            if lines.finished and not response.will_close:
                self._give_back(connection)
            else:
                connection.close()

    # --- connections ---

    @contextmanager
    def _exchange(
        self, method: str, path: str, body: Any
    ) -> Iterator[tuple[http.client.HTTPConnection, http.client.HTTPResponse]]:
        payload = None if body is None else json.dumps(body).encode()
        target = self._prefix + path
        connection, reused = self._take()
        try:
            response = self._send(connection, method, target, payload)
        except _Stale:
            if not reused:
                raise
            # the server closed a keep-alive connection while it was idle: once more, anew
            connection = self._connect()
            response = self._send(connection, method, target, payload)
        try:
            yield connection, response
        except BaseException:
            connection.close()
            raise

    def _send(
        self,
        connection: http.client.HTTPConnection,
        method: str,
        target: str,
        payload: bytes | None,
    ) -> http.client.HTTPResponse:
        """Send a request and read the head of its answer; the connection is closed on any
        failure."""
        try:
            connection.request(method, target, body=payload, headers=self._headers)
            return connection.getresponse()
        except (http.client.RemoteDisconnected, ConnectionError) as exc:
            connection.close()
            raise _Stale(_describe(exc)) from None
        except TimeoutError:
            connection.close()
            raise TimedOut("no answer") from None
        except (http.client.HTTPException, OSError) as exc:
            connection.close()
            raise Broken(_describe(exc)) from None
        except BaseException:
            connection.close()
            raise

    def _take(self) -> tuple[http.client.HTTPConnection, bool]:
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                return self._connect(), False
            if not _dropped(connection):
                return connection, True
            connection.close()

    def _give_back(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self._max_idle:
                self._idle.append(connection)
                return
        connection.close()

    def _connect(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection
        if self._https:
            connection = http.client.HTTPSConnection(
                self._host, self._port, timeout=self.timeout, context=_tls()
            )
        else:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        try:
            connection.connect()
        except socket.gaierror as exc:
            raise Unresolved(
                f"cannot resolve the host name '{self._host}'",
                final=exc.errno != socket.EAI_AGAIN,
            ) from None
        except ConnectionRefusedError:
            raise Unreachable("connection refused") from None
        except TimeoutError:
            raise TimedOut("no answer to the connection") from None
        except OSError as exc:
            raise Unreachable(_describe(exc)) from None
        with self._lock:
            self.opened += 1
        return connection

    @staticmethod
    def _read(read: Any, *args: Any) -> Any:
        """Call a read of the response, translating what can go wrong on the way."""
        try:
            return read(*args)
        except TimeoutError:
            raise TimedOut("no answer") from None
        except (http.client.HTTPException, OSError) as exc:
            raise Broken(_describe(exc)) from None


class Lines:
    """The lines of a streamed answer. `status` and `text()` serve an answer that is an error
    rather than a stream."""

    def __init__(self, response: http.client.HTTPResponse, read: Any) -> None:
        self.status = response.status
        self._response = response
        self._read = read
        self.finished = False

    def __iter__(self) -> Iterator[bytes]:
        # read1, not readline: on a chunked answer, readline takes a cut connection for the end
        pending = b""
        while True:
            data: bytes = self._read(self._response.read1, 64 * 1024)
            if not data:
                if self._response.length:  # bytes that a Content-Length promised never came
                    raise Broken("the answer was cut short")
                if pending.strip():
                    yield pending
                self.finished = True
                return
            *complete, pending = (pending + data).split(b"\n")
            yield from (line for line in complete if line.strip())

    def text(self) -> bytes:
        data: bytes = self._read(self._response.read)
        self.finished = True
        return data


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """Whether the server has closed an idle connection (it then reads as ready, at its end)."""
    sock = connection.sock
    if sock is None:
        return True
    try:
        if hasattr(select, "poll"):  # select() cannot watch descriptors above 1023
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        ready, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(ready)


_TLS: list[Any] = []


def _tls() -> Any:
    """One TLS context for the process, made on first use: plain-HTTP targets never pay."""
    if not _TLS:
        import ssl

        _TLS.append(ssl.create_default_context())
    return _TLS[0]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(exc, http.client.IncompleteRead):
        return "the answer was cut short"
    if isinstance(exc, ConnectionResetError):
        return "the connection was reset"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__
