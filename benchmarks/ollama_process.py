"""The Ollama test server in a child process, so that timing the client is not disturbed by
the server's threads competing for the same interpreter."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def _serve(
    urls: Any,
    stop: Any,
    pulled: tuple[str, ...],
    create_latency: float,
    chat_timing: dict[str, tuple[float, float]],
) -> None:
    from tests.ollama_server import OllamaServer

    with OllamaServer() as server:
        for name in pulled:
            server.add_local(name)
        if create_latency:
            server.delay("/api/create", create_latency)
        for name, (first, per) in chat_timing.items():
            server.set_chat_timing(name, first_token=first, per_token=per)
        urls.put(server.url)
        stop.wait()


@contextmanager
def ollama_process(
    pulled: tuple[str, ...] = (),
    create_latency: float = 0.0,
    chat_timing: dict[str, tuple[float, float]] | None = None,
) -> Iterator[str]:
    """The URL of a test server running in a child process until the block ends."""
    context = mp.get_context("spawn")
    urls, stop = context.Queue(), context.Event()
    args = (urls, stop, pulled, create_latency, chat_timing or {})
    child = context.Process(target=_serve, args=args, daemon=True)
    child.start()
    try:
        yield urls.get(timeout=30)
    finally:
        stop.set()
        child.join(10)
