"""The audit log: append-only (the table refuses UPDATE and DELETE, see migration 0005)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlalchemy.engine import Connection
from sqlmodel import col, select

from pipeline.records import Audited, AuditEntry
from pipeline.storage.base import StoreBase
from pipeline.storage.tables import AuditRow


def _entry(r: AuditRow) -> AuditEntry:
    assert r.id is not None
    return AuditEntry(r.id, r.at, r.actor, r.actor_kind, r.action, r.target, r.detail)


class AuditStore(StoreBase):
    """Implements `ports.AuditRepository`."""

    def record(self, entry: Audited, conn: Connection | None = None) -> None:
        with self.session(conn) as s:
            s.add(
                AuditRow(
                    at=entry.at,
                    actor=entry.actor,
                    actor_kind=entry.actor_kind,
                    action=entry.action,
                    target=entry.target,
                    detail=entry.detail,
                )
            )

    def on_audited(self, conn: Connection, event: Audited) -> None:
        """An `Audited` event published on another concern's transaction: written in that transaction."""
        self.record(event, conn)

    def entries(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = 100,
        offset: int = 0,
    ) -> tuple[list[AuditEntry], int]:
        """Matching entries, newest first, and how many match in all. `action` matches a prefix
        ("item." is every item action); `actor` and `target` match exactly."""
        with self.session() as s:
            q = select(AuditRow)
            if actor:
                q = q.where(func.lower(AuditRow.actor) == actor.strip().lower())
            if action:
                q = q.where(col(AuditRow.action).startswith(action, autoescape=True))
            if target:
                q = q.where(AuditRow.target == target)
            if since:
                q = q.where(col(AuditRow.at) >= since)
            if until:
                q = q.where(col(AuditRow.at) < until)
            total = int(s.exec(select(func.count()).select_from(q.subquery())).one())
            q = q.order_by(col(AuditRow.id).desc()).offset(offset)
            if limit is not None:
                q = q.limit(limit)
            return [_entry(r) for r in s.exec(q)], total
