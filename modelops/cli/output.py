"""Output helpers: aligned plain tables for pipes, rich tables on a terminal, JSON for machines."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import click


def is_tty(stream: TextIO) -> bool:
    return stream.isatty()


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], stream: TextIO | None = None
) -> None:
    out: TextIO = stream if stream is not None else sys.stdout
    if is_tty(out):
        from rich.console import Console
        from rich.table import Table

        grid = Table(box=None, header_style="bold", pad_edge=False)
        for header in headers:
            grid.add_column(header, overflow="fold")
        for row in rows:
            grid.add_row(*row)
        Console(file=out).print(grid)
        return
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    for line in [headers, *rows]:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(line)]
        out.write("  ".join(cells).rstrip() + "\n")


def emit_json(value: Any, stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    out.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def say(message: str) -> None:
    """A result line for the user, on stdout."""
    click.echo(message)


def note(message: str) -> None:
    """A side remark, on stderr so that stdout stays the requested output."""
    click.echo(f"note: {message}", err=True)
