"""The progress bar the command line draws on a terminal (rich), for the core's `Progress` reports.

Only a terminal gets one: when standard output or standard error is not a TTY (a pipe, a file, cron, a
log shipper), or TERM is `dumb`, nothing is drawn and nothing is written. The bar goes to standard error
and clears itself when the command ends, so what the command prints is left as it would be without it.
"""

from __future__ import annotations

import os
import sys
import threading
from types import TracebackType
from typing import IO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from pipeline.progress import SILENT
from pipeline.progress import Progress as ProgressPort


def on_a_terminal(stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> bool:
    out, err = stdout or sys.stdout, stderr or sys.stderr
    ttys = all(getattr(stream, "isatty", lambda: False)() for stream in (out, err))
    return ttys and os.environ.get("TERM", "") != "dumb"


class TerminalBar:
    """A `pipeline.progress.Progress` drawn with rich: one line per stage under way, drawn from a stage's
    first report and cleared when no stage is under way (so a command's own output never meets it) or
    when the command ends."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.console = Console(file=stream or sys.stderr)
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
            redirect_stdout=False,  # what the command prints goes where it would; no bar is drawn then
            redirect_stderr=False,
        )
        self.tasks: dict[str, TaskID] = {}
        self.started = False
        self.lock = threading.Lock()

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        with self.lock:
            if stage not in self.tasks and total == 0:
                return  # nothing to do in this stage: no bar
            if not self.started:
                self.bar.start()
                self.started = True
            new = stage not in self.tasks
            if new:
                self.tasks[stage] = self.bar.add_task(stage, total=total)
            self.bar.update(self.tasks[stage], completed=done, total=total)
            over = total is not None and done >= total
            if new or over:  # its first and last state drawn at once, however quickly it runs (the rest
                self.bar.refresh()  # at the bar's own pace)
            if over:  # this stage is over: its line goes
                self.bar.remove_task(self.tasks.pop(stage))
            if not self.tasks:  # nothing under way: the bar is cleared before anything else is printed
                self.bar.stop()
                self.started = False

    def close(self) -> None:
        with self.lock:
            if self.started:
                self.bar.stop()
                self.started = False

    def __enter__(self) -> TerminalBar:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def for_this_terminal() -> TerminalBar | None:
    """A bar when both standard output and standard error are a terminal, else None (draw nothing)."""
    return TerminalBar() if on_a_terminal() else None


def reporter(bar: TerminalBar | None) -> ProgressPort:
    return bar if bar is not None else SILENT
