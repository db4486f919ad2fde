"""Ollama model names: parsing, validation and display (reference/ollama-api.md §5.4).

Mirrors `types/model/name.go`: a name is `[scheme://][host/][namespace/]model[:tag]`, missing
parts take defaults, and matching is case-insensitive while the stored case is kept for display.
"""

from dataclasses import dataclass

DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"

# What Go's cutPromised puts in place of an empty part, so that validation fails on it.
_MISSING = "!MISSING!"
_MAX_LENGTH = {"host": 350, "namespace": 80, "model": 80, "tag": 80}


def _cut_last(text: str, separator: str) -> tuple[str, str] | None:
    before, found, after = text.rpartition(separator)
    if not found:
        return None
    return before or _MISSING, after or _MISSING


def _is_word_char(char: str) -> bool:
    return char == "_" or (char.isascii() and char.isalnum())


def _is_valid_part(kind: str, text: str) -> bool:
    if not 1 <= len(text) <= _MAX_LENGTH[kind] or not _is_word_char(text[0]):
        return False
    for char in text[1:]:
        if char in "_-":
            continue
        if char == ".":
            if kind == "namespace":
                return False
        elif char == ":":
            if kind != "host":
                return False
        elif not _is_word_char(char):
            return False
    return True


@dataclass(frozen=True)
class ModelName:
    """A parsed model name with defaults filled in; it may still be invalid (see `is_valid`)."""

    host: str
    namespace: str
    model: str
    tag: str
    scheme: str = ""

    @classmethod
    def parse(cls, text: str) -> "ModelName":
        """Go's model.ParseName: split from the right, then fill in the defaults."""
        rest, tag = text, ""
        if text.rfind(":") > text.rfind("/"):
            rest, tag = _cut_last(text, ":") or (text, "")
        model_cut = _cut_last(rest, "/")
        if model_cut is None:
            return cls(DEFAULT_HOST, DEFAULT_NAMESPACE, rest, tag or DEFAULT_TAG)
        rest, model = model_cut
        namespace_cut = _cut_last(rest, "/")
        if namespace_cut is None:
            return cls(DEFAULT_HOST, rest, model, tag or DEFAULT_TAG)
        rest, namespace = namespace_cut
        scheme, separator, host = rest.partition("://")
        if not separator:
            scheme, host = "", rest
        return cls(host or DEFAULT_HOST, namespace, model, tag or DEFAULT_TAG, scheme)

    @property
    def is_valid(self) -> bool:
        parts = {"host": self.host, "namespace": self.namespace, "model": self.model}
        parts["tag"] = self.tag
        return all(_is_valid_part(kind, text) for kind, text in parts.items())

    @property
    def full(self) -> str:
        """Go's Name.String(): every part spelled out."""
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"

    @property
    def display(self) -> str:
        """Go's DisplayShortest(): default host and namespace left out, the tag always shown."""
        if self.host.lower() != DEFAULT_HOST:
            return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"
        if self.namespace.lower() != DEFAULT_NAMESPACE:
            return f"{self.namespace}/{self.model}:{self.tag}"
        return f"{self.model}:{self.tag}"

    @property
    def key(self) -> str:
        """The case-insensitive identity used to match names against each other."""
        return self.full.lower()


def parse_valid(text: str) -> ModelName | None:
    """The parsed name, or None when the server would call it invalid."""
    name = ModelName.parse(text)
    return name if name.is_valid else None
