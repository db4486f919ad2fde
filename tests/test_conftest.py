"""The suite's own guards can fail: a test that reaches the Ollama where OLLAMA_HOST points (as
a forgotten host would) is caught, in this process and in child processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from tests.conftest import Tripwire
from tests.helpers import RegistryFixture, run


def _connect(url: str) -> None:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.recv(1)  # the tripwire closes it: the connection was counted by then


def test_a_connection_to_ollama_host_fails_the_check(tripwire: Tripwire):
    assert os.environ["OLLAMA_HOST"] == tripwire.url
    tripwire.check()  # nothing yet
    _connect(os.environ["OLLAMA_HOST"])
    with pytest.raises(AssertionError, match="connected 1 time"):
        tripwire.check()
    tripwire.mark()  # forgiven, so that the autouse guard passes this deliberate case


def test_a_command_that_forgets_its_host_trips_it(reg: RegistryFixture, tripwire: Tripwire):
    reg.add("faq", base="mistral")
    result = run("plan")  # no --host, no target host: modelops goes to OLLAMA_HOST
    assert result.code == 1
    with pytest.raises(AssertionError, match="OLLAMA_HOST"):
        tripwire.check()
    tripwire.mark()


def test_a_child_process_inherits_the_tripwire(tripwire: Tripwire):
    before = tripwire.hits
    code = (
        "import os, socket; h, p = os.environ['OLLAMA_HOST'][7:].split(':');"
        "s = socket.create_connection((h, int(p))); s.recv(1)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert tripwire.hits == before + 1
    with pytest.raises(AssertionError):
        tripwire.check()
    tripwire.mark()
