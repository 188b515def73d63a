"""comms feeds add | list | remove | pause | resume | status | import"""

from __future__ import annotations

import argparse

from pipeline.cli import common
from pipeline.records import FeedSpec
from pipeline.redact import redactor
from pipeline.services.feeds import FeedService


def add(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    feeds = commands.add_parser("feeds", help="the feed registry: add, list, remove, pause, resume, status, import")
    sub = feeds.add_subparsers(dest="action", metavar="ACTION", required=True)
    add_ = sub.add_parser("add", help="add (or update) a feed")
    add_.add_argument("url")
    add_.add_argument("--name", required=True)
    add_.add_argument("--interval", type=int, default=60, help="minutes between polls")
    add_.add_argument("--objectives", default="")
    add_.add_argument("--audiences", default="")
    add_.add_argument("--include", default="", help="keywords, comma separated: keep only items with one")
    add_.add_argument("--exclude", default="", help="keywords, comma separated: drop items with any")
    add_.add_argument(
        "--internal",
        action="store_true",
        help="an intranet feed: its own host may be on a private address (no other host may)",
    )
    add_.set_defaults(func=cmd_add)
    rm = sub.add_parser("remove", help="stop polling a feed (its messages keep their provenance)")
    rm.add_argument("url")
    rm.set_defaults(func=cmd_remove)
    pause = sub.add_parser("pause", help="stop polling a feed until it is resumed (its messages stay usable)")
    pause.add_argument("name", metavar="NAME", help="the feed's name as `comms feeds list` shows it, or its URL")
    pause.set_defaults(func=cmd_pause, paused=True)
    resume = sub.add_parser("resume", help="poll a paused feed again, from the next collection")
    resume.add_argument("name", metavar="NAME", help="the feed's name as `comms feeds list` shows it, or its URL")
    resume.set_defaults(func=cmd_pause, paused=False)
    for name in ("list", "status"):
        sub.add_parser(name, help="each feed's health").set_defaults(func=cmd_status)
    sub.add_parser("import", help="register the feeds in the workspace's feeds.yaml").set_defaults(func=cmd_import)


def _split(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def cmd_add(args: argparse.Namespace) -> int:
    spec = FeedSpec(
        args.url,
        args.name,
        args.interval,
        _split(args.objectives),
        _split(args.audiences),
        _split(args.include),
        _split(args.exclude),
        internal=args.internal,
    )
    FeedService.of(common.pipeline(args)).add(common.actor(args), spec)
    print(f"feed added: {args.name}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    service = FeedService.of(common.pipeline(args))
    return common.done_or_missing(lambda: service.remove(common.actor(args), args.url), "removed")


def cmd_pause(args: argparse.Namespace) -> int:
    """Pause (or resume) the feed NAME names; an unknown or ambiguous name is bad input (exit 2)."""
    p = common.pipeline(args)
    service, who = FeedService.of(p), common.actor(args)
    feed = service.named(who, args.name)
    service.pause(who, feed.spec.url, paused=args.paused)
    already = " (it already was)" if feed.paused == args.paused else ""
    url = redactor(p.settings)(feed.spec.url)
    if args.paused:
        print(f"feed paused{already}: {feed.spec.name} ({url}); not polled until `comms feeds resume`")
    else:
        print(f"feed resumed{already}: {feed.spec.name} ({url}); polled from the next collection")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    print(
        f"{FeedService.of(common.pipeline(args)).import_workspace(common.actor(args))} feeds registered from feeds.yaml"
    )
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    p = common.pipeline(args)
    tz, hide = p.settings.tz, redactor(p.settings)
    for health in FeedService.of(p).status(common.actor(args)):
        f = health.feed
        state = "paused (not polled until `comms feeds resume`)" if health.state == "paused" else health.state
        polled = f.next_poll_at if health.state in ("ok", "failing") else None
        print(
            f"{f.spec.name}\n  {hide(f.spec.url)}\n  {state}; "
            f"last success {common.local(f.last_success_at, tz)}; "
            f"failures in a row {f.consecutive_failures}; items {f.items_seen}; next poll "
            f"{common.local(polled, tz)}"
        )
        if f.last_error:
            print(f"  last error: {hide(f.last_error)}")
    return 0
