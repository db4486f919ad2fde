"""What the registry asks of an Ollama server: one model per definition, built from its base.

A model whose base is another registry model is created FROM that model's Ollama name, so the
server does the inheritance, and it must be created after its parent. For drift, the values a
model should end up with are its own, then its registry ancestors', then its Ollama base's.
Pure.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelops.spec import names
from modelops.spec.inherit import Effective, Inheritable, inherit


@dataclass(frozen=True)
class Desired:
    """One model as it should exist on an Ollama host."""

    id: str
    name: str  # Ollama display name, e.g. team/faq:latest
    key: str  # normalised, for matching against /api/tags
    base: str  # the FROM name as written in the spec (registry id or Ollama name)
    parent: str | None  # the registry id of the base, if the base is a registry model
    root: str  # display name of the Ollama base at the bottom of the chain
    request: dict[str, Any]  # the /api/create body, without "stream"
    spec_hash: str  # covers this request and every ancestor's
    values: Effective  # what the live model should show, inherited along the registry chain


def ollama_name(model_id: str, namespace: str | None) -> names.OllamaName:
    return names.parse_ollama_name(f"{namespace}/{model_id}" if namespace else model_id)


def desired_models(specs: Mapping[str, Inheritable], namespace: str | None) -> dict[str, Desired]:
    """Every registry model as an Ollama model. Assumes a validated registry (no cycles)."""
    out: dict[str, Desired] = {}

    def build(model_id: str) -> Desired:
        if model_id in out:
            return out[model_id]
        spec = specs[model_id]
        name = ollama_name(model_id, namespace)
        parent = build(spec.base) if spec.base in specs else None
        base_name = parent.name if parent else names.parse_ollama_name(spec.base).display
        request = _request(spec, name.display, base_name)
        desired = Desired(
            id=model_id,
            name=name.display,
            key=name.key,
            base=spec.base,
            parent=spec.base if parent else None,
            root=parent.root if parent else base_name,
            request=request,
            spec_hash=_hash({"request": request, "parent": parent.spec_hash if parent else None}),
            values=inherit(parent.values if parent else Effective(), spec),
        )
        out[model_id] = desired
        return desired

    for model_id in sorted(specs):
        build(model_id)
    return out


def _request(spec: Inheritable, name: str, base: str) -> dict[str, Any]:
    """The /api/create body: only what the spec sets, parameters with their JSON types."""
    request: dict[str, Any] = {"model": name, "from": base}
    if spec.system is not None:
        request["system"] = spec.system
    if spec.template is not None:
        request["template"] = spec.template
    if spec.parameters:
        request["parameters"] = dict(spec.parameters)
    if spec.messages:
        request["messages"] = [{"role": m.role, "content": m.content} for m in spec.messages]
    if spec.license is not None:
        request["license"] = spec.license
    return request


def _hash(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def clashes(desired: Mapping[str, Desired]) -> list[str]:
    """Models whose Ollama name is the Ollama base of another: creating one would replace
    the weights the other is built from."""
    bases = {names.parse_ollama_name(d.root).key: d for d in desired.values() if d.parent is None}
    out = []
    for d in sorted(desired.values(), key=lambda d: d.id):
        user = bases.get(d.key)
        if user is not None:
            out.append(
                f"model '{d.id}' would be created as {d.name}, which replaces the Ollama model "
                f"that '{user.id}' is based on (rename it, or give the target a namespace)"
            )
    return out


def creation_order(desired: Mapping[str, Desired]) -> list[str]:
    """Ids with every parent before its children, otherwise sorted."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(model_id: str) -> None:
        if model_id in seen:
            return
        seen.add(model_id)
        parent = desired[model_id].parent
        if parent is not None:
            visit(parent)
        order.append(model_id)

    for model_id in sorted(desired):
        visit(model_id)
    return order
