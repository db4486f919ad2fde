"""Reading YAML: the only user of PyYAML (writing is `spec.yamledit` and `spec.emit`).

libyaml's C parser with a YAML 1.2 core-schema resolver and a small constructor of our own,
which refuses duplicate keys, unknown tags and alias bombs and keeps the node tree so that any
key path can be traced back to a line and column. On model files it is about 3x quicker than
ruamel.yaml's C loader (benchmarks/bench_load.py measures it against the raw parse).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.cyaml import CParser  # type: ignore[attr-defined]
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver

from modelops.errors import Problem, SpecError
from modelops.spec.limits import MAX_DEPTH

MAX_FILE_BYTES = 1024 * 1024
MAX_NODES = 100_000  # after alias expansion
Loc = tuple[str | int, ...]

_CONFLICT = re.compile(r"^(<{7}|={7}|>{7}|\|{7})(?: |$)", re.MULTILINE)
_TAG = "tag:yaml.org,2002:"


class _CoreResolver(BaseResolver):
    """The YAML 1.2 core schema: `yes`, `on` and `010` are not YAML 1.1 booleans and octals."""


for _tag, _pattern, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
):
    _CoreResolver.add_implicit_resolver(_TAG + _tag, re.compile(_pattern), list(_first))


class _Parser(CParser, _CoreResolver):
    def __init__(self, text: str) -> None:
        CParser.__init__(self, text)
        _CoreResolver.__init__(self)


@dataclass
class Document:
    """A parsed YAML file: its data, and the node tree that knows where each value came from."""

    path: str
    data: Any
    root: Node | None

    def locate(self, loc: Loc) -> tuple[int, int]:
        """Line and column (1-based) of the deepest node on `loc`: the key for a mapping entry."""
        node = self.root
        mark = node.start_mark if node is not None else None
        for part in loc:
            if isinstance(node, MappingNode):
                for key, value in node.value:
                    if isinstance(key, ScalarNode) and key.value == part:
                        mark, node = key.start_mark, value
                        break
                else:
                    break
            elif isinstance(node, SequenceNode) and isinstance(part, int):
                if part >= len(node.value):
                    break
                node = node.value[part]
                mark = node.start_mark
            else:
                break
        if mark is None:
            return (1, 1)
        return (mark.line + 1, mark.column + 1)

    def value_position(self, loc: Loc) -> tuple[int, int]:
        """Line and column of the value at `loc` itself (not of its key)."""
        node = self.root
        for part in loc:
            if isinstance(node, MappingNode):
                found = next((v for k, v in node.value if k.value == part), None)
            elif isinstance(node, SequenceNode) and isinstance(part, int):
                found = node.value[part] if part < len(node.value) else None
            else:
                found = None
            if found is None:
                return self.locate(loc)
            node = found
        if node is None:
            return (1, 1)
        return (node.start_mark.line + 1, node.start_mark.column + 1)

    def problem(self, loc: Loc, message: str, *, at_value: bool = False) -> Problem:
        line, col = self.value_position(loc) if at_value else self.locate(loc)
        return Problem(self.path, line, col, dotted(loc), message)


def dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def decode(raw: bytes, path: str) -> str:
    if len(raw) > MAX_FILE_BYTES:
        raise SpecError(
            [
                Problem(
                    path,
                    0,
                    0,
                    "",
                    f"file is {len(raw):,} bytes; the limit is {MAX_FILE_BYTES:,} "
                    "(keep large text such as documents in knowledge, not in the model file)",
                )
            ]
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SpecError(
            [Problem(path, line, 0, "", "not valid UTF-8 (save the file as UTF-8)")]
        ) from None


def load(text: str, path: str) -> Document:
    """Parse one YAML document; every problem found is raised at once as a SpecError."""
    conflicts = [
        Problem(
            path,
            text.count("\n", 0, m.start()) + 1,
            1,
            "",
            f"merge-conflict marker '{m.group(1)}' (resolve the conflict and remove the markers)",
        )
        for m in _CONFLICT.finditer(text)
    ]
    if conflicts:
        raise SpecError(conflicts)
    parser = _Parser(text)
    try:
        root = parser.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise SpecError([_syntax_problem(exc, path, text)]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Problem(path, 0, 0, "", f"YAML error: {exc}")]) from None
    finally:
        parser.dispose()
    if root is None:
        return Document(path, None, None)
    builder = _Builder(path)
    data = builder.build(root)
    if builder.problems:
        raise SpecError(builder.problems)
    return Document(path, data, root)


def _syntax_problem(exc: yaml.MarkedYAMLError, path: str, text: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    lines = text.splitlines()
    where = lines[line - 1] if 0 < line <= len(lines) else ""
    problem = exc.problem or "invalid YAML"
    if col and col <= len(where) and where[col - 1] == "\t":
        return Problem(path, line, col, "", "tab character (indent YAML with spaces, not tabs)")
    if "found character that cannot start any token" in problem and col <= len(where):
        problem = f"character {where[col - 1]!r} cannot start a value (quote the value)"
    elif exc.context:
        problem = f"{problem} ({exc.context})"
    return Problem(path, line, col, "", f"YAML syntax: {problem}")


class _Builder:
    """Turns a node tree into plain Python values, checking what PyYAML would let through."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []
        self._sizes: dict[int, int] = {}
        self._built: dict[int, Any] = {}
        self._aliased = False
        self._building: set[int] = set()  # collections being built, to catch recursive aliases
        self._too_deep = False

    def build(self, root: Node) -> Any:
        """Build values sharing what aliases share (linear); then, only if an alias was used,
        refuse a tree whose expansion would explode in everything that walks it later."""
        value = self._value(root, 0)
        if self._too_deep:
            return None
        if self._aliased and self._size(root) > MAX_NODES:
            mark = root.start_mark
            self.problems.append(
                Problem(
                    self.path,
                    mark.line + 1,
                    mark.column + 1,
                    "",
                    f"aliases expand to more than {MAX_NODES:,} values "
                    "(write the values out instead of nesting aliases)",
                )
            )
            return None
        return value

    def _size(self, node: Node) -> int:
        key = id(node)
        if key not in self._sizes:
            self._sizes[key] = 1  # a cycle counts once; _value refuses it
            if isinstance(node, SequenceNode):
                self._sizes[key] += sum(self._size(n) for n in node.value)
            elif isinstance(node, MappingNode):
                self._sizes[key] += sum(self._size(k) + self._size(v) for k, v in node.value)
        return self._sizes[key]

    def _fail(self, node: Node, message: str) -> None:
        mark = node.start_mark
        self.problems.append(Problem(self.path, mark.line + 1, mark.column + 1, "", message))

    def _value(self, node: Node, depth: int) -> Any:
        key = id(node)
        if depth > MAX_DEPTH and not isinstance(node, ScalarNode):
            if not self._too_deep:
                self._too_deep = True
                self._fail(node, f"nested more than {MAX_DEPTH} levels deep (flatten the value)")
            return None
        if key in self._building:
            self._fail(node, "an alias refers to the value it is part of (remove the alias)")
            return None
        if key in self._built:
            self._aliased = True
            return self._built[key]
        if isinstance(node, ScalarNode):
            value = self._scalar(node)
        elif isinstance(node, SequenceNode):
            if node.tag != _TAG + "seq":
                self._fail(node, f"unsupported tag {_short_tag(node.tag)} (remove it)")
            self._building.add(key)
            value = [self._value(item, depth + 1) for item in node.value]
            self._building.discard(key)
        elif isinstance(node, MappingNode):
            self._building.add(key)
            value = self._mapping(node, depth)
            self._building.discard(key)
        else:  # pragma: no cover - libyaml produces only these three kinds
            value = None
        self._built[key] = value
        return value

    def _mapping(self, node: MappingNode, depth: int) -> dict[str, Any]:
        if node.tag not in (_TAG + "map",):
            self._fail(node, f"unsupported tag {_short_tag(node.tag)} (remove it)")
        out: dict[str, Any] = {}
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag != _TAG + "str":
                self._fail(key_node, "keys must be plain strings")
                continue
            if key_node.value == "<<" and not key_node.style:
                self._fail(key_node, "merge keys '<<' are not supported (write the keys out)")
                continue
            key = key_node.value
            if key in seen:
                self._fail(
                    key_node,
                    f"duplicate key '{key}' (first defined on line {seen[key]}; keep one)",
                )
                continue
            seen[key] = key_node.start_mark.line + 1
            out[key] = self._value(value_node, depth + 1)
        return out

    def _scalar(self, node: ScalarNode) -> Any:
        tag, text = node.tag, node.value
        if tag == _TAG + "str":
            return text
        if tag == _TAG + "null":
            return None
        if tag == _TAG + "bool":
            return text.lower() == "true"
        if tag == _TAG + "int":
            try:
                if text.startswith(("0o", "0x")):
                    return int(text, 0)
                return int(text, 10)
            except ValueError:
                if len(text) > 40:  # past Python's limit of digits for a conversion
                    self._fail(node, f"an integer of {len(text):,} digits is too large")
                else:
                    self._fail(node, f"{text!r} is not an integer")
                return None
        if tag == _TAG + "float":
            try:
                return float(text.replace(".inf", "inf").replace(".nan", "nan").lower())
            except ValueError:
                self._fail(node, f"{text!r} is not a number")
                return None
        self._fail(node, f"unsupported tag {_short_tag(tag)} (remove it, or quote the value)")
        return text


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


def parse_value(text: str) -> Any:
    """One value typed on the command line (`set key=value`), read as YAML 1.2 flow text."""
    if not text.strip():
        return text
    try:
        doc = load(text, "<value>")
    except SpecError:
        return text
    return doc.data


# --- writing ---------------------------------------------------------------------------------
