"""YAML in and out: the one module that parses and writes YAML.

Reading uses libyaml's C parser (PyYAML) with a YAML 1.2 core-schema resolver and a small
constructor of our own, which refuses duplicate keys, unknown tags and alias bombs and keeps
the node tree so that any key path can be traced back to a line and column. Writing uses
ruamel.yaml in round-trip mode, so an edit changes only the lines it must and comments and
key order survive.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.cyaml import CParser  # type: ignore[attr-defined]
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver

from modelops.errors import Problem, SpecError

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

    def build(self, root: Node) -> Any:
        if self._size(root) > MAX_NODES:
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
        return self._value(root)

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

    def _value(self, node: Node) -> Any:
        key = id(node)
        if key in self._built:
            return self._built[key]
        if isinstance(node, ScalarNode):
            value = self._scalar(node)
        elif isinstance(node, SequenceNode):
            if node.tag != _TAG + "seq":
                self._fail(node, f"unsupported tag {_short_tag(node.tag)} (remove it)")
            value = []
            self._built[key] = value
            value.extend(self._value(item) for item in node.value)
        elif isinstance(node, MappingNode):
            value = self._mapping(node)
        else:  # pragma: no cover - libyaml produces only these three kinds
            value = None
        self._built[key] = value
        return value

    def _mapping(self, node: MappingNode) -> dict[str, Any]:
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
            out[key] = self._value(value_node)
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

SCHEMA_MODELINE = "# yaml-language-server: $schema=../model.schema.json"


def _rt() -> Any:
    from ruamel.yaml import YAML

    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096  # never fold a long line: folding would touch lines an edit did not change
    return rt


def rt_load(text: str) -> Any:
    """Round-trip load: a CommentedMap that remembers comments, order, quoting and style."""
    rt = _rt()
    data = rt.load(text)
    data._modelops_indent = guess_indent(text)
    return data


def guess_indent(text: str) -> tuple[int, int]:
    """The file's mapping indent and block-sequence offset, so a rewrite keeps its layout."""
    mapping = offset = None
    opener: int | None = None  # indent of the last line that opened a block ("key:")
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if opener is not None and indent >= opener:
            if stripped.startswith("- ") or stripped == "-":
                offset = indent - opener if offset is None else offset
            elif mapping is None and indent > opener:
                mapping = indent - opener
        opener = indent if stripped.endswith(":") else None
        if mapping is not None and offset is not None:
            break
    return (mapping or 2, 2 if offset is None else offset)


def rt_dump(data: Any) -> str:
    rt = _rt()
    indent, offset = getattr(data, "_modelops_indent", (2, 2))
    rt.indent(mapping=indent, sequence=offset + 2, offset=offset)
    out = io.StringIO()
    rt.dump(data, out)
    return out.getvalue()


def rt_set(
    doc: Any, loc: Sequence[str | int], value: Any, order: Callable[[Loc], Sequence[str]]
) -> None:
    """Set the value at `loc`, creating mappings on the way (lists are indexed by position).
    A new key goes where `order` puts it among its siblings, not at the end."""
    from ruamel.yaml.comments import CommentedMap

    node = doc
    for depth, part in enumerate(loc):
        last = depth == len(loc) - 1
        if isinstance(node, list):
            index = int(part)
            if index == len(node) and last:
                node.append(value)
            elif last:
                node[index] = value
            node = node[index]
            continue
        if part not in node:
            _insert(node, part, value if last else CommentedMap(), order(tuple(loc[:depth])))
        elif last:
            node[part] = value
        elif not isinstance(node[part], dict | list):
            node[part] = CommentedMap()
        node = node[part]


def _insert(mapping: Any, key: str | int, value: Any, wanted: Sequence[str]) -> None:
    rank = {k: i for i, k in enumerate(wanted)}
    mine = rank.get(str(key), len(rank))
    position = len(mapping)
    for i, existing in enumerate(mapping):
        if rank.get(existing, len(rank)) > mine:
            position = i
            break
    mapping.insert(position, key, value)


def rt_delete(doc: Any, loc: Sequence[str | int]) -> bool:
    """Remove the key at `loc` (and mappings left empty by it); False when it was not there."""
    parents: list[tuple[Any, str | int]] = []
    node = doc
    for part in loc:
        found = (isinstance(node, list) and isinstance(part, int) and part < len(node)) or (
            isinstance(node, dict) and part in node
        )
        if not found:
            return False
        parents.append((node, part))
        node = node[part]
    while parents:
        parent, part = parents.pop()
        del parent[part]
        if parent or not parents or parent is doc:
            break
    return True


def walk(value: Any, loc: Loc = ()) -> Iterator[tuple[Loc, Any]]:
    """Every (key path, value) pair, depth first."""
    yield loc, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, (*loc, index))


FlowRule = Callable[[Loc], bool]
FLOW_WIDTH = 72


def to_commented(value: Any, flow: FlowRule, loc: Loc = ()) -> Any:
    """Plain data as ruamel nodes in canonical style: block mappings, short scalar lists in
    flow style, multi-line strings as literal blocks."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import LiteralScalarString

    if isinstance(value, dict):
        out = CommentedMap()
        for key, item in value.items():
            out[key] = to_commented(item, flow, (*loc, key))
        if flow(loc):
            out.fa.set_flow_style()
        return out
    if isinstance(value, list):
        seq = CommentedSeq(to_commented(item, flow, (*loc, i)) for i, item in enumerate(value))
        scalars = all(not isinstance(item, dict | list) for item in value)
        if scalars and len(repr(value)) <= FLOW_WIDTH:
            seq.fa.set_flow_style()
        return seq
    if isinstance(value, str) and "\n" in value:
        return LiteralScalarString(value)
    return value


def restyle(doc: Any, order: Callable[[Loc], Sequence[str]], flow: FlowRule, loc: Loc = ()) -> Any:
    """Put a round-trip document into canonical key order and style; comments stay with their
    keys. Returns the (possibly replaced) node."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import LiteralScalarString

    if isinstance(doc, CommentedMap):
        wanted = list(order(loc))
        rank = {key: i for i, key in enumerate(wanted)}
        keys = sorted(doc, key=lambda k: rank.get(k, len(rank)))
        if wanted and keys != list(doc):
            for key in keys:
                doc.move_to_end(key)
        for key in list(doc):
            doc[key] = restyle(doc[key], order, flow, (*loc, key))
        if flow(loc):
            doc.fa.set_flow_style()
        elif loc:
            doc.fa.set_block_style()
        return doc
    if isinstance(doc, CommentedSeq):
        for i, item in enumerate(doc):
            doc[i] = restyle(item, order, flow, (*loc, i))
        scalars = all(not isinstance(item, dict | list) for item in doc)
        if scalars and len(repr(list(doc))) <= FLOW_WIDTH:
            doc.fa.set_flow_style()
        else:
            doc.fa.set_block_style()
        return doc
    if isinstance(doc, str) and "\n" in doc and not isinstance(doc, LiteralScalarString):
        return LiteralScalarString(doc)
    return doc


def dump_canonical(doc: Any, header: str | None = None) -> str:
    """Dump with the canonical indentation (2 for mappings, lists indented under their key)."""
    rt = _rt()
    rt.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    rt.dump(doc, out)
    text = out.getvalue()
    if header and not text.startswith(header):
        text = f"{header}\n{text}"
    return text
