"""The incident freeze (pause, resume) and the pipeline's status at a glance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from content_calendar.plan import plan
from pipeline.clock.triggers import next_wakeups
from pipeline.context import AppContext
from pipeline.errors import Invalid
from pipeline.ports import (
    AuditRepository,
    CalendarRepository,
    ControlRepository,
    FeedRepository,
    MeasureRepository,
    OutboxRepository,
)
from pipeline.records import FeedState, Freeze, ItemStatus, JobRun, NationalMessage, OutboxItem, PullState
from pipeline.services.actor import Actor
from pipeline.services.audit import audited
from pipeline.services.permissions import Permission, require
from pipeline.settings import Settings

NEXT_DUE_DAYS = 62  # how far ahead `comms status` looks for what is due next
RECENT_MESSAGES = 200  # national messages looked at for changes made at the source after sending


@dataclass(frozen=True)
class DueNext:
    """One thing due: what, when, where, and how far it has got (planned, awaiting approval, ...)."""

    at: datetime
    title: str
    channel: str
    state: str  # planned (not composed yet), or the outbox item's status
    item_id: int | None = None


@dataclass(frozen=True)
class StatusView:
    """What `comms status` shows: the freeze, the clock's next wake-ups, the last run of each job, and
    what needs a person: failed or missed items, items awaiting approval, national messages changed
    after we sent them, feeds that fail or were retired."""

    freeze: Freeze
    next_wakeups: tuple[tuple[str, datetime], ...]
    next_due: tuple[DueNext, ...]  # the next things due to go out, soonest first
    last_runs: tuple[JobRun, ...]  # one per job, by job name
    failed: tuple[OutboxItem, ...]  # failed, then missed
    awaiting_approval: tuple[OutboxItem, ...]
    changed_after_sent: tuple[NationalMessage, ...]
    feed_problems: tuple[FeedState, ...]
    pulls: tuple[PullState, ...] = ()  # the last pull of each channel's own figures


class ControlService:
    def __init__(
        self,
        settings: Settings,
        control: ControlRepository,
        outbox: OutboxRepository,
        feeds: FeedRepository,
        audit: AuditRepository | None = None,
        calendar: CalendarRepository | None = None,
        measures: MeasureRepository | None = None,
    ) -> None:
        self.settings, self.control, self.outbox, self.feeds, self.audit = settings, control, outbox, feeds, audit
        self.calendar, self.measures = calendar, measures

    @classmethod
    def of(cls, ctx: AppContext) -> ControlService:
        repos = ctx.repos
        return cls(ctx.settings, repos.control, repos.outbox, repos.feeds, repos.audit, repos.calendar, repos.measures)

    def pause(self, actor: Actor, reason: str, now: datetime) -> Freeze:
        """Hold everything public until `resume`; composing and collecting carry on."""
        require(actor, Permission.FREEZE)
        if not reason.strip():
            raise Invalid("a pause needs a reason, so the team knows why nothing goes out")
        reason = reason.strip()[:1000]
        self.control.set_freeze(True, actor.name, reason, now)
        if self.audit is not None:
            self.audit.record(audited(actor, "freeze.paused", now, "sending", reason))
        return self.control.freeze()

    def resume(self, actor: Actor, reason: str, now: datetime) -> Freeze:
        """End the freeze: items due go out at the next wake-up, or are marked missed if too late."""
        require(actor, Permission.FREEZE)
        reason = reason.strip()[:1000]
        self.control.set_freeze(False, actor.name, reason, now)
        if self.audit is not None:
            self.audit.record(audited(actor, "freeze.resumed", now, "sending", reason))
        return self.control.freeze()

    def next_due(self, now: datetime, count: int = 10) -> list[DueNext]:
        """The next `count` things due to go out: queued items not yet sent, and planned occurrences not
        composed yet (from the imported plan, the calendar rules applied), soonest first."""
        pending = {ItemStatus.DRAFT, ItemStatus.AWAITING_APPROVAL, ItemStatus.APPROVED}
        upcoming = self.outbox.items(due_from=now)
        queued = [i for i in upcoming if i.status in pending]
        known = {i.occurrence_key for i in upcoming}
        out = [DueNext(i.due_at, i.title, i.channel, i.status, i.id) for i in queued]
        strategy = self.calendar.strategy() if self.calendar is not None else None
        if strategy is not None and self.calendar is not None:
            today = now.astimezone(self.settings.tz).date()
            entries, overrides = self.calendar.entries(), self.calendar.overrides()
            for occ in plan(strategy, entries, today, today + timedelta(days=NEXT_DUE_DAYS), overrides):
                if occ.status != "skipped" and occ.start >= now and occ.key not in known:
                    out.append(DueNext(occ.start, occ.title, occ.channel, "planned"))
        return sorted(out, key=lambda d: d.at)[:count]

    def freeze(self) -> Freeze:
        """Whether sending is paused, by whom, when and why (anyone may see it)."""
        return self.control.freeze()

    def status(self, now: datetime) -> StatusView:
        feeds = self.feeds.all()
        return StatusView(
            freeze=self.control.freeze(),
            next_wakeups=tuple(next_wakeups(self.settings, now)),
            next_due=tuple(self.next_due(now)),
            last_runs=tuple(sorted(self.control.last_runs(), key=lambda r: r.job)),
            failed=tuple(self.outbox.items(status=ItemStatus.FAILED) + self.outbox.items(status=ItemStatus.MISSED)),
            awaiting_approval=tuple(self.outbox.items(status=ItemStatus.AWAITING_APPROVAL)),
            changed_after_sent=tuple(m for m in self.feeds.messages(RECENT_MESSAGES) if m.changed_after_sent),
            feed_problems=tuple(f for f in feeds if f.consecutive_failures or f.retired),
            pulls=tuple(self.measures.pull_states()) if self.measures is not None else (),
        )
