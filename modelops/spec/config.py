"""`modelops.yaml`: the registry's settings and the targets it reconciles into, as plain frozen
values. A file is checked by `config_check.parse_config` (pydantic) unless the validated-file
cache already vouches for its content, so a plan from the cache builds no pydantic model. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

TARGET_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
TARGET_TYPES = ("ollama", "openwebui")


@dataclass(frozen=True)
class OllamaTargetConfig:
    type: Literal["ollama"] = "ollama"
    host: str | None = None  # one server; Ollama's own form, host:port, needs no scheme
    hosts: tuple[str, ...] | None = None  # several, reconciled in parallel
    namespace: str | None = None  # models are <namespace>/<id>; modelops owns the namespace
    prune: bool = False
    timeout: float = 30.0  # seconds to wait for an answer
    retries: int = 3  # attempts for a pull or create

    def host_list(self, default: str) -> list[str]:
        return list(self.hosts or [self.host or default])


@dataclass(frozen=True)
class OpenWebUITargetConfig:
    url: str
    type: Literal["openwebui"] = "openwebui"
    api_key_env: str = "OPENWEBUI_API_KEY"  # the environment variable holding the API key
    ollama: str | None = None  # an Ollama target applied first, whose models these wrap
    prune: bool = False
    timeout: float = 30.0


TargetConfig = OllamaTargetConfig | OpenWebUITargetConfig


@dataclass(frozen=True)
class Config:
    version: Literal[1] = 1
    targets: Mapping[str, TargetConfig] = field(default_factory=dict)
    default_target: str | None = None  # the target plan and apply use by default
    name: str | None = None  # how the registry marks its models in Open WebUI

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Config:
        """The settings from a file's data that passed the check (so every key is known)."""
        targets = {name: _target(found) for name, found in (data.get("targets") or {}).items()}
        return cls(**{**data, "targets": targets})


def _target(data: Mapping[str, Any]) -> TargetConfig:
    given = dict(data)
    if "timeout" in given:
        given["timeout"] = float(given["timeout"])  # YAML's 30 is an int; the check allows it
    if given["type"] == "ollama":
        if given.get("hosts") is not None:
            given["hosts"] = tuple(given["hosts"])
        return OllamaTargetConfig(**given)
    return OpenWebUITargetConfig(**given)


DEFAULT_CONFIG = """\
# modelops registry settings (see the README, "Configuration")
version: 1
targets:
  # The Ollama named by OLLAMA_HOST, or the one on this machine (127.0.0.1:11434).
  local:
    type: ollama
default_target: local
"""


def read_vouched(raw: bytes, path: str) -> Config:
    """The settings in a `modelops.yaml` whose content the validated-file cache vouches for:
    read, not checked again (`config_check.parse_config` checks one)."""
    from modelops.spec import yamlread

    return Config.from_data(yamlread.load(yamlread.decode(raw, path), path).data)
