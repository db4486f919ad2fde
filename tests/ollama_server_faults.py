"""Switchable faults: the ways a real Ollama (or the network to it) lets a client down.

A fault matches an endpoint path and, optionally, one model; `times` limits how many requests
it hits (None: every one). Faults are consumed when a request arrives, so retry tests can say
"fail the first two creates of faq, then succeed".
"""

import threading
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["fail", "error_line", "cut", "delay", "hold"]


@dataclass
class Fault:
    """One injected fault; `hits` counts the requests it has affected so far.

    kind: "fail" answers `status` with `{"error": message}` (or the raw `body`) before anything
    else; "error_line" writes `{"error": message}` after `after` stream lines; "cut" closes the
    socket after `after` lines without finishing the response (None: before any response);
    "delay" sleeps `seconds`, before the response or after `after` stream lines; "hold" waits,
    before the response or after `after` stream lines, until the test sets `gate` (or the
    server stops).
    """

    kind: FaultKind
    path: str
    model_key: str | None = None
    times: int | None = None
    message: str = ""
    status: int = 500
    body: str | None = None
    after: int | None = None
    seconds: float = 0.0
    gate: threading.Event | None = None
    hits: int = 0

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times


class FaultPlan:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, path: str, model_key: str | None) -> list[Fault]:
        """The faults that apply to this request, each counted as hit once."""
        taken: list[Fault] = []
        with self._lock:
            for fault in self._faults:
                if fault.path != path or fault.exhausted:
                    continue
                if fault.model_key is not None and fault.model_key != model_key:
                    continue
                fault.hits += 1
                taken.append(fault)
        return taken
