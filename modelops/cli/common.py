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
from modelops.spec.paths import CONFIG_FILE

F = TypeVar("F", bound=Callable[..., Any])

_NO_CACHE = "modelops.no_cache"


def _no_cache(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[_NO_CACHE] = True


def registry_option(command: F) -> F:
    """`--registry DIR`, and `--no-cache` beside it: every command that reads a registry takes
    both."""
    command = click.option(
        "--no-cache",
        is_flag=True,
        expose_value=False,
        callback=_no_cache,
        help="Check every file afresh, without the cache of validated files in .git/modelops/ "
        "(or set MODELOPS_NO_CACHE=1).",
    )(command)
    return click.option(
        "--registry",
        "registry_dir",
        metavar="DIR",
        help="The registry folder (default: MODELOPS_REGISTRY, the nearest folder with "
        "modelops.yaml, or ./registry).",
    )(command)


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
    return Registry(root, cwd, cache=not _cache_refused())


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


def _cache_refused() -> bool:
    """--no-cache on the command, or MODELOPS_NO_CACHE set to anything but 0 or nothing."""
    context = click.get_current_context(silent=True)
    if context is not None and context.meta.get(_NO_CACHE):
        return True
    return os.environ.get("MODELOPS_NO_CACHE", "") not in ("", "0")
