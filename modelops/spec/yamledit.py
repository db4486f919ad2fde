"""Writing YAML: the only user of ruamel.yaml.

Round-trip mode, so an edit changes only the lines it must and comments, key order, quoting
and indentation survive; and the canonical layout for `modelops fmt`. New files are written
without ruamel, in the same layout, by `modelops.spec.emit`.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

from modelops.spec.emit import FLOW_WIDTH, FlowRule, Loc, literal_ok

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
    if isinstance(value, str) and literal_ok(value):
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
    if isinstance(doc, str) and literal_ok(doc) and not isinstance(doc, LiteralScalarString):
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
