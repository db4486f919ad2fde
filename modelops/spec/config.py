"""`modelops.yaml`: the registry's settings and the targets it reconciles into. Pure."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationError, model_validator

from modelops.errors import SpecError
from modelops.spec.base import Strict, describe, translate
from modelops.spec.urls import url_problem

TARGET_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
TARGET_TYPES = ("ollama", "openwebui")


def _url(bare: bool) -> AfterValidator:
    def check(value: str) -> str:
        why = url_problem(value, bare=bare)
        if why:
            raise ValueError(why)
        return value

    return AfterValidator(check)


OllamaURL = Annotated[str, _url(bare=True)]  # Ollama's own form: host:port needs no scheme
ServerURL = Annotated[str, _url(bare=False)]


class OllamaTargetConfig(Strict):
    type: Literal["ollama"]
    host: OllamaURL | None = Field(
        None, description="one Ollama server, e.g. http://127.0.0.1:11434"
    )
    hosts: list[OllamaURL] | None = Field(
        None, min_length=1, description="several servers, reconciled in parallel"
    )
    namespace: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,79}$",
        description="models are created as <namespace>/<id>; modelops owns the namespace",
    )
    prune: bool = False
    timeout: float = Field(30.0, gt=0, description="seconds to wait for an answer")
    retries: int = Field(3, ge=1, le=10, description="attempts for a pull or create")

    @model_validator(mode="after")
    def _one_of_host_hosts(self) -> OllamaTargetConfig:
        if self.host is not None and self.hosts is not None:
            raise ValueError("set either 'host' or 'hosts', not both")
        return self

    def host_list(self, default: str) -> list[str]:
        return list(self.hosts or [self.host or default])


class OpenWebUITargetConfig(Strict):
    type: Literal["openwebui"]
    url: ServerURL = Field(description="the Open WebUI, e.g. http://127.0.0.1:8080")
    api_key_env: str = Field(
        "OPENWEBUI_API_KEY",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="the environment variable that holds the API key",
    )
    ollama: str | None = Field(
        None,
        description="an Ollama target applied first; each workspace model then wraps the Ollama "
        "model made for it, whose own entry in the model selector is hidden",
    )
    prune: bool = False
    timeout: float = Field(30.0, gt=0, description="seconds to wait for an answer")


TargetConfig = Annotated[OllamaTargetConfig | OpenWebUITargetConfig, Field(discriminator="type")]


class Config(Strict):
    version: Literal[1]
    targets: dict[Annotated[str, Field(pattern=TARGET_NAME)], TargetConfig] = Field(
        default_factory=dict
    )
    default_target: str | None = Field(None, description="the target plan and apply use by default")
    name: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$",
        description="how this registry marks the models it manages in Open WebUI (default: the "
        "name of its git repository and folder)",
    )


DEFAULT_CONFIG = """\
# modelops registry settings (see the README, "Configuration")
version: 1
targets:
  # The Ollama named by OLLAMA_HOST, or the one on this machine (127.0.0.1:11434).
  local:
    type: ollama
default_target: local
"""


def parse_config(raw: bytes, path: str) -> Config:
    from modelops.spec import yamlread  # a plan from the validated-file cache parses no YAML

    doc = yamlread.load(yamlread.decode(raw, path), path)
    data: Any = doc.data
    if not isinstance(data, dict):
        raise SpecError([doc.problem((), f"expected a mapping, got {describe(data)}")])
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            given = tuple(err["loc"])
            if given[:1] == ("targets",) and len(given) > 2 and given[2] in TARGET_TYPES:
                err["loc"] = given[:2] + given[3:]  # drop pydantic's tag of the target type
            loc, message = translate(err, Config, "config", data)
            problems.append(doc.problem(loc, message))
        raise SpecError(problems) from None
    if config.default_target and config.default_target not in config.targets:
        raise SpecError([doc.problem(("default_target",), "names no target in 'targets'")])
    for name, target in config.targets.items():
        if isinstance(target, OpenWebUITargetConfig) and target.ollama is not None:
            found = config.targets.get(target.ollama)
            if not isinstance(found, OllamaTargetConfig):
                loc = ("targets", name, "ollama")
                raise SpecError([doc.problem(loc, "names no Ollama target in 'targets'")])
    return config
