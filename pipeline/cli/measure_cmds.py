"""comms metrics pull | channels list: each channel's own figures pulled now, and which channels can
measure at all."""

from __future__ import annotations

import argparse
from datetime import date

from pipeline.cli import common
from pipeline.cli.jobs_cmds import show
from pipeline.services.measure import MeasureService


def add_pull(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    pull = sub.add_parser(
        "pull",
        help="ask each channel for the figures of what it published (the clock does this daily)",
        description="Figures of the posts published since DAY (default: a year ago) from each channel that can "
        "measure, and page views and downloads from Google Analytics 4 when configured. A later pull replaces "
        "the figures of an earlier one; a channel that fails is said and the others are still measured.",
    )
    pull.add_argument("--channel", help="only this channel (its code in strategy.yaml)")
    pull.add_argument("--since", metavar="DAY", type=date.fromisoformat, help="posts due on or after this day")
    common.add_at(pull)
    pull.add_argument("--by", help="who asks (an account's email; default COMMS_USER or the login name)")
    pull.set_defaults(func=cmd_pull)


def add_list(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    listing = sub.add_parser("list", help="each channel, and what it measures (or: figures by import only)")
    listing.set_defaults(func=cmd_list)


def cmd_pull(args: argparse.Namespace) -> int:
    p = common.pipeline(args)
    now = common.parse_at(args.at, p.settings.tz)
    outcome = MeasureService.of(p).pull(common.actor(args), now, channel=args.channel, since=args.since)
    return show("measure", outcome)


def cmd_list(args: argparse.Namespace) -> int:
    p = common.pipeline(args)
    rows = MeasureService.of(p).channels(common.actor(args))
    width = max((len(f"{r.code} ({r.kind})") for r in rows), default=10)
    for r in rows:
        print(f"{f'{r.code} ({r.kind})':<{width}}  {'measured: ' if r.measured else ''}{r.measures}")
    return 0
