"""The command line: parse, call one core function, render. `main` maps errors to exit codes."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

import click

from modelops import __version__
from modelops.errors import Exit, ModelopsError, SpecError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="modelops")
@click.option("--debug", is_flag=True, help="Show a traceback for internal errors.")
def cli(debug: bool) -> None:
    """Manage Open WebUI and Ollama model definitions the GitOps way.

    Each model is one YAML file in a git repository; every change is one commit.
    """


def _register() -> None:
    from modelops.cli import authoring, exchange, reading, reconcile, replay

    for module in (reading, authoring, reconcile, exchange, replay):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("MODELOPS_DEBUG") == "1"
    try:
        result = cli.main(args=args, prog_name="modelops", standalone_mode=False)
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
                click.echo(line, err=True)
        click.echo(f"error: {exc.message}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return Exit.INTERRUPTED
    except BrokenPipeError:
        return Exit.OK
    except Exception as exc:
        if debug:
            traceback.print_exc()
        click.echo(
            f"internal error: {type(exc).__name__}: {exc} (this is a bug; rerun with --debug "
            "for the traceback)",
            err=True,
        )
        return Exit.INTERNAL
    return int(result or 0)


def _usage(exc: click.UsageError) -> str:
    command = exc.ctx.command_path if exc.ctx else "modelops"
    return f"error: {exc.format_message().rstrip('.')} (see '{command} --help')"


def run() -> None:
    sys.exit(main())
