"""Drift: does a live Ollama model hold the values its definition asks for? Judged on values,
never on text: `/api/show` prints parameters in random order with Go's number formatting, and
keeps float parameters as float32, so they are parsed and compared by type. Pure."""

from __future__ import annotations

import ast
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelops.reconcile.desired import Desired
from modelops.spec import names
from modelops.spec.params import CATALOGUE
from modelops.targets.base import FieldChange


@dataclass(frozen=True)
class Live:
    """What `/api/show` says about one model, parsed."""

    parent_model: str = ""
    system: str = ""
    template: str = ""
    license: str = ""
    messages: tuple[tuple[str, str], ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_show(cls, body: Mapping[str, Any]) -> Live:
        details = body.get("details") or {}
        license_value = body.get("license") or ""
        if isinstance(license_value, list):
            license_value = "\n".join(license_value)
        return cls(
            parent_model=str(details.get("parent_model") or ""),
            system=str(body.get("system") or ""),
            template=modelfile_template(str(body.get("modelfile") or ""))
            or str(body.get("template") or ""),
            license=str(license_value),
            messages=tuple(
                (str(m.get("role", "")), str(m.get("content", "")))
                for m in body.get("messages") or ()
            ),
            parameters=parse_parameters(str(body.get("parameters") or "")),
        )


def parse_parameters(text: str) -> dict[str, Any]:
    """Ollama's `parameters` text: `key<padding>value` lines, repeated keys forming a list."""
    values: dict[str, list[Any]] = {}
    for line in text.splitlines():
        parts = line.strip().split(None, 1)
        if not parts:
            continue
        key, raw = parts[0], (parts[1].strip() if len(parts) > 1 else "")
        values.setdefault(key, []).append(_go_value(raw))
    return {k: v if k == "stop" or len(v) > 1 else v[0] for k, v in values.items()}


def _go_value(raw: str) -> Any:
    if raw.startswith('"'):
        try:
            return ast.literal_eval(raw)  # reads Go's escapes; json.loads fails on \x
        except (ValueError, SyntaxError):
            return raw.strip('"')
    if raw in ("true", "false"):
        return raw == "true"
    try:
        return float(raw)
    except ValueError:
        return raw


def modelfile_template(modelfile: str) -> str:
    """The TEMPLATE block of a rendered Modelfile: the stored Go template, which newer
    servers' `template` field may replace with the GGUF's own chat template."""
    start = modelfile.find("\nTEMPLATE ")
    if start < 0:
        return ""
    rest = modelfile[start + len("\nTEMPLATE ") :]
    for quote in ('"""', '"'):
        if rest.startswith(quote):
            end = rest.find(quote, len(quote))
            return rest[len(quote) : end] if end >= 0 else ""
    return rest.split("\n", 1)[0]


def same_parameter(name: str, want: Any, have: Any) -> bool:
    if want is None or have is None:
        return want is None and have is None
    kind = CATALOGUE[name].type if name in CATALOGUE else None
    try:
        if kind == "str_list" or isinstance(want, list):
            have_list = have if isinstance(have, list) else [have]
            return [str(v) for v in want] == [str(v) for v in have_list]
        if isinstance(want, bool) or isinstance(have, bool):
            return bool(want) == bool(have) and isinstance(have, bool) == isinstance(want, bool)
        if kind == "int" or (isinstance(want, int) and kind is None):
            return int(float(have)) == int(want)
        return _f32(float(want)) == _f32(float(have))
    except (TypeError, ValueError):
        return False


def _f32(value: float) -> float:
    """Ollama keeps float parameters as float32, so 0.1 comes back as 0.10000000149..."""
    return float(struct.unpack("f", struct.pack("f", value))[0])


def compare(desired: Desired, live: Live, base: Live | None) -> list[FieldChange]:
    """The fields where `live` differs from what `desired` asks for. `base` is the Ollama base
    model at the bottom of the chain: values the definition does not set must equal its."""
    changes: list[FieldChange] = []
    want_from = names.match_key(desired.request["from"])
    if live.parent_model and names.match_key(live.parent_model) != want_from:
        changes.append(FieldChange("base", live.parent_model, desired.request["from"]))
    values = desired.values
    for name in ("system", "template"):
        want = getattr(values, name)
        if want is None:
            if base is None:
                continue
            want = getattr(base, name)
        have = getattr(live, name)
        if (want or "") != (have or ""):
            changes.append(FieldChange(name, have or None, want or None))
    want_messages = (
        values.messages if values.messages is not None else (base.messages if base else None)
    )
    if want_messages is not None and tuple(want_messages) != tuple(live.messages):
        changes.append(
            FieldChange("messages", _show_messages(live.messages), _show_messages(want_messages))
        )
    if values.license and not live.license.endswith("\n".join(values.license)):
        changes.append(FieldChange("license", live.license or None, "\n".join(values.license)))
    wanted = dict(base.parameters) if base else {}
    wanted.update(values.parameters)
    keys = list(values.parameters) + sorted(
        k for k in {*wanted, *live.parameters} if k not in values.parameters
    )
    for key in keys:
        if base is None and key not in values.parameters:
            continue  # without the base's values, only what the definition sets can be judged
        want, have = wanted.get(key), live.parameters.get(key)
        if not same_parameter(key, want, have):
            changes.append(FieldChange(f"parameters.{key}", _plain(have), want))
    return changes


def _plain(value: Any) -> Any:
    """Floats that hold whole numbers print as integers, as Ollama shows them."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def _show_messages(messages: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    return [{"role": r, "content": c} for r, c in messages]
