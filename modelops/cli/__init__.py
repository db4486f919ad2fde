"""The command line: each command parses its flags, calls one use case, and renders what comes
back. `main` is the one place that maps errors to exit codes.

Commands are loaded lazily: `modelops --help` and a command that needs no server import
neither the Ollama client nor the packages other commands use. The short help of each command
is kept here so that listing them imports nothing; a test checks it against the commands.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

import click

from modelops import __version__
from modelops.errors import Exit, ModelopsError, Scrubber, SpecError, printable

if TYPE_CHECKING:
    from pathlib import Path

# name -> (module, attribute, first sentence of its help), in the order `--help` lists them
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": (
        "authoring",
        "init",
        "Make DIRECTORY a registry (git init too, if it is not in a repository).",
    ),
    "validate": (
        "reading",
        "validate",
        "Check every model file and modelops.yaml; report every problem at once.",
    ),
    "list": ("reading", "list_", "List the models in the registry."),
    "show": ("reading", "show", "Print one model: its file as written, or its fields as JSON."),
    "create": ("authoring", "create", "Create model ID from a base model."),
    "edit": ("authoring", "edit", "Open model ID in $EDITOR; commit when it is saved valid."),
    "set": (
        "authoring",
        "set_",
        "Set fields of model ID, e.g. parameters.temperature=0.3 or tags=[a,b].",
    ),
    "clone": ("authoring", "clone", "Copy registry model SRC as NEW."),
    "hide": ("authoring", "hide", "Hide models from the model selector (they stay usable)."),
    "unhide": ("authoring", "unhide", "Show hidden models in the model selector again."),
    "share": (
        "authoring",
        "share",
        "Give groups, users or everyone access to model ID in Open WebUI.",
    ),
    "unshare": ("authoring", "unshare", "Take access to model ID away again."),
    "rename": ("authoring", "rename", "Rename model OLD to NEW; models based on it follow."),
    "delete": (
        "authoring",
        "delete",
        "Delete model ID (refused while another model uses it as its base).",
    ),
    "history": (
        "reading",
        "history",
        "The changes made to the registry, or to one model, newest first.",
    ),
    "rollback": (
        "authoring",
        "rollback",
        "Restore model ID as it was at revision REV, as a new commit.",
    ),
    "fmt": (
        "authoring",
        "fmt",
        "Rewrite model files in the canonical layout (key order, indentation), keeping comments.",
    ),
    "schema": (
        "reading",
        "schema",
        "Print the JSON Schema of a model (or conversation) file, which editors use to complete "
        "and check it.",
    ),
    "diff": (
        "review",
        "diff",
        "The semantic difference between two revisions of the registry.",
    ),
    "review": (
        "review",
        "review",
        "A pull-request comment: the diff, the plan against every target, and replays.",
    ),
    "plan": ("reconcile", "plan", "Show what apply would change on the target."),
    "apply": (
        "reconcile",
        "apply",
        "Make the target match the registry: pull missing bases, then create and update models; "
        "delete owned models no longer defined only with --prune.",
    ),
    "reconcile": ("reconcile", "reconcile_alias", "The same as apply."),
    "status": ("reconcile", "status", "Each model on each host: in sync, drifted or missing."),
    "adopt": (
        "adopt",
        "adopt",
        "Write what people changed in Open WebUI back into the registry, one commit per model.",
    ),
    "pull": (
        "reconcile",
        "pull",
        "Pull Ollama models (e.g. llama3.2:latest or hf.co/<user>/<repo>:<quant>) onto the hosts "
        "of a target, with progress and retries.",
    ),
    "watch": (
        "watch",
        "watch",
        "Watch the registry and reconcile each saved change into the targets.",
    ),
    "export": (
        "exchange",
        "export",
        "Write models as Open WebUI 0.12 exports them (all, or the IDs given).",
    ),
    "import": (
        "exchange",
        "import_",
        "Import Open WebUI model JSON (any version; a file, or - for stdin) or a Modelfile.",
    ),
    "replay": (
        "replay",
        "replay",
        "Play a conversation file against models and report answers, latency and tokens.",
    ),
    "chat": (
        "replay",
        "chat",
        "Chat with a model, and switch models mid-way with the context kept.",
    ),
}


class LazyGroup(click.Group):
    """A group whose commands are imported only when one of them runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(f"modelops.cli.{module}"), attribute)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # as click shortens a command's help, without importing the command
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [
            (name, click.Command(name, help=text).get_short_help_str(limit))
            for name, (_, _, text) in COMMANDS.items()
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="modelops")
@click.option("--debug", is_flag=True, help="Print the traceback of an internal error.")
def cli(debug: bool) -> None:
    """Manage Open WebUI and Ollama model definitions the GitOps way.

    Each model is one YAML file in a git repository; every change is one commit.
    """


# commands whose standard output is the user's own data, written out unchanged
DATA_COMMANDS = frozenset({"export", "show", "schema"})


class Scrubbed:
    """A text stream whose writes pass through the scrubber first."""

    def __init__(self, stream: TextIO, scrub: Scrubber) -> None:
        self._stream, self._scrub = stream, scrub

    def write(self, text: str) -> int:
        self._stream.write(self._scrub(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    scrub = Scrubber.from_environment(os.environ)
    command = next((a for a in args if not a.startswith("-")), "")
    out, err = sys.stdout, sys.stderr
    sys.stderr = Scrubbed(err, scrub)
    if command not in DATA_COMMANDS:
        sys.stdout = Scrubbed(out, scrub)
    try:
        return _main(args, scrub)
    finally:
        sys.stdout, sys.stderr = out, err


def _main(args: list[str], scrub: Scrubber) -> int:
    debug = "--debug" in args or os.environ.get("MODELOPS_DEBUG") == "1"
    try:
        result = cli.main(args=args, prog_name="modelops", standalone_mode=False, obj=scrub)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        return Exit.INTERRUPTED
    except click.UsageError as exc:
        click.echo(_usage(exc), err=True)
        return Exit.USAGE
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        return Exit.USAGE
    except ModelopsError as exc:
        if isinstance(exc, SpecError):
            for line in exc.lines():
                click.echo(printable(line), err=True)
        click.echo(f"error: {printable(exc.message, lines=True)}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return Exit.INTERRUPTED
    except BrokenPipeError:
        return Exit.OK
    except Exception as exc:
        return _internal_error(exc, debug, scrub)
    return int(result or 0)


def _internal_error(exc: Exception, debug: bool, scrub: Scrubber) -> int:
    """A bug: with --debug the traceback; without, one line and where the traceback went."""
    import traceback  # only for a bug: `--help` should not pay for it

    text = scrub("".join(traceback.format_exception(exc)))
    head = f"internal error: {type(exc).__name__}: {exc} (this is a bug"
    if debug:
        sys.stderr.write(text)
        click.echo(f"{head})", err=True)
        return Exit.INTERNAL
    log = _crash_log(text)
    where = f"; the traceback is in {log}" if log else ""
    click.echo(f"{head}{where}; rerun with --debug to print it)", err=True)
    return Exit.INTERNAL


def _crash_log(text: str) -> Path | None:
    """Write the traceback under the user's state folder; None when that is not possible."""
    import datetime as dt
    from pathlib import Path  # only to write a crash log: --help does without it

    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = Path(base) / "modelops" / f"crash-{stamp}-{os.getpid()}.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"modelops {__version__}\n{text}", encoding="utf-8")
    except OSError:
        return None
    return path


def _usage(exc: click.UsageError) -> str:
    command = exc.ctx.command_path if exc.ctx else "modelops"
    return f"error: {exc.format_message().rstrip('.')} (see '{command} --help')"
