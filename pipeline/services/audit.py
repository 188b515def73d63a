"""The audit log: every sign-in, approval, rejection, edit, freeze, resume, import and setting change,
with who, when and what. Append-only: the table refuses UPDATE and DELETE.

A use case records its action with `audited(...)`; the outbox's moves hand the record to the
repository, which writes it in the same transaction as the move itself.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pipeline.context import AppContext
from pipeline.ports import AuditRepository
from pipeline.records import Audited, AuditEntry
from pipeline.services.actor import Actor
from pipeline.services.permissions import Permission, require

CSV_FIELDS = ("at", "actor", "actor_kind", "action", "target", "detail")
EXPORT_LIMIT = 100_000


def audited(actor: Actor, action: str, now: datetime, target: str = "", detail: str = "") -> Audited:
    return Audited(now, actor.name, actor.kind.value, action, target, detail[:4000])


@dataclass(frozen=True)
class AuditPage:
    entries: tuple[AuditEntry, ...]
    total: int
    offset: int
    limit: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.entries) < self.total


class AuditService:
    def __init__(self, audit: AuditRepository) -> None:
        self.audit = audit

    @classmethod
    def of(cls, ctx: AppContext) -> AuditService:
        return cls(ctx.repos.audit)

    def record(self, actor: Actor, action: str, now: datetime, target: str = "", detail: str = "") -> None:
        self.audit.record(audited(actor, action, now, target, detail))

    def search(
        self,
        actor: Actor,
        *,
        who: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> AuditPage:
        require(actor, Permission.AUDIT)
        limit, offset = max(1, min(limit, 500)), max(0, offset)
        entries, total = self.audit.entries(
            actor=who, action=action, target=target, since=since, until=until, limit=limit, offset=offset
        )
        return AuditPage(tuple(entries), total, offset, limit)

    def export_csv(
        self,
        actor: Actor,
        *,
        who: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> str:
        """The matching entries as CSV, newest first. A cell that a spreadsheet would run as a formula
        is prefixed with an apostrophe."""
        require(actor, Permission.AUDIT)
        entries, _ = self.audit.entries(
            actor=who, action=action, target=target, since=since, until=until, limit=EXPORT_LIMIT
        )
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_FIELDS)
        writer.writerows(_row(e) for e in entries)
        return out.getvalue()


def _row(e: AuditEntry) -> Iterable[str]:
    return [_cell(v) for v in (e.at.isoformat(), e.actor, e.actor_kind, e.action, e.target, e.detail)]


def _cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
