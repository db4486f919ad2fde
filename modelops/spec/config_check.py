"""The check of `modelops.yaml`: pydantic models of the file, whose errors become problems that
say where and what to do, and the cross-checks between targets. Only a file the validated-file
cache does not vouch for is checked here; what a check passes is read into the plain values of
`modelops.spec.config`, whose defaults these models take. Pure."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationError, model_validator

from modelops.errors import SpecError
from modelops.spec import yamlread
from modelops.spec.base import Strict, did_you_mean, translate
from modelops.spec.config import (
    TARGET_NAME,
    TARGET_TYPES,
    Config,
    OllamaTargetConfig,
    OpenWebUITargetConfig,
)
from modelops.spec.urls import url_problem
from modelops.spec.words import describe


def _url(bare: bool) -> AfterValidator:
    def check(value: str) -> str:
        why = url_problem(value, bare=bare)
        if why:
            raise ValueError(why)
        return value

    return AfterValidator(check)


OllamaURL = Annotated[str, _url(bare=True)]  # Ollama's own form: host:port needs no scheme
ServerURL = Annotated[str, _url(bare=False)]
_OLLAMA, _WEBUI = OllamaTargetConfig, OpenWebUITargetConfig  # the defaults


class OllamaTarget(Strict):
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
    prune: bool = _OLLAMA.prune
    timeout: float = Field(_OLLAMA.timeout, gt=0, description="seconds to wait for an answer")
    retries: int = Field(_OLLAMA.retries, ge=1, le=10, description="attempts for a pull or create")

    @model_validator(mode="after")
    def _one_of_host_hosts(self) -> OllamaTarget:
        if self.host is not None and self.hosts is not None:
            raise ValueError("set either 'host' or 'hosts', not both")
        return self


class OpenWebUITarget(Strict):
    type: Literal["openwebui"]
    url: ServerURL = Field(description="the Open WebUI, e.g. http://127.0.0.1:8080")
    api_key_env: str = Field(
        _WEBUI.api_key_env,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="the environment variable that holds the API key",
    )
    ollama: str | None = Field(
        None,
        description="an Ollama target applied first; each workspace model then wraps the Ollama "
        "model made for it, whose own entry in the model selector is hidden",
    )
    prune: bool = _WEBUI.prune
    timeout: float = Field(_WEBUI.timeout, gt=0, description="seconds to wait for an answer")


Target = Annotated[OllamaTarget | OpenWebUITarget, Field(discriminator="type")]
_KINDS: dict[Any, type[Strict]] = {"ollama": OllamaTarget, "openwebui": OpenWebUITarget}


class ConfigFile(Strict):
    version: Literal[1]
    targets: dict[Annotated[str, Field(pattern=TARGET_NAME)], Target] = Field(default_factory=dict)
    default_target: str | None = Field(None, description="the target plan and apply use by default")
    name: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$",
        description="how this registry marks the models it manages in Open WebUI (default: the "
        "name of its git repository and folder)",
    )


def parse_config(raw: bytes, path: str) -> Config:
    """The settings in a `modelops.yaml` with these bytes, or a SpecError with every problem
    found, shown at `path`."""
    doc = yamlread.load(yamlread.decode(raw, path), path)
    data: Any = doc.data
    if not isinstance(data, dict):
        raise SpecError([doc.problem((), f"expected a mapping, got {describe(data)}")])
    try:
        ConfigFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            given = tuple(err["loc"])
            if given[:1] == ("targets",) and len(given) > 2 and given[2] in TARGET_TYPES:
                err["loc"] = given[:2] + given[3:]  # drop pydantic's tag of the target type
            loc, message = translate(err, ConfigFile, "config", data)
            if err["type"] == "extra_forbidden" and len(loc) == 3 and loc[0] == "targets":
                kind = _KINDS.get(data["targets"][loc[1]].get("type"), OllamaTarget)
                message = "unknown key" + did_you_mean(str(loc[2]), kind.model_fields)
            problems.append(doc.problem(loc, message))
        raise SpecError(problems) from None
    config = Config.from_data(data)
    if config.default_target and config.default_target not in config.targets:
        raise SpecError([doc.problem(("default_target",), "names no target in 'targets'")])
    for name, target in config.targets.items():
        if isinstance(target, OpenWebUITargetConfig) and target.ollama is not None:
            found = config.targets.get(target.ollama)
            if not isinstance(found, OllamaTargetConfig):
                loc = ("targets", name, "ollama")
                raise SpecError([doc.problem(loc, "names no Ollama target in 'targets'")])
    return config
