"""Inheritance along a chain of bases: a model based on another registry model takes that
model's system prompt, template and example messages unless it sets its own, adds its license
to its parent's, and merges its parameters over its parent's. Reconcile (what a live model
should show) and replay (a registry model applied on the client side) both read it here. Pure;
the chain must be free of cycles, which the registry checks.

What inheritance reads of a model is `Inheritable`: a `ModelSpec`, or a `Basis` made from a
spec's plain data (as the validated-file cache keeps it), so that a plan of a registry the
cache vouches for builds no pydantic model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

Messages = tuple[tuple[str, str], ...]  # (role, content) pairs


class Said(NamedTuple):
    """One example message."""

    role: str
    content: str


class _Message(Protocol):
    @property
    def role(self) -> str: ...
    @property
    def content(self) -> str: ...


class Inheritable(Protocol):
    """What inheritance and an Ollama model read of a model definition."""

    @property
    def base(self) -> str: ...
    @property
    def system(self) -> str | None: ...
    @property
    def template(self) -> str | None: ...
    @property
    def messages(self) -> Sequence[_Message] | None: ...
    @property
    def license(self) -> str | Sequence[str] | None: ...
    @property
    def parameters(self) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True)
class Basis:
    """The `Inheritable` part of a checked model, from its plain data (`spec.model_dump()`)."""

    base: str
    system: str | None = None
    template: str | None = None
    messages: tuple[Said, ...] | None = None
    license: str | Sequence[str] | None = None  # as the data has it: the same request
    parameters: Mapping[str, Any] | None = None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Basis:
        said = data.get("messages")
        return cls(
            base=data["base"],
            system=data.get("system"),
            template=data.get("template"),
            messages=tuple(Said(m["role"], m["content"]) for m in said) if said else said,
            license=data.get("license"),
            parameters=data.get("parameters"),
        )


def base_chain(specs: Mapping[str, Inheritable], model_id: str) -> list[str]:
    """The model, its registry bases in order, and finally the Ollama base it rests on."""
    chain = [model_id]
    while chain[-1] in specs and len(chain) <= len(specs):
        chain.append(specs[chain[-1]].base)
    return chain


@dataclass(frozen=True)
class Effective:
    """A registry model's values once its chain of registry bases is taken into account.
    None means "not set anywhere in the registry": the Ollama base's own value applies."""

    system: str | None = None
    template: str | None = None
    messages: Messages | None = None
    license: tuple[str, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)


def effective(specs: Mapping[str, Inheritable], model_id: str) -> Effective:
    out = Effective()
    for spec in reversed([specs[m] for m in base_chain(specs, model_id) if m in specs]):
        out = inherit(out, spec)
    return out


def inherit(parent: Effective, spec: Inheritable) -> Effective:
    """`spec`'s values over its parent's (which may be an empty Effective)."""
    licenses = () if spec.license is None else _licenses(spec.license)
    return Effective(
        system=spec.system if spec.system is not None else parent.system,
        template=spec.template if spec.template is not None else parent.template,
        messages=tuple((m.role, m.content) for m in spec.messages)
        if spec.messages
        else parent.messages,
        license=parent.license + licenses,
        parameters={**parent.parameters, **(spec.parameters or {})},
    )


def _licenses(value: str | Sequence[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)
