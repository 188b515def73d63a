"""The `comms` command line. Each command parses its arguments, calls a use case (`pipeline.services`)
with the actor running it, and prints the result.

Exit codes: 0 done; 1 something failed while running (shown); 2 bad input or settings (nothing
applied), a missing or unreadable file included; 3 another clock is running; 141 the reader of the output
went away (`comms queue list | head`): the rest of the output is dropped quietly, and 141 (128 + SIGPIPE)
is what the shell reports for any program a closed pipe stops, so `set -o pipefail` scripts see it as
they would for `cat`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from pipeline.cli import (
    channels_cmds,
    common,
    db_cmds,
    feeds_cmds,
    jobs_cmds,
    notify_cmds,
    plan_cmds,
    queue_cmds,
    report_cmds,
    subscribers_cmds,
    users_cmds,
    web_cmds,
    worker_cmds,
)
from pipeline.clock.lock import ClockBusy
from pipeline.errors import CalendarError, CommsError, SettingsError
from pipeline.redact import redact

DESCRIPTION = """Scheduled communications for council and partnership comms teams (Prevent and other
safeguarding programmes): plan the month, collect national messages, compose newsletters and the
headteacher bulletin, queue posts for approval, send when due, and report reach against objectives."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="comms", description=DESCRIPTION)
    parser.add_argument("--env-file", help="settings file to read (default: .env in this folder, if there is one)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    jobs_cmds.add_demo(commands)
    plan_cmds.add(commands)
    jobs_cmds.add(commands)
    queue_cmds.add(commands)
    subscribers_cmds.add(commands)
    feeds_cmds.add(commands)
    channels_cmds.add(commands)
    report_cmds.add(commands)
    db_cmds.add(commands)
    users_cmds.add(commands)
    notify_cmds.add(commands)
    web_cmds.add(commands)
    worker_cmds.add(commands)
    return parser


CLOSED_PIPE = 141  # 128 + SIGPIPE, as the shell reports a program stopped by a closed pipe


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _run(build_parser().parse_args(argv))
        sys.stdout.flush()  # inside the try: a closed pipe often shows only when the last lines go
    except BrokenPipeError:
        _drop_stdout()
        return CLOSED_PIPE
    return code


def _drop_stdout() -> None:
    """The Python documentation's "Note on SIGPIPE": point stdout at devnull, so the interpreter's own
    flush at exit finds nowhere to fail and prints no second traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is no file (a test's capture): nothing to flush at exit
        pass


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.func(args) or 0)
    except CalendarError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s); nothing was changed.", file=sys.stderr)
        return 2
    except SettingsError as exc:
        print(f"settings: {exc}", file=sys.stderr)
        return 2
    except ClockBusy as exc:
        print(exc, file=sys.stderr)
        return 3
    except (CommsError, LookupError, ValueError) as exc:
        print(redact(f"comms {args.command}: {exc}"), file=sys.stderr)
        return 2
    except BrokenPipeError:
        raise
    except OSError as exc:
        if exc.filename is None:
            raise
        print(redact(f"comms {args.command}: {exc.filename}: {exc.strerror or exc}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        common.close(args)


if __name__ == "__main__":
    sys.exit(main())
