"""Host discovery: a target's host written as `dns://NAME[:PORT]` stands for every address that
NAME resolves to, each an Ollama server on PORT (11434 unless given). This is how a headless
Kubernetes Service in front of Ollama replicas is reached: its name resolves to one address
per ready pod. Names are resolved each time a target is resolved, so replicas that come and
go are followed from one reconcile to the next.

Resolution is passed in (`Resolver`); `system_resolver` asks the operating system.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from modelops.errors import TargetError, UsageError

SCHEME = "dns://"
DEFAULT_PORT = 11434

# (name, port) -> the (address, port) pairs it stands for, as getaddrinfo's socket addresses
Resolver = Callable[[str, int], Sequence[tuple[str, int]]]


def system_resolver(name: str, port: int) -> list[tuple[str, int]]:
    """Every TCP address of `name`, as the operating system resolves it (A and AAAA)."""
    try:
        found = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise TargetError(
            f"{SCHEME}{name}:{port}: cannot resolve {name} ({reason}); check the name, or "
            "that the service exists",
            transient=True,
        ) from None
    return [(str(entry[4][0]), int(entry[4][1])) for entry in found]


def is_discovered(url: str) -> bool:
    return url.strip().lower().startswith(SCHEME)


def parse(url: str) -> tuple[str, int]:
    """The name and port of a `dns://NAME[:PORT]` host."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise UsageError(f"{text}: not a host (write dns://NAME or dns://NAME:PORT)") from None
    if not parts.hostname or parts.path not in ("", "/") or parts.query or parts.username:
        raise UsageError(f"{text}: not a host (write dns://NAME or dns://NAME:PORT)")
    return parts.hostname, port


def expand(urls: Sequence[str], resolve: Resolver) -> list[str]:
    """The hosts `urls` stand for: `dns://` entries become one `http://` URL per address, in
    a stable order; other entries stay as they are. An entry that resolves to no address is
    an error, as a target with no servers cannot be reconciled."""
    out: list[str] = []
    for url in urls:
        if not is_discovered(url):
            out.append(url)
            continue
        name, port = parse(url)
        addresses = sorted(set(resolve(name, port)), key=_order)
        if not addresses:
            raise TargetError(
                f"{SCHEME}{name}:{port}: {name} resolves to no address (no ready servers "
                "behind it?)",
                transient=True,
            )
        out += [_url(address, found_port) for address, found_port in addresses]
    return list(dict.fromkeys(out))


def _order(entry: tuple[str, int]) -> tuple[int, int, str, int]:
    address, port = entry
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return (9, 0, address, port)
    return (parsed.version, int(parsed), "", port)


def _url(address: str, port: int) -> str:
    shown = f"[{address}]" if ":" in address else address
    return f"http://{shown}:{port}"
