"""comms subscribers import | list | unsubscribe | resubscribe | export | erase | allow"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from pipeline.cli import common
from pipeline.services.subscribers import STATUSES, SubscriberService

EXPORT_COLUMNS = ("email", "name", "organisation", "audiences", "consent_source", "consent_date", "status")


def add(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    subs = commands.add_parser("subscribers", help="import, list, unsubscribe, export, erase")
    sub = subs.add_subparsers(dest="action", metavar="ACTION", required=True)
    imp = sub.add_parser("import", help="add or update subscribers from a CSV (all or nothing)")
    imp.add_argument("file", type=Path)
    imp.set_defaults(func=cmd_import)
    ls = sub.add_parser("list")
    ls.add_argument("--status", choices=STATUSES)
    ls.set_defaults(func=cmd_list)
    exp = sub.add_parser("export", help="write subscribers as CSV to standard output")
    exp.set_defaults(func=cmd_export)
    for name, func, text in (
        ("unsubscribe", cmd_unsubscribe, "stop sending to an address (every list, or one with --list)"),
        ("resubscribe", cmd_resubscribe, "send a list it left to an address again (--list; every list without)"),
        (
            "erase",
            cmd_erase,
            "remove every copy of an address (list, deliveries, logs); aggregate counts stay, and imports leave it out",
        ),
        ("allow", cmd_allow, "let an erased address back in at the next import (they subscribed again)"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("email")
        if name in ("unsubscribe", "resubscribe"):
            p.add_argument("--list", dest="list_code", metavar="CHANNEL", help="one list: an email channel's code")
        p.set_defaults(func=func)


def _service(args: argparse.Namespace) -> SubscriberService:
    return SubscriberService.of(common.pipeline(args))


def cmd_import(args: argparse.Namespace) -> int:
    done = SubscriberService.of(common.pipeline_with_progress(args)).import_file(common.actor(args), args.file)
    print(f"{done.added} added, {done.updated} updated")
    if done.suppressed:
        print(
            f"{done.suppressed} left out: erased earlier at their request "
            "(`comms subscribers allow EMAIL` if one has subscribed again)"
        )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    for s in _service(args).list_subscribers(common.actor(args), status=args.status):
        left = f" (left {', '.join(s.left_lists)})" if s.left_lists else ""
        print(f"{s.email:42} {s.status:12} {','.join(s.audiences):24} {s.organisation}{left}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    writer = csv.writer(sys.stdout)
    writer.writerow(EXPORT_COLUMNS)
    for s in _service(args).export(common.actor(args)):
        writer.writerow(
            [
                s.email,
                s.name,
                s.organisation,
                ";".join(s.audiences),
                s.consent_source,
                s.consent_date.isoformat(),
                s.status,
            ]
        )
    return 0


def cmd_unsubscribe(args: argparse.Namespace) -> int:
    service = _service(args)
    if args.list_code is None:
        return common.done_or_missing(
            lambda: service.unsubscribe(common.actor(args), args.email, common.now()), "unsubscribed"
        )
    name = service.list_name(args.list_code)
    return common.done_or_missing(
        lambda: service.leave(common.actor(args), args.email, args.list_code, common.now()),
        f"unsubscribed from {name}; other lists still come",
    )


def cmd_resubscribe(args: argparse.Namespace) -> int:
    service = _service(args)
    return common.done_or_missing(
        lambda: service.rejoin(common.actor(args), args.email, args.list_code, common.now()),
        f"subscribed again to {service.list_name(args.list_code)}",
    )


def cmd_erase(args: argparse.Namespace) -> int:
    service = _service(args)
    return common.done_or_missing(lambda: service.erase(common.actor(args), args.email), "erased")


def cmd_allow(args: argparse.Namespace) -> int:
    service = _service(args)
    return common.done_or_missing(lambda: service.allow(common.actor(args), args.email), "allowed back in")
