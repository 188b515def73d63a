"""The incident freeze (pause, resume) and the pipeline's status at a glance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pipeline.clock.triggers import next_wakeups
from pipeline.context import AppContext
from pipeline.errors import Invalid
from pipeline.ports import AuditRepository, ControlRepository, FeedRepository, OutboxRepository
from pipeline.records import FeedState, Freeze, ItemStatus, JobRun, NationalMessage, OutboxItem
from pipeline.services.actor import Actor
from pipeline.services.audit import audited
from pipeline.services.permissions import Permission, require
from pipeline.settings import Settings

RECENT_MESSAGES = 200  # national messages looked at for changes made at the source after sending


@dataclass(frozen=True)
class StatusView:
    """What `comms status` shows: the freeze, the clock's next wake-ups, the last run of each job, and
    what needs a person: failed or missed items, items awaiting approval, national messages changed
    after we sent them, feeds that fail or were retired."""

    freeze: Freeze
    next_wakeups: tuple[tuple[str, datetime], ...]
    last_runs: tuple[JobRun, ...]  # one per job, by job name
    failed: tuple[OutboxItem, ...]  # failed, then missed
    awaiting_approval: tuple[OutboxItem, ...]
    changed_after_sent: tuple[NationalMessage, ...]
    feed_problems: tuple[FeedState, ...]


class ControlService:
    def __init__(
        self,
        settings: Settings,
        control: ControlRepository,
        outbox: OutboxRepository,
        feeds: FeedRepository,
        audit: AuditRepository | None = None,
    ) -> None:
        self.settings, self.control, self.outbox, self.feeds, self.audit = settings, control, outbox, feeds, audit

    @classmethod
    def of(cls, ctx: AppContext) -> ControlService:
        return cls(ctx.settings, ctx.repos.control, ctx.repos.outbox, ctx.repos.feeds, ctx.repos.audit)

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

    def freeze(self) -> Freeze:
        """Whether sending is paused, by whom, when and why (anyone may see it)."""
        return self.control.freeze()

    def status(self, now: datetime) -> StatusView:
        feeds = self.feeds.all()
        return StatusView(
            freeze=self.control.freeze(),
            next_wakeups=tuple(next_wakeups(self.settings, now)),
            last_runs=tuple(sorted(self.control.last_runs(), key=lambda r: r.job)),
            failed=tuple(self.outbox.items(status=ItemStatus.FAILED) + self.outbox.items(status=ItemStatus.MISSED)),
            awaiting_approval=tuple(self.outbox.items(status=ItemStatus.AWAITING_APPROVAL)),
            changed_after_sent=tuple(m for m in self.feeds.messages(RECENT_MESSAGES) if m.changed_after_sent),
            feed_problems=tuple(f for f in feeds if f.consecutive_failures or f.retired),
        )
