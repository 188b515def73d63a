"""The incident freeze (pause, resume) and the pipeline's status at a glance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pipeline.clock.triggers import next_wakeups
from pipeline.context import AppContext
from pipeline.errors import Invalid
from pipeline.ports import ControlRepository, FeedRepository, OutboxRepository
from pipeline.records import FeedState, Freeze, ItemStatus, JobRun, NationalMessage, OutboxItem
from pipeline.services.actor import Actor
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
        self, settings: Settings, control: ControlRepository, outbox: OutboxRepository, feeds: FeedRepository
    ) -> None:
        self.settings, self.control, self.outbox, self.feeds = settings, control, outbox, feeds

    @classmethod
    def of(cls, ctx: AppContext) -> ControlService:
        return cls(ctx.settings, ctx.repos.control, ctx.repos.outbox, ctx.repos.feeds)

    def pause(self, actor: Actor, reason: str, now: datetime) -> Freeze:
        """Hold everything public until `resume`; composing and collecting carry on."""
        if not reason.strip():
            raise Invalid("a pause needs a reason, so the team knows why nothing goes out")
        self.control.set_freeze(True, actor.name, reason.strip(), now)
        return self.control.freeze()

    def resume(self, actor: Actor, reason: str, now: datetime) -> Freeze:
        """End the freeze: items due go out at the next wake-up, or are marked missed if too late."""
        self.control.set_freeze(False, actor.name, reason.strip(), now)
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
