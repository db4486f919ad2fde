"""Model names: the registry id grammar, and Ollama's name grammar
(`[host/][namespace/]model[:tag]`, with Ollama's defaults and its case-insensitive matching)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# For pydantic and JSON Schema, whose `$` ends the text. Python's `$` also matches before a
# final newline, so every check here uses `fullmatch` on patterns without anchors.
ID_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
ID_MAX = 80
_ID_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")
ID_RULE = (
    "use lowercase letters, digits, '.', '_' and '-', "
    f"starting with a letter or digit, at most {ID_MAX} characters"
)

DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"

_HOST_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}")
_NAMESPACE_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,79}")
_PART_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}")


def is_valid_id(value: str) -> bool:
    return len(value) <= ID_MAX and _ID_RE.fullmatch(value) is not None


@dataclass(frozen=True)
class OllamaName:
    host: str
    namespace: str
    model: str
    tag: str

    @property
    def display(self) -> str:
        """Ollama's shortest form: default host and `library` left out, tag always shown."""
        parts = []
        if self.host != DEFAULT_HOST:
            parts += [self.host, self.namespace]
        elif self.namespace != DEFAULT_NAMESPACE:
            parts.append(self.namespace)
        parts.append(self.model)
        return "/".join(parts) + ":" + self.tag

    @property
    def key(self) -> str:
        """Full form, lower-cased: Ollama matches names case-insensitively."""
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}".lower()

    def with_namespace(self, namespace: str) -> OllamaName:
        return OllamaName(self.host, namespace, self.model, self.tag)


class InvalidName(ValueError):
    pass


def parse_ollama_name(text: str) -> OllamaName:
    """Parse the way Ollama does; raise InvalidName with the reason when it would refuse it."""
    name = text
    if "://" in name:
        scheme, name = name.split("://", 1)
        if scheme not in ("http", "https"):
            raise InvalidName(f"unknown scheme '{scheme}'")
    if "@" in name:
        raise InvalidName("'@' is not allowed in a model name")
    tag = DEFAULT_TAG
    colon, slash = name.rfind(":"), name.rfind("/")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    parts = name.split("/")
    if len(parts) > 3:
        raise InvalidName("too many '/' (the form is [host/][namespace/]model[:tag])")
    host, namespace = DEFAULT_HOST, DEFAULT_NAMESPACE
    if len(parts) == 3:
        host, namespace, model = parts
    elif len(parts) == 2:
        namespace, model = parts
    else:
        (model,) = parts
    for label, value, pattern in (
        ("host", host, _HOST_RE),
        ("namespace", namespace, _NAMESPACE_RE),
        ("model", model, _PART_RE),
        ("tag", tag, _PART_RE),
    ):
        if not pattern.fullmatch(value):
            shown = f" {value!r}" if value else ""
            raise InvalidName(f"invalid {label}{shown}")
    return OllamaName(host, namespace, model, tag)


def match_key(name: str) -> str:
    """The key two names that Ollama takes for the same model share (`faq` and
    `registry.ollama.ai/library/FAQ:latest`); a name Ollama would refuse is only lower-cased."""
    try:
        return parse_ollama_name(name).key
    except InvalidName:
        return name.lower()


def reserved_tag(name: OllamaName) -> bool:
    """Tags that Ollama 0.17.6+ reads as cloud/local selectors."""
    tag = name.tag.lower()
    return tag in ("cloud", "local") or tag.endswith("-cloud")
