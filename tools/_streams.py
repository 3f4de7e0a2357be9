"""The streams a command runs with (`Streams`, the click context's `obj`). rich is imported only where a message or a
bar is shown: most runs in a pipe show neither, and rich.console and rich.progress took 20-30 ms of every start."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress


@dataclass
class Streams:
    """The streams of the command now running: what '-' means, and where messages and progress bars go."""

    stdin: IO
    stdout: IO
    stderr: IO

    @cached_property
    def console(self) -> Console:
        """The rich console on stderr, made on first use."""
        from rich.console import Console

        return Console(file=self.stderr, highlight=False, soft_wrap=True)

    def log(self, message: str) -> None:
        """One message line on stderr (never markup: ids and paths may hold brackets)."""
        self.console.print(message, markup=False)

    def progress(self, *columns, transient: bool = False, hide: bool = False) -> Progress | NoBar:
        """The house progress bar (description, bar, done/total, time left), shown only when stderr is a terminal, so
        pipes and logs stay clean; `hide` also keeps it off for work too short to need one."""
        if hide or not self.stderr.isatty():
            return NoBar()
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        columns = columns or (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        return Progress(*columns, console=self.console, transient=transient)


class NoBar:
    """`Streams.progress` where no bar is shown: takes a bar's calls (add_task, update, advance) and draws nothing."""

    def __enter__(self) -> NoBar:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def add_task(self, *args, **kwargs) -> int:
        return 0

    def update(self, *args, **kwargs) -> None:
        return None

    advance = update
