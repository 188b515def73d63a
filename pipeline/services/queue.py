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
from pipeline.records import Approval, ItemLine, ItemStatus
from pipeline.services.actor import Actor
from pipeline.services.outbox import approval_refusal
from pipeline.services.permissions import Permission, can, require

SOON = timedelta(hours=48)
LIMIT = 25  # rows per section unless all are asked for ("Show all N")


@dataclass(frozen=True)
class QueueRow:
    item: ItemLine  # what a list shows, without the content
    approvals: tuple[Approval, ...]  # of the item's current version

    @property
    def given(self) -> int:
        return len(self.approvals)

    @property
    def needed(self) -> int:
        return self.item.approvals_required


@dataclass(frozen=True)
class Section:
    """One part of the queue: its first rows (all of them when asked), and how many there are in all."""

    rows: tuple[QueueRow, ...]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


@dataclass(frozen=True)
class Queue:
    can_approve: bool  # the person's role may approve at all
    yours: Section  # awaiting approval, and this person may approve them
    others: Section  # awaiting approval by someone else (four eyes, or approved already)
    soon: Section  # approved and due within `SOON` (or due and still within their window)
    failed: Section  # failed or missed, the latest first
    drafts: Section  # rejected, or held back with problems

    SECTIONS = ("yours", "others", "soon", "failed", "drafts")


class QueueService:
    def __init__(self, outbox: OutboxRepository) -> None:
        self.outbox = outbox

    @classmethod
    def of(cls, ctx: AppContext) -> QueueService:
        return cls(ctx.repos.outbox)

    def queue(self, actor: Actor, now: datetime, *, show_all: str = "", limit: int = LIMIT) -> Queue:
        """The queue as `actor` sees it at `now`: each section's first `limit` rows, all of `show_all`'s."""
        require(actor, Permission.VIEW)
        approver = can(actor, Permission.APPROVE)
        awaiting = self.outbox.lines(ItemStatus.AWAITING_APPROVAL)
        given = self.outbox.current_approvals([i.id for i in awaiting])
        yours: list[ItemLine] = []
        others: list[ItemLine] = []
        for item in awaiting:
            mine = approver and approval_refusal(actor, item, given.get(item.id, ())) is None
            (yours if mine else others).append(item)
        soon = [
            i
            for i in self.outbox.lines(ItemStatus.APPROVED, due_to=now + SOON)
            if i.due_at + timedelta(hours=i.missed_after_hours) >= now
        ]
        # Failed and drafts can be long lists of history: read only the rows shown, and count the rest.
        counts = self.outbox.status_counts()
        upto = {name: None if name == show_all else limit for name in Queue.SECTIONS}
        failed = self.outbox.lines((ItemStatus.FAILED, ItemStatus.MISSED), latest_first=True, limit=upto["failed"])
        drafts = self.outbox.lines(ItemStatus.DRAFT, limit=upto["drafts"])
        totals = {
            "yours": len(yours),
            "others": len(others),
            "soon": len(soon),
            "failed": counts.get(ItemStatus.FAILED, 0) + counts.get(ItemStatus.MISSED, 0),
            "drafts": counts.get(ItemStatus.DRAFT, 0),
        }
        parts = {"yours": yours, "others": others, "soon": soon, "failed": failed, "drafts": drafts}
        shown = {name: items if upto[name] is None else items[:limit] for name, items in parts.items()}
        extra = [i.id for name in ("soon", "failed", "drafts") for i in shown[name]]
        given |= self.outbox.current_approvals(extra) if extra else {}
        sections = {
            name: Section(tuple(QueueRow(i, given.get(i.id, ())) for i in items), totals[name])
            for name, items in shown.items()
        }
        return Queue(approver, **sections)
