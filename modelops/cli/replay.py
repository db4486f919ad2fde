"""replay and chat: conversations played against models."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from modelops.cli.common import output_option, scrubber
from modelops.cli.output import note
from modelops.errors import Exit, ModelopsError, NotFoundError, UsageError

ollama_host_option = click.option(
    "--ollama-host",
    metavar="URL",
    help="The Ollama that Ollama and registry models run on (default: the registry's target, "
    "then OLLAMA_HOST, then 127.0.0.1:11434).",
)
openai_option = click.option(
    "--openai-url",
    metavar="URL",
    envvar="OPENAI_BASE_URL",
    help="The OpenAI-compatible endpoint for openai:NAME models (key: OPENAI_API_KEY).",
)
openwebui_option = click.option(
    "--openwebui-url",
    metavar="URL",
    envvar="OPENWEBUI_URL",
    help="The Open WebUI for openwebui:ID models (key: OPENWEBUI_API_KEY).",
)
registry_dir_option = click.option(
    "--registry",
    "registry_dir",
    metavar="DIR",
    help="The registry for registry models (found as for other commands).",
)


def make_resolver(
    registry_dir: str | None,
    ollama_host: str | None,
    openai_url: str | None,
    openwebui_url: str | None,
) -> Any:
    """The model resolver replay, chat and review share: registry models from the registry,
    Ollama models from the given host, else the registry's target, else OLLAMA_HOST."""
    from modelops.cli.common import open_registry
    from modelops.reconcile.session import Selection, resolve_target
    from modelops.registry.store import Registry
    from modelops.replay.resolve import Endpoints, Resolver
    from modelops.spec.urls import url_problem
    from modelops.targets.ollama import OllamaHost

    registry: Registry | None = None
    try:
        registry = open_registry(registry_dir)
    except NotFoundError:  # no registry: only Ollama and endpoint models, then
        if registry_dir:
            raise
    config = registry.load().config if registry else None
    wanted = Selection(
        hosts=(ollama_host,) if ollama_host else (), env_host=os.environ.get("OLLAMA_HOST")
    )
    target = resolve_target(config, wanted)
    hosts: list[OllamaHost] = []

    def ollama() -> OllamaHost:
        if not hosts:
            hosts.append(OllamaHost(target.hosts[0], timeout=max(target.timeout, 300.0)))
        return hosts[0]

    for flag, env, url in (
        ("--openai-url", "OPENAI_BASE_URL", openai_url),
        ("--openwebui-url", "OPENWEBUI_URL", openwebui_url),
    ):
        if url is not None and (why := url_problem(url)):
            raise UsageError(f"{flag} (or {env}): {why}")
    endpoints = Endpoints(
        ollama,
        openai_url,
        os.environ.get("OPENAI_API_KEY"),
        openwebui_url,
        os.environ.get("OPENWEBUI_API_KEY"),
    )
    return Resolver(registry, endpoints)


@click.command()
@click.argument("source", metavar="FILE", type=click.Path(dir_okay=False))
@click.option(
    "--models",
    "-m",
    "models",
    metavar="A,B,...",
    help="Models to compare (forms: see above).",
)
@click.option("--seed", type=int, help="A seed for every answer (overrides the file's defaults).")
@click.option(
    "--markdown",
    "markdown_path",
    type=click.Path(dir_okay=False),
    help="Also write the Markdown report here.",
)
@click.option(
    "--html", "html_path", type=click.Path(dir_okay=False), help="Also write the HTML report here."
)
@click.option(
    "--json", "json_path", type=click.Path(dir_okay=False), help="Also write the JSON report here."
)
@registry_dir_option
@ollama_host_option
@openai_option
@openwebui_option
@output_option("markdown", "json")
def replay(
    source: str,
    models: str | None,
    seed: int | None,
    markdown_path: str | None,
    html_path: str | None,
    json_path: str | None,
    registry_dir: str | None,
    ollama_host: str | None,
    openai_url: str | None,
    openwebui_url: str | None,
    output: str,
) -> int:
    """Play a conversation file against models and report answers, latency and tokens.

    Without pins in the file, each model answers every turn with its own context (compare
    mode), all at once. With turns pinned to models, one shared context goes from model to
    model (switch mode). Models: NAME (an Ollama model), ID or ID@REV (a registry model,
    applied on the client side), ollama:NAME, openai:NAME, openwebui:ID. A failed
    expectation exits 3.
    """
    import json

    from modelops.replay import report, runner
    from modelops.replay import source as conversation_file

    path = Path(source)
    conversation, images = conversation_file.load(path, source)
    wanted = [m.strip() for m in (models or "").split(",") if m.strip()]
    if wanted and conversation.pinned:
        raise ModelopsError(
            f"{source} pins its turns to models (switch mode); --models only picks the models "
            "for a conversation without pins"
        )
    resolver = make_resolver(registry_dir, ollama_host, openai_url, openwebui_url)
    names = runner.models_for(conversation, wanted)
    providers = {name: resolver.resolve(name) for name in names}
    for line in resolver.notes:
        note(line)
    options = dict(conversation.defaults or {})
    if seed is not None:
        options["seed"] = seed
    play = runner.switch if conversation.pinned else runner.compare
    run = play(conversation, images, providers, options, source, _progress(len(conversation.turns)))
    rendered: dict[str, Callable[[], str]] = {
        "markdown": lambda: report.markdown(run),
        "json": lambda: json.dumps(run.as_json(), indent=2, ensure_ascii=False) + "\n",
        "html": lambda: _html(run),
        "text": lambda: report.text(run),
    }
    for target, kind in ((markdown_path, "markdown"), (html_path, "html"), (json_path, "json")):
        if target:
            Path(target).write_text(scrubber()(rendered[kind]()), encoding="utf-8")
    click.echo(rendered[output](), nl=False)
    if run.errors:
        return Exit.FAILURE
    return Exit.EXPECTATION if run.failed_checks else Exit.OK


def _html(run: Any) -> str:
    from modelops.replay import html

    return html.render(run)


def _progress(turns: int) -> Callable[[Any], None]:
    def show(answer: Any) -> None:
        if answer.error:
            state = f"error: {answer.error}"
        else:
            marks = "" if not answer.checks else (" ok" if answer.passed else " FAILED CHECKS")
            state = f"{answer.total_ms:.0f} ms, {answer.answer_tokens or 0} tokens{marks}"
        click.echo(f"turn {answer.turn + 1}/{turns} {answer.model}: {state}", err=True)

    return show


@click.command()
@click.argument("models", nargs=-1, metavar="[MODEL]...")
@click.option("--seed", type=int, help="A seed for every answer.")
@registry_dir_option
@ollama_host_option
@openai_option
@openwebui_option
def chat(
    models: tuple[str, ...],
    seed: int | None,
    registry_dir: str | None,
    ollama_host: str | None,
    openai_url: str | None,
    openwebui_url: str | None,
) -> int:
    """Chat with a model, and switch models mid-way with the context kept.

    Commands: /model NAME, /compare A B, /image PATH, /save FILE (a file replay can play),
    /help, /quit. MODEL takes the same forms as for replay; the first one answers first.
    """
    from modelops.replay.chat import ChatSession

    if not models:
        raise UsageError("name the model to chat with, e.g. modelops chat faq")
    resolver = make_resolver(registry_dir, ollama_host, openai_url, openwebui_url)
    resolver.resolve(models[0])  # a bad name fails here, before the prompt
    session = ChatSession(
        resolver.resolve, models[0], sys.stdout, {"seed": seed} if seed is not None else {}
    )
    if len(models) > 1:
        session.compare_next = list(models)
    session.run(_lines())
    return Exit.OK


def _lines() -> Iterator[str]:
    interactive = sys.stdin.isatty()
    if interactive:
        import readline  # noqa: F401 - line editing and history for input()
    while True:
        try:
            yield input("> " if interactive else "")
        except EOFError:
            return
