"""Server URLs a user gives (a target's `host`, `hosts` and `url`, `--host`, `OLLAMA_HOST`, the
replay endpoints): whether each is a URL modelops can call, checked before any call is made,
so that a typo is a line that says what is wrong instead of a failure deep in a client. Pure
(no urllib: the pure packages import nothing that could do I/O); the form accepted here is a
subset of what `urllib.parse.urlsplit` reads, which a property test checks.
"""

from __future__ import annotations

import ipaddress
import re

SCHEMES = ("http", "https")
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<netloc>[^/?#]*)(?P<rest>.*)", re.S)
_USERINFO = re.compile(r"[A-Za-z0-9._~%!$&'()*+,;=:-]*")
_LABEL = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")


def url_problem(text: str, *, bare: bool = False) -> str | None:
    """Why `text` is not an http(s) URL of a server, as a phrase that starts with the URL
    (a user and password in it masked), or None. `bare` is for Ollama hosts: `host[:port]` without a
    scheme is accepted too, as Ollama accepts it in OLLAMA_HOST, and so is `dns://NAME[:PORT]`
    (every address NAME resolves to)."""
    why = _why(text, bare)
    return f"{masked(text)!r} {why}" if why else None


def masked(text: str) -> str:
    """`text` with any user name and password in it replaced by `***`."""
    return re.sub(r"(://|^)[^/?#]*@", r"\1***@", text)


def _why(text: str, bare: bool) -> str | None:
    if not text.strip():
        return "is empty"
    if any(c.isspace() or not c.isprintable() for c in text):
        return "contains a space or a control character"
    if "://" not in text:
        if not bare:
            return "needs a scheme: http:// or https://"
        text = f"http://{text}"
    found = _URL.fullmatch(text)
    if found is None:
        return "is not a URL (the form is http://host:port)"
    scheme, netloc, rest = found.group("scheme", "netloc", "rest")
    discovered = bare and scheme.lower() == "dns"
    if scheme.lower() not in SCHEMES and not discovered:
        return f"has the scheme '{scheme}'; use http:// or https://"
    if discovered and rest not in ("", "/"):
        return "has a path; write dns://NAME or dns://NAME:PORT"
    userinfo, at, netloc = netloc.rpartition("@")  # a user and password (never shown)
    if at and not _USERINFO.fullmatch(userinfo):
        return "has a user or password with characters a URL cannot hold there (encode them)"
    if "?" in rest or "#" in rest:
        return "has a query or a fragment ('?' or '#'); give only scheme, host, port and path"
    host, port = _split(netloc)
    if port is not None and not (port.isdigit() and port.isascii() and 0 < int(port) < 65536):
        return f"has the port '{port}'; a port is a number from 1 to 65535"
    if not host:
        return "names no host"
    return None if _host_ok(host) else f"has an invalid host name '{host}'"


def _split(netloc: str) -> tuple[str, str | None]:
    """Host and port (None when absent) of `host`, `host:port`, `[v6]` or `[v6]:port`."""
    if netloc.startswith("["):
        inside, bracket, after = netloc[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            return netloc, None  # not a host: fails the host check
        return (f"[{inside}]" if inside else "", after[1:] if after else None)
    host, colon, port = netloc.rpartition(":")
    return (host, port) if colon else (netloc, None)


def _host_ok(host: str) -> bool:
    if host.startswith("[") and host.endswith("]"):
        try:
            return ipaddress.ip_address(host[1:-1]).version == 6
        except ValueError:
            return False
    try:
        ascii_host = host.encode("idna").decode("ascii")  # a name in any script, as DNS sees it
    except UnicodeError:
        return False
    labels = ascii_host.removesuffix(".").split(".")
    return len(ascii_host) <= 253 and all(_LABEL.fullmatch(label) for label in labels)
