"""The fault switches of the Ollama test server (a mixin of `OllamaServer`): fail, error lines,
cut connections, delays, and holds that last until the test releases them."""

import threading

from tests.ollama_server_endpoints import ROUTES
from tests.ollama_server_faults import Fault, FaultPlan
from tests.ollama_server_names import ModelName


def known_path(path: str) -> str:
    if path not in ROUTES:
        raise ValueError(f"unknown endpoint {path!r}; known: {sorted(ROUTES)}")
    return path


def model_key(model: str | None) -> str | None:
    return None if model is None else ModelName.parse(model).key


class FaultSwitches:
    """`faults` is the server's plan; each switch adds one fault to it and returns it."""

    faults: FaultPlan

    def fail(
        self,
        path: str,
        message: str = "internal server error",
        *,
        status: int = 500,
        times: int | None = None,
        model: str | None = None,
        body: str | None = None,
    ) -> Fault:
        """Answer `status` with `{"error": message}` (or the plain-text `body`) instead."""
        fault = Fault("fail", known_path(path), model_key(model), times, message, status, body)
        return self.faults.add(fault)

    def fail_mid_stream(
        self,
        path: str,
        message: str,
        *,
        after: int = 1,
        times: int | None = None,
        model: str | None = None,
    ) -> Fault:
        """Write `{"error": message}` after `after` lines of a pull/create/chat stream."""
        fault = Fault("error_line", known_path(path), model_key(model), times, message, after=after)
        return self.faults.add(fault)

    def cut_connection(
        self,
        path: str,
        *,
        after: int | None = None,
        times: int | None = None,
        model: str | None = None,
    ) -> Fault:
        """Close the socket after `after` stream lines (None: before any response)."""
        fault = Fault("cut", known_path(path), model_key(model), times, after=after)
        return self.faults.add(fault)

    def delay(
        self,
        path: str,
        seconds: float,
        *,
        after: int | None = None,
        times: int | None = None,
        model: str | None = None,
    ) -> Fault:
        """Wait before answering (or after `after` stream lines). Concurrent requests overlap."""
        fault = Fault(
            "delay", known_path(path), model_key(model), times, after=after, seconds=seconds
        )
        return self.faults.add(fault)

    def hold(
        self,
        path: str,
        *,
        after: int | None = None,
        times: int | None = None,
        model: str | None = None,
    ) -> threading.Event:
        """Keep requests to `path` waiting (before answering, or after `after` stream lines)
        until the returned event is set: a call that lasts as long as the test says, with no
        clock involved."""
        gate = threading.Event()
        fault = Fault("hold", known_path(path), model_key(model), times, after=after, gate=gate)
        self.faults.add(fault)
        return gate
