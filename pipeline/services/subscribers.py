"""The subscriber list: import (with a preview that stores nothing), list, counts by audience, unsubscribe,
export (all, or one person's for a subject access request) and erase (which keeps only aggregate counts).

Addresses are for admins only (`Permission.SUBSCRIBERS`); anyone who may read the workspace sees the
counts."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipeline.context import AppContext
from pipeline.errors import Invalid, NotFound, SettingsError
from pipeline.ports import AuditRepository, CalendarRepository, SubscriberRepository
from pipeline.progress import SILENT, Progress
from pipeline.records import Subscriber
from pipeline.services.actor import Actor
from pipeline.services.audit import audited
from pipeline.services.permissions import Permission, require
from pipeline.tokens import TokenError, address_digest
from pipeline.workspace import Workspace, read_subscribers

STATUSES = ("active", "unsubscribed", "bounced")
EXPORT_COLUMNS = ("email", "name", "organisation", "audiences", "consent_source", "consent_date", "status")


def export_row(s: Subscriber) -> dict[str, str]:
    """One subscriber as the export writes them (audiences joined with semicolons, as the import reads)."""
    values = (s.email, s.name, s.organisation, ";".join(s.audiences), s.consent_source, s.consent_date.isoformat())
    return dict(zip(EXPORT_COLUMNS, (*values, s.status), strict=True))


def export_csv(subscribers: Iterable[Subscriber]) -> str:
    """The list as CSV; a cell a spreadsheet would run as a formula is prefixed with an apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for s in subscribers:
        writer.writerow(["'" + v if v[:1] in ("=", "+", "-", "@", "\t", "\r") else v for v in export_row(s).values()])
    return out.getvalue()


@dataclass(frozen=True)
class SubscribersPreview:
    """What an import would do, checked as the import checks it, nothing stored: how many rows are new,
    how many update a known address, and how many were erased earlier and would be left out."""

    name: str
    rows: int
    added: int
    updated: int
    suppressed: int
    by_audience: tuple[tuple[str, int], ...]  # rows naming each audience (a row may name several)


@dataclass(frozen=True)
class AudienceCount:
    code: str
    name: str
    active: int


@dataclass(frozen=True)
class SubscriberCounts:
    """The list in aggregate: active subscribers by audience, and everyone by status."""

    by_audience: tuple[AudienceCount, ...]
    by_status: tuple[tuple[str, int], ...]

    @property
    def total(self) -> int:
        return sum(n for _, n in self.by_status)


@dataclass(frozen=True)
class SubscribersImported:
    added: int
    updated: int
    suppressed: int = 0  # erased earlier: not brought back (`comms subscribers allow` takes one back)


@dataclass(frozen=True)
class ListChoice:
    """Where an address stands on one list after its unsubscribe link was used, for the page to say."""

    email: str
    list_code: str | None  # None: every list (a link sent before lists were named)
    list_name: str  # as the email's footer names it: "the Thurrock headteacher bulletin"
    organisation: str
    receiving: bool  # whether this list now comes to the address
    status: str  # the address's own status: active | unsubscribed | bounced


class SubscriberService:
    progress: Progress = SILENT  # an import's rows saved, drawn by the command line on a terminal

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
        service = cls(repos.subscribers, ctx.workspace, repos.audit, ctx.settings.secret_key, repos.calendar)
        service.progress = ctx.progress
        return service

    def _digest(self, email: str) -> str:
        try:
            return address_digest(email, self.secret_key)
        except TokenError as exc:
            raise SettingsError(str(exc)) from None

    def _audit(self, actor: Actor, action: str, detail: str = "", at: datetime | None = None) -> None:
        """Recorded without the address: the audit log is append-only, and an erased address must leave
        no copy behind."""
        if self.audit is not None:
            self.audit.record(audited(actor, action, at or datetime.now(UTC), "subscribers", detail))

    def _reference(self, email: str) -> str:
        """The address as the audit log may name it: the start of its keyed digest (as an erased address's
        alias is), so who holds the key can match an address they are asked about, and nobody can read it."""
        return f"subscriber {self._digest(email)[:16]}" if self.secret_key else "subscriber"

    def import_file(self, actor: Actor, path: Path | None = None) -> SubscribersImported:
        """Add or update subscribers from a CSV (the workspace's subscribers.csv by default), all or
        nothing; an unsubscribed address stays unsubscribed."""
        if path is None:
            if self.workspace is None:
                raise Invalid("name the subscribers CSV to import")
            path = self.workspace.root / "subscribers.csv"
        require(actor, Permission.SUBSCRIBERS)
        stage = f"importing {path.name}"
        self.progress(stage, 0, None)
        kept, suppressed = self._read(path)
        added, updated = self.subscribers.upsert(kept, lambda saved: self.progress(stage, saved, len(kept)))
        detail = f"{path.name}: {added} added, {updated} updated, {suppressed} erased earlier and left out"
        self._audit(actor, "subscribers.imported", detail)
        return SubscribersImported(added, updated, suppressed)

    def _read(self, path: Path) -> tuple[list[Subscriber], int]:
        """The file's rows, checked (every problem by line, or nothing), less the erased addresses; and
        how many erased addresses were left out."""
        strategy = self.calendar.strategy() if self.calendar is not None else None
        rows = read_subscribers(path, {a.code for a in strategy.audiences} if strategy else None)
        if not self.secret_key:
            return rows, 0
        digests = {row.email: self._digest(row.email) for row in rows}
        erased = self.subscribers.suppressed(digests.values())
        kept = [row for row in rows if digests[row.email] not in erased]
        return kept, len(rows) - len(kept)

    def preview_import(self, actor: Actor, path: Path) -> SubscribersPreview:
        """What `import_file(path)` would do, checked the same way (all or nothing), storing nothing."""
        require(actor, Permission.SUBSCRIBERS)
        kept, suppressed = self._read(path)
        known = self.subscribers.emails()
        new = sum(1 for row in kept if row.email not in known)
        audiences: dict[str, int] = {}
        for row in kept:
            for code in row.audiences:
                audiences[code] = audiences.get(code, 0) + 1
        return SubscribersPreview(
            path.name, len(kept) + suppressed, new, len(kept) - new, suppressed, tuple(sorted(audiences.items()))
        )

    def counts(self, actor: Actor) -> SubscriberCounts:
        """Active subscribers by each of the strategy's audiences (with the audiences nested under it, as
        the dispatcher sends to them; each person once), and everyone by status: aggregate, so anyone
        who may read the workspace sees them."""
        require(actor, Permission.VIEW)
        strategy = self.calendar.strategy() if self.calendar is not None else None
        by_audience: list[AudienceCount] = []
        for a in strategy.audiences if strategy else ():
            counted = self.subscribers.audience_counts(strategy.audience_with_children(a.code))  # type: ignore[union-attr]
            by_audience.append(AudienceCount(a.code, a.name, sum(counted.values())))
        statuses = self.subscribers.counts()
        return SubscriberCounts(tuple(by_audience), tuple((s, statuses.get(s, 0)) for s in STATUSES))

    def find(self, actor: Actor, email: str) -> Subscriber | None:
        """One person on the list, by address (admins only: it shows the address)."""
        require(actor, Permission.SUBSCRIBERS)
        return self.subscribers.find(email)

    def subject_access(self, actor: Actor, email: str, now: datetime) -> Subscriber:
        """Everything the list holds about one address, for a subject access request (audited, without
        the address). NotFound if it is not on the list."""
        require(actor, Permission.SUBSCRIBERS)
        found = self.subscribers.find(email)
        if found is None:
            raise NotFound(f"no subscriber {email}")
        self._audit(actor, "subscriber.exported", "one person's record, for a subject access request")
        return found

    def list_subscribers(self, actor: Actor, status: str | None = None) -> tuple[Subscriber, ...]:
        if status is not None and status not in STATUSES:
            raise Invalid(f"a subscriber's status is one of {', '.join(STATUSES)}")
        return tuple(self.subscribers.all(status=status))

    def export(self, actor: Actor) -> tuple[Subscriber, ...]:
        require(actor, Permission.SUBSCRIBERS)
        everyone = tuple(self.subscribers.all())
        self._audit(actor, "subscribers.exported", f"the whole list: {len(everyone)} subscribers")
        return everyone

    def unsubscribe(self, actor: Actor, email: str, now: datetime, reason: str = "by hand") -> None:
        """Stop sending to an address. NotFound if it is not on the list."""
        if actor.is_person:
            require(actor, Permission.SUBSCRIBERS)
        if not self.subscribers.set_status(email, "unsubscribed", now, reason):
            raise NotFound(f"no subscriber {email}")
        self._audit(actor, "subscriber.unsubscribed", reason)

    def list_name(self, list_code: str | None) -> str:
        """A list as its emails' footer names it (organisation.yaml `lists`), else its channel's name."""
        if list_code is None:
            return "every list"
        organisation = self.workspace.organisation if self.workspace is not None else {}
        named = organisation.get("lists", {}).get(list_code, {}).get("name")
        strategy = self.calendar.strategy() if self.calendar is not None else None
        channel = strategy.channel(list_code) if strategy is not None else None
        return str(named or (channel.name if channel is not None else list_code))

    def _choice(self, sub: Subscriber, list_code: str | None) -> ListChoice:
        organisation = self.workspace.organisation.get("name", "us") if self.workspace is not None else "us"
        on_list = list_code is None or list_code not in sub.left_lists
        receiving = sub.status == "active" and on_list
        return ListChoice(sub.email, list_code, self.list_name(list_code), organisation, receiving, sub.status)

    def leave(self, actor: Actor, email: str, list_code: str | None, now: datetime) -> ListChoice:
        """The footer's link: the address leaves the list the email came from, and its other lists still
        come; without a list (a link sent before lists were named) it leaves every list. NotFound if the
        address is not on file (erased meanwhile)."""
        if actor.is_person:
            require(actor, Permission.SUBSCRIBERS)
        if list_code is None:
            self.unsubscribe(actor, email, now, reason="one-click unsubscribe from every list")
            sub = self.subscribers.find(email)
        else:
            sub = self.subscribers.leave_list(email, list_code)
            if sub is not None:
                self._audit(actor, "subscriber.left_list", f"{list_code}: {self._reference(email)}", now)
        if sub is None:
            raise NotFound(f"no subscriber {email}")
        return self._choice(sub, list_code)

    def rejoin(self, actor: Actor, email: str, list_code: str | None, now: datetime) -> ListChoice:
        """The way back from `leave`: the list comes again (every list, for a link without one: an address
        unsubscribed is made active; a bounced one stays bounced). NotFound if not on file."""
        if actor.is_person:
            require(actor, Permission.SUBSCRIBERS)
        sub = self.subscribers.find(email)
        if sub is not None and list_code is None and sub.status == "unsubscribed":
            self.subscribers.set_status(email, "active", now, "subscribed again from the unsubscribe page")
        elif sub is not None and list_code is not None:
            self.subscribers.rejoin_list(email, list_code)
        sub = self.subscribers.find(email)
        if sub is None:
            raise NotFound(f"no subscriber {email}")
        self._audit(actor, "subscriber.rejoined_list", f"{list_code or 'every list'}: {self._reference(email)}", now)
        return self._choice(sub, list_code)

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
