"""Long work shows progress on a terminal and stays quiet in pipes and logs. The core only reports
(`pipeline.progress`); the command line draws a rich bar when standard output and standard error are a
terminal: a real `comms` process under a pseudo-terminal, and the same command through a pipe."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline.app import Pipeline
from pipeline.progress import Recorder
from tests.conftest import EXAMPLE

BAR = "━"  # rich's bar
COMMAND = [sys.executable, "-m", "pipeline.cli", "subscribers", "import", str(EXAMPLE / "subscribers.csv")]


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "COMMS_DATABASE_URL": f"sqlite:///{tmp_path / 'comms.db'}",
        "COMMS_WORKSPACE": str(EXAMPLE),
        "COMMS_SECRET_KEY": "progress-test",
        "COMMS_LOG_LEVEL": "WARNING",
        "TERM": "xterm-256color",
    }


def _under_a_terminal(tmp_path: Path) -> str:
    main, side = pty.openpty()
    process = subprocess.Popen(COMMAND, stdin=side, stdout=side, stderr=side, env=_env(tmp_path), cwd=tmp_path)
    os.close(side)
    seen = b""
    while True:
        ready, _, _ = select.select([main], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the process ended and the terminal closed
            break
        if not chunk:
            break
        seen += chunk
    assert process.wait(timeout=30) == 0, seen
    os.close(main)
    return seen.decode("utf-8", "replace")


def test_a_terminal_sees_a_bar_and_a_pipe_sees_none(tmp_path: Path) -> None:
    shown = _under_a_terminal(tmp_path)
    assert BAR in shown and "importing subscribers.csv" in shown and "29/29" in shown
    cleared = shown.rindex("\x1b[2K")  # the bar clears its line before the command prints its result
    assert shown.index("29 added, 0 updated") > cleared > shown.index(BAR)
    piped = subprocess.run(COMMAND, capture_output=True, text=True, env=_env(tmp_path), cwd=tmp_path, check=True)
    assert piped.stdout == "0 added, 29 updated\n", "a pipe gets the result and nothing else"
    assert BAR not in piped.stderr and "\x1b[" not in piped.stderr and "importing" not in piped.stderr


def test_the_core_reports_collecting_composing_sending_and_importing(pipeline: Pipeline) -> None:
    """What the bar is drawn from: each stage, counted to its end (no rich in the core)."""
    seen = Recorder()
    pipeline.progress = seen
    compose_at = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    pipeline.import_plan(now=compose_at)
    pipeline.import_subscribers()
    pipeline.compose(compose_at, entry="headteacher-bulletin")
    item = next(i for i in pipeline.repos.outbox.items() if i.entry_id == "headteacher-bulletin")
    pipeline.repos.outbox.transition(item.id, "approved", compose_at, by="Prevent Coordinator")
    pipeline.dispatch(datetime(2026, 11, 5, 8, 1, tzinfo=UTC))
    pipeline.collect(compose_at + timedelta(days=1), force=True)
    assert seen.stages() == [
        "importing the calendar",
        "importing subscribers.csv",
        "composing",
        "sending Prevent update for schools",
        "collecting feeds",
    ]
    ends = {stage: (done, total) for stage, done, total in seen.calls}
    assert ends["importing subscribers.csv"] == (29, 29) and ends["composing"] == (1, 1)
    assert ends["sending Prevent update for schools"] == (14, 14)
    assert ends["importing the calendar"] == (2, 2)
