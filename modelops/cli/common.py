"""Options and helpers shared by the commands."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from modelops.errors import UsageError
from modelops.registry.store import Registry, discover

F = TypeVar("F", bound=Callable[..., Any])

registry_option = click.option(
    "--registry",
    "registry_dir",
    metavar="DIR",
    help="The registry folder (default: MODELOPS_REGISTRY, the nearest folder with "
    "modelops.yaml, or ./registry).",
)
rev_option = click.option("--rev", metavar="REV", help="Read the registry as of this git revision.")
work_tree_option = click.option(
    "--work-tree",
    is_flag=True,
    help="Deploy the files as saved, uncommitted changes included (default: HEAD).",
)


def output_option(*choices: str) -> Callable[[F], F]:
    return click.option(
        "--output",
        "-o",
        "output",
        type=click.Choice(["text", *choices]),
        default="text",
        show_default=True,
        help="Output format.",
    )


def lock_timeout() -> float:
    """Seconds to wait for another operation's lock (MODELOPS_LOCK_TIMEOUT, default 60)."""
    try:
        return float(os.environ.get("MODELOPS_LOCK_TIMEOUT", "60"))
    except ValueError:
        raise UsageError("MODELOPS_LOCK_TIMEOUT must be a number of seconds") from None


def open_registry(registry_dir: str | None) -> Registry:
    cwd = Path.cwd()
    root = discover(registry_dir, os.environ.get("MODELOPS_REGISTRY"), cwd)
    return Registry(root, cwd)
