"""Staff notifications: the approvers' digest of items awaiting approval, a reminder before an item
would lapse, and the admins' alerts when sends fail or the clock has stopped waking.

`decide()` is pure: from the items, the team's accounts and the clock's last wake-up at `now`, it says
what to tell whom, one `Notice` per (thing, person), each with its ledger key. `StaffNotifier` does the
rest, in one place: it claims the keys (so two clocks, a clock beside `comms notify`, or several web
workers tell each person each thing once), gathers each person's notices into one email per topic,
sends it over the configured SMTP server (`pipeline.jobs.staff_mail`) and records it in the audit log.

Staff mail is not public: it goes out while sending is paused, is never a delivery or a metric, and
carries only staff addresses, item titles, channels, times and links. A mail that fails is logged and
its claims released, so the next run sends it; it never stops the wake-up.

The clock cannot report its own death, so `check_clock` (the clock alert alone) is also called by the
web process's watchdog (`pipeline.web.watchdog`) and by `comms notify`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from channels.base import ChannelError
from pipeline.clock.triggers import WAKE, quiet_hours
from pipeline.context import AppContext
from pipeline.jobs.staff_mail import Mail, MailView, Notice, Topic, lapses_at, send_mail, staff_adapter
from pipeline.ports import ChannelAdapter
from pipeline.records import Claim, ItemStatus, JobRun, OutboxItem, Outcome, User
from pipeline.redact import redactor
from pipeline.services.actor import Actor
from pipeline.services.audit import audited
from pipeline.services.users import UserService

log = logging.getLogger(__name__)
LAPSE_WARNING = timedelta(hours=2)  # an item still awaiting approval this close to its send time: remind
CLOCK_SILENCE = timedelta(minutes=30)  # waking time with no wake-up before the admins are alerted
ALERT_LOOKBACK = timedelta(days=7)  # a failed or missed item due longer ago than this is not news
STEP = timedelta(minutes=1)  # the clock's silence is measured a minute at a time
NOTIFIER = Actor.system("notify")
KIND = "notify"  # the ledger kind of every notification key
AUDIT_ACTION = {
    Topic.AWAITING: "notify.digest",
    Topic.LAPSE: "notify.reminder",
    Topic.FAILED: "notify.alert",
    Topic.CLOCK: "notify.alert",
}
COUNTS = {Topic.AWAITING: "digests", Topic.LAPSE: "reminders", Topic.FAILED: "alerts", Topic.CLOCK: "alerts"}


@dataclass(frozen=True)
class Facts:
    """What the decision reads, gathered at `now`."""

    awaiting: tuple[OutboxItem, ...] = ()
    failed: tuple[OutboxItem, ...] = ()  # failed or missed, due within ALERT_LOOKBACK
    approvers: tuple[User, ...] = ()  # active approvers and admins
    admins: tuple[User, ...] = ()
    approved: Mapping[int, frozenset[str]] = field(default_factory=dict)  # item -> who approved its version
    last_wake: JobRun | None = None
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/London"))
    quiet: frozenset[int] = frozenset()  # local hours in which the clock never wakes


# Deciding (pure) ----------------------------------------------------------------------------------


def decide(facts: Facts, now: datetime) -> list[Notice]:
    """Everything there is to tell at `now`, before the ledger says what was told already."""
    return [*_digest(facts, now), *_reminders(facts, now), *_failures(facts, now), *_clock(facts, now)]


def can_approve(user: User, item: OutboxItem, approved: Mapping[int, frozenset[str]]) -> bool:
    """Four eyes: not the item's creator or last editor, nor someone who approved this version already."""
    me = user.email.strip().casefold()
    authors = {(item.created_by or "").strip().casefold(), (item.edited_by or "").strip().casefold()}
    return me not in authors and me not in approved.get(item.id, frozenset())


def _digest(facts: Facts, now: datetime) -> Iterator[Notice]:
    """Each version of an item awaiting approval, to each person who may approve it, once."""
    for item in facts.awaiting:
        if lapses_at(item) <= now:
            continue
        for user in facts.approvers:
            if can_approve(user, item, facts.approved):
                key = f"notify:awaiting:{item.id}:{item.content_hash[:12]}:{user.email}"
                yield Notice(Topic.AWAITING, user.email, key, item)


def _reminders(facts: Facts, now: datetime) -> Iterator[Notice]:
    """An item still awaiting approval within LAPSE_WARNING of its send time, and not yet lapsed."""
    for item in facts.awaiting:
        if not item.due_at - LAPSE_WARNING <= now < lapses_at(item):
            continue
        for user in facts.approvers:
            if can_approve(user, item, facts.approved):
                yield Notice(Topic.LAPSE, user.email, f"notify:lapse:{item.id}:{user.email}", item)


def _failures(facts: Facts, now: datetime) -> Iterator[Notice]:
    """Items that failed or were missed, and items that lapsed unapproved (missed in all but name)."""
    lapsed = [i for i in facts.awaiting if now - ALERT_LOOKBACK <= lapses_at(i) <= now]
    for item in sorted([*facts.failed, *lapsed], key=lambda i: (i.due_at, i.id)):
        for admin in facts.admins:
            yield Notice(Topic.FAILED, admin.email, f"notify:failed:{item.id}:{admin.email}", item)


def _clock(facts: Facts, now: datetime) -> Iterator[Notice]:
    """The clock silent for CLOCK_SILENCE: one alert per silence (per last wake-up) to each admin."""
    wake = facts.last_wake
    if wake is None or not clock_silent(wake.started_at, now, facts.tz, facts.quiet):
        return
    since = wake.started_at.astimezone(UTC).isoformat()
    silent = waking_minutes(wake.started_at, now, facts.tz, facts.quiet)
    for admin in facts.admins:
        key = f"notify:clock:{since}:{admin.email}"
        yield Notice(Topic.CLOCK, admin.email, key, wake=wake, silent_minutes=silent)


def clock_silent(since: datetime, now: datetime, tz: ZoneInfo, quiet: frozenset[int]) -> bool:
    """Whether CLOCK_SILENCE of waking time has passed since `since`. Time in the quiet hours (local
    01:00-01:59, when no trigger fires; twice over when the clocks go back) is not counted, so a quiet
    night is no alarm at 02:05."""
    waking, moment = timedelta(), since
    while moment < now:
        step = min(STEP, now - moment)
        if moment.astimezone(tz).hour not in quiet:
            waking += step
            if waking >= CLOCK_SILENCE:
                return True
        moment += step
    return False


def waking_minutes(since: datetime, now: datetime, tz: ZoneInfo, quiet: frozenset[int], most: int = 1440) -> int:
    """The waking time between `since` and `now` in whole minutes (at most `most`), for the wording."""
    minutes, moment = 0, since
    while moment + STEP <= now and minutes < most:
        minutes += moment.astimezone(tz).hour not in quiet
        moment += STEP
    return minutes


def mails(notices: list[Notice]) -> list[Mail]:
    """One email per person and topic, its notices in the order decided (items by due time)."""
    grouped: dict[tuple[str, Topic], list[Notice]] = {}
    for notice in notices:
        grouped.setdefault((notice.to, notice.topic), []).append(notice)
    return [Mail(topic, to, tuple(found)) for (to, topic), found in grouped.items()]


# Doing ------------------------------------------------------------------------------------------


@dataclass
class Report:
    """What one run sent, and what failed (retried at the next run)."""

    sent: list[Mail] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def outcome(self) -> Outcome:
        counts: dict[str, int] = {}
        for mail in self.sent:
            counts[COUNTS[mail.topic]] = counts.get(COUNTS[mail.topic], 0) + 1
        return Outcome(counts, tuple(self.failures))


class StaffNotifier:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx, self.repos, self.settings = ctx, ctx.repos, ctx.settings

    def run(self, now: datetime, *, clock_only: bool = False) -> Report:
        """Tell everyone what there is to tell at `now` (only the clock alert with `clock_only`)."""
        facts = self.facts(now, clock_only=clock_only)
        todo = mails(self.claim(decide(facts, now), now))
        report = Report()
        if not todo:
            return report
        view = self.view(now)
        try:
            adapter = staff_adapter(self.settings)
        except ChannelError as exc:  # a channel setting the registry refuses: nothing can go; retried
            self.repos.ledger.release([key for mail in todo for key in mail.keys])
            report.failures.append(f"staff mail cannot be sent: {exc}")
            log.error("staff mail cannot be sent", extra={"error": str(exc)})
            return report
        try:
            for mail in todo:
                self.send(adapter, mail, view, report)
        finally:
            adapter.close()
        return report

    def view(self, now: datetime) -> MailView:
        strategy = self.repos.calendar.strategy()
        channels = {c.code: c.name for c in strategy.channels} if strategy else {}
        return MailView(now, self.settings.tz, self.settings.public_base_url, channels, redactor(self.settings))

    def facts(self, now: datetime, *, clock_only: bool = False) -> Facts:
        """The items, the people and the clock's last wake-up; nothing is read that nobody would be told."""
        users = UserService.of(self.ctx)
        admins = tuple(users.admins())
        runs = self.repos.control.last_runs() if admins else []
        last_wake = next((r for r in runs if r.job == WAKE), None)
        base = Facts(admins=admins, last_wake=last_wake, tz=self.settings.tz, quiet=quiet_hours())
        approvers = () if clock_only else tuple(users.approvers())  # admins among them
        if not approvers:
            return base
        outbox = self.repos.outbox
        awaiting = tuple(outbox.items(status=ItemStatus.AWAITING_APPROVAL))
        since = now - ALERT_LOOKBACK
        failed = [*outbox.items(status=ItemStatus.FAILED, due_from=since)] if admins else []
        failed += outbox.items(status=ItemStatus.MISSED, due_from=since) if admins else []
        approved = {i.id: self._approved_by(i) for i in awaiting if i.approvals_required > 1}
        return replace(base, awaiting=awaiting, failed=tuple(failed), approvers=approvers, approved=approved)

    def _approved_by(self, item: OutboxItem) -> frozenset[str]:
        """Who approved the item's current version already (an item may need two approvals)."""
        return frozenset(a.by.strip().casefold() for a in self.repos.outbox.approvals(item.id, item.content_hash))

    def claim(self, notices: list[Notice], now: datetime) -> list[Notice]:
        """The notices this process is to send: not told already, and claimed from any other process."""
        if not notices:
            return []
        ledger = self.repos.ledger
        told = ledger.states_for([n.key for n in notices])  # read first: most runs have nothing new
        fresh = [n for n in notices if told.get(n.key) in (None, Claim.RECOVERED)]  # never claimed, or left open
        if not fresh:
            return []
        claims = ledger.claim_many([n.key for n in fresh], KIND, now)
        return [n for n in fresh if claims[n.key].go]

    def send(self, adapter: ChannelAdapter, mail: Mail, view: MailView, report: Report) -> None:
        """Send one mail; on success its keys are done and the audit log says so, with the count. On a
        failure the claims are released for the next run, unless the server refused the address for good."""
        ledger, now = self.repos.ledger, view.now
        try:
            send_mail(adapter, mail, self.ctx.renderer, view)
        except ChannelError as exc:
            retry = not exc.recipient_rejected  # an address refused for good is not tried every wake-up
            log.error("staff mail failed", extra={"topic": mail.topic.value, "error": str(exc), "retry": retry})
            then = "; it is tried again at the next run" if retry else "; the address was refused, not tried again"
            report.failures.append(f"staff {mail.topic.value} mail to {mail.to} failed: {exc}{then}")
            if retry:
                ledger.release(mail.keys)
            for key in [] if retry else mail.keys:
                ledger.finish(key, now, ok=False, detail=str(exc)[:500])
            return
        except Exception as exc:  # a team's template that fails, an adapter's bug: this mail only, retried
            log.exception("staff mail failed", extra={"topic": mail.topic.value})
            report.failures.append(f"staff {mail.topic.value} mail to {mail.to} failed: {type(exc).__name__}: {exc}")
            ledger.release(mail.keys)
            return
        for key in mail.keys:
            ledger.finish(key, now, detail=mail.topic.value)
        detail = f"{mail.count} item(s)" if mail.topic != Topic.CLOCK else "the clock is silent"
        self.repos.audit.record(audited(NOTIFIER, AUDIT_ACTION[mail.topic], now, f"user:{mail.to}", detail))
        log.info("staff mail sent", extra={"topic": mail.topic.value, "items": mail.count})
        report.sent.append(mail)


# The jobs ---------------------------------------------------------------------------------------


def notify_staff(ctx: AppContext, now: datetime) -> Outcome:
    """The wake-up's job (and `comms notify`): digests, reminders, failure and clock alerts."""
    return StaffNotifier(ctx).run(now).outcome()


def check_clock(ctx: AppContext, now: datetime) -> Outcome:
    """Only the clock alert: for the web process's watchdog, which runs while the clock may not."""
    return StaffNotifier(ctx).run(now, clock_only=True).outcome()
