"""How long work tells whoever watches how far it has got, without knowing who watches.

The core (collecting, composing, a dispatch, the imports, the demo) calls a `Progress` with the stage it
is in and how many of how many steps are done; it never draws anything. A face decides: the command line
draws a bar on a terminal (`pipeline.cli.progress`, with rich) and nothing in a pipe or a log; the clock,
the queue workers and the web workspace keep `SILENT`. `Recorder` keeps the calls, for tests.
"""

from __future__ import annotations

import threading
from typing import Protocol


class Progress(Protocol):
    def __call__(self, stage: str, done: int, total: int | None) -> None:
        """`done` of `total` steps of `stage` are finished (`total` None: not known). Called from any
        thread (the collector fetches in parallel); a stage ends when `done` reaches `total`."""
        ...


class Silent:
    """Watched by nobody: the default everywhere."""

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        return None


SILENT: Progress = Silent()


class Recorder:
    """Keeps every call, in order, for a test to read."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int | None]] = []
        self._lock = threading.Lock()

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        with self._lock:
            self.calls.append((stage, done, total))

    def stages(self) -> list[str]:
        return list(dict.fromkeys(stage for stage, _done, _total in self.calls))
