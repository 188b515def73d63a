"""The subscriber list: import, list, unsubscribe, export and erase (which keeps only aggregate counts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipeline.context import AppContext
from pipeline.errors import Invalid, NotFound, SettingsError
from pipeline.ports import AuditRepository, CalendarRepository, SubscriberRepository
from pipeline.records import Subscriber
from pipeline.services.actor import Actor
from pipeline.services.audit import audited
from pipeline.services.permissions import Permission, require
from pipeline.tokens import TokenError, address_digest
from pipeline.workspace import Workspace, read_subscribers

STATUSES = ("active", "unsubscribed", "bounced")


@dataclass(frozen=True)
class SubscribersImported:
    added: int
    updated: int
    suppressed: int = 0  # erased earlier: not brought back (`comms subscribers allow` takes one back)


class SubscriberService:
    def __init__(
        self,
        subscribers: SubscriberRepository,
        workspace: Workspace | None = None,
        audit: AuditRepository | None = None,
        secret_key: str = "",
        calendar: CalendarRepository | None = None,
    ) -> None:
        self.subscribers, self.workspace, self.audit = subscribers, workspace, audit
        self.secret_key, self.calendar = secret_key, calendar

    @classmethod
    def of(cls, ctx: AppContext) -> SubscriberService:
        repos = ctx.repos
        return cls(repos.subscribers, ctx.workspace, repos.audit, ctx.settings.secret_key, repos.calendar)

    def _digest(self, email: str) -> str:
        try:
            return address_digest(email, self.secret_key)
        except TokenError as exc:
            raise SettingsError(str(exc)) from None

    def _audit(self, actor: Actor, action: str, detail: str = "") -> None:
        """Recorded without the address: the audit log is append-only, and an erased address must leave
        no copy behind."""
        if self.audit is not None:
            self.audit.record(audited(actor, action, datetime.now(UTC), "subscribers", detail))

    def import_file(self, actor: Actor, path: Path | None = None) -> SubscribersImported:
        """Add or update subscribers from a CSV (the workspace's subscribers.csv by default), all or
        nothing; an unsubscribed address stays unsubscribed."""
        if path is None:
            if self.workspace is None:
                raise Invalid("name the subscribers CSV to import")
            path = self.workspace.root / "subscribers.csv"
        require(actor, Permission.SUBSCRIBERS)
        strategy = self.calendar.strategy() if self.calendar is not None else None
        rows = read_subscribers(path, {a.code for a in strategy.audiences} if strategy else None)
        kept, suppressed = rows, 0
        if self.secret_key:
            digests = {row.email: self._digest(row.email) for row in rows}
            erased = self.subscribers.suppressed(digests.values())
            kept = [row for row in rows if digests[row.email] not in erased]
            suppressed = len(rows) - len(kept)
        added, updated = self.subscribers.upsert(kept)
        detail = f"{path.name}: {added} added, {updated} updated, {suppressed} erased earlier and left out"
        self._audit(actor, "subscribers.imported", detail)
        return SubscribersImported(added, updated, suppressed)

    def list_subscribers(self, actor: Actor, status: str | None = None) -> tuple[Subscriber, ...]:
        if status is not None and status not in STATUSES:
            raise Invalid(f"a subscriber's status is one of {', '.join(STATUSES)}")
        return tuple(self.subscribers.all(status=status))

    def export(self, actor: Actor) -> tuple[Subscriber, ...]:
        require(actor, Permission.SUBSCRIBERS)
        return tuple(self.subscribers.all())

    def unsubscribe(self, actor: Actor, email: str, now: datetime, reason: str = "by hand") -> None:
        """Stop sending to an address. NotFound if it is not on the list."""
        if actor.is_person:
            require(actor, Permission.SUBSCRIBERS)
        if not self.subscribers.set_status(email, "unsubscribed", now, reason):
            raise NotFound(f"no subscriber {email}")
        self._audit(actor, "subscriber.unsubscribed", reason)

    def erase(self, actor: Actor, email: str) -> None:
        """Remove everything personal about an address; aggregate figures never held it, so they stay."""
        require(actor, Permission.SUBSCRIBERS)
        if not self.subscribers.erase(email, self._digest(email), datetime.now(UTC), reason="erased on request"):
            raise NotFound(f"no subscriber {email}")
        self._audit(actor, "subscriber.erased")

    def allow(self, actor: Actor, email: str) -> None:
        """Take an erased address off the suppression list (they subscribed again, with new consent), so the
        next import brings it back."""
        require(actor, Permission.SUBSCRIBERS)
        if not self.subscribers.unsuppress(self._digest(email)):
            raise NotFound(f"{email} is not on the list of erased addresses")
        self._audit(actor, "subscriber.allowed")
