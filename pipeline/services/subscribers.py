"""The subscriber list: import, list, unsubscribe, export and erase (which keeps only aggregate counts)."""

from __future__ import annotations

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
        strategy = self.calendar.strategy() if self.calendar is not None else None
        rows = read_subscribers(path, {a.code for a in strategy.audiences} if strategy else None)
        kept, suppressed = rows, 0
        if self.secret_key:
            digests = {row.email: self._digest(row.email) for row in rows}
            erased = self.subscribers.suppressed(digests.values())
            kept = [row for row in rows if digests[row.email] not in erased]
            suppressed = len(rows) - len(kept)
        added, updated = self.subscribers.upsert(kept, lambda saved: self.progress(stage, saved, len(kept)))
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
