"""comms queue ... | subscribers ... | feeds ..."""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import UTC, datetime
from pathlib import Path

from pipeline.cli import common
from pipeline.records import FeedSpec
from pipeline.storage.outbox_store import STATUSES

REVIEWABLE = ("draft", "awaiting_approval")


def add(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    _add_queue(commands)
    _add_subscribers(commands)
    _add_feeds(commands)


def _add_queue(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    queue = commands.add_parser("queue", help="the outbox: list, show, approve, reject, cancel, retry")
    sub = queue.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="items in the outbox")
    ls.add_argument("--status", choices=STATUSES)
    ls.add_argument("--channel")
    ls.set_defaults(func=cmd_list)
    for name, func, help_text in (
        ("show", cmd_show, "the exact text or HTML, each recipient's status, attempts"),
        ("cancel", cmd_cancel, "cancel an item that has not been sent"),
        ("retry", cmd_retry, "send a failed or missed item's failed deliveries again"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("id", type=int)
        p.set_defaults(func=func)
    approve = sub.add_parser("approve", help="approve an item for sending (records who and when)")
    approve.add_argument("id", type=int)
    approve.add_argument("--by", required=True)
    approve.set_defaults(func=cmd_approve)
    reject = sub.add_parser("reject", help="send an item back to draft with a reason")
    reject.add_argument("id", type=int)
    reject.add_argument("--by", required=True)
    reject.add_argument("--reason", required=True)
    reject.set_defaults(func=cmd_reject)
    edit = sub.add_parser("edit", help="change a post's text (it then needs approving again)")
    edit.add_argument("id", type=int)
    edit.add_argument("--text", required=True)
    edit.set_defaults(func=cmd_edit)


def cmd_list(args: argparse.Namespace) -> int:
    p = common.pipeline(args)
    items = p.repos.outbox.items(status=args.status, channel=args.channel)
    print(f"{'ID':>5}  {'DUE (local)':22} {'STATUS':18} {'CHANNEL':20} TITLE")
    for item in items:
        print(
            f"{item.id:>5}  {common.local(item.due_at, p.settings.tz):22} {item.status:18} {item.channel:20} "
            f"{item.title}"
        )
    print(f"{len(items)} item(s)")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    p = common.pipeline(args)
    item = p.repos.outbox.item(args.id)
    if item is None:
        raise LookupError(f"no outbox item {args.id}")
    tz = p.settings.tz
    print(
        f"#{item.id} {item.title}\nchannel: {item.channel} ({item.kind})   status: {item.status}   "
        f"due: {common.local(item.due_at, tz)}"
    )
    if item.approved_by:
        print(f"approved by {item.approved_by} at {common.local(item.approved_at, tz)}")
    if item.reason:
        print(f"note: {item.reason}")
    if item.subject:
        print(f"subject: {item.subject}")
    print("\n" + (item.body or "(no text)") + "\n")
    if item.html:
        print(f"[HTML part: {len(item.html):,} characters; `comms preview {item.entry_id}` writes it to a file]")
    deliveries = p.repos.outbox.deliveries(item.id)
    print(f"\nRecipients: {len(deliveries)}")
    for d in deliveries:
        print(f"  {d.recipient:40} {d.status:8} attempts={d.attempts} {d.url or ''} {d.last_error or ''}")
    return 0


def _review(args: argparse.Namespace, to: str, allowed: tuple[str, ...], **kwargs: str) -> int:
    p = common.pipeline(args)
    item = p.repos.outbox.transition(args.id, to, datetime.now(UTC), allowed_from=allowed, **kwargs)
    print(f"#{item.id} is now {item.status}")
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    return _review(args, "approved", REVIEWABLE, by=args.by)


def cmd_reject(args: argparse.Namespace) -> int:
    return _review(args, "draft", ("awaiting_approval", "approved"), by=args.by, reason=args.reason)


def cmd_cancel(args: argparse.Namespace) -> int:
    return _review(args, "cancelled", ("draft", "awaiting_approval", "approved", "failed", "missed"))


def cmd_retry(args: argparse.Namespace) -> int:
    p = common.pipeline(args)
    reset = p.repos.outbox.reset_failed_deliveries(args.id)
    item = p.repos.outbox.transition(
        args.id,
        "awaiting_approval",
        datetime.now(UTC),
        allowed_from=("failed", "missed"),
        reason=f"retry requested; {reset} delivery(ies) to try again",
    )
    print(f"#{item.id} is awaiting approval again; approve it to send ({reset} deliveries reset)")
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    p = common.pipeline(args)
    item = p.repos.outbox.edit_item(args.id, datetime.now(UTC), body=args.text)
    print(f"#{item.id} edited; status {item.status}")
    return 0


def _add_subscribers(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    subs = commands.add_parser("subscribers", help="import, list, unsubscribe, export, erase")
    sub = subs.add_subparsers(dest="action", metavar="ACTION", required=True)
    imp = sub.add_parser("import", help="add or update subscribers from a CSV (all or nothing)")
    imp.add_argument("file", type=Path)
    imp.set_defaults(func=cmd_sub_import)
    ls = sub.add_parser("list")
    ls.add_argument("--status", choices=("active", "unsubscribed", "bounced"))
    ls.set_defaults(func=cmd_sub_list)
    exp = sub.add_parser("export", help="write subscribers as CSV to standard output")
    exp.set_defaults(func=cmd_sub_export)
    for name, func in (("unsubscribe", cmd_unsubscribe), ("erase", cmd_erase)):
        p = sub.add_parser(
            name,
            help="stop sending to an address"
            if name == "unsubscribe"
            else "remove everything personal about an address; aggregate counts stay",
        )
        p.add_argument("email")
        p.set_defaults(func=func)


def cmd_sub_import(args: argparse.Namespace) -> int:
    added, updated = common.pipeline(args).import_subscribers(args.file)
    print(f"{added} added, {updated} updated")
    return 0


def cmd_sub_list(args: argparse.Namespace) -> int:
    for s in common.pipeline(args).repos.subscribers.all(status=args.status):
        print(f"{s.email:42} {s.status:12} {','.join(s.audiences):24} {s.organisation}")
    return 0


def cmd_sub_export(args: argparse.Namespace) -> int:
    writer = csv.writer(sys.stdout)
    writer.writerow(["email", "name", "organisation", "audiences", "consent_source", "consent_date", "status"])
    for s in common.pipeline(args).repos.subscribers.all():
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
    found = common.pipeline(args).repos.subscribers.set_status(args.email, "unsubscribed", datetime.now(UTC), "by hand")
    print("unsubscribed" if found else f"no subscriber {args.email}")
    return 0 if found else 1


def cmd_erase(args: argparse.Namespace) -> int:
    found = common.pipeline(args).repos.subscribers.erase(args.email)
    print("erased" if found else f"no subscriber {args.email}")
    return 0 if found else 1


def _add_feeds(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    feeds = commands.add_parser("feeds", help="the feed registry: add, list, remove, status, import")
    sub = feeds.add_subparsers(dest="action", metavar="ACTION", required=True)
    add_ = sub.add_parser("add", help="add (or update) a feed")
    add_.add_argument("url")
    add_.add_argument("--name", required=True)
    add_.add_argument("--interval", type=int, default=60, help="minutes between polls")
    add_.add_argument("--objectives", default="")
    add_.add_argument("--audiences", default="")
    add_.add_argument("--include", default="", help="keywords, comma separated: keep only items with one")
    add_.add_argument("--exclude", default="", help="keywords, comma separated: drop items with any")
    add_.set_defaults(func=cmd_feed_add)
    rm = sub.add_parser("remove", help="stop polling a feed (its messages keep their provenance)")
    rm.add_argument("url")
    rm.set_defaults(func=cmd_feed_remove)
    for name in ("list", "status"):
        sub.add_parser(name, help="each feed's health").set_defaults(func=cmd_feed_status)
    sub.add_parser("import", help="register the feeds in the workspace's feeds.yaml").set_defaults(func=cmd_feed_import)


def _split(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def cmd_feed_add(args: argparse.Namespace) -> int:
    spec = FeedSpec(
        args.url,
        args.name,
        args.interval,
        _split(args.objectives),
        _split(args.audiences),
        _split(args.include),
        _split(args.exclude),
    )
    common.pipeline(args).repos.feeds.upsert([spec])
    print(f"feed added: {args.name}")
    return 0


def cmd_feed_remove(args: argparse.Namespace) -> int:
    found = common.pipeline(args).repos.feeds.remove(args.url)
    print("removed" if found else f"no feed {args.url}")
    return 0 if found else 1


def cmd_feed_import(args: argparse.Namespace) -> int:
    print(f"{common.pipeline(args).import_feeds()} feeds registered from feeds.yaml")
    return 0


def cmd_feed_status(args: argparse.Namespace) -> int:
    p = common.pipeline(args)
    for f in p.repos.feeds.all():
        state = "retired" if f.retired else ("failing" if f.consecutive_failures else "ok")
        print(
            f"{f.spec.name}\n  {f.spec.url}\n  {state}; last success {common.local(f.last_success_at, p.settings.tz)}; "
            f"failures in a row {f.consecutive_failures}; items {f.items_seen}; next poll "
            f"{common.local(f.next_poll_at, p.settings.tz)}"
        )
        if f.last_error:
            print(f"  last error: {f.last_error}")
    return 0
