"""Options and helpers shared by the commands."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from modelops.errors import ModelopsError, Scrubber
from modelops.registry.store import Registry, discover
from modelops.spec.config import CONFIG_FILE

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
    text = os.environ.get("MODELOPS_LOCK_TIMEOUT", "60")
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise ModelopsError(
            f"MODELOPS_LOCK_TIMEOUT must be a number of seconds, 0 or more, got {text!r} "
            "(unset it to wait 60 s)"
        )
    return seconds


def open_registry(registry_dir: str | None) -> Registry:
    cwd = Path.cwd()
    root = discover(registry_dir, os.environ.get("MODELOPS_REGISTRY"), cwd)
    _learn_key_names(root)
    return Registry(root, cwd)


def scrubber() -> Scrubber:
    """The scrubber of this run (main makes it), or one from the environment."""
    context = click.get_current_context(silent=True)
    found = context.find_root().obj if context else None
    return found if isinstance(found, Scrubber) else Scrubber.from_environment(os.environ)


def _learn_key_names(root: Path) -> None:
    """The variables modelops.yaml names as holding API keys hold secrets, whatever their
    names: their values are scrubbed too."""
    config = root / CONFIG_FILE
    try:
        text = config.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    scrub = scrubber()
    for name in re.findall(r"api_key_env\s*:\s*['\"]?([A-Za-z_][A-Za-z0-9_]*)", text):
        scrub.add(os.environ.get(name))
