"""Pytest plugin: a real Open WebUI 0.12.4 per test session.

Load it from the root conftest with ``pytest_plugins = ["tests.conftest_openwebui"]``, or import
the fixture into a test module: ``from tests.conftest_openwebui import openwebui  # noqa: F401``.

``openwebui`` (session scope) provisions the cached venv if needed (see
``tests/openwebui_server.py`` for the cache location), starts the server on 127.0.0.1 with a
temporary data folder, signs up the admin and makes an API key, and stops the server by its pid
at the end of the session. Under pytest-xdist each worker is its own session, so each worker
starts its own server (about 1 GiB RSS and 15 s each); provisioning happens once, under a lock.

Ollama: by default Open WebUI's ``OLLAMA_BASE_URL`` is a refusing loopback port. To point it at
a test server instead, define a **session-scoped** fixture named ``openwebui_ollama_base_url``
(in a conftest, or in the module that uses ``openwebui``) that returns its URL, e.g.
``"http://127.0.0.1:<port>"``. It is read once, when the server starts; Open WebUI seeds it into
its database then and ignores later environment changes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import openwebui_server
from tests.openwebui_server import OpenWebUI

OLLAMA_URL_FIXTURE = "openwebui_ollama_base_url"


def _ollama_base_url(request: pytest.FixtureRequest) -> str:
    try:
        value = request.getfixturevalue(OLLAMA_URL_FIXTURE)
    except pytest.FixtureLookupError:
        return openwebui_server.REFUSING_URL
    if not isinstance(value, str) or not value.startswith(
        ("http://127.", "http://localhost", "http://[::1]")
    ):
        raise pytest.UsageError(
            f"{OLLAMA_URL_FIXTURE} must return a loopback http URL, got {value!r}"
        )
    return value.rstrip("/")


@pytest.fixture(scope="session")
def openwebui(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OpenWebUI]:
    """A running Open WebUI: ``url``, ``token`` (admin JWT), ``api_key``, ``pid``, ``data_dir``,
    ``log_path`` and ``client()`` (an ``httpx.Client`` with the API key as Bearer token)."""
    try:
        venv = openwebui_server.provision()
    except openwebui_server.OpenWebUIError as exc:
        pytest.fail(f"Could not provision Open WebUI {openwebui_server.OPENWEBUI_VERSION}:\n{exc}")
    ollama_url = _ollama_base_url(request)
    run_dir = tmp_path_factory.mktemp("openwebui")
    try:
        server = openwebui_server.start(venv, run_dir, ollama_base_url=ollama_url)
    except openwebui_server.OpenWebUIError as exc:
        pytest.fail(f"Could not start Open WebUI:\n{exc}")
    try:
        yield server
    finally:
        openwebui_server.stop(server)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """When loaded as a plugin: tests that use ``openwebui`` get the ``openwebui`` marker, and
    all go to one pytest-xdist worker (with ``--dist loadgroup``), so one server serves them."""
    for item in items:
        if "openwebui" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.openwebui)
            item.add_marker(pytest.mark.xdist_group("openwebui"))
