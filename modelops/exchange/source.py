"""The file someone hands to `import`: Open WebUI JSON, or a Modelfile as a one-record
document. JSON is read with the same bounds as a model file: no NaN or infinity (JSON has
neither; Python's reader takes them), no number too large to convert, and no nesting deeper
than `MAX_DEPTH`. A problem is placed at its line and column. Pure: the caller reads the bytes
(at most `MAX_FILE_BYTES`).
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable
from typing import Any

from modelops.errors import ModelopsError, Problem, SpecError
from modelops.exchange import modelfile
from modelops.spec.limits import MAX_DEPTH

MAX_FILE_BYTES = 64 * 1024 * 1024

# One token of JSON: a string (skipped), a number, a bare constant, or a bracket.
_TOKEN = re.compile(
    r'"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|-?Infinity|NaN|[\[\]{}]', re.S
)


class _NotJSON(ValueError):
    """A value Python's reader accepts but JSON does not have."""


def _constant(text: str) -> Any:
    raise _NotJSON(text)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotJSON(text)
    return value


def read_document(raw: bytes, shown: str, modelfile_id: str | None) -> Any:
    """The parsed JSON, or a Modelfile (whose model is `modelfile_id`) as a one-record
    document."""
    if len(raw) > MAX_FILE_BYTES:
        raise ModelopsError(f"{shown}: the file is over {MAX_FILE_BYTES // 2**20} MiB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ModelopsError(
            f"{shown}: not UTF-8 text (an Open WebUI export or a Modelfile)"
        ) from None
    if text.lstrip()[:1] in ("[", "{"):
        return load_json(text, shown)
    if modelfile_id is None:
        raise ModelopsError(
            f"{shown} is not JSON; to import it as a Modelfile, name the model with --id NAME"
        )
    try:
        parsed = modelfile.parse(text)
    except modelfile.ModelfileError as exc:
        raise SpecError([Problem(shown, exc.line, 0, "", f"Modelfile: {exc}")]) from None
    params = dict(parsed.data.get("parameters", {}))
    for key in ("system", "template"):
        if key in parsed.data:
            params[key] = parsed.data[key]
    ollama = {k: parsed.data[k] for k in ("messages", "license") if k in parsed.data}
    return {
        "id": modelfile_id,
        "name": modelfile_id,
        "base_model_id": parsed.data["base"],
        "params": params,
        "meta": {"ollama": ollama} if ollama else {},
        "_modelfile": parsed,
    }


def load_json(text: str, shown: str) -> Any:
    """The parsed document, or a SpecError that points at the first problem."""
    try:
        document = json.loads(text, parse_constant=_constant, parse_float=_finite)
    except json.JSONDecodeError as exc:
        problem = Problem(shown, exc.lineno, exc.colno, "", f"not valid JSON: {exc.msg}")
        raise SpecError([problem]) from None
    except _NotJSON as exc:
        bad = str(exc)
        raise _at(text, shown, lambda token: token == bad) from None
    except ValueError:  # an integer past Python's limit of digits for a conversion
        raise _at(text, shown, _too_long) from None
    except RecursionError:
        raise _at(text, shown, None) from None
    if _depth(document) > MAX_DEPTH:
        raise _at(text, shown, None)
    return document


def _depth(document: Any) -> int:
    """How deeply collections nest in `document` (up to MAX_DEPTH + 1), level by level,
    without recursion. Only collections are visited, and json makes exact dicts and lists,
    which `type` tells apart faster than `isinstance`: 8 ms for a thousand models, not 40."""
    depth, level = 0, [document] if type(document) in (dict, list) else []
    while level and depth <= MAX_DEPTH:
        depth += 1
        level = [
            item
            for value in level
            for item in (value.values() if type(value) is dict else value)
            if type(item) is dict or type(item) is list
        ]
    return depth


def _at(text: str, shown: str, number: Callable[[str], bool] | None) -> SpecError:
    """The problem at the first number `number` picks, or (None) where nesting passes
    MAX_DEPTH."""
    depth = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token[0] in "[{":
            depth += 1
            if number is None and depth > MAX_DEPTH:
                message = f"nested more than {MAX_DEPTH} levels deep (flatten the value)"
                return _problem(text, shown, match.start(), message)
        elif token[0] in "]}":
            depth -= 1
        elif number is not None and token[0] != '"' and number(token):
            return _problem(text, shown, match.start(), _why(token))
    return SpecError([Problem(shown, 0, 0, "", "not valid JSON")])  # pragma: no cover


def _too_long(token: str) -> bool:
    digits = token.lstrip("-")
    return digits.isdigit() and len(digits) > sys.get_int_max_str_digits()


def _why(token: str) -> str:
    if token.lstrip("-") in ("NaN", "Infinity"):
        return f"{token} is not a JSON number (JSON has no NaN or infinity)"
    if token.lstrip("-").isdigit():
        return f"an integer of {len(token.lstrip('-')):,} digits is too large"
    return f"number {token} is out of range"


def _problem(text: str, shown: str, offset: int, message: str) -> SpecError:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return SpecError([Problem(shown, line, col, "", message)])
