"""Go's formatting rules, as the Ollama server applies them to what it stores and shows.

Ollama is written in Go, so its text follows Go's fmt, strconv and encoding/json conventions.
The test server reproduces them byte for byte: digests are hashes of Go-encoded JSON, and
/api/show prints parameters with Go's %#v (reference/ollama-api.md §4 and §7).
"""

import json
import math
import time
from decimal import Decimal
from typing import Any

_GO_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    '"': '\\"',
    "\\": "\\\\",
}

# encoding/json escapes these even inside strings, so that JSON can be embedded in HTML.
_GO_JSON_HTML_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}
_GO_JSON_LINE_ESCAPES = {"\u2028": "\\u2028", "\u2029": "\\u2029"}


def _shortest_digits(value: float) -> tuple[str, int]:
    """The shortest decimal digits that round-trip `value` (> 0), and the decimal point position.

    Python's repr and Go's strconv both pick the shortest round-tripping digits, so they agree.
    The point position is where the decimal point sits within the digits: 0.25 -> ("25", 0).
    """
    _, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(str(d) for d in digit_tuple)
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    return stripped, len(stripped) + exponent


def _format_exponent(digits: str, point: int, min_exponent_digits: int) -> str:
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    exponent = point - 1
    sign = "-" if exponent < 0 else "+"
    return f"{mantissa}e{sign}{abs(exponent):0{min_exponent_digits}d}"


def _format_fixed(digits: str, point: int) -> str:
    if point <= 0:
        return "0." + "0" * -point + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits))
    return digits[:point] + "." + digits[point:]


def _special_float(value: float) -> str | None:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    return None


def go_float(value: float) -> str:
    """Go's %v (and %#v) of a float64: strconv 'g' with the shortest precision.

    Exponent form is used when the exponent is below -4 or at least 6 (shortest %g uses a
    precision of 6 for that decision), so 1234567 prints as 1.234567e+06 and 0.00001 as 1e-05.
    """
    special = _special_float(value)
    if special is not None:
        return special
    digits, point = _shortest_digits(abs(value))
    sign = "-" if value < 0 else ""
    exponent = point - 1
    if exponent < -4 or exponent >= 6:
        return sign + _format_exponent(digits, point, 2)
    return sign + _format_fixed(digits, point)


def go_quote(text: str) -> str:
    """Go's strconv.Quote: printable Unicode is kept, everything else is escaped."""
    parts = ['"']
    for char in text:
        code = ord(char)
        if char in _GO_ESCAPES:
            parts.append(_GO_ESCAPES[char])
        elif char.isprintable():
            parts.append(char)
        elif code < 0x20 or code == 0x7F:
            parts.append(f"\\x{code:02x}")
        elif code < 0x10000:
            parts.append(f"\\u{code:04x}")
        else:
            parts.append(f"\\U{code:08x}")
    parts.append('"')
    return "".join(parts)


def go_sharp_v(value: Any) -> str:
    """Go's %#v of a value decoded from JSON into `any` (numbers are float64)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return go_float(float(value))
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, list | tuple):
        return "[]interface {}{" + ", ".join(go_sharp_v(item) for item in value) + "}"
    if isinstance(value, dict):
        items = (f"{go_quote(key)}:{go_sharp_v(value[key])}" for key in sorted(value))
        return "map[string]interface {}{" + ", ".join(items) + "}"
    raise TypeError(f"no Go representation for {type(value).__name__}")


def go_v(value: Any) -> str:
    """Go's %v of a value decoded from JSON: strings are printed raw."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_v(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{key}:{go_v(value[key])}" for key in sorted(value)) + "]"
    return go_sharp_v(value)


def _go_json_float(value: float) -> str:
    special = _special_float(value)
    if special is not None:
        if special in {"0", "-0"}:
            return special
        raise ValueError(f"json: unsupported value: {special}")
    digits, point = _shortest_digits(abs(value))
    sign = "-" if value < 0 else ""
    if abs(value) < 1e-6 or abs(value) >= 1e21:
        return sign + _format_exponent(digits, point, 1)
    return sign + _format_fixed(digits, point)


def _go_json_string(text: str) -> str:
    encoded = json.dumps(text, ensure_ascii=False)
    for char, escape in (_GO_JSON_HTML_ESCAPES | _GO_JSON_LINE_ESCAPES).items():
        encoded = encoded.replace(char, escape)
    return encoded


def go_json(value: Any, *, sort_keys: bool) -> str:
    """Compact JSON as Go's encoding/json writes it for a value of the same shape.

    Numbers are float64 (1.0 -> 1), strings HTML-escaped. `sort_keys` is True for Go maps
    (encoded in key order) and False for Go structs (encoded in field order, i.e. dict order).
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _go_json_float(float(value))
    if isinstance(value, str):
        return _go_json_string(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(go_json(item, sort_keys=sort_keys) for item in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value) if sort_keys else list(value)
        items = (f"{_go_json_string(k)}:{go_json(value[k], sort_keys=sort_keys)}" for k in keys)
        return "{" + ",".join(items) + "}"
    raise TypeError(f"no JSON encoding for {type(value).__name__}")


def rfc3339_nano(epoch_ns: int) -> str:
    """Go's time.RFC3339Nano in UTC: trailing zeros of the fraction are dropped."""
    seconds, nanos = divmod(epoch_ns, 1_000_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    return text + "Z"
