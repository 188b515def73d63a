"""Subscribers: an address, a name, an organisation, audiences and consent. Nothing more is kept."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Row, String, cast, or_
from sqlalchemy import select as core_select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, func, select

from pipeline.records import Subscriber
from pipeline.storage.base import StoreBase
from pipeline.storage.events import EventBus, RecipientRefused, SubscriberErased
from pipeline.storage.tables import MetaRow, SubscriberRow, SuppressionRow, table


def _sub(r: SubscriberRow | Row[Any]) -> Subscriber:
    """A subscriber from its ORM row or a Core row of the same table."""
    return Subscriber(
        r.email,
        r.name,
        r.organisation,
        tuple(r.audiences),
        r.consent_source,
        r.consent_date,
        r.status,
        r.id,
        tuple(r.left_lists or ()),
    )


VERSION_KEY = "subscribers.version"  # meta row bumped by every change to the list


class SubscriberStore(StoreBase):
    """Implements `ports.SubscriberRepository`; publishes `SubscriberErased` on `events`."""

    def __init__(self, engine: Engine, events: EventBus | None = None) -> None:
        super().__init__(engine)
        self.events = events
        self._counts: dict[tuple[frozenset[str], str | None], tuple[int, dict[str, int]]] = {}

    def upsert(self, subscribers: list[Subscriber], saved: Callable[[int], None] | None = None) -> tuple[int, int]:
        """Add new addresses and update known ones (an unsubscribed address stays unsubscribed), in one
        transaction; `saved` is told how many rows are done every 500 rows and at the end."""
        added = updated = 0
        with self.session() as s:
            for done, sub in enumerate(subscribers):
                if saved is not None and done % 500 == 0:
                    saved(done)
                email = sub.email.strip().lower()
                row = s.exec(select(SubscriberRow).where(SubscriberRow.email == email)).first()
                if row is None:
                    row = SubscriberRow(email=email, consent_source=sub.consent_source, consent_date=sub.consent_date)
                    added += 1
                else:
                    updated += 1
                row.name, row.organisation, row.audiences = sub.name, sub.organisation, list(sub.audiences)
                row.consent_source, row.consent_date = sub.consent_source, sub.consent_date
                s.add(row)
            if subscribers:
                self._changed(s)
        if saved is not None:
            saved(len(subscribers))
        return added, updated

    def all(self, status: str | None = None) -> list[Subscriber]:
        with self.session() as s:
            q = select(SubscriberRow).order_by(SubscriberRow.email)
            if status:
                q = q.where(SubscriberRow.status == status)
            return [_sub(r) for r in s.exec(q)]

    def find(self, email: str) -> Subscriber | None:
        with self.session() as s:
            row = s.exec(select(SubscriberRow).where(SubscriberRow.email == email.strip().lower())).first()
            return None if row is None else _sub(row)

    def emails(self) -> set[str]:
        rows = table(SubscriberRow)
        with self.engine.connect() as conn:
            return set(conn.execute(core_select(rows.c.email)).scalars())

    def recipients(self, audiences: set[str], list_code: str | None = None) -> list[tuple[str, str, Subscriber]]:
        """Active subscribers in any of `audiences` who have not left `list_code`: (address, the audience
        matched, subscriber).

        Read with Core and streamed in batches, keeping only the matches: a county holds 150,000
        residents, and ORM objects for all of them, to send one schools bulletin, cost hundreds of MB."""
        rows = table(SubscriberRow)
        q = core_select(rows).where(rows.c.status == "active").order_by(rows.c.email)
        out = []
        with self.engine.connect() as conn:
            for r in conn.execution_options(yield_per=2000).execute(q):
                matched = next((a for a in r.audiences if a in audiences), None)
                if matched is not None and not (list_code and list_code in (r.left_lists or ())):
                    out.append((r.email, matched, _sub(r)))
        return out

    def recipients_among(
        self, audiences: set[str], emails: list[str], list_code: str | None = None
    ) -> list[tuple[str, str, Subscriber]]:
        """`recipients`, only among these addresses (a batch's): one query by address, not the whole list."""
        rows = table(SubscriberRow)
        q = core_select(rows).where(rows.c.status == "active", rows.c.email.in_(emails)).order_by(rows.c.email)
        out = []
        with self.engine.connect() as conn:
            for r in conn.execute(q):
                matched = next((a for a in r.audiences if a in audiences), None)
                if matched is not None and not (list_code and list_code in (r.left_lists or ())):
                    out.append((r.email, matched, _sub(r)))
        return out

    def audience_counts(self, audiences: set[str], list_code: str | None = None) -> dict[str, int]:
        """Grouped by the stored list of audiences (a handful of distinct lists however many subscribers),
        each list then matched as `recipients` matches it. Kept per process until the list changes: every
        write to the list bumps a version in the same transaction, read here by its key."""
        if not audiences:
            return {}
        version = self._version()
        key = (frozenset(audiences), list_code)
        cached = self._counts.get(key)
        if cached is not None and cached[0] == version:
            return dict(cached[1])
        counts = self._count(audiences, list_code)
        self._counts[key] = (version, counts)
        return dict(counts)

    def _version(self) -> int:
        with self.engine.connect() as conn:
            meta = table(MetaRow)
            value = conn.execute(core_select(meta.c.value).where(meta.c.key == VERSION_KEY)).scalar_one_or_none()
        return int(value or 0)

    @staticmethod
    def _changed(s: Session) -> None:
        """The list changed: bump its version (in the caller's transaction)."""
        row = s.get(MetaRow, VERSION_KEY, with_for_update=True) or MetaRow(key=VERSION_KEY, value=0)
        row.value = int(row.value or 0) + 1
        s.add(row)

    def _count(self, audiences: set[str], list_code: str | None) -> dict[str, int]:
        rows = table(SubscriberRow)
        stored, left = cast(rows.c.audiences, String), cast(rows.c.left_lists, String)
        # Only lists that may name one of the audiences are grouped (the match itself is exact, below).
        mentions = or_(*(stored.contains(json.dumps(a), autoescape=True) for a in sorted(audiences)))
        q = core_select(stored, left, func.count()).where(rows.c.status == "active", mentions).group_by(stored, left)
        counts: dict[str, int] = {}
        with self.engine.connect() as conn:
            for listed, gone, count in conn.execute(q):
                matched = next((a for a in json.loads(listed or "[]") if a in audiences), None)
                if matched is not None and not (list_code and list_code in json.loads(gone or "[]")):
                    counts[matched] = counts.get(matched, 0) + int(count)
        return counts

    def set_status(
        self, email: str, status: str, now: datetime, reason: str = "", *, conn: Connection | None = None
    ) -> bool:
        with self.session(conn) as s:
            row = s.exec(select(SubscriberRow).where(SubscriberRow.email == email.strip().lower())).first()
            if row is None:
                return False
            row.status, row.status_changed_at, row.status_reason = status, now, reason[:500]
            s.add(row)
            self._changed(s)
            return True

    def leave_list(self, email: str, list_code: str) -> Subscriber | None:
        """Takes the address off one list (its other lists still come); None if it is not on file."""
        return self._lists(email, add=list_code)

    def rejoin_list(self, email: str, list_code: str) -> Subscriber | None:
        """Puts the address back on a list it left; None if it is not on file."""
        return self._lists(email, remove=list_code)

    def _lists(self, email: str, add: str = "", remove: str = "") -> Subscriber | None:
        with self.session() as s:
            q = select(SubscriberRow).where(SubscriberRow.email == email.strip().lower()).with_for_update()
            row = s.exec(q).first()
            if row is None:
                return None
            left = [code for code in (row.left_lists or []) if code not in (add, remove)]
            row.left_lists = sorted([*left, add] if add else left)
            s.add(row)
            self._changed(s)
            s.flush()
            return _sub(row)

    def on_recipient_refused(self, conn: Connection, event: RecipientRefused) -> None:
        self.set_status(event.address, "bounced", event.at, event.reason, conn=conn)

    def erase(self, email: str, digest: str, now: datetime, reason: str = "") -> bool:
        """Remove everything personal, everywhere, in one transaction: the subscriber's row goes, its
        keyed digest joins the suppression list, and the other concerns replace their copies of the
        address with an alias (`SubscriberErased`). Aggregate metrics never held it, so they stay true."""
        address = email.strip().lower()
        with self.session() as s:
            row = s.exec(select(SubscriberRow).where(SubscriberRow.email == address)).first()
            if row is None:
                return False
            s.delete(row)
            self._changed(s)
            if s.get(SuppressionRow, digest) is None:
                s.add(SuppressionRow(digest=digest, reason=reason[:200], at=now))
            s.flush()
            if self.events is not None:
                self.events.publish(s.connection(), [SubscriberErased(address, f"erased:{digest[:16]}")])
            return True

    def suppressed(self, digests: Collection[str]) -> set[str]:
        wanted, found = list(dict.fromkeys(digests)), set()
        rows = table(SuppressionRow)
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                found |= set(conn.execute(core_select(rows.c.digest).where(rows.c.digest.in_(chunk))).scalars())
        return found

    def unsuppress(self, digest: str) -> bool:
        with self.session() as s:
            row = s.get(SuppressionRow, digest)
            if row is None:
                return False
            s.delete(row)
            return True

    def counts(self) -> dict[str, int]:
        with self.session() as s:
            rows = s.exec(select(SubscriberRow.status, func.count()).group_by(col(SubscriberRow.status)))
            return {status: count for status, count in rows}
