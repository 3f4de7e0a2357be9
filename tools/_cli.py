"""Shared plumbing of every protfam tool: `main(argv, stdin, stdout)` and one-line errors.

Following pyrodigal's cli.py, each tool's `main` takes argv and streams so tests run it in-process. Errors that the
user can fix (ProtfamError, usage errors) print one line on stderr and return a non-zero code; nothing is half-written
because the core writes outputs atomically.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import IO

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from protfam_core.errors import ProtfamError


@dataclass
class Streams:
    """The streams that '-' means for the command now running."""

    stdin: IO
    stdout: IO


streams = Streams(sys.stdin, sys.stdout)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def new_app(help_text: str) -> typer.Typer:
    """A typer app with the house settings: rich help, no completion noise, no locals in tracebacks."""
    return typer.Typer(
        help=help_text,
        add_completion=False,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode="rich",
        context_settings={"help_option_names": ["-h", "--help"]},
    )


def run(app: typer.Typer, prog: str, argv: list[str] | None, stdin: IO | None, stdout: IO | None) -> int:
    """Run a typer app in-process; return the exit code instead of exiting."""
    streams.stdin = stdin if stdin is not None else sys.stdin
    streams.stdout = stdout if stdout is not None else sys.stdout
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        result = app(args=args, prog_name=prog, standalone_mode=False)
        return result if isinstance(result, int) else 0
    except ProtfamError as exc:
        stderr.print(f"{prog}: error: {exc}", markup=False)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        stderr.print(f"{prog}: aborted", markup=False)
        return 130
    except typer.TyperException as exc:  # usage errors (typer vendors click's exceptions)
        if type(exc).__name__ == "NoArgsIsHelpError":  # typer has already printed the help
            return 2
        stderr.print(f"{prog}: error: {exc.format_message()}", markup=False)
        return getattr(exc, "exit_code", 2)
    except BrokenPipeError:
        return 0


def progress_disabled() -> bool:
    """Progress bars go to stderr and only when it is a terminal, so pipes and logs stay clean."""
    return not sys.stderr.isatty()


def progress_bar() -> Progress:
    """The house progress bar: description, bar, done/total and time left, on stderr when it is a terminal."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr,
        disable=progress_disabled(),
    )
