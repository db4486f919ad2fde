"""A forwarding HTTP proxy for tests: it passes requests to a real server and lets a test
answer some of them itself (a 409, another version) or stop answering at all (a server that
goes away mid-apply). Real sockets on 127.0.0.1; every request is logged."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


@dataclass(frozen=True)
class Seen:
    method: str
    path: str  # with the query


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"


Hook = Callable[[Seen, int], Answer | None]  # (request, its number from 1) -> answer or pass on


@dataclass
class Proxy:
    upstream: str
    hook: Hook | None = None
    seen: list[Seen] = field(default_factory=list)
    dead: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        proxy = self
        client = httpx.Client(base_url=self.upstream, timeout=60, trust_env=False)

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(self.command, self.path)
                proxy.seen.append(seen)
                if proxy.dead.is_set():
                    self.close_connection = True
                    self.connection.close()
                    return
                answer = proxy.hook(seen, len(proxy.seen)) if proxy.hook else None
                if proxy.dead.is_set():  # the hook stopped the server with this request
                    self.close_connection = True
                    self.connection.close()
                    return
                if answer is None:
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                    got = client.request(self.command, self.path, content=body, headers=headers)
                    answer = Answer(
                        got.status_code, got.content, got.headers.get("content-type", "")
                    )
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = do_DELETE = _any

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self._client = client

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    def __enter__(self) -> Proxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
