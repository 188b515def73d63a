"""comms channels check: prove each channel's settings and credentials work, before anything is due."""

from __future__ import annotations

import argparse

from pipeline.cli import common, measure_cmds
from pipeline.services.channels import ChannelService


def add(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    channels = commands.add_parser("channels", help="check each channel's settings and credentials")
    sub = channels.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = sub.add_parser(
        "check",
        help="a harmless authenticated call to each channel in strategy.yaml and to the staff channel "
        "(approval digests and alerts); nothing is posted",
    )
    check.add_argument("--channel", help="only this channel (its code in strategy.yaml, or staff)")
    check.set_defaults(func=cmd_check)
    measure_cmds.add_list(sub)


def cmd_check(args: argparse.Namespace) -> int:
    results = ChannelService.of(common.pipeline(args)).check(common.actor(args), args.channel)
    names = [f"{r.code} ({r.kind}{f', {r.note}' if r.note else ''})" for r in results]
    width = max(len(name) for name in names)
    for r, name in zip(results, names, strict=True):
        print(f"{'ok' if r.ok else 'FAILED':<7} {name:<{width}}  {r.detail}")
    failed = sum(not r.ok for r in results)
    print(
        f"{len(results) - failed} of {len(results)} channel(s) ready" + (f"; {failed} need attention" if failed else "")
    )
    return 1 if failed else 0
