"""Writing YAML: the only user of ruamel.yaml.

Round-trip mode, so an edit changes only the lines it must and comments, key order, quoting
and indentation survive; and the canonical layout for new files and `modelops fmt`.
"""

from __future__ import annotations

import functools
import io
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

Loc = tuple[str | int, ...]

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
        if not isinstance(node, dict):
            raise ValueError(f"{part!r} is below a value that holds no keys")
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
    if isinstance(value, str) and _literal_ok(value):
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
    if isinstance(doc, str) and _literal_ok(doc) and not isinstance(doc, LiteralScalarString):
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


# --- a fast emitter for new files --------------------------------------------------------------
# ruamel.yaml spends ~2.6 ms emitting one model file; creating a file needs none of its
# round-trip machinery, so plain data is written here directly, in the same canonical layout
# (an import of 1,000 models spent most of its time in ruamel's emitter).

_NOT_PLAIN_START = set("-?:,[]{}#&*!|>'\"%@`+.0123456789 ~")
_RESERVED = re.compile(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
    r"|null|Null|NULL|~|\.inf|\.Inf|\.INF|\.nan|\.NaN|\.NAN|<<|=)$"
)
_FLOW_CHARS = set(",[]{}")


def _literal_ok(text: str) -> bool:
    """Multi-line text that a `|` block can hold as it is."""
    return "\n" in text and bool(text.strip("\n")) and _printable(text.replace("\n", ""))


def _printable(text: str) -> bool:
    """Characters YAML writes as they are (a tab is not one: it needs double quotes)."""
    return _NOT_PRINTABLE.search(text) is None


# Characters YAML writes as they are: printable ASCII, U+00A0-U+D7FF, U+E000-U+FFFD but the
# byte-order mark, and U+10000-U+10FFFE. One character class, so a search runs in C.
_NOT_PRINTABLE = re.compile(
    "[^\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010fffe]"
)


def _plain(text: str, flow: bool) -> bool:
    return (
        bool(text)
        and text == text.strip()
        and text[0] not in _NOT_PLAIN_START
        and not _RESERVED.match(text)
        and ": " not in text
        and " #" not in text
        and not text.endswith(":")
        and "\t" not in text
        and _printable(text)
        and not (flow and _FLOW_CHARS.intersection(text))
    )


def _scalar(value: Any, flow: bool = False) -> str:
    if type(value) is str:  # most scalars, and every key
        return _string(value, flow)
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    return _string(str(value), flow)


@functools.lru_cache(maxsize=4096)
def _string(text: str, flow: bool) -> str:
    """A string scalar (remembered: keys and many values recur from file to file)."""
    if _plain(text, flow):
        return text
    if "\n" not in text and _printable(text):
        return "'" + text.replace("'", "''") + "'"
    return _double(text)


_ESCAPES = {
    "\0": "0", "\x07": "a", "\x08": "b", "\t": "t", "\n": "n", "\x0b": "v", "\x0c": "f",
    "\r": "r", "\x1b": "e", '"': '"', "\\": "\\", "\x85": "N", "\u2028": "L", "\u2029": "P",
}  # fmt: skip


def _double_raw(ch: str) -> bool:
    """What a double-quoted scalar holds unescaped (ruamel's rule, which differs from the one
    for plain scalars at U+10FFFF)."""
    return ch not in '"\\\x85\u2028\u2029\ufeff' and (
        " " <= ch <= "~"
        or "\xa0" <= ch <= "\ud7ff"
        or "\ue000" <= ch <= "\ufffd"
        or "\U00010000" <= ch <= "\U0010ffff"
    )


def _double(text: str) -> str:
    """A double-quoted scalar, escaped the way ruamel.yaml escapes, so `fmt` leaves it be."""
    out = []
    for ch in text:
        if _double_raw(ch):
            out.append(ch)
        elif ch in _ESCAPES:
            out.append("\\" + _ESCAPES[ch])
        elif ch <= "\xff":
            out.append(f"\\x{ord(ch):02X}")
        elif ch <= "\uffff":
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(f"\\U{ord(ch):08X}")
    return '"' + "".join(out) + '"'


def _literal(text: str, indent: int) -> list[str] | None:
    """A `|` block for multi-line text, or None when the text needs escapes."""
    if not _literal_ok(text):
        return None
    body = text.rstrip("\n")
    trailing = len(text) - len(body)
    chomp = "-" if trailing == 0 else ("" if trailing == 1 else "+")
    hint = str(2) if body[:1] in (" ", "\t") or body.startswith("\n") else ""
    pad = " " * (indent + 2)
    lines = [f"|{hint}{chomp}"]
    lines += [f"{pad}{line}" if line else "" for line in body.split("\n")]
    lines += [""] * (trailing - 1 if trailing > 1 else 0)
    return lines


def _flow_list(value: list[Any]) -> str:
    return "[" + ", ".join(_scalar(v, flow=True) for v in value) + "]"


def _flow_map(value: dict[str, Any]) -> str:
    parts = []
    for key, item in value.items():
        shown = _flow_list(item) if isinstance(item, list) else _scalar(item, flow=True)
        parts.append(f"{_scalar(key, flow=True)}: {shown}")
    return "{" + ", ".join(parts) + "}"


def _scalars(value: list[Any]) -> bool:
    return all(not isinstance(v, dict | list) for v in value)


def _inline(value: Any, loc: Loc, flow: FlowRule) -> str | None:
    """The value written on its key's line, or None when it takes lines of its own."""
    if isinstance(value, dict):
        if not value:
            return "{}"
        if flow(loc) and all(
            not isinstance(v, dict) and (not isinstance(v, list) or _scalars(v))
            for v in value.values()
        ):
            return _flow_map(value)
        return None
    if isinstance(value, list):
        if not value:
            return "[]"
        if _scalars(value) and len(repr(value)) <= FLOW_WIDTH:
            return _flow_list(value)
        return None
    if isinstance(value, str) and "\n" in value:
        return None
    return _scalar(value)


def _mapping(data: dict[str, Any], loc: Loc, flow: FlowRule, indent: int) -> list[str]:
    pad = " " * indent
    lines = []
    for key, value in data.items():
        head = f"{pad}{_scalar(key)}:"
        if type(value) is str and "\n" not in value:  # most values: what _entry would write
            lines.append(f"{head} {_string(value, False)}")
        else:
            lines += _entry(head, value, (*loc, key), flow, indent)
    return lines


def _entry(head: str, value: Any, loc: Loc, flow: FlowRule, indent: int) -> list[str]:
    inline = _inline(value, loc, flow)
    if inline is not None:
        return [f"{head} {inline}"]
    if isinstance(value, str):
        block = _literal(value, indent)
        if block is None:
            return [f"{head} {_double(value)}"]
        return [f"{head} {block[0]}", *block[1:]]
    if isinstance(value, dict):
        return [head, *_mapping(value, loc, flow, indent + 2)]
    return [head, *_sequence(value, loc, flow, indent + 2)]


def _sequence(items: list[Any], loc: Loc, flow: FlowRule, indent: int) -> list[str]:
    pad = " " * indent
    lines = []
    for i, item in enumerate(items):
        here = (*loc, i)
        if isinstance(item, dict) and item:
            inner = _mapping(item, here, flow, indent + 2)
            lines.append(f"{pad}- {inner[0].lstrip()}")
            lines += inner[1:]
        else:
            lines += _entry(f"{pad}-", item, here, flow, indent)
    return lines


def emit(data: dict[str, Any], flow: FlowRule, header: str | None = None) -> str:
    """Plain data in the canonical layout, as `to_commented` and `dump_canonical` write it."""
    lines = ([header] if header else []) + _mapping(data, (), flow, 0)
    return "\n".join(lines) + "\n"
