"""The `comms` command line. Each command parses its arguments, calls a use case (`pipeline.services`)
with the actor running it, and prints the result.

Exit codes: 0 done; 1 something failed while running (shown); 2 bad input or settings (nothing
applied); 3 another clock is running.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pipeline.cli import (
    channels_cmds,
    common,
    db_cmds,
    feeds_cmds,
    jobs_cmds,
    plan_cmds,
    queue_cmds,
    report_cmds,
    subscribers_cmds,
)
from pipeline.clock.lock import ClockBusy
from pipeline.errors import CalendarError, CommsError, SettingsError

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
        print(f"comms {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        common.close(args)


if __name__ == "__main__":
    sys.exit(main())
