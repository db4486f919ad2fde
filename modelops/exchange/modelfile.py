"""A model definition to and from an Ollama Modelfile. Pure.

Parsing follows Ollama's own Modelfile parser: instructions are
case-insensitive, `#` starts a comment, values are bare to the end of the line, `"quoted"`,
or `\"\"\"triple quoted\"\"\"` across lines; repeated `PARAMETER stop` lines make a list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modelops.spec.params import CATALOGUE, REMOVED

if TYPE_CHECKING:  # pydantic costs ~0.15 s to import: reading a Modelfile needs none of it
    from modelops.spec.model import ModelSpec

INSTRUCTIONS = (
    "FROM",
    "PARAMETER",
    "TEMPLATE",
    "SYSTEM",
    "ADAPTER",
    "LICENSE",
    "MESSAGE",
    "REQUIRES",
)


class ModelfileError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass
class Parsed:
    """What a Modelfile says, as spec fields, plus anything that had to be dropped."""

    data: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def parse(text: str) -> Parsed:
    out = Parsed()
    params: dict[str, Any] = {}
    licenses: list[str] = []
    messages: list[dict[str, str]] = []
    for line_no, keyword, value in _instructions(text):
        if keyword == "FROM":
            if "base" in out.data:
                raise ModelfileError(line_no, "a second FROM (modelops models have one base)")
            out.data["base"] = value
        elif keyword in ("SYSTEM", "TEMPLATE"):
            out.data[keyword.lower()] = value
        elif keyword == "LICENSE":
            licenses.append(value)
        elif keyword == "MESSAGE":
            role, _, content = value.partition(" ")
            if role.lower() not in ("system", "user", "assistant"):
                raise ModelfileError(
                    line_no, f"MESSAGE role must be system, user or assistant, not '{role}'"
                )
            messages.append({"role": role.lower(), "content": _unquote(content.strip())})
        elif keyword == "PARAMETER":
            name, _, raw = value.partition(" ")
            _parameter(line_no, name, _unquote(raw.strip()), params, out.notes)
        elif keyword == "ADAPTER":
            raise ModelfileError(
                line_no, "ADAPTER is not supported (modelops models build on a base model)"
            )
        else:
            out.notes.append(f"line {line_no}: {keyword} ignored")
    if "base" not in out.data:
        raise ModelfileError(1, "no FROM line (a Modelfile names its base model with FROM)")
    if params:
        out.data["parameters"] = params
    if messages:
        out.data["messages"] = messages
    if licenses:
        out.data["license"] = licenses[0] if len(licenses) == 1 else licenses
    return out


def _parameter(line_no: int, name: str, raw: str, params: dict[str, Any], notes: list[str]) -> None:
    if name in REMOVED:
        notes.append(
            f"line {line_no}: PARAMETER {name} dropped (removed in Ollama {REMOVED[name]})"
        )
        return
    param = CATALOGUE.get(name)
    if param is None:
        raise ModelfileError(line_no, f"unknown parameter '{name}'")
    try:
        if param.type == "str_list":
            params.setdefault(name, []).append(raw)
        elif param.type == "int":
            params[name] = int(float(raw)) if float(raw).is_integer() else int(raw)
        elif param.type == "float":
            params[name] = float(raw)
        else:
            if raw.lower() not in ("true", "false"):
                raise ValueError(raw)
            params[name] = raw.lower() == "true"
    except ValueError:
        raise ModelfileError(line_no, f"PARAMETER {name}: '{raw}' is not {param.type}") from None


def _instructions(text: str) -> list[tuple[int, str, str]]:
    out: list[tuple[int, str, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        line_no = i + 1
        i += 1
        if not stripped or stripped.startswith("#"):
            continue
        keyword, _, rest = stripped.partition(" ")
        keyword = keyword.upper()
        if keyword not in INSTRUCTIONS:
            raise ModelfileError(line_no, f"unknown instruction '{keyword}'")
        rest = rest.strip()
        if keyword in ("MESSAGE", "PARAMETER"):
            head, _, tail = rest.partition(" ")
            if tail.strip().startswith('"""'):
                tail, i = _triple(tail.strip(), lines, i, line_no)
                out.append((line_no, keyword, f"{head} {json.dumps(tail)}"))
                continue
            out.append((line_no, keyword, rest))
            continue
        if rest.startswith('"""'):
            value, i = _triple(rest, lines, i, line_no)
            out.append((line_no, keyword, value))
        else:
            out.append((line_no, keyword, _unquote(rest)))
    return out


def _triple(first: str, lines: list[str], i: int, line_no: int) -> tuple[str, int]:
    body = first[3:]
    if body.endswith('"""') and len(body) >= 3:
        return body[:-3], i
    parts = [body]
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.rstrip().endswith('"""'):
            parts.append(line.rstrip()[:-3])
            return "\n".join(parts), i
        parts.append(line)
    raise ModelfileError(line_no, 'a """ block that never ends')


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            return str(json.loads(value))
        except ValueError:
            return value[1:-1]
    return value


def render(spec: ModelSpec, source: str) -> str:
    """The Modelfile that builds `spec` with `ollama create` (a registry base by its id)."""
    lines = [f"# {spec.id}: generated by modelops from {source}", f"FROM {spec.base}"]
    if spec.system is not None:
        lines.append(f"SYSTEM {_quote(spec.system)}")
    if spec.template is not None:
        lines.append(f"TEMPLATE {_quote(spec.template)}")
    for name, value in (spec.parameters or {}).items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            shown = str(item).lower() if isinstance(item, bool) else item
            lines.append(
                f"PARAMETER {name} {_quote(str(shown)) if isinstance(item, str) else shown}"
            )
    for message in spec.messages or ():
        lines.append(f"MESSAGE {message.role} {_quote(message.content)}")
    licenses = [spec.license] if isinstance(spec.license, str) else list(spec.license or [])
    lines += [f"LICENSE {_quote(text)}" for text in licenses]
    return "\n".join(lines) + "\n"


def _quote(value: str) -> str:
    if "\n" in value or value != value.strip() or '"' in value:
        if '"""' in value:
            return json.dumps(value)
        return f'"""{value}"""'
    return value if value and " " not in value else json.dumps(value)
