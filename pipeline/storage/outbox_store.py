"""Editions, the outbox and its life cycle, and per-recipient deliveries."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from datetime import datetime
from typing import Any, Unpack

from sqlalchemy import String, func, literal, update
from sqlalchemy import select as core_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from pipeline.errors import Conflict, NotFound
from pipeline.records import (
    Approval,
    Audited,
    Comment,
    Delivery,
    Edition,
    ItemLine,
    ItemStatus,
    ItemVersion,
    NewEdition,
    NewItem,
    OutboxItem,
)
from pipeline.storage.base import StoreBase, scrub
from pipeline.storage.events import (
    EffectReleased,
    EffectSettled,
    EffectsReopened,
    Event,
    EventBus,
    ItemSettled,
    SubscriberErased,
)
from pipeline.storage.tables import (
    ApprovalRow,
    CommentRow,
    DeliveryRow,
    EditionRow,
    ItemVersionRow,
    LedgerRow,
    OutboxRow,
    table,
)


def content_hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _edition(r: EditionRow) -> Edition:
    assert r.id is not None
    return Edition(
        r.id,
        r.occurrence_key,
        r.entry_id,
        r.channel,
        r.template,
        r.status,
        r.subject,
        r.preheader,
        r.html,
        r.text,
        r.composed_at,
        tuple(r.problems),
    )


def _item(r: OutboxRow) -> OutboxItem:
    assert r.id is not None
    return OutboxItem(
        r.id,
        r.occurrence_key,
        r.entry_id,
        r.channel,
        r.kind,
        r.title,
        r.subject,
        r.body,
        r.html,
        r.link,
        tuple(r.audiences),
        tuple(r.objectives),
        r.due_at,
        r.missed_after_hours,
        r.status,
        r.approval,
        r.approved_by,
        r.approved_at,
        r.edition_id,
        r.reason,
        r.last_error,
        r.created_by,
        r.edited_by,
        r.content_hash,
        r.approved_hash,
        r.approvals_required,
    )


class OutboxStore(StoreBase):
    """Implements `ports.OutboxRepository`; publishes its events on `events`."""

    def __init__(self, engine: Engine, events: EventBus) -> None:
        super().__init__(engine)
        self.events = events

    # editions -------------------------------------------------------------------------------
    def save_edition(self, **values: Unpack[NewEdition]) -> Edition:
        with self.session() as s:
            row = s.exec(select(EditionRow).where(EditionRow.occurrence_key == values["occurrence_key"])).first()
            row = row or EditionRow(**values)
            for k, v in values.items():
                setattr(row, k, v)
            s.add(row)
            s.flush()
            return _edition(row)

    def edition(self, edition_id: int) -> Edition | None:
        with self.session() as s:
            row = s.get(EditionRow, edition_id)
            return _edition(row) if row else None

    def edition_inputs(self, edition_id: int) -> dict[str, Any]:
        with self.session() as s:
            row = s.get(EditionRow, edition_id)
            return dict(row.inputs) if row else {}

    def last_edition(self, entry_id: str, before: str) -> Edition | None:
        """The entry's latest composed edition other than `before` (an occurrence key)."""
        with self.session() as s:
            row = s.exec(
                select(EditionRow)
                .where(
                    EditionRow.entry_id == entry_id,
                    EditionRow.status == "composed",
                    EditionRow.occurrence_key != before,
                )
                .order_by(col(EditionRow.composed_at).desc())
            ).first()
            return _edition(row) if row else None

    def list_history(self, channel: str, before: str, since: datetime) -> list[dict[str, Any]]:
        """The inputs of the channel's editions composed since `since`, other than the occurrence `before`,
        whose items were not cancelled or missed: what the list had, or has on its way."""
        gone = (ItemStatus.CANCELLED.value, ItemStatus.MISSED.value)
        with self.session() as s:
            rows = s.exec(
                select(EditionRow.inputs)
                .join(OutboxRow, col(OutboxRow.edition_id) == col(EditionRow.id))
                .where(
                    EditionRow.channel == channel,
                    EditionRow.occurrence_key != before,
                    EditionRow.composed_at >= since,
                    col(OutboxRow.status).not_in(gone),
                )
                .order_by(col(EditionRow.composed_at))
            )
            return [dict(inputs) for inputs in rows]

    def editions(self, limit: int = 100) -> list[Edition]:
        with self.session() as s:
            rows = s.exec(select(EditionRow).order_by(col(EditionRow.composed_at).desc()).limit(limit))
            return [_edition(r) for r in rows]

    # outbox ---------------------------------------------------------------------------------
    def add_item(self, now: datetime, **values: Unpack[NewItem]) -> OutboxItem:
        """Queue an item once per occurrence; an existing item for the occurrence is returned as is."""
        with self.session() as s:
            found = s.exec(select(OutboxRow).where(OutboxRow.occurrence_key == values["occurrence_key"])).first()
            if found is not None:
                return _item(found)
            digest = content_hash(values.get("subject", ""), values.get("body", ""), values.get("html", ""))
            row = OutboxRow(**values, content_hash=digest, created_at=now, updated_at=now)
            if row.status == ItemStatus.APPROVED:  # approved as it is queued: bound to this exact content
                row.approved_at, row.approved_hash = now, digest
            s.add(row)
            s.flush()
            assert row.id is not None
            self._keep_version(s, row, row.created_by or "clock", now)
            return _item(row)

    def item(self, item_id: int) -> OutboxItem | None:
        with self.session() as s:
            row = s.get(OutboxRow, item_id)
            return _item(row) if row else None

    def items(
        self,
        status: str | None = None,
        channel: str | None = None,
        due_from: datetime | None = None,
        due_to: datetime | None = None,
    ) -> list[OutboxItem]:
        with self.session() as s:
            q = select(OutboxRow).order_by(col(OutboxRow.due_at), col(OutboxRow.id))
            if status:
                q = q.where(OutboxRow.status == status)
            if channel:
                q = q.where(OutboxRow.channel == channel)
            if due_from:
                q = q.where(OutboxRow.due_at >= due_from)
            if due_to:
                q = q.where(OutboxRow.due_at < due_to)
            return [_item(r) for r in s.exec(q)]

    def lines(
        self,
        status: str | Collection[str],
        due_to: datetime | None = None,
        *,
        latest_first: bool = False,
        limit: int | None = None,
    ) -> list[ItemLine]:
        """Read with Core, only the columns a list shows: thousands of lines in milliseconds."""
        o = table(OutboxRow)
        columns = [getattr(o.c, name) for name in ItemLine.__dataclass_fields__]
        statuses = [status] if isinstance(status, str) else list(status)
        order = (o.c.due_at.desc(), o.c.id.desc()) if latest_first else (o.c.due_at, o.c.id)
        q = core_select(*columns).where(o.c.status.in_(statuses)).order_by(*order)
        if due_to is not None:
            q = q.where(o.c.due_at < due_to)
        if limit is not None:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            return [ItemLine(*r) for r in conn.execute(q)]

    def items_for_occurrences(self, keys: Collection[str]) -> dict[str, tuple[int, str]]:
        """The item (id, status) composed for each of these occurrence keys; keys without one left out."""
        o = table(OutboxRow)
        found: dict[str, tuple[int, str]] = {}
        wanted = list(dict.fromkeys(keys))
        with self.engine.connect() as conn:
            for at in range(0, len(wanted), 500):
                q = core_select(o.c.occurrence_key, o.c.id, o.c.status).where(
                    o.c.occurrence_key.in_(wanted[at : at + 500])
                )
                found |= {key: (item_id, status) for key, item_id, status in conn.execute(q)}
        return found

    def on_subscriber_erased(self, conn: Connection, event: SubscriberErased) -> None:
        """An erased address leaves no copy here: its deliveries and any error text name the alias."""
        deliveries, outbox = table(DeliveryRow), table(OutboxRow)
        conn.execute(update(deliveries).where(deliveries.c.recipient == event.address).values(recipient=event.alias))
        scrub(conn, deliveries, deliveries.c.last_error, event.address, event.alias)
        scrub(conn, outbox, outbox.c.last_error, event.address, event.alias)
        scrub(conn, outbox, outbox.c.reason, event.address, event.alias)

    def status_counts(self) -> dict[str, int]:
        outbox = table(OutboxRow)
        with self.engine.connect() as conn:
            rows = conn.execute(core_select(outbox.c.status, func.count()).group_by(outbox.c.status))
            return {status: int(count) for status, count in rows}

    def transition(
        self,
        item_id: int,
        to: str,
        now: datetime,
        *,
        by: str | None = None,
        reason: str | None = None,
        allowed_from: Collection[str] = (),
        audit: Audited | None = None,
    ) -> OutboxItem:
        """Write an item's new status with who and when. Which moves are allowed is decided by the caller
        (`pipeline.services.outbox`); `allowed_from` makes the write conditional on the status it read, so
        a move decided on a status another process has changed meanwhile raises Conflict. `audit` is
        written to the audit log in the same transaction."""
        with self.session() as s:
            row = self._row(s, item_id, allowed_from)
            row.status, row.updated_at = to, now
            if to == ItemStatus.APPROVED:
                row.approved_by, row.approved_at, row.approved_hash = by, now, row.content_hash
            elif to in (ItemStatus.AWAITING_APPROVAL, ItemStatus.DRAFT):
                row.approved_by = row.approved_at = row.approved_hash = None
            if to == ItemStatus.DRAFT:
                row.rejected_by = by
            if reason is not None:
                row.reason = reason
            s.add(row)
            self._audit(s, audit)
            return _item(row)

    def approve(
        self,
        item_id: int,
        seen_hash: str,
        by: str,
        now: datetime,
        *,
        allowed_from: Collection[str],
        audit: Audited | None = None,
    ) -> tuple[OutboxItem, tuple[Approval, ...]]:
        """Record `by`'s approval of the version `seen_hash`; once the item has as many distinct approvals
        of that version as it requires, it is approved, bound to that hash. Conditional on the status
        and on the content still being `seen_hash` (Conflict otherwise). Returns the item and the
        approvals of its current version."""
        approvals = table(ApprovalRow)
        with self.session() as s:
            row = self._row(s, item_id, allowed_from)
            if row.content_hash != seen_hash:
                raise Conflict(f"item {item_id} changed after it was opened; nothing was approved")
            conn = s.connection()
            already = conn.execute(
                core_select(approvals.c.id).where(
                    approvals.c.outbox_id == item_id, approvals.c.content_hash == seen_hash, approvals.c.by == by
                )
            ).first()
            if already is None:
                conn.execute(approvals.insert().values(outbox_id=item_id, content_hash=seen_hash, by=by, at=now))
            given = self._approvals(conn, item_id, seen_hash)
            if len(given) >= row.approvals_required:
                row.status, row.approved_at, row.approved_hash = ItemStatus.APPROVED, now, seen_hash
                row.approved_by = ", ".join(a.by for a in given)
            row.updated_at = now
            s.add(row)
            self._audit(s, audit)
            return _item(row), given

    def approvals(self, item_id: int, content_hash: str | None = None) -> tuple[Approval, ...]:
        """The approvals of one version of the item (its current one when `content_hash` is None)."""
        with self.engine.connect() as conn:
            if content_hash is None:
                outbox = table(OutboxRow)
                content_hash = conn.execute(
                    core_select(outbox.c.content_hash).where(outbox.c.id == item_id)
                ).scalar_one_or_none()
                if content_hash is None:
                    return ()
            return self._approvals(conn, item_id, content_hash)

    def current_approvals(self, item_ids: Collection[int]) -> dict[int, tuple[Approval, ...]]:
        a, outbox = table(ApprovalRow), table(OutboxRow)
        ids = sorted(set(item_ids))
        found: dict[int, list[Approval]] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):  # bounded IN lists, whatever the database's limit
                rows = conn.execute(
                    core_select(a.c.outbox_id, a.c.content_hash, a.c.by, a.c.at)
                    .join(outbox, (outbox.c.id == a.c.outbox_id) & (outbox.c.content_hash == a.c.content_hash))
                    .where(a.c.outbox_id.in_(ids[start : start + 500]))
                    .order_by(a.c.id)
                )
                for r in rows:
                    found.setdefault(r.outbox_id, []).append(Approval(*r))
        return {item_id: tuple(given) for item_id, given in found.items()}

    @staticmethod
    def _approvals(conn: Connection, item_id: int, content_hash: str) -> tuple[Approval, ...]:
        a = table(ApprovalRow)
        rows = conn.execute(
            core_select(a.c.outbox_id, a.c.content_hash, a.c.by, a.c.at)
            .where(a.c.outbox_id == item_id, a.c.content_hash == content_hash)
            .order_by(a.c.id)
        )
        return tuple(Approval(*r) for r in rows)

    def edit_item(
        self,
        item_id: int,
        now: datetime,
        changes: dict[str, str],
        *,
        by: str,
        status: str,
        allowed_from: Collection[str] = (),
        edition: tuple[int, dict[str, Any]] | None = None,
        audit: Audited | None = None,
    ) -> OutboxItem:
        """Write an item's new content (its content hash follows, and the version is kept), who edited it,
        and the status the caller decided; an item not left approved loses its approval. With `edition`
        (its id and new inputs), the edition's inputs and rendering are replaced in the same transaction."""
        with self.session() as s:
            row = self._row(s, item_id, allowed_from)
            for k, v in changes.items():
                setattr(row, k, v)
            row.content_hash = content_hash(row.subject, row.body, row.html)
            row.edited_by, row.status, row.updated_at = by, status, now
            if status != ItemStatus.APPROVED:
                row.approved_by = row.approved_at = row.approved_hash = None
            s.add(row)
            if edition is not None:
                ed = s.get(EditionRow, edition[0], with_for_update=True)
                if ed is None:
                    raise NotFound(f"no edition {edition[0]}")
                ed.inputs, ed.subject, ed.html, ed.text = edition[1], row.subject, row.html, row.body
                ed.preheader = str(edition[1].get("preheader", ed.preheader))
                s.add(ed)
            s.flush()
            self._keep_version(s, row, by, now)
            self._audit(s, audit)
            return _item(row)

    def versions(self, item_id: int) -> tuple[ItemVersion, ...]:
        """Every version of the item, oldest first."""
        with self.session() as s:
            q = select(ItemVersionRow).where(ItemVersionRow.outbox_id == item_id).order_by(col(ItemVersionRow.id))
            return tuple(
                ItemVersion(r.outbox_id, r.content_hash, r.subject, r.body, r.html, r.by, r.at) for r in s.exec(q)
            )

    @staticmethod
    def _keep_version(s: Session, row: OutboxRow, by: str, now: datetime) -> None:
        assert row.id is not None
        q = select(ItemVersionRow.id).where(
            ItemVersionRow.outbox_id == row.id, ItemVersionRow.content_hash == row.content_hash
        )
        if s.exec(q).first() is None:
            s.add(
                ItemVersionRow(
                    outbox_id=row.id,
                    content_hash=row.content_hash,
                    subject=row.subject,
                    body=row.body,
                    html=row.html,
                    by=by,
                    at=now,
                )
            )

    def _audit(self, s: Session, audit: Audited | None) -> None:
        if audit is not None:
            self.events.publish(s.connection(), [audit])

    # comments -------------------------------------------------------------------------------
    def add_comment(self, item_id: int, content_hash: str, by: str, text: str, now: datetime) -> Comment:
        with self.session() as s:
            row = CommentRow(outbox_id=item_id, content_hash=content_hash, by=by, text=text, at=now)
            s.add(row)
            s.flush()
            assert row.id is not None
            return Comment(row.id, item_id, content_hash, by, now, text)

    def comments(self, item_id: int) -> tuple[Comment, ...]:
        with self.session() as s:
            q = select(CommentRow).where(CommentRow.outbox_id == item_id).order_by(col(CommentRow.id))
            return tuple(Comment(r.id or 0, r.outbox_id, r.content_hash, r.by, r.at, r.text) for r in s.exec(q))

    @staticmethod
    def _row(s: Session, item_id: int, allowed_from: Collection[str]) -> OutboxRow:
        row = s.get(OutboxRow, item_id, with_for_update=True)
        if row is None:
            raise NotFound(f"no outbox item {item_id}")
        if allowed_from and row.status not in allowed_from:
            raise Conflict(f"item {item_id} is {row.status} now (it changed meanwhile); nothing was done")
        return row

    # deliveries -----------------------------------------------------------------------------
    def ensure_deliveries(self, item_id: int, recipients: list[tuple[str, str]]) -> None:
        """Create a pending delivery per (recipient, audience) not yet known for the item."""
        deliveries = table(DeliveryRow)
        with self.engine.begin() as conn:  # Core: one insert for the whole list
            known = set(
                conn.execute(core_select(deliveries.c.recipient).where(deliveries.c.outbox_id == item_id)).scalars()
            )
            new: list[dict[str, Any]] = []
            for recipient, audience in recipients:
                if recipient not in known:
                    new.append(
                        {
                            "outbox_id": item_id,
                            "recipient": recipient,
                            "audience": audience,
                            "status": "pending",
                            "attempts": 0,
                        }
                    )
                    known.add(recipient)
            if new:  # another dispatcher may be adding the same rows this moment: theirs stand
                dialect = postgresql if self.is_postgres else sqlite
                conn.execute(dialect.insert(deliveries).on_conflict_do_nothing(), new)

    def deliveries(
        self,
        item_id: int,
        status: str | None = None,
        recipients: list[str] | None = None,
        ids: tuple[int, int] | None = None,
    ) -> list[Delivery]:
        """The item's deliveries by id (only these `recipients`, or only ids `first..last` inclusive, if
        given), read with Core (thousands per item; ORM objects cost a millisecond each)."""
        deliveries = table(DeliveryRow)
        q = core_select(deliveries).where(deliveries.c.outbox_id == item_id).order_by(deliveries.c.id)
        if status:
            q = q.where(deliveries.c.status == status)
        if recipients is not None:
            q = q.where(deliveries.c.recipient.in_(recipients))
        if ids is not None:
            q = q.where(deliveries.c.id.between(*ids))
        with self.engine.connect() as conn:
            return [
                Delivery(
                    r.id,
                    r.outbox_id,
                    r.recipient,
                    r.audience,
                    r.status,
                    r.attempts,
                    r.external_id,
                    r.url,
                    r.last_error,
                    r.sent_at,
                    r.next_attempt_at,
                )
                for r in conn.execute(q)
            ]

    def record_attempt(
        self,
        key: str,
        delivery_id: int,
        status: str,
        now: datetime,
        *,
        ledger: str | None,
        detail: str = "",
        error: str | None = None,
        external_id: str | None = None,
        url: str | None = None,
        next_attempt_at: datetime | None = None,
        also: tuple[Event, ...] = (),
    ) -> None:
        """After one send attempt, in one transaction: the delivery's new state, and the events it
        means for the other concerns: the ledger claim settled (`ledger` done or failed) or released
        for a later retry (`ledger` None), and anything in `also` (a refused recipient)."""
        deliveries = table(DeliveryRow)
        values: dict[str, Any] = {
            "status": status,
            "attempts": deliveries.c.attempts + 1,
            "last_error": error,
            "next_attempt_at": next_attempt_at,
        }
        if external_id:
            values |= {"external_id": external_id, "url": url}
        if status == "sent":
            values["sent_at"] = now
        claim: Event = EffectSettled(key, ledger, now, detail) if ledger else EffectReleased(key)
        with self.engine.begin() as conn:
            conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(**values))
            self.events.publish(conn, (claim, *also))

    def settle(
        self, item_id: int, to: str, now: datetime, *, reason: str | None, event: ItemSettled | None = None
    ) -> bool:
        """The dispatcher's move of an approved item (to sent, failed or missed) with what follows from
        it, in one transaction. Only one process makes the move; False if the item was no longer
        approved (another process settled it first, or a person cancelled it)."""
        outbox = table(OutboxRow)
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(outbox)
                .where(outbox.c.id == item_id, outbox.c.status == "approved")
                .values(status=to, updated_at=now, reason=reason)
            ).rowcount
            if moved and event is not None:
                self.events.publish(conn, (event,))
        return bool(moved)

    def has_pending(self, item_id: int) -> bool:
        deliveries = table(DeliveryRow)
        mine = deliveries.c.outbox_id == item_id, deliveries.c.status == "pending"
        with self.engine.connect() as conn:
            return conn.execute(core_select(deliveries.c.id).where(*mine).limit(1)).first() is not None

    def sync_sent(self, item_id: int, key_prefix: str, now: datetime, recipients: list[str] | None = None) -> int:
        """Mark pending deliveries sent where the ledger says their send is done (key `key_prefix` +
        recipient), in one statement (UPDATE ... FROM the ledger, by its key); only these
        `recipients`' (a batch's), if given. Returns how many."""
        deliveries, ledger = table(DeliveryRow), table(LedgerRow)
        stmt = (
            update(deliveries)
            .where(
                deliveries.c.outbox_id == item_id,
                deliveries.c.status == "pending",
                ledger.c.key == literal(key_prefix, String) + deliveries.c.recipient,
                ledger.c.state == "done",
            )
            .values(status="sent", sent_at=now, external_id=ledger.c.detail, attempts=deliveries.c.attempts + 1)
        )
        if recipients is not None:
            stmt = stmt.where(deliveries.c.recipient.in_(recipients))
        with self.engine.begin() as conn:
            return int(conn.execute(stmt).rowcount)

    def reset_failed_deliveries(self, item_id: int) -> int:
        """Make the item's failed deliveries pending again and reopen their send claims, in one
        transaction; returns how many."""
        deliveries, outbox = table(DeliveryRow), table(OutboxRow)
        with self.engine.begin() as conn:
            channel = conn.execute(core_select(outbox.c.channel).where(outbox.c.id == item_id)).scalar()
            failed = deliveries.c.outbox_id == item_id, deliveries.c.status == "failed"
            recipients = list(conn.execute(core_select(deliveries.c.recipient).where(*failed)).scalars())
            conn.execute(update(deliveries).where(*failed).values(status="pending", next_attempt_at=None))
            keys = tuple(f"send:{channel}:{item_id}:{r}" for r in recipients)
            self.events.publish(conn, (EffectsReopened(keys),))
        return len(recipients)
