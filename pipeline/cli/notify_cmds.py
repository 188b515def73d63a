"""comms notify: tell the staff now what the clock's wake-ups tell them (digests, reminders, alerts).

Useful from cron on another machine as a watchdog: the clock cannot report that it has stopped, so
`comms notify` (or the web workspace's own watchdog) alerts the admins when it has not woken for 30
minutes. Each thing is told once, whoever tells it first.
"""

from __future__ import annotations

import argparse

from pipeline.cli import common
from pipeline.jobs.notify import Report, StaffNotifier
from pipeline.jobs.staff_mail import Topic
from pipeline.records import Outcome
from pipeline.redact import redact

SAID = {
    Topic.AWAITING: "digest",
    Topic.LAPSE: "reminder",
    Topic.FAILED: "failure alert",
    Topic.CLOCK: "clock alert",
}


def add(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    notify = commands.add_parser(
        "notify", help="email the staff now: approval digests, lapse reminders, failure and clock alerts"
    )
    common.add_at(notify)
    notify.set_defaults(func=cmd_notify)


def cmd_notify(args: argparse.Namespace) -> int:
    """Exit 1 when a staff mail failed (it is tried again at the next run)."""
    p = common.pipeline(args)
    now = common.parse_at(args.at, p.settings.tz)
    done: list[Report] = []

    def job() -> Outcome:
        done.append(StaffNotifier(p).run(now))
        return done[-1].outcome()

    outcome = p.run_job("notify", now, job)
    report = done[0] if done else Report(failures=list(outcome.failures))
    for mail in report.sent:
        items = f": {mail.count} item{'s' if mail.count != 1 else ''}" if mail.count else ""
        print(f"{SAID[mail.topic]} to {mail.to}{items}")
    if not report.sent and not report.failures:
        print("notify: nothing new to tell anyone")
    for failure in report.failures:
        print(f"  failed: {redact(failure)}")
    return 1 if report.failures else 0
