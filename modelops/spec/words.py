"""How values are named in messages: a YAML value by its type, a number without a page of
digits. Pure, and free of pydantic (a plan from the validated-file cache imports this)."""

from __future__ import annotations


def number_text(value: float) -> str:
    """A number as written, or its count of digits when it is long: never a page of digits."""
    if isinstance(value, int) and value.bit_length() > 128:
        return f"a number of {len(str(abs(value)))} digits"
    return str(value)


def describe(value: object) -> str:
    """A short description of a value's YAML type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int | float):
        text = number_text(value)
        return text if text.startswith("a ") else f"number {text}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"string {shown!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
