"""`modelops.yaml`: the registry's settings and its reconcile targets (DESIGN 4)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from modelops import yamlio
from modelops.errors import SpecError
from modelops.params import describe

CONFIG_FILE = "modelops.yaml"
TARGET_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class OllamaTarget(_Strict):
    type: Literal["ollama"]
    host: str | None = Field(None, description="one Ollama server, e.g. http://127.0.0.1:11434")
    hosts: list[str] | None = Field(None, description="several servers, reconciled in parallel")
    namespace: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,79}$",
        description="models are created as <namespace>/<id>; modelops owns the namespace",
    )
    prune: bool = False
    timeout: float = Field(30.0, gt=0, description="seconds to wait for an answer")
    retries: int = Field(3, ge=1, le=10, description="attempts for a pull or create")

    @model_validator(mode="after")
    def _one_of_host_hosts(self) -> OllamaTarget:
        if self.host is not None and self.hosts is not None:
            raise ValueError("set either 'host' or 'hosts', not both")
        return self

    def host_list(self, default: str) -> list[str]:
        return list(self.hosts or [self.host or default])


class OpenWebUITarget(_Strict):
    type: Literal["openwebui"]
    url: str
    api_key_env: str = Field(
        "OPENWEBUI_API_KEY", description="the environment variable that holds the API key"
    )
    prune: bool = False


Target = Annotated[OllamaTarget | OpenWebUITarget, Field(discriminator="type")]


class Config(_Strict):
    version: Literal[1]
    targets: dict[Annotated[str, Field(pattern=TARGET_NAME)], Target] = Field(default_factory=dict)
    default_target: str | None = Field(None, description="the target plan and apply use by default")


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
    doc = yamlio.load(yamlio.decode(raw, path), path)
    data: Any = doc.data
    if not isinstance(data, dict):
        raise SpecError([doc.problem((), f"expected a mapping, got {describe(data)}")])
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            if loc[:1] == ("targets",) and len(loc) > 2 and loc[2] in ("ollama", "openwebui"):
                loc = loc[:2] + loc[3:]  # drop pydantic's discriminator label
            msg = str(err["msg"]).removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            elif err["type"] == "missing":
                msg = "required key is missing"
            problems.append(doc.problem(loc, msg))
        raise SpecError(problems) from None
    if config.default_target and config.default_target not in config.targets:
        raise SpecError([doc.problem(("default_target",), "names no target in 'targets'")])
    return config
