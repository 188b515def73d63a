"""comms calendar skip | move | restore | overrides: change one occurrence of the stored plan."""

from __future__ import annotations

import argparse
from datetime import date, datetime

from pipeline.cli import common
from pipeline.errors import Invalid
from pipeline.services.overrides import OverrideService


def add(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    skip = sub.add_parser("skip", help="skip one occurrence (with why); recorded with who did it")
    _one(skip)
    skip.set_defaults(func=cmd_skip)
    move = sub.add_parser("move", help="move one occurrence to another day and time (Europe/London)")
    _one(move)
    move.add_argument("--to", required=True, metavar="YYYY-MM-DDTHH:MM", help="the new day and time, UK time")
    move.set_defaults(func=cmd_move)
    restore = sub.add_parser("restore", help="undo a skip or move: back to where the plan puts it")
    restore.add_argument("entry", help="the calendar entry's id")
    restore.add_argument("--on", required=True, metavar="YYYY-MM-DD", help="the day it was planned for")
    restore.add_argument("--by", metavar="EMAIL", help="the account acting (default: COMMS_USER)")
    restore.set_defaults(func=cmd_restore)
    listed = sub.add_parser("overrides", help="every skip and move, with who and why")
    listed.set_defaults(func=cmd_list)


def _one(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("entry", help="the calendar entry's id")
    parser.add_argument("--on", required=True, metavar="YYYY-MM-DD", help="the day it is planned for")
    parser.add_argument("--reason", required=True, help="why, for the team and the audit log")
    parser.add_argument("--by", metavar="EMAIL", help="the account acting (default: COMMS_USER)")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"--on: {text!r} is not a date (YYYY-MM-DD)") from None


def _moment(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"--to: {text!r} is not a day and time (YYYY-MM-DDTHH:MM)") from None


def cmd_skip(args: argparse.Namespace) -> int:
    done = OverrideService.of(common.pipeline(args)).skip(
        common.actor(args), args.entry, _day(args.on), args.reason, common.now()
    )
    print(f"skipped {done.before.entry_id} on {done.before.start:%a %d %b %Y %H:%M}")
    return 0


def cmd_move(args: argparse.Namespace) -> int:
    done = OverrideService.of(common.pipeline(args)).move(
        common.actor(args), args.entry, _day(args.on), _moment(args.to), args.reason, common.now()
    )
    before, after = done.before.start, done.after.start
    print(f"moved {done.before.entry_id} from {before:%a %d %b %Y %H:%M} to {after:%a %d %b %Y %H:%M}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    occ = OverrideService.of(common.pipeline(args)).restore(common.actor(args), args.entry, _day(args.on), common.now())
    print(f"restored {occ.entry_id}: {occ.start:%a %d %b %Y %H:%M}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    found = OverrideService.of(common.pipeline(args)).overrides(common.actor(args))
    tz = common.settings(args).tz
    for o in found:
        to = f" to {o.to.astimezone(tz):%Y-%m-%d %H:%M %Z}" if o.to else ""
        print(f"{o.key}  {o.action}{to}  by {o.by} at {o.at:%Y-%m-%d %H:%M}Z: {o.reason}")
    if not found:
        print("no occurrence is skipped or moved by hand")
    return 0
