"""Inheritance along a chain of bases: a model based on another registry model takes that
model's system prompt, template and example messages unless it sets its own, adds its license
to its parent's, and merges its parameters over its parent's. Reconcile (what a live model
should show) and replay (a registry model applied on the client side) both read it here. Pure;
the chain must be free of cycles, which the registry checks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelops.spec.model import ModelSpec

Messages = tuple[tuple[str, str], ...]  # (role, content) pairs


def base_chain(specs: Mapping[str, ModelSpec], model_id: str) -> list[str]:
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


def effective(specs: Mapping[str, ModelSpec], model_id: str) -> Effective:
    out = Effective()
    for spec in reversed([specs[m] for m in base_chain(specs, model_id) if m in specs]):
        out = inherit(out, spec)
    return out


def inherit(parent: Effective, spec: ModelSpec) -> Effective:
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


def _licenses(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)
