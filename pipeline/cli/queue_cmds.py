"""comms queue list | show | approve | reject | cancel | retry | edit"""

from __future__ import annotations

import argparse

from pipeline.cli import common
from pipeline.errors import Invalid
from pipeline.records import ItemStatus
from pipeline.redact import redactor
from pipeline.services.outbox import OutboxService
from pipeline.services.preview import Checks, ItemPreviewService

BY_HELP = "the account doing it, by email (default: $COMMS_USER); add accounts with `comms users add`"


def add(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    queue = commands.add_parser("queue", help="the outbox: list, show, approve, reject, cancel, retry")
    sub = queue.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="items in the outbox")
    ls.add_argument("--status", choices=[s.value for s in ItemStatus])
    ls.add_argument("--channel")
    ls.set_defaults(func=cmd_list)
    show = sub.add_parser("show", help="the exact text or HTML, each recipient's status, attempts")
    show.add_argument("id", type=int)
    show.set_defaults(func=cmd_show)
    for name, func, help_text in (
        ("cancel", cmd_cancel, "cancel an item that has not been sent"),
        ("retry", cmd_retry, "send a failed or missed item's failed deliveries again"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("id", type=int)
        p.add_argument("--by", help=BY_HELP)
        p.set_defaults(func=func)
    approve = sub.add_parser(
        "approve", help="approve an item for sending (records who and when; never by its author or last editor)"
    )
    approve.add_argument("id", type=int)
    approve.add_argument("--by", help=BY_HELP)
    approve.add_argument(
        "--version", metavar="HASH", help="the version `queue show` printed: refused if the item changed since"
    )
    approve.set_defaults(func=cmd_approve)
    reject = sub.add_parser("reject", help="send an item back to draft with a reason")
    reject.add_argument("id", type=int)
    reject.add_argument("--by", help=BY_HELP)
    reject.add_argument("--reason", required=True)
    reject.set_defaults(func=cmd_reject)
    edit = sub.add_parser(
        "edit",
        help="change a post's text, or an email's subject, intro or key messages (every part is rendered "
        "again; it then needs approving again, by someone else)",
    )
    edit.add_argument("id", type=int)
    edit.add_argument("--text", help="a post's new text")
    edit.add_argument("--subject", help="an email's new subject")
    edit.add_argument("--intro", help="an email's new introduction")
    edit.add_argument("--key-message", action="append", dest="key_messages", help="an email's key message (repeat)")
    edit.add_argument("--by", help=BY_HELP)
    edit.set_defaults(func=cmd_edit)


def cmd_list(args: argparse.Namespace) -> int:
    p = common.pipeline(args)
    status = ItemStatus(args.status) if args.status else None
    items = OutboxService.of(p).list_items(common.actor(args), status=status, channel=args.channel)
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
    who = common.actor(args)
    view = OutboxService.of(p).show(who, args.id)
    item, tz, hide = view.item, p.settings.tz, redactor(p.settings)
    items = ItemPreviewService.of(p)
    shown = items.preview(who, item.id)
    print(
        f"#{item.id} {item.title}\nchannel: {item.channel} ({item.kind})   status: {item.status}   "
        f"due: {common.local(item.due_at, tz)}"
    )
    approvals = OutboxService.of(p).history(who, item.id).approvals
    names = f" ({', '.join(a.by for a in approvals)})" if approvals else ""
    print(f"version: {item.content_hash[:12]}   approvals: {len(approvals)} of {item.approvals_required}{names}")
    if item.approved_by:
        print(f"approved by {item.approved_by} at {common.local(item.approved_at, tz)}")
    if item.reason:
        print(f"note: {hide(item.reason)}")
    if stale := items.freshness(who, item.id):
        print(f"notice: {stale}")
    if item.kind == "email":
        print(f"from: {shown.sender}\nsubject: {shown.subject}")
        print(f"(personalised for a sample reader, {shown.reader.name} of {shown.reader.organisation})")
    elif item.subject:
        print(f"subject: {item.subject}")
    print("\n" + (shown.text or "(no text)") + "\n")
    if item.html:
        print(f"[HTML part: {len(shown.html):,} characters; the web workspace shows it as it will appear]")
    _print_checks(items.checks(who, item.id))
    recipients = items.recipients_by_audience(who, item.id)
    if item.kind != "email":
        print(f"\nDestination: {recipients.destination}")
    elif not view.deliveries:
        print(f"\nRecipients: {recipients.summary()}")
    if view.deliveries:
        print(f"\nRecipients: {len(view.deliveries)}")
    for d in view.deliveries:
        print(f"  {d.recipient:40} {d.status:8} attempts={d.attempts} {d.url or ''} {hide(d.last_error or '')}")
    return 0


def _print_checks(checks: Checks) -> None:
    if checks.length is not None:
        over = " (over the limit)" if checks.length.over else ""
        print(f"length: {checks.length.used} of {checks.length.limit} {checks.length.counted}{over}")
    if checks.ok:
        print("checks: no problems found")
    for problem in checks.problems:
        print(f"problem: {problem}")


def cmd_approve(args: argparse.Namespace) -> int:
    service = OutboxService.of(common.pipeline(args))
    done = service.approve(common.actor(args), args.id, common.now(), seen_hash=args.version)
    if done.complete:
        print(f"#{done.item.id} is now {done.item.status} (version {done.item.content_hash[:12]})")
    else:
        print(f"#{done.item.id} has {done.given} of the {done.needed} approvals it needs; someone else must approve it")
    return 0


def cmd_reject(args: argparse.Namespace) -> int:
    item = OutboxService.of(common.pipeline(args)).reject(common.actor(args), args.id, args.reason, common.now())
    print(f"#{item.id} is now {item.status}")
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    item = OutboxService.of(common.pipeline(args)).cancel(common.actor(args), args.id, common.now())
    print(f"#{item.id} is now {item.status}")
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    done = OutboxService.of(common.pipeline(args)).retry(common.actor(args), args.id, common.now())
    print(f"#{done.item.id} is awaiting approval again; approve it to send ({done.deliveries_reset} deliveries reset)")
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    blocks = {k: v for k, v in (("intro", args.intro), ("key_messages", args.key_messages)) if v is not None}
    if args.text is None and args.subject is None and not blocks:
        raise Invalid("say what to change: --text for a post; --subject, --intro or --key-message for an email")
    item = OutboxService.of(common.pipeline(args)).edit(
        common.actor(args), args.id, common.now(), body=args.text, subject=args.subject, blocks=blocks or None
    )
    print(f"#{item.id} edited (version {item.content_hash[:12]}); status {item.status}")
    return 0
