"""The approval queue as a person sees it: what waits for them, what waits for someone else, what goes
out soon, what failed, and the drafts to fix.

Whether a person may approve an item is the outbox's rule (`outbox.approval_refusal`: four eyes, and
one approval per person per version), read here so the queue never offers what approving would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pipeline.context import AppContext
from pipeline.ports import OutboxRepository
from pipeline.records import Approval, ItemStatus, OutboxItem
from pipeline.services.actor import Actor
from pipeline.services.outbox import approval_refusal
from pipeline.services.permissions import Permission, can, require

SOON = timedelta(hours=48)


@dataclass(frozen=True)
class QueueRow:
    item: OutboxItem
    approvals: tuple[Approval, ...]  # of the item's current version

    @property
    def given(self) -> int:
        return len(self.approvals)

    @property
    def needed(self) -> int:
        return self.item.approvals_required


@dataclass(frozen=True)
class Queue:
    can_approve: bool  # the person's role may approve at all
    yours: tuple[QueueRow, ...]  # awaiting approval, and this person may approve them
    others: tuple[QueueRow, ...]  # awaiting approval by someone else (four eyes, or approved already)
    soon: tuple[QueueRow, ...]  # approved and due within `SOON` (or due and still within their window)
    failed: tuple[QueueRow, ...]  # failed or missed
    drafts: tuple[QueueRow, ...]  # rejected, or held back with problems


class QueueService:
    def __init__(self, outbox: OutboxRepository) -> None:
        self.outbox = outbox

    @classmethod
    def of(cls, ctx: AppContext) -> QueueService:
        return cls(ctx.repos.outbox)

    def queue(self, actor: Actor, now: datetime, window: timedelta = SOON) -> Queue:
        require(actor, Permission.VIEW)
        approver = can(actor, Permission.APPROVE)
        yours: list[QueueRow] = []
        others: list[QueueRow] = []
        for item in self.outbox.items(status=ItemStatus.AWAITING_APPROVAL):
            row = self._row(item)
            mine = approver and approval_refusal(actor, item, row.approvals) is None
            (yours if mine else others).append(row)
        soon = [
            self._row(i)
            for i in self.outbox.items(status=ItemStatus.APPROVED, due_to=now + window)
            if i.due_at + timedelta(hours=i.missed_after_hours) >= now
        ]
        failed = sorted(
            (*self.outbox.items(status=ItemStatus.FAILED), *self.outbox.items(status=ItemStatus.MISSED)),
            key=lambda i: i.due_at,
            reverse=True,
        )
        drafts = self.outbox.items(status=ItemStatus.DRAFT)
        return Queue(
            approver,
            tuple(yours),
            tuple(others),
            tuple(soon),
            tuple(self._row(i) for i in failed),
            tuple(self._row(i) for i in drafts),
        )

    def _row(self, item: OutboxItem) -> QueueRow:
        return QueueRow(item, tuple(self.outbox.approvals(item.id)))
