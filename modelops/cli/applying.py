"""What plan and apply do around a plan for CI and for people at a terminal: narrow it to some
models (--model), refuse a mass delete (--max-deletes), ask before changing anything on an
interactive terminal (unless --yes), and save a plan to apply later exactly (plan --out FILE,
apply FILE)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import click

from modelops.cli.common import scrubber
from modelops.errors import MASK, ConflictError, ModelopsError, NotFoundError, UsageError
from modelops.reconcile import guard, planfile
from modelops.reconcile.plan import Plan
from modelops.reconcile.planfile import SavedPlan
from modelops.reconcile.session import Session
from modelops.registry.store import Registry

max_deletes_option = click.option(
    "--max-deletes",
    type=click.IntRange(min=0),
    default=guard.DEFAULT_MAX_DELETES,
    show_default=True,
    metavar="N",
    help="Refuse to delete or replace (rebuild on another base) more than N models.",
)
force_option = click.option(
    "--force",
    is_flag=True,
    help="Apply past --max-deletes, and over models changed in Open WebUI since the plan.",
)
yes_option = click.option(
    "--yes", "-y", is_flag=True, help="Do not ask for confirmation on a terminal."
)
model_option = click.option(
    "--model",
    "models",
    multiple=True,
    metavar="ID",
    help="Only this registry model and the models built on it (repeatable).",
)
target_option = click.option(
    "--target",
    "target_flag",
    metavar="TARGET",
    help="The target, as an option (the same as the TARGET argument).",
)

PLAN_LIMIT = 64 * 1024 * 1024  # a saved plan of thousands of models is a few MiB


def one_target(argument: str | None, flag: str | None) -> str | None:
    if argument and flag and argument != flag:
        raise UsageError(f"two targets given ('{argument}' and --target '{flag}'); name one")
    return flag or argument


def is_plan_file(argument: str | None) -> bool:
    """A saved plan is named by its file; a target name holds no '.' or '/'."""
    return bool(argument) and ("." in str(argument) or "/" in str(argument))


def narrow(s: Session, models: tuple[str, ...]) -> None:
    """Keep the part of the session's plan that is about `models`."""
    if not models:
        return
    known = set(s.desired) | s.registry.ids_in_history()
    unknown = [m for m in models if m not in known]
    if unknown:
        raise NotFoundError(
            f"--model {unknown[0]}: no such model in the registry or its history "
            "(see 'modelops list')"
        )
    s.plan = guard.select(s.plan, models)


def confirm(plan: Plan, yes: bool) -> None:
    """On an interactive terminal, say what will be downloaded and ask; elsewhere, go on."""
    if yes or not plan.pending or not sys.stdin.isatty():
        return
    pulls = sorted({c.name for c in plan.changes if c.action == "pull" and c.enabled})
    if pulls:
        click.echo(
            f"This downloads {len(pulls)} model(s) onto the target's hosts: "
            f"{', '.join(pulls)}. Their sizes show as each pull starts (often gigabytes).",
            err=True,
        )
    if not click.confirm(f"Apply these changes to {plan.target}?", default=False, err=True):
        raise ModelopsError("apply cancelled: nothing was changed")


def write_plan(path: str, saved: SavedPlan) -> None:
    from modelops.registry.files import write_atomic

    try:  # secrets in host URLs are masked; apply finds the hosts again in the configuration
        write_atomic(Path(path), scrubber()(planfile.dumps(saved)).encode())
    except OSError as exc:
        raise ModelopsError(f"cannot write the plan to {path}: {exc.strerror}") from None


def read_plan(path: str, registry: Registry) -> SavedPlan:
    """A saved plan; hosts (and an Open WebUI) whose credentials were masked when it was
    written are found again among the target's as the registry configures them now."""
    from modelops.registry.files import Unreadable, read_limited

    try:
        text = read_limited(Path(path), PLAN_LIMIT).decode("utf-8")
    except Unreadable as exc:
        raise NotFoundError(f"cannot read the plan: {path} {exc}") from None
    except UnicodeDecodeError:
        raise ModelopsError(f"cannot read the plan {path}: it is not text") from None
    saved = planfile.loads(text, path)
    if not any(MASK in url for url in _urls(saved)):
        return saved  # (a "***" elsewhere, in a prompt say, is the registry's own text)
    from modelops.reconcile import session
    from modelops.spec.config import OpenWebUITargetConfig

    config = registry.load(saved.rev).config
    chosen, found = session.choose(config, session.Selection(saved.target.name))
    name: str | None = chosen
    urls: list[str] = []
    if isinstance(found, OpenWebUITargetConfig):
        urls.append(found.url.rstrip("/"))
        name = found.ollama  # the hosts are those of the Ollama target it wraps, if any
    if name is not None and saved.target.hosts:
        wanted = session.Selection(name, env_host=os.environ.get("OLLAMA_HOST"))
        urls += session.resolve_target(config, wanted).hosts
    scrub = scrubber()
    for url in urls:
        text = text.replace(json.dumps(scrub(url))[1:-1], json.dumps(url)[1:-1])
    saved = planfile.loads(text, path)
    masked = [url for url in _urls(saved) if MASK in url]
    if masked:
        raise ConflictError(
            f"{path}: {', '.join(masked)} is no longer a host of target '{saved.target.name}' "
            "(make a new plan with 'plan --out')"
        )
    return saved


def _urls(saved: SavedPlan) -> list[str]:
    web = saved.target.webui
    return [*saved.target.hosts, *([web.url] if web else [])]


def refuse_with_saved_plan(given: Mapping[str, object]) -> None:
    """Options that choose what to plan mean nothing to a plan that is already made."""
    for option, value in given.items():
        if value:
            raise UsageError(f"{option} does not go with a saved plan, which holds its target")
