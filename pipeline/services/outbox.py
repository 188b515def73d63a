"""The outbox life cycle: list, show, approve, reject, cancel, retry and edit an item.

The rules are here and nowhere else:
- which status allows which move (`MOVES`, `EDITABLE`);
- an edit sends the item back to awaiting approval and records who edited it;
- four eyes: whoever last edited an item may not approve it; someone else must.

The repository only reads and writes rows; each write is made conditional on the status read here,
so a decision taken on a status that another process changed meanwhile raises Conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pipeline.context import AppContext
from pipeline.errors import Conflict, Invalid, NotAllowed, NotFound
from pipeline.ports import OutboxRepository
from pipeline.records import Delivery, ItemStatus, OutboxItem
from pipeline.services.actor import Actor

S = ItemStatus


@dataclass(frozen=True)
class Move:
    verb: str  # as a person would say it: "approved", "rejected"
    to: ItemStatus
    allowed_from: frozenset[ItemStatus]


APPROVE = Move("approved", S.APPROVED, frozenset({S.DRAFT, S.AWAITING_APPROVAL}))
REJECT = Move("rejected", S.DRAFT, frozenset({S.AWAITING_APPROVAL, S.APPROVED}))
CANCEL = Move("cancelled", S.CANCELLED, frozenset({S.DRAFT, S.AWAITING_APPROVAL, S.APPROVED, S.FAILED, S.MISSED}))
RETRY = Move("retried", S.AWAITING_APPROVAL, frozenset({S.FAILED, S.MISSED}))
MOVES = {m.verb: m for m in (APPROVE, REJECT, CANCEL, RETRY)}
EDITABLE = frozenset(S) - {S.SENT, S.CANCELLED}
EDITABLE_FIELDS = ("subject", "body", "html")


@dataclass(frozen=True)
class ItemView:
    """One item with each recipient's delivery, as `comms queue show` and the web workspace show it."""

    item: OutboxItem
    deliveries: tuple[Delivery, ...]


@dataclass(frozen=True)
class Retried:
    item: OutboxItem
    deliveries_reset: int


class OutboxService:
    def __init__(self, outbox: OutboxRepository) -> None:
        self.outbox = outbox

    @classmethod
    def of(cls, ctx: AppContext) -> OutboxService:
        return cls(ctx.repos.outbox)

    # reading --------------------------------------------------------------------------------
    def list_items(
        self, actor: Actor, *, status: ItemStatus | None = None, channel: str | None = None
    ) -> tuple[OutboxItem, ...]:
        return tuple(self.outbox.items(status=status, channel=channel))

    def get(self, actor: Actor, item_id: int) -> OutboxItem:
        item = self.outbox.item(item_id)
        if item is None:
            raise NotFound(f"no outbox item {item_id}")
        return item

    def show(self, actor: Actor, item_id: int) -> ItemView:
        item = self.get(actor, item_id)
        return ItemView(item, tuple(self.outbox.deliveries(item.id)))

    # the life cycle -------------------------------------------------------------------------
    def approve(self, actor: Actor, item_id: int, now: datetime) -> OutboxItem:
        item = self._check(actor, item_id, APPROVE)
        if actor.same_person(item.edited_by):
            raise NotAllowed(f"four eyes: {item.edited_by} edited #{item.id} last, so someone else must approve it")
        return self._move(item, APPROVE, now, by=actor.name)

    def reject(self, actor: Actor, item_id: int, reason: str, now: datetime) -> OutboxItem:
        if not reason.strip():
            raise Invalid("a rejection needs a reason, so the author knows what to change")
        item = self._check(actor, item_id, REJECT)
        return self._move(item, REJECT, now, by=actor.name, reason=reason.strip())

    def cancel(self, actor: Actor, item_id: int, now: datetime) -> OutboxItem:
        item = self._check(actor, item_id, CANCEL)
        return self._move(item, CANCEL, now, by=actor.name)

    def retry(self, actor: Actor, item_id: int, now: datetime) -> Retried:
        """A failed or missed item goes back for approval with its failed deliveries pending again."""
        item = self._check(actor, item_id, RETRY)
        reset = self.outbox.reset_failed_deliveries(item.id)
        reason = f"retry requested; {reset} delivery(ies) to try again"
        return Retried(self._move(item, RETRY, now, by=actor.name, reason=reason), reset)

    def edit(
        self,
        actor: Actor,
        item_id: int,
        now: datetime,
        *,
        body: str | None = None,
        subject: str | None = None,
        html: str | None = None,
    ) -> OutboxItem:
        """Change an item's text. A changed item needs approving again, by someone other than `actor`."""
        item = self.get(actor, item_id)
        if item.status not in EDITABLE:
            raise Conflict(f"item {item.id} is {item.status}; only an item not yet sent or cancelled can be edited")
        asked = {"body": body, "subject": subject, "html": html}
        changes = {k: v for k, v in asked.items() if v is not None and v != getattr(item, k)}
        if not changes:
            return item  # the same text: nothing to approve again
        return self.outbox.edit_item(
            item.id, now, changes, by=actor.name, status=S.AWAITING_APPROVAL, allowed_from=(item.status,)
        )

    # helpers --------------------------------------------------------------------------------
    def _check(self, actor: Actor, item_id: int, move: Move) -> OutboxItem:
        item = self.get(actor, item_id)
        if item.status not in move.allowed_from:
            allowed = ", ".join(s.value for s in S if s in move.allowed_from)
            raise Conflict(f"item {item.id} is {item.status}; it can be {move.verb} only when {allowed}")
        return item

    def _move(self, item: OutboxItem, move: Move, now: datetime, *, by: str, reason: str | None = None) -> OutboxItem:
        return self.outbox.transition(item.id, move.to, now, by=by, reason=reason, allowed_from=(item.status,))
