"""comms channels check: prove each channel's settings and credentials work, before anything is due."""

from __future__ import annotations

import argparse

from pipeline.cli import common, measure_cmds
from pipeline.services.channels import ChannelService


def add(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    channels = commands.add_parser("channels", help="check each channel's settings and credentials")
    sub = channels.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = sub.add_parser(
        "check", help="a harmless authenticated call to each channel in strategy.yaml; nothing is posted"
    )
    check.add_argument("--channel", help="only this channel (its code in strategy.yaml)")
    check.set_defaults(func=cmd_check)
    measure_cmds.add_list(sub)


def cmd_check(args: argparse.Namespace) -> int:
    results = ChannelService.of(common.pipeline(args)).check(common.actor(args), args.channel)
    width = max(len(f"{r.code} ({r.kind})") for r in results)
    for r in results:
        print(f"{'ok' if r.ok else 'FAILED':<7} {f'{r.code} ({r.kind})':<{width}}  {r.detail}")
    failed = sum(not r.ok for r in results)
    print(
        f"{len(results) - failed} of {len(results)} channel(s) ready" + (f"; {failed} need attention" if failed else "")
    )
    return 1 if failed else 0
