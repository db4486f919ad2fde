"""Writing a new file's plain data as YAML, in the canonical layout, without ruamel.yaml.

ruamel.yaml spends ~2.6 ms emitting one model file; creating a file needs none of its round-trip
machinery, so plain data is written here directly, line by line, in the layout that
`modelops.spec.yamledit` gives files it edits (an import of 1,000 models spent most of its time
in ruamel's emitter). The property tests hold the output to reading back as the data and to
being left alone by `modelops fmt`.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from typing import Any

Loc = tuple[str | int, ...]
FlowRule = Callable[[Loc], bool]  # which mappings are written on one line
FLOW_WIDTH = 72  # lists of scalars up to this long are written on one line


_NOT_PLAIN_START = set("-?:,[]{}#&*!|>'\"%@`+.0123456789 ~")
_RESERVED = re.compile(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
    r"|null|Null|NULL|~|\.inf|\.Inf|\.INF|\.nan|\.NaN|\.NAN|<<|=)$"
)
_FLOW_CHARS = set(",[]{}")


def literal_ok(text: str) -> bool:
    """Multi-line text that a `|` block can hold as it is."""
    return "\n" in text and bool(text.strip("\n")) and _printable(text.replace("\n", ""))


def _printable(text: str) -> bool:
    """Characters YAML writes as they are (a tab is not one: it needs double quotes)."""
    if text.isascii():  # most text: the full class costs 10 ms to compile, this one nothing
        return _NOT_PRINTABLE_ASCII.search(text) is None
    return _not_printable().search(text) is None


_NOT_PRINTABLE_ASCII = re.compile("[^\x20-\x7e]")


@functools.cache
def _not_printable() -> re.Pattern[str]:
    """Characters YAML writes as they are: printable ASCII, U+00A0-U+D7FF, U+E000-U+FFFD but
    the byte-order mark, and U+10000-U+10FFFE. One character class, so a search runs in C;
    compiled when first needed, as it takes re 10 ms (a table of the first 65,536 code points)."""
    return re.compile("[^\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010fffe]")


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
    if not literal_ok(text):
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
