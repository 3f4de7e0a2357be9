"""Shared plumbing of every protfam tool: `main(argv, stdout, stderr, stdin)`, one-line errors, the house options.

Following pyrodigal's cli.py, each tool's `main` takes argv and the streams and hands them down to the command (as
the click context's `obj`, a `Streams`), so tests run a tool in-process and nothing reads a global stream. Errors
the user can fix (ProtfamError, usage errors) print one line on stderr and return a non-zero code; nothing is
half-written because the core writes outputs atomically.
"""

from __future__ import annotations

import importlib
import math
import sys
from collections.abc import Callable
from typing import IO, Annotated, ClassVar

import typer
from protfam_tools._streams import Streams
from typer.core import TyperGroup

from protfam_core import __version__
from protfam_core.errors import ProtfamError

Threads = Annotated[
    int, typer.Option("--threads", "-j", min=0, help="Worker threads (0 = all available cores).", show_default=True)
]
Out = Annotated[str, typer.Option("--out", "-o", help="Output file, '-' for stdout.")]
# Training options, named alike in every tool that trains; the old names stay hidden for one release (alias_of).
MaxMinutes = Annotated[float, typer.Option("--max-minutes", min=0.0, help="Wall-time bound of training, in minutes.")]
LearningRate = Annotated[float, typer.Option("--learning-rate", min=0.0, help="(Peak) learning rate.")]
OldLr = Annotated[float | None, typer.Option("--lr", hidden=True, help="Old name of --learning-rate.")]
OldTimeLimit = Annotated[
    float | None, typer.Option("--time-limit", min=0.0, hidden=True, help="Old: --max-minutes, in seconds.")
]
Model = Annotated[
    str | None, typer.Option(help="CNN bundle: name, name@alias, name/version or a folder (default: shipped).")
]
# The chain's search settings, the same options on every tool that searches (`cnn.settings.ChainSettings`); None
# leaves each to the model card or the chain's default.
SearchEvalue = Annotated[
    float | None,
    typer.Option(
        "--evalue", "-E", min=0.0, help="Whole-sequence E-value cut of a candidate family (default: the model's)."
    ),
]
DomainEvalue = Annotated[
    float | None,
    typer.Option("--domE", min=0.0, help="Independent E-value cut of a candidate domain (default: the model's)."),
]
FallbackEvalue = Annotated[
    float | None,
    typer.Option(
        "--fallback-evalue",
        min=0.0,
        help="Sequences without a candidate are searched again without the bias filter, keeping whole-sequence "
        "E <= this (default: the model's; 0 = off).",
    ),
]


def alias_of(value: float, old: float | None, scale: float = 1.0) -> float:
    """An option's value, or its old hidden alias's (times `scale`, for an old unit) where the user gave that."""
    return value if old is None else old * scale


def version_text(prog: str) -> str:
    """`prog --version`: the package version and the models the tool uses when given none."""
    from protfam_core.registry.defaults import default_model_lines

    return "\n".join([f"{prog} {__version__}", *default_model_lines(prog)]) + "\n"


def _print_version(ctx: typer.Context, value: bool) -> None:
    if value:
        ctx.obj.stdout.write(version_text(ctx.info_name or "protfam"))
        raise typer.Exit()


class LazyGroup(TyperGroup):
    """A tool's commands, of which the `lazy` ones (name -> the module whose `register(app)` adds them) are built only
    when named or listed: a command then imports what it runs, not what the tool's training commands need."""

    lazy: ClassVar[dict[str, str]] = {}

    def list_commands(self, ctx) -> list[str]:
        return [*(name for name in self.commands if name not in self.lazy), *self.lazy]

    def get_command(self, ctx, cmd_name: str):
        if cmd_name not in self.commands:  # an unknown name loads them all: the error then suggests every command
            for module in {self.lazy[cmd_name]} if cmd_name in self.lazy else set(self.lazy.values()):
                app = new_app("")
                importlib.import_module(module).register(app)
                group = typer.main.get_command(app)
                _finite_floats(group)
                self.commands.update(group.commands)
        return super().get_command(ctx, cmd_name)


def new_app(help_text: str, lazy: dict[str, str] | None = None) -> typer.Typer:
    """A typer app with the house settings (rich help, no completion noise, no locals in tracebacks) and --version;
    its `lazy` commands (name -> module) are registered by their module's `register(app)` when first named."""
    app = typer.Typer(
        cls=type("Commands", (LazyGroup,), {"lazy": lazy}) if lazy else TyperGroup,
        help=help_text,
        add_completion=False,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode="rich",
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def _root(
        version: Annotated[
            bool,
            typer.Option(
                "--version", callback=_print_version, is_eager=True, help="Print the version and the default models."
            ),
        ] = False,
    ) -> None:
        """The tool's own options; each command has its own --help."""

    return app


def _finite_floats(command) -> None:
    """Make every option of a command (and of its subcommands) refuse a float value of nan or inf: they pass every
    range check (nan < 0 is false) and would turn a threshold or an E-value cut into garbage without a word."""
    for param in command.params:
        param.callback = _finite(param.callback)
    for sub in getattr(command, "commands", {}).values():
        _finite_floats(sub)


def _finite(callback: Callable | None) -> Callable:
    """A parameter callback that refuses non-finite floats, then runs the parameter's own callback."""

    def check(ctx, param, value):
        if isinstance(value, float) and not math.isfinite(value):
            raise typer.BadParameter(f"{value!r} is not a finite number", ctx=ctx, param=param)
        return callback(ctx, param, value) if callback is not None else value

    return check


def run(
    app: typer.Typer, prog: str, argv: list[str] | None, stdout: IO | None, stderr: IO | None, stdin: IO | None
) -> int:
    """Run a typer app in-process with these streams; return the exit code instead of exiting."""
    streams = Streams(stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr)
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        command = typer.main.get_command(app)
        _finite_floats(command)
        result = command.main(args=args, prog_name=prog, standalone_mode=False, obj=streams)
        return result if isinstance(result, int) else 0
    except ProtfamError as exc:
        streams.log(f"{prog}: error: {exc}")
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        streams.log(f"{prog}: aborted")
        return 130
    except typer.TyperException as exc:  # usage errors (typer vendors click's exceptions)
        if type(exc).__name__ == "NoArgsIsHelpError":  # typer has already printed the help
            return 2
        streams.log(f"{prog}: error: {exc.format_message()}")
        return getattr(exc, "exit_code", 2)
    except BrokenPipeError:
        return 0
